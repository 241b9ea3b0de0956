package dataplane

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// maxChanges bounds the rows a report lists with what was done to them.
const maxChanges = 10000

// loadExtras reads what rows may name beyond the reference lists: the
// tenant's custom fields, by name and by key, its members by email (and by
// the part before the @, when only one member has it), and which status
// labels are deployable.
func (im *importer) loadExtras() error {
	fc, err := loadFieldCatalog(im.ctx, im.c)
	if err != nil {
		return err
	}
	im.fields, im.columns, im.warned, im.unique = fc, map[string]*qm.CustomField{}, map[string]bool{}, map[string]int{}
	im.missing = map[string]int{}
	for _, f := range fc.byID {
		im.columns[strings.ToLower(f.Name)], im.columns[f.Key] = f, f
	}
	members, err := im.s.identity.Members(im.ctx, im.c.TenantID())
	if err != nil {
		return err
	}
	im.users = map[string]string{}
	short := map[string][]string{}
	for _, m := range members {
		email := strings.ToLower(m.Email)
		im.users[email] = m.UserID
		local, _, _ := strings.Cut(email, "@")
		short[local] = append(short[local], m.UserID)
	}
	for name, ids := range short {
		if _, taken := im.users[name]; !taken && len(ids) == 1 {
			im.users[name] = ids[0]
		}
	}
	im.deployable = map[string]bool{}
	rows, err := im.c.Query(im.ctx, `SELECT id FROM status_labels WHERE tenant_id = $1 AND kind = $2`, im.c.TenantID(), qm.StatusDeployable)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		im.deployable[id] = true
	}
	return rows.Err()
}

// customValues reads a row's cells of custom fields into values by key,
// reporting each it cannot read; a column that names no field is warned
// of once.
func (im *importer) customValues(row *qm.ImportRow, fail func(string)) map[string]any {
	if len(row.Fields) == 0 {
		return nil
	}
	given := map[string]any{}
	for column, raw := range row.Fields {
		f := im.columns[strings.ToLower(column)]
		if f == nil {
			if !im.warned[column] {
				im.warned[column] = true
				im.rep.IgnoredColumns = append(im.rep.IgnoredColumns, column)
			}
			continue
		}
		stored, err := f.ParseText(raw)
		if err != nil {
			fail(f.Name + ": " + err.Error())
			continue
		}
		given[f.Key] = f.Decode(stored)
	}
	return given
}

// holder finds who or what a row checks its asset out to, and sets it on
// the row's asset: a member by email, a location by name (made if
// missing), an asset of the tenant by tag. A person who is not a member
// is noted in p.missing.
func (im *importer) holder(row *qm.ImportRow, p *pending, fail func(string)) error {
	if row.HolderType == "" {
		return nil
	}
	var id string
	switch row.HolderType {
	case qm.HolderUser:
		if id = im.users[strings.ToLower(row.HolderName)]; id == "" {
			im.unassigned(row)
			p.missing = qm.NormalizeEmail(row.HolderName)
			return nil
		}
	case qm.HolderLocation:
		var err error
		if id, err = im.named("locations", row.HolderName); err != nil {
			return err
		}
	case qm.HolderAsset:
		// Only found here: whether the row may check out to it is
		// holderAsset's to say, with the rows's asset (see fieldsAndHolder).
		found, err := im.find([]string{row.HolderName})
		if err != nil {
			return err
		}
		if holder := found[row.HolderName]; holder != nil {
			id = holder.ID
		}
		p.holderTag = row.HolderName
	}
	now := sqlstore.Timestamp(im.s.now())
	p.asset.HolderType, p.asset.HolderID, p.asset.CheckedOutAt = row.HolderType, id, &now
	return nil
}

// fieldsAndHolder checks a good row's custom field values against its
// asset as it will be, before the fields it had (nil for a new asset);
// and, for a row checked out, that its status allows that.
func (im *importer) fieldsAndHolder(p *pending, before *qm.Asset) error {
	if before != nil {
		p.asset.Fields = maps.Clone(before.Fields)
	}
	status := p.asset.StatusID
	switch {
	case status != "":
	case before != nil:
		status = before.StatusID
	default:
		status = im.status
	}
	if p.asset.HolderType != "" && !im.deployable[status] {
		return qm.Errorf(qm.EInvalid, "the asset is checked out, but its status is not deployable")
	}
	if p.asset.HolderType == qm.HolderAsset {
		var id string
		if before != nil {
			id = before.ID
		}
		if err := holderAsset(im.ctx, im.c, id, p.asset.HolderID); qm.ErrorCode(err) == qm.ENotFound {
			return qm.Errorf(qm.EInvalid, "Checked Out To: the tenant has no asset with tag %q", p.holderTag)
		} else if err != nil {
			return err
		}
	}
	change, err := im.fields.check(im.ctx, im.c, &p.asset, p.given)
	if err != nil {
		var e *qm.Error
		if errors.As(err, &e) && len(e.Fields) > 1 {
			var msgs []string
			for _, m := range e.Fields {
				msgs = append(msgs, m)
			}
			return qm.Errorf(qm.EInvalid, "%s", strings.Join(msgs, "; "))
		}
		return err
	}
	for f, stored := range change {
		if !f.Unique || stored == "" {
			continue
		}
		key := f.ID + "\x00" + stored
		if line, ok := im.unique[key]; ok {
			return qm.Errorf(qm.EInvalid, "%s %q is also on line %d", f.Name, stored, line)
		}
		im.unique[key] = p.line
		var owner string
		err := im.c.QueryRow(im.ctx, `SELECT asset_id FROM asset_field_values WHERE tenant_id = $1 AND field_id = $2 AND unique_value = $3`,
			im.c.TenantID(), f.ID, stored).Scan(&owner)
		switch {
		case err == nil && (before == nil || owner != before.ID):
			return qm.Errorf(qm.EInvalid, "another asset has %s %q", f.Name, stored)
		case err != nil && !errors.Is(err, sqlstore.ErrNoRows):
			return err
		}
	}
	p.change = change
	return nil
}

// finish writes what a written asset has beyond its own columns: its
// custom field values (a.Fields holds them already) and its holder.
func (im *importer) finish(a *qm.Asset, change fieldChange) error {
	if err := change.store(im.ctx, im.c, a.ID); err != nil {
		return err
	}
	if a.HolderType == "" {
		return nil
	}
	_, err := im.c.Exec(im.ctx, `UPDATE assets SET holder_type = $3, holder_id = $4, checked_out_at = $5 WHERE tenant_id = $1 AND id = $2`,
		im.c.TenantID(), a.ID, a.HolderType, a.HolderID, a.CheckedOutAt)
	if err != nil {
		return fmt.Errorf("import checkout: %w", err)
	}
	return nil
}

// record notes what a row did, for the report.
func (im *importer) record(line int, tag, action string) {
	if len(im.rep.Changes) < maxChanges {
		im.rep.Changes = append(im.rep.Changes, qm.ImportChange{Line: line, Tag: tag, Action: action})
	}
}

// maxHolderLines bounds the lines a report lists for one person who is not
// a member.
const maxHolderLines = 100

// unassigned notes that row checks its asset out to someone who is not a
// member of the tenant: the asset is imported unassigned.
func (im *importer) unassigned(row *qm.ImportRow) {
	key := strings.ToLower(row.HolderName)
	i, ok := im.missing[key]
	if !ok {
		if len(im.rep.Unassigned) == maxProblems {
			return
		}
		i = len(im.rep.Unassigned)
		im.missing[key] = i
		im.rep.Unassigned = append(im.rep.Unassigned, qm.ImportHolder{Name: row.HolderName})
	}
	h := &im.rep.Unassigned[i]
	if h.Rows++; len(h.Lines) < maxHolderLines {
		h.Lines = append(h.Lines, row.Line)
	}
}

// warnUnassigned warns once of each person who is not a member, naming
// the lines whose assets are imported unassigned for want of them.
func (im *importer) warnUnassigned() {
	for _, h := range im.rep.Unassigned {
		if im.invitees.made(h.Name) {
			continue
		}
		lines := make([]string, len(h.Lines))
		for i, l := range h.Lines {
			lines[i] = strconv.Itoa(l)
		}
		which := "line " + lines[0]
		if h.Rows > 1 {
			which = "lines " + strings.Join(lines, ", ")
		}
		if h.Rows > len(h.Lines) {
			which += fmt.Sprintf(" and %d more", h.Rows-len(h.Lines))
		}
		im.rep.Warnings = append(im.rep.Warnings, fmt.Sprintf("Checked Out To %q: no member of the tenant has that email or user name, "+
			"so the assets of %s are imported unassigned: check them out once they are members%s", h.Name, which, im.invitees.whyNot(h.Name)))
	}
}

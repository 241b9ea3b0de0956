package lifecycle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/tenancy"
)

// Bounds on what an import holds in memory: the header, the manifest and
// each file of the catalog part are read whole, a row at a time of the
// tables.
const (
	maxMetaBytes = 16 << 20
	maxRowBytes  = 64 << 20
)

// rowsPerBatch are the rows an import writes in one transaction.
const rowsPerBatch = 2000

// Import creates a new tenant from the archive r reads (a tar, gzipped or
// not), as opts says, and returns it with a report of what the catalog
// here made of the archive's people and devices. The tenant is created
// in state provisioning, filled, verified against the archive's manifest
// (every file's rows and SHA-256, every table's rows as stored), and only
// then activated; on any failure nothing of it is left. EInvalid for an
// archive that is damaged, altered, or of a newer format or schema
// version than this build knows; the errors of CreateTenant for the slug,
// tier and server. Operator only.
func Import(ctx context.Context, e Engine, r io.Reader, opts ImportOptions) (*qm.Tenant, ImportReport, error) {
	var rep ImportReport
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, rep, invalid("not a gzipped archive: %v", err)
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	im := &importer{e: e, tr: tar.NewReader(r), opts: opts, rep: &rep, sums: map[string]File{}}
	if err := im.readHeader(e.LatestVersion()); err != nil {
		return nil, rep, err
	}
	if err := im.readCatalog(ctx); err != nil {
		return nil, rep, err
	}
	n := qm.NewTenant{Slug: opts.Slug, Name: opts.Name, Tier: opts.Tier, Server: opts.Server}
	if n.Name == "" {
		n.Name = im.record.Name
	}
	if n.Tier == "" {
		n.Tier = im.record.Tier
	}
	plan := im.record.Plan
	if _, err := catalog.NewPlanStore(e.Tenants()).Plan(ctx, plan); qm.ErrorCode(err) == qm.ENotFound {
		rep.Notes = append(rep.Notes, fmt.Sprintf("plan %q does not exist here: the tenant is on plan %q, with the archive's overrides", plan, qm.DefaultPlan))
		plan = qm.DefaultPlan
	} else if err != nil {
		return nil, rep, err
	}
	t, err := e.Tenants().ImportTenant(ctx, n, plan, im.record.Overrides, im.load)
	if err != nil {
		return nil, ImportReport{}, err
	}
	return t, rep, nil
}

// invalid is the error for an archive an import cannot take.
func invalid(format string, args ...any) error {
	return qm.Errorf(qm.EInvalid, "archive refused: "+format, args...)
}

// importer reads one archive into one new tenant.
type importer struct {
	e    Engine
	tr   *tar.Reader
	opts ImportOptions
	rep  *ImportReport

	header *Manifest
	// sums are what the import found of each file: rows, bytes, SHA-256.
	sums map[string]File
	// next is the archive's entry after the catalog part.
	next *tar.Header

	record      TenantRecord
	roles       []RoleRecord
	members     []MemberRecord
	invitations []InvitationRecord
	devices     []DeviceRecord
	// users renames the accounts that have another id here than in the
	// archive, where the data names them.
	users map[string]string
	// tablesOnly loads the tables and leaves the catalog: a move's, whose
	// tenant keeps its own.
	tablesOnly bool
	// merge are the tables a move's passes after the first add to: rows
	// there already stay, and the mover checks the whole table; inserted,
	// when set, adds up the rows each table gained, across passes.
	merge    map[string]bool
	inserted map[string]int64
}

// readHeader reads header.json and refuses an archive this build cannot
// read, before anything is written.
func (im *importer) readHeader(latest int) error {
	h, err := im.tr.Next()
	if err != nil || h.Name != headerFile {
		return invalid("not a Quartermaster tenant archive (it does not start with %s)", headerFile)
	}
	body, _, err := im.readAll(h)
	if err != nil {
		return err
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return invalid("%s: %v", headerFile, err)
	}
	switch {
	case m.Format > FormatVersion:
		return invalid("its format is version %d, newer than this build reads (%d): import it with a newer quartermaster", m.Format, FormatVersion)
	case m.Format < 1:
		return invalid("%s names no format version", headerFile)
	case m.SchemaVersion > latest:
		return invalid("its data is at schema version %d, newer than this build knows (%d): import it with a newer quartermaster", m.SchemaVersion, latest)
	}
	for _, f := range m.Files {
		tb, ok := tables[f.Table]
		if !ok || f.Name != tableFile(f.Table) {
			return invalid("it holds table %q, which this build does not know", f.Table)
		}
		for _, c := range f.Columns {
			if i := column(tb.columns, c.Name); i < 0 || tb.columns[i].Kind != c.Kind {
				return invalid("its table %s has column %s (%s), which this build does not know", f.Table, c.Name, c.Kind)
			}
		}
		for _, k := range tb.key {
			if column(f.Columns, k) < 0 {
				return invalid("its table %s lacks key column %s", f.Table, k)
			}
		}
	}
	im.header = &m
	return nil
}

// readAll reads the current entry whole, hashing it.
func (im *importer) readAll(h *tar.Header) ([]byte, File, error) {
	hash := sha256.New()
	body, err := io.ReadAll(io.TeeReader(io.LimitReader(im.tr, maxMetaBytes+1), hash))
	if err != nil {
		return nil, File{}, invalid("%s: %v", h.Name, err)
	}
	if len(body) > maxMetaBytes {
		return nil, File{}, invalid("%s is larger than %d bytes", h.Name, maxMetaBytes)
	}
	f := File{Name: h.Name, Bytes: int64(len(body)), SHA256: hex.EncodeToString(hash.Sum(nil)), Rows: int64(bytes.Count(body, []byte("\n")))}
	im.sums[h.Name] = f
	return body, f, nil
}

// readCatalog reads the catalog part, up to the first table, and maps the
// archive's members to the accounts here.
func (im *importer) readCatalog(ctx context.Context) error {
	seen := map[string]bool{}
	for {
		h, err := im.tr.Next()
		if err != nil {
			return invalid("it ends before its tables: %v", err)
		}
		if !strings.HasPrefix(h.Name, "catalog/") {
			im.next = h
			break
		}
		body, _, err := im.readAll(h)
		if err != nil {
			return err
		}
		seen[h.Name] = true
		switch h.Name {
		case tenantFile:
			err = json.Unmarshal(body, &im.record)
		case rolesFile:
			im.roles, err = decodeLines[RoleRecord](body)
		case membersFile:
			im.members, err = decodeLines[MemberRecord](body)
		case invitationsFile:
			im.invitations, err = decodeLines[InvitationRecord](body)
		case devicesFile:
			im.devices, err = decodeLines[DeviceRecord](body)
		}
		if err != nil {
			return invalid("%s: %v", h.Name, err)
		}
	}
	if !seen[tenantFile] {
		return invalid("it lacks %s", tenantFile)
	}
	im.users = map[string]string{}
	for _, m := range im.members {
		u, _, err := im.e.Identity().UserByEmail(ctx, m.Email)
		if qm.ErrorCode(err) == qm.ENotFound {
			continue
		} else if err != nil {
			return err
		}
		if u.ID != m.UserID {
			im.users[m.UserID] = u.ID
		}
	}
	return nil
}

func decodeLines[T any](body []byte) ([]T, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var out []T
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// load fills the new tenant t: the tables, then, once every file checks
// out against the manifest, its part of the catalog.
func (im *importer) load(ctx context.Context, t *qm.Tenant) error {
	// The tenant is not served here yet: a move's copy passes the gate.
	scope := catalog.Unfenced(tenancy.WithTenant(ctx, t))
	h := im.next
	for i, f := range im.header.Files {
		if h == nil || h.Name != f.Name {
			return invalid("expected %s, found %s", f.Name, entryName(h))
		}
		rows, err := im.table(scope, t, tables[f.Table], f.Columns)
		if err != nil {
			return fmt.Errorf("table %s: %w", f.Table, err)
		}
		im.rep.Tables = append(im.rep.Tables, TableReport{Table: f.Table, Rows: rows})
		if im.opts.Progress != nil {
			im.opts.Progress(Progress{Table: f.Table, N: i + 1, Total: len(im.header.Files), Rows: rows})
		}
		if h, err = im.tr.Next(); err != nil && !errors.Is(err, io.EOF) {
			return invalid("after %s: %v", f.Name, err)
		}
	}
	if h == nil || h.Name != manifestFile {
		return invalid("expected %s, found %s", manifestFile, entryName(h))
	}
	body, _, err := im.readAll(h)
	if err != nil {
		return err
	}
	if h, err := im.tr.Next(); !errors.Is(err, io.EOF) {
		return invalid("it goes on after %s (%s)", manifestFile, entryName(h))
	}
	if err := im.verify(scope, body); err != nil {
		return err
	}
	if im.tablesOnly {
		return nil
	}
	return im.catalogPart(ctx, t)
}

func entryName(h *tar.Header) string {
	if h == nil {
		return "the end"
	}
	return h.Name
}

// verify checks every file read against the manifest, and every table's
// rows as stored against it.
func (im *importer) verify(scope context.Context, body []byte) error {
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return invalid("%s: %v", manifestFile, err)
	}
	if m.Format != im.header.Format || m.SchemaVersion != im.header.SchemaVersion {
		return invalid("%s and %s disagree on the versions", manifestFile, headerFile)
	}
	names := []string{}
	for name := range im.sums {
		if name != headerFile && name != manifestFile {
			names = append(names, name)
		}
	}
	if len(names) != len(m.Files) {
		return invalid("it holds %d files, its manifest lists %d", len(names), len(m.Files))
	}
	for _, want := range m.Files {
		got, ok := im.sums[want.Name]
		switch {
		case !ok:
			return invalid("it lacks %s, which its manifest lists", want.Name)
		case got.SHA256 != want.SHA256 || got.Bytes != want.Bytes:
			return invalid("%s does not match its manifest: its SHA-256 is %s, the manifest says %s", want.Name, got.SHA256, want.SHA256)
		case got.Rows != want.Rows:
			return invalid("%s holds %d rows, its manifest says %d", want.Name, got.Rows, want.Rows)
		}
		hf := im.header.File(want.Name)
		if (hf == nil) != (want.Table == "") || hf != nil && (hf.Table != want.Table || !slices.Equal(hf.Columns, want.Columns)) {
			return invalid("%s and %s disagree on %s", manifestFile, headerFile, want.Name)
		}
	}
	// The tables as stored: the header's names, which readHeader checked
	// are this build's.
	for _, hf := range im.header.Files {
		listed := m.File(hf.Name)
		if listed == nil {
			return invalid("its manifest does not list %s", hf.Name)
		}
		if im.merge[hf.Table] {
			continue
		}
		stored, err := sqlstore.View(scope, im.e, func(c sqlstore.Conn) (int64, error) {
			var n int64
			err := c.QueryRow(scope, `SELECT count(*) FROM `+tables[hf.Table].name+` WHERE tenant_id = $1`, c.TenantID()).Scan(&n)
			return n, err
		})
		if err != nil {
			return fmt.Errorf("count %s: %w", hf.Table, err)
		}
		if stored != listed.Rows {
			return fmt.Errorf("table %s holds %d of the tenant's rows after the import, the archive %d", hf.Table, stored, listed.Rows)
		}
	}
	return nil
}

// table loads the current entry into table tb, a batch of rows to a
// transaction, and returns how many rows it held.
func (im *importer) table(scope context.Context, t *qm.Tenant, tb table, columns []Column) (int64, error) {
	hash := sha256.New()
	size := &counter{}
	br := bufio.NewReaderSize(io.TeeReader(im.tr, io.MultiWriter(hash, size)), 1<<16)
	f := File{Name: tableFile(tb.name)}
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.Name
	}
	batch := sqlstore.RowSet{Table: tb.name, Columns: names}
	conflict := ""
	if im.merge[tb.name] {
		conflict = "ON CONFLICT DO NOTHING"
	}
	flush := func() error {
		if len(batch.Rows) == 0 {
			return nil
		}
		err := im.e.Update(scope, func(c sqlstore.Conn) error {
			n, err := c.InsertRows(scope, batch, conflict)
			if err == nil && im.inserted != nil {
				im.inserted[tb.name] += n
			}
			return err
		})
		batch.Rows = batch.Rows[:0]
		return err
	}
	// A row naming a parent of its own table waits for the parent.
	parent, id := column(columns, tb.parent), column(columns, "id")
	known, waiting := map[string]bool{}, map[string][][]any{}
	var add func(row []any) error
	add = func(row []any) error {
		if parent >= 0 && row[parent] != nil && !known[row[parent].(string)] {
			p := row[parent].(string)
			waiting[p] = append(waiting[p], row)
			return nil
		}
		batch.Rows = append(batch.Rows, row)
		if parent >= 0 {
			self := row[id].(string)
			known[self] = true
			children := waiting[self]
			delete(waiting, self)
			for _, child := range children {
				if err := add(child); err != nil {
					return err
				}
			}
		}
		if len(batch.Rows) >= rowsPerBatch {
			return flush()
		}
		return nil
	}
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				return 0, invalid("%s: its last line is cut short", f.Name)
			}
			if len(line) > maxRowBytes {
				return 0, invalid("%s: row %d is larger than %d bytes", f.Name, f.Rows+1, maxRowBytes)
			}
			f.Rows++
			row, err := im.row(t, tb, columns, line)
			if err != nil {
				return 0, invalid("%s: row %d: %v", f.Name, f.Rows, err)
			}
			if err := add(row); err != nil {
				return 0, err
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 0, invalid("%s: %v", f.Name, err)
		}
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if len(waiting) > 0 {
		return 0, invalid("%s: %d rows name a parent it does not hold", f.Name, len(waiting))
	}
	f.SHA256, f.Bytes = hex.EncodeToString(hash.Sum(nil)), size.n
	im.sums[f.Name] = f
	return f.Rows, nil
}

// counter counts the bytes written to it.
type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// row turns a line of an archive into the values to bind for columns.
func (im *importer) row(t *qm.Tenant, tb table, columns []Column, line []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var vals []any
	if err := dec.Decode(&vals); err != nil {
		return nil, err
	}
	if len(vals) != len(columns) {
		return nil, fmt.Errorf("%d values for %d columns", len(vals), len(columns))
	}
	for i, c := range columns {
		v, err := bindValue(c.Kind, vals[i])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		vals[i] = v
	}
	im.localize(t, tb.name, columns, vals)
	return vals, nil
}

// localize puts back into a row what an export took out of it (neutral):
// the tenant's id, a webhook's secret (a new one); and renames the
// accounts that have another id here.
func (im *importer) localize(t *qm.Tenant, name string, columns []Column, row []any) {
	rename := func(typeCol, idCol string) {
		i := column(columns, idCol)
		if i < 0 || row[i] == nil {
			return
		}
		if typeCol != "" {
			if j := column(columns, typeCol); j < 0 || row[j] != qm.HolderUser {
				return
			}
		}
		if to, ok := im.users[row[i].(string)]; ok {
			row[i] = to
		}
	}
	switch name {
	case "audit_log":
		if i := column(columns, "resource_id"); i >= 0 && row[i] == selfRef {
			row[i] = t.ID
		}
	case "channels":
		kind, secret, ch := column(columns, "kind"), column(columns, "secret"), column(columns, "name")
		if kind >= 0 && secret >= 0 && row[kind] == string(qm.ChannelWebhook) && (row[secret] == nil || row[secret] == "") {
			row[secret] = qm.NewSecret(alerts.WebhookSecretPrefix)
			name, _ := row[ch].(string)
			im.rep.Webhooks = append(im.rep.Webhooks, WebhookSecret{Channel: name, Secret: row[secret].(string)})
		}
	case "assets":
		rename("holder_type", "holder_id")
	case "license_seats":
		rename("assignee_type", "assignee_id")
	case "notification_reads":
		rename("", "user_id")
	}
}

// bindValue turns a value of an archive, of a column of kind k, into what
// stores bind for it.
func bindValue(k Kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case KindText, KindDate:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case KindTime:
		if s, ok := v.(string); ok {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, err
			}
			return sqlstore.Timestamp(t), nil
		}
	case KindInt:
		if n, ok := v.(json.Number); ok {
			return n.Int64()
		}
	case KindFloat:
		if n, ok := v.(json.Number); ok {
			return n.Float64()
		}
	case KindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case KindJSON:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return sqlstore.JSON(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
	}
	return nil, fmt.Errorf("%v is not a %s value", v, k)
}

// catalogPart gives the new tenant its roles, members, invitations and
// devices, as the catalog here can take them.
func (im *importer) catalogPart(ctx context.Context, t *qm.Tenant) error {
	id, at := im.e.Identity(), sqlstore.Timestamp(time.Now())
	for _, r := range im.roles {
		if err := id.CreateRole(ctx, t.ID, qm.Role{Name: r.Name, Permissions: r.Permissions}, at); err != nil {
			return fmt.Errorf("role %s: %w", r.Name, err)
		}
	}
	invite := func(email, role, dept, by string, checkOut []string, wasMember bool) error {
		secret := qm.NewLinkSecret(qm.InvitationPrefix)
		inv := &qm.Invitation{Email: email, Role: role, DepartmentID: dept, InvitedBy: by, CreatedAt: at, ExpiresAt: at.Add(qm.InvitationTTL), CheckOut: checkOut}
		if _, err := id.CreateInvitation(ctx, t.ID, inv, qm.HashSecret(secret)); err != nil {
			return fmt.Errorf("invite %s: %w", email, err)
		}
		im.rep.Invited = append(im.rep.Invited, Invited{Email: email, Role: role, Link: qm.InvitationPath(secret), WasMember: wasMember})
		return nil
	}
	for _, m := range im.members {
		u, _, err := id.UserByEmail(ctx, m.Email)
		switch {
		case qm.ErrorCode(err) == qm.ENotFound:
			err = invite(m.Email, m.Role, m.DepartmentID, "import", nil, true)
		case err == nil:
			err = id.SetMembership(ctx, &qm.Membership{TenantID: t.ID, UserID: u.ID, Role: m.Role, DepartmentID: m.DepartmentID}, at)
			im.rep.Members = append(im.rep.Members, m.Email)
		}
		if err != nil {
			return err
		}
	}
	for _, inv := range im.invitations {
		if err := invite(inv.Email, inv.Role, inv.DepartmentID, inv.InvitedBy, inv.CheckOut, false); err != nil {
			return err
		}
	}
	for _, d := range im.devices {
		if !d.Held {
			continue
		}
		token, err := im.e.Devices().AdoptDevice(ctx, t, qm.Device{ID: d.ID, Ident: d.Ident, Serial: d.Serial, Kind: d.Kind, Model: d.Model,
			Firmware: d.Firmware, Notes: d.Notes, IdentOnly: d.IdentOnly}, d.Custody)
		// A device taken, or past the tenant's limits, stays where it is;
		// the data keeps its history either way.
		switch code := qm.ErrorCode(err); {
		case err == nil:
			im.rep.Devices = append(im.rep.Devices, DeviceOutcome{Ident: d.Ident, Token: token})
		case code != qm.EInternal:
			im.rep.Devices = append(im.rep.Devices, DeviceOutcome{Ident: d.Ident, Skipped: qm.ErrorMessage(err)})
		default:
			return fmt.Errorf("device %s: %w", d.Ident, err)
		}
	}
	return nil
}

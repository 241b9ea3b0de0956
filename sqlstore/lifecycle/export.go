package lifecycle

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/tenancy"
)

// timeLayout is how an archive writes a timestamp: UTC, to the
// microsecond, the finest both engines keep.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// Export writes the tenant with the given slug to w as an archive (a tar;
// the caller gzips it if it likes) and returns its manifest. It reads a
// tenant in any state but provisioning: a suspended or deleting tenant's
// data is still its own. ENotFound; EConflict for a tenant being created.
// Operator only.
//
// The tables are read one after another, each in one statement: rows a
// tenant changes while it is exported may be in one table's file and not
// in another's. Export a tenant that is quiet (suspended, say) for an
// archive that is one moment of it.
func Export(ctx context.Context, e Engine, slug string, w io.Writer, opts ExportOptions) (*Manifest, error) {
	t, err := e.Tenants().Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t.State == qm.StateProvisioning {
		return nil, qm.Errorf(qm.EConflict, "tenant %s is still being created", t.Slug)
	}
	m := &Manifest{Format: FormatVersion, SchemaVersion: t.SchemaVersion, Engine: t.Placement.Engine, Tier: t.Tier,
		TenantID: t.ID, Slug: t.Slug, CreatedAt: sqlstore.Timestamp(time.Now())}
	names := schema.TenantTables
	if opts.tables != nil {
		names = opts.tables
	}
	for _, name := range names {
		m.Files = append(m.Files, File{Name: tableFile(name), Table: name, Columns: tables[name].columns})
	}
	x := &exporter{e: e, t: t, m: m, tw: tar.NewWriter(w), move: opts.move, since: opts.since}
	// The router serves active tenants only; the export reads this one's
	// data in whatever state it is, as the catalog's own changes do, and
	// reads it while a move pauses its writes (it writes nothing).
	served := *t
	served.State = qm.StateActive
	x.scope = catalog.Unfenced(tenancy.WithTenant(ctx, &served))

	header, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := x.entry(headerFile, header); err != nil {
		return nil, err
	}
	m.Files = m.Files[:0]
	if err := x.catalogPart(ctx); err != nil {
		return nil, err
	}
	spool, err := os.CreateTemp("", "qm-export-*")
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", t.Slug, err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	for i, name := range names {
		f, err := x.table(ctx, tables[name], spool)
		if err != nil {
			return nil, fmt.Errorf("export %s: table %s: %w", t.Slug, name, err)
		}
		m.Files = append(m.Files, f)
		if opts.Progress != nil {
			opts.Progress(Progress{Table: name, N: i + 1, Total: len(names), Rows: f.Rows})
		}
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := x.entry(manifestFile, manifest); err != nil {
		return nil, err
	}
	if err := x.tw.Close(); err != nil {
		return nil, fmt.Errorf("export %s: %w", t.Slug, err)
	}
	if x.move {
		return m, nil // a pass of a move, which records itself
	}
	var rows int64
	for _, f := range m.Files {
		rows += f.Rows
	}
	return m, e.Tenants().RecordOperator(ctx, t, "tenant.export", map[string]any{"schema_version": m.SchemaVersion, "files": len(m.Files), "rows": rows})
}

// exporter writes one archive.
type exporter struct {
	e     Engine
	t     *qm.Tenant
	m     *Manifest
	scope context.Context
	tw    *tar.Writer
	move  bool      // a move's copy: secrets kept
	since time.Time // a move's last pass: the rows of growing tables since
}

// entry writes a file of the archive from memory.
func (x *exporter) entry(name string, body []byte) error {
	if err := x.tw.WriteHeader(x.header(name, int64(len(body)))); err != nil {
		return fmt.Errorf("export %s: %w", x.t.Slug, err)
	}
	if _, err := x.tw.Write(body); err != nil {
		return fmt.Errorf("export %s: %w", x.t.Slug, err)
	}
	return nil
}

func (x *exporter) header(name string, size int64) *tar.Header {
	return &tar.Header{Name: name, Size: size, Mode: 0o640, ModTime: x.m.CreatedAt, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
}

// lines encodes each of records as a line of JSON.
func lines[T any](records []T) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for _, r := range records {
		if err := enc.Encode(r); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// catalogFile writes a file of the catalog part, and lists it in the
// manifest.
func (x *exporter) catalogFile(name string, body []byte, rows int) error {
	sum := sha256.Sum256(body)
	x.m.Files = append(x.m.Files, File{Name: name, Rows: int64(rows), Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:])})
	return x.entry(name, body)
}

// catalogPart writes the tenant's part of the catalog. It is small (a
// tenant's members, invitations and devices), so it is read whole.
func (x *exporter) catalogPart(ctx context.Context) error {
	t, id := x.t, x.e.Identity()
	limits, err := catalog.NewPlanStore(x.e.Tenants()).TenantLimits(ctx, t.Slug)
	if err != nil {
		return err
	}
	rec, err := lines([]TenantRecord{{Slug: t.Slug, Name: t.Name, Tier: t.Tier, Plan: limits.Plan, Overrides: limits.Overrides}})
	if err != nil {
		return err
	}
	if err := x.catalogFile(tenantFile, rec, 1); err != nil {
		return err
	}

	custom, err := id.CustomRoles(ctx, t.ID)
	if err != nil {
		return err
	}
	roles := make([]RoleRecord, len(custom))
	for i, r := range custom {
		roles[i] = RoleRecord{Name: r.Name, Permissions: r.Permissions}
	}
	members, err := id.Members(ctx, t.ID)
	if err != nil {
		return err
	}
	people := make([]MemberRecord, len(members))
	for i, mb := range members {
		people[i] = MemberRecord{Email: mb.Email, Name: mb.Name, UserID: mb.UserID, Role: mb.Role, DepartmentID: mb.DepartmentID}
	}
	open, err := id.OpenInvitations(ctx, t.ID)
	if err != nil {
		return err
	}
	invited := make([]InvitationRecord, len(open))
	for i, inv := range open {
		invited[i] = InvitationRecord{Email: inv.Email, Role: inv.Role, DepartmentID: inv.DepartmentID, InvitedBy: inv.InvitedBy, CheckOut: inv.CheckOut}
	}
	slices.SortFunc(invited, func(a, b InvitationRecord) int { return strings.Compare(a.Email, b.Email) })
	devices, err := x.devices(ctx)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		body func() ([]byte, error)
		rows int
	}{
		{rolesFile, func() ([]byte, error) { return lines(roles) }, len(roles)},
		{membersFile, func() ([]byte, error) { return lines(people) }, len(people)},
		{invitationsFile, func() ([]byte, error) { return lines(invited) }, len(invited)},
		{devicesFile, func() ([]byte, error) { return lines(devices) }, len(devices)},
	} {
		body, err := f.body()
		if err != nil {
			return err
		}
		if err := x.catalogFile(f.name, body, f.rows); err != nil {
			return err
		}
	}
	return nil
}

// devices are the devices the tenant holds and held, by ident, each with
// the tenant's custody of it.
func (x *exporter) devices(ctx context.Context) ([]DeviceRecord, error) {
	inv := x.e.Devices()
	byID := map[string]*qm.Device{}
	for after := ""; ; {
		page, err := inv.Devices(ctx, qm.DeviceFilter{TenantID: x.t.ID, After: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			byID[d.ID] = d
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].Ident
	}
	former, _, err := inv.FormerDevices(ctx, x.t.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range former {
		byID[d.ID] = d
	}
	out := []DeviceRecord{}
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		d := byID[id]
		custody, err := inv.Custody(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		rec := DeviceRecord{ID: d.ID, Ident: d.Ident, Serial: d.Serial, Kind: d.Kind, Model: d.Model, Firmware: d.Firmware,
			Notes: d.Notes, IdentOnly: d.IdentOnly, Held: d.TenantID == x.t.ID, Custody: []qm.Custody{}}
		for _, c := range custody {
			if c.TenantID == x.t.ID {
				c.TenantID = ""
				rec.Custody = append(rec.Custody, c)
			}
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b DeviceRecord) int { return strings.Compare(a.Ident, b.Ident) })
	return out, nil
}

// table writes the tenant's rows of tb: spooled to spool, hashed as they
// go, then copied into the archive.
func (x *exporter) table(ctx context.Context, tb table, spool *os.File) (File, error) {
	f := File{Name: tableFile(tb.name), Table: tb.name, Columns: tb.columns}
	if err := spool.Truncate(0); err != nil {
		return f, err
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return f, err
	}
	hash := sha256.New()
	buf := bufio.NewWriterSize(spool, 1<<16)
	enc := json.NewEncoder(io.MultiWriter(hash, buf))
	enc.SetEscapeHTML(false)
	err := x.e.View(x.scope, func(c sqlstore.Conn) error {
		if err := checkColumns(ctx, c, x.t.Placement.Engine, tb); err != nil {
			return err
		}
		dest, values := scanners(tb.columns)
		query, args := tb.selectSQL(x.t.Placement.Engine, ""), []any{c.TenantID()}
		if g, ok := growing[tb.name]; ok && !x.since.IsZero() {
			query, args = tb.selectSQL(x.t.Placement.Engine, g.column), append(args, g.bind(x.since))
		}
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			row, err := values()
			if err != nil {
				return err
			}
			x.neutral(tb.name, tb.columns, row)
			if err := enc.Encode(row); err != nil {
				return err
			}
			f.Rows++
		}
		return rows.Err()
	})
	if err != nil {
		return f, err
	}
	if err := buf.Flush(); err != nil {
		return f, err
	}
	if f.Bytes, err = spool.Seek(0, io.SeekCurrent); err != nil {
		return f, err
	}
	f.SHA256 = hex.EncodeToString(hash.Sum(nil))
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return f, err
	}
	if err := x.tw.WriteHeader(x.header(f.Name, f.Bytes)); err != nil {
		return f, err
	}
	_, err = io.CopyN(x.tw, spool, f.Bytes)
	return f, err
}

// neutral takes out of a row what depends on where it was made, or is a
// secret: the tenant's own id where its log names it (selfRef), and a
// webhook's signing secret, which an import replaces.
func (x *exporter) neutral(name string, columns []Column, row []any) {
	switch name {
	case "audit_log":
		typ, id := column(columns, "resource_type"), column(columns, "resource_id")
		if row[typ] == "tenant" && row[id] == x.t.ID {
			row[id] = selfRef
		}
	case "channels":
		if !x.move {
			row[column(columns, "secret")] = ""
		}
	}
}

// column is the place of the column called name.
func column(columns []Column, name string) int {
	return slices.IndexFunc(columns, func(c Column) bool { return c.Name == name })
}

// checkColumns fails when the engine's table and tb's description differ.
func checkColumns(ctx context.Context, c sqlstore.Conn, engine qm.Engine, tb table) error {
	have, err := sqlstore.QueryIDs(ctx, c, columnsSQL(engine), tb.name)
	if err != nil {
		return fmt.Errorf("columns: %w", err)
	}
	for _, col := range tb.columns {
		if !have[col.Name] {
			return fmt.Errorf("this build exports column %s, which the table lacks", col.Name)
		}
		delete(have, col.Name)
	}
	if len(have) > 0 {
		return fmt.Errorf("the table has columns %s, which this build does not export: describe them in sqlstore/lifecycle",
			strings.Join(slices.Sorted(maps.Keys(have)), ", "))
	}
	return nil
}

// scanners returns the scan destinations of a row of columns, and a
// function that turns what was scanned into the archive's values.
func scanners(columns []Column) ([]any, func() ([]any, error)) {
	dest := make([]any, len(columns))
	for i, c := range columns {
		switch c.Kind {
		case KindTime:
			dest[i] = new(sql.NullTime)
		case KindInt:
			dest[i] = new(sql.NullInt64)
		case KindFloat:
			dest[i] = new(sql.NullFloat64)
		case KindBool:
			dest[i] = new(sql.NullBool)
		default:
			dest[i] = new(sql.NullString)
		}
	}
	row := make([]any, len(columns))
	return dest, func() ([]any, error) {
		for i, c := range columns {
			row[i] = nil
			switch d := dest[i].(type) {
			case *sql.NullTime:
				if d.Valid {
					row[i] = d.Time.UTC().Format(timeLayout)
				}
			case *sql.NullInt64:
				if d.Valid {
					row[i] = d.Int64
				}
			case *sql.NullFloat64:
				if d.Valid {
					row[i] = d.Float64
				}
			case *sql.NullBool:
				if d.Valid {
					row[i] = d.Bool
				}
			case *sql.NullString:
				if !d.Valid {
					continue
				}
				row[i] = d.String
				if c.Kind == KindJSON {
					v, err := canonicalJSON([]byte(d.String))
					if err != nil {
						return nil, fmt.Errorf("column %s: %w", c.Name, err)
					}
					row[i] = json.RawMessage(v)
				}
			}
		}
		return row, nil
	}
}

// canonicalJSON rewrites a JSON value in one form whatever engine kept it:
// keys sorted, no spaces, numbers as written. PostgreSQL's jsonb orders
// keys its own way and adds spaces; SQLite keeps the text as it came.
func canonicalJSON(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

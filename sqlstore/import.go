package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// errImportRolledBack ends an import's transaction without an error of its
// own: a dry run, or bad rows without SkipBadRows.
var errImportRolledBack = errors.New("import rolled back")

// maxProblems bounds the bad rows a report lists; Failed counts them all.
const maxProblems = 1000

// importer holds one import's state: the tenant's names, found or made.
type importer struct {
	s      *AssetStore
	ctx    context.Context
	c      Conn
	opts   qm.ImportOptions
	names  map[string]map[string]string // table → lower-case name → id
	models map[string]string            // lower name + "\x00" + model number → id
	tags   map[string]bool              // tags seen in the file
	status string                       // the default status: the first deployable label
	rep    *qm.ImportReport
}

// Import reads rows from next until io.EOF and creates or updates (by tag)
// the tenant's assets, in one transaction: a dry run, or a bad row without
// SkipBadRows, rolls it all back, and the report says what would have been
// done. Categories, manufacturers, models, locations, suppliers (and, when
// asked, departments) named but missing are made in this tenant only.
func (s *AssetStore) Import(ctx context.Context, next func() (*qm.ImportRow, error), opts qm.ImportOptions) (*qm.ImportReport, error) {
	rep := &qm.ImportReport{DryRun: opts.DryRun, Made: map[string]int{}, Problems: []qm.ImportProblem{}}
	err := s.router.Update(ctx, func(c Conn) error {
		im := &importer{s: s, ctx: ctx, c: c, opts: opts, rep: rep, names: map[string]map[string]string{}, models: map[string]string{}, tags: map[string]bool{}}
		if err := im.load(); err != nil {
			return err
		}
		for {
			row, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			rep.Rows++
			if err := im.row(row); err != nil {
				return err
			}
		}
		if opts.DryRun || rep.Failed > 0 && !opts.SkipBadRows {
			return errImportRolledBack
		}
		return Audit(ctx, c, s.now(), "assets.import", "asset", "", nil,
			map[string]any{"rows": rep.Rows, "created": rep.Created, "updated": rep.Updated, "failed": rep.Failed})
	})
	switch {
	case errors.Is(err, errImportRolledBack):
		return rep, nil
	case err != nil:
		return rep, err
	}
	rep.Committed = true
	return rep, nil
}

// load reads the tenant's names of everything a row may name.
func (im *importer) load() error {
	for _, table := range []string{"categories", "manufacturers", "suppliers", "status_labels", "locations", "departments"} {
		im.names[table] = map[string]string{}
		rows, err := im.c.Query(im.ctx, `SELECT id, name FROM `+table+` WHERE tenant_id = $1`, im.c.TenantID())
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				rows.Close()
				return err
			}
			im.names[table][strings.ToLower(name)] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	err := im.c.QueryRow(im.ctx, `SELECT id FROM status_labels WHERE tenant_id = $1 AND kind = $2 ORDER BY name LIMIT 1`,
		im.c.TenantID(), qm.StatusDeployable).Scan(&im.status)
	if err != nil && !errors.Is(err, ErrNoRows) {
		return err
	}
	rows, err := im.c.Query(im.ctx, `SELECT id, name, model_number FROM models WHERE tenant_id = $1`, im.c.TenantID())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, number string
		if err := rows.Scan(&id, &name, &number); err != nil {
			return err
		}
		im.models[strings.ToLower(name)+"\x00"+number] = id
	}
	return rows.Err()
}

// named returns the id of the entry of table called name, making it when
// missing. "" stays "".
func (im *importer) named(table, name string) (string, error) {
	if name == "" {
		return "", nil
	}
	if id, ok := im.names[table][strings.ToLower(name)]; ok {
		return id, nil
	}
	now := Timestamp(im.s.now())
	id := NewID()
	var err error
	switch table {
	case "locations":
		_, err = im.c.Exec(im.ctx, `INSERT INTO locations (tenant_id, id, name, address, notes, created_at, updated_at) VALUES ($1, $2, $3, '', '', $4, $4)`,
			im.c.TenantID(), id, name, now)
	case "departments":
		_, err = im.c.Exec(im.ctx, `INSERT INTO departments (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
			im.c.TenantID(), id, name, now)
	default:
		list := map[string]qm.ReferenceList{"categories": qm.Categories, "manufacturers": qm.Manufacturers, "suppliers": qm.Suppliers}[table]
		r := &qm.Reference{ID: id, Name: name, CreatedAt: now, UpdatedAt: now}
		list.Normalize(r)
		err = (&ReferenceStore{list: list}).insert(im.ctx, im.c, r)
	}
	if err != nil {
		return "", fmt.Errorf("make %s %q: %w", table, name, err)
	}
	if err := Audit(im.ctx, im.c, now, "import.make", table, id, nil, map[string]any{"name": name}); err != nil {
		return "", err
	}
	im.names[table][strings.ToLower(name)] = id
	im.rep.Made[table]++
	return id, nil
}

// model returns the id of the row's model, making it when missing.
func (im *importer) model(row *qm.ImportRow) (string, error) {
	key := strings.ToLower(row.Model) + "\x00" + row.ModelNumber
	if id, ok := im.models[key]; ok {
		return id, nil
	}
	if row.Category == "" {
		return "", qm.Errorf(qm.EInvalid, "model %q is new, and making it needs a Category", row.Model)
	}
	cat, err := im.named("categories", row.Category)
	if err != nil {
		return "", err
	}
	maker, err := im.named("manufacturers", row.Manufacturer)
	if err != nil {
		return "", err
	}
	now := Timestamp(im.s.now())
	m := &qm.Model{ID: NewID(), Name: row.Model, ModelNumber: row.ModelNumber, CategoryID: cat, ManufacturerID: maker, Notes: row.ModelNotes, CreatedAt: now, UpdatedAt: now}
	m.Normalize()
	if err := m.Validate(); err != nil {
		return "", err
	}
	if err := insertModel(im.ctx, im.c, m); err != nil {
		return "", fmt.Errorf("make model %q: %w", row.Model, err)
	}
	im.models[key] = m.ID
	im.rep.Made["models"]++
	return m.ID, nil
}

// row imports one row, or records why it cannot.
func (im *importer) row(row *qm.ImportRow) error {
	problems := append([]string{}, row.Errors...)
	a := row.Asset
	fail := func(msg string) { problems = append(problems, msg) }
	if a.Tag != "" {
		if im.tags[strings.ToLower(a.Tag)] {
			fail(fmt.Sprintf("Asset Tag %q appears twice in the file", a.Tag))
		}
		im.tags[strings.ToLower(a.Tag)] = true
	}
	if row.Status != "" {
		if id, ok := im.names["status_labels"][strings.ToLower(row.Status)]; ok {
			a.StatusID = id
		} else {
			fail(fmt.Sprintf("Status %q is not one of the tenant's status labels", row.Status))
		}
	}
	a.Normalize()
	if len(problems) == 0 {
		var err error
		if a.ModelID, err = im.model(row); err != nil {
			if qm.ErrorCode(err) != qm.EInvalid {
				return err
			}
			fail(qm.ErrorMessage(err))
		}
	}
	if len(problems) == 0 {
		for _, ref := range []struct {
			table, name string
			dst         *string
		}{{"locations", row.Location, &a.LocationID}, {"suppliers", row.Supplier, &a.SupplierID}} {
			id, err := im.named(ref.table, ref.name)
			if err != nil {
				return err
			}
			*ref.dst = id
		}
		if im.opts.CompanyAsDepartment {
			id, err := im.named("departments", row.Department)
			if err != nil {
				return err
			}
			a.DepartmentID = id
		}
		if err := a.Validate(); err != nil {
			var e *qm.Error
			errors.As(err, &e)
			for f, m := range e.Fields {
				fail(f + ": " + m)
			}
		}
	}
	var before *qm.Asset
	if len(problems) == 0 {
		var err error
		if before, err = im.existing(&a); err != nil {
			if qm.ErrorCode(err) != qm.EInvalid {
				return err
			}
			fail(qm.ErrorMessage(err))
		}
	}
	if len(problems) > 0 {
		im.rep.Failed++
		if len(im.rep.Problems) < maxProblems {
			im.rep.Problems = append(im.rep.Problems, qm.ImportProblem{Line: row.Line, Tag: a.Tag, Errors: problems})
		}
		return nil
	}
	return im.write(&a, before)
}

// existing returns the asset with a's tag, nil for none, and checks that a
// department-confined importer keeps within its department. The names the
// row gave are the tenant's own, so no other reference needs a check.
func (im *importer) existing(a *qm.Asset) (*qm.Asset, error) {
	dept := tenancyDept(im.ctx)
	if dept != "" && a.DepartmentID != "" {
		if err := inScope(im.ctx, im.c, a.DepartmentID); err != nil {
			return nil, err
		}
	}
	if a.Tag == "" {
		return nil, im.creatable(a)
	}
	found, err := scanAsset(im.c.QueryRow(im.ctx, `SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND tag = $2`, im.c.TenantID(), a.Tag))
	switch {
	case errors.Is(err, ErrNoRows):
		return nil, im.creatable(a)
	case err != nil:
		return nil, err
	}
	if dept != "" {
		if _, err := findAsset(im.ctx, im.c, found.ID); qm.ErrorCode(err) == qm.ENotFound {
			return nil, qm.Errorf(qm.EInvalid, "Asset Tag %q is in use outside your department", a.Tag)
		} else if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// creatable checks that a new asset will have a status.
func (im *importer) creatable(a *qm.Asset) error {
	if a.StatusID == "" && im.status == "" {
		return qm.Errorf(qm.EInvalid, "no Status given, and the tenant has no deployable status label to default to")
	}
	return nil
}

// write creates the asset, or updates before, the one with its tag.
func (im *importer) write(a, before *qm.Asset) error {
	if before == nil {
		if a.StatusID == "" {
			a.StatusID = im.status
		}
		if a.DepartmentID == "" {
			a.DepartmentID = tenancyDept(im.ctx)
		}
		a.ID = NewID()
		a.CreatedAt = Timestamp(im.s.now())
		a.UpdatedAt = a.CreatedAt
		if a.Tag == "" {
			tag, err := im.s.nextTag(im.ctx, im.c)
			if err != nil {
				return err
			}
			a.Tag = tag
		}
		if _, err := im.c.Exec(im.ctx, `INSERT INTO assets (tenant_id, id, tag, name, serial, model_id, status_id, location_id, department_id,
			supplier_id, purchase_date, cost_cents, currency, order_number, warranty_months, notes, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`, assetArgs(im.c.TenantID(), a)...); err != nil {
			return fmt.Errorf("import asset %s: %w", a.Tag, err)
		}
		im.rep.Created++
		return Audit(im.ctx, im.c, a.CreatedAt, "asset.import", "asset", a.ID, nil, a)
	}
	after := *before
	for dst, src := range map[*string]string{&after.Name: a.Name, &after.Serial: a.Serial, &after.LocationID: a.LocationID,
		&after.DepartmentID: a.DepartmentID, &after.SupplierID: a.SupplierID, &after.PurchaseDate: a.PurchaseDate,
		&after.Currency: a.Currency, &after.OrderNumber: a.OrderNumber, &after.Notes: a.Notes, &after.StatusID: a.StatusID} {
		if src != "" {
			*dst = src
		}
	}
	after.ModelID = a.ModelID
	if a.CostCents != nil {
		after.CostCents = a.CostCents
	}
	if a.WarrantyMonths != nil {
		after.WarrantyMonths = a.WarrantyMonths
	}
	after.UpdatedAt = Timestamp(im.s.now())
	args := assetArgs(im.c.TenantID(), &after)
	args = append(args[:16], after.UpdatedAt)
	if _, err := im.c.Exec(im.ctx, `UPDATE assets SET tag = $3, name = $4, serial = $5, model_id = $6, status_id = $7, location_id = $8,
		department_id = $9, supplier_id = $10, purchase_date = $11, cost_cents = $12, currency = $13, order_number = $14,
		warranty_months = $15, notes = $16, updated_at = $17 WHERE tenant_id = $1 AND id = $2`, args...); err != nil {
		return fmt.Errorf("import asset %s: %w", a.Tag, err)
	}
	im.rep.Updated++
	return Audit(im.ctx, im.c, after.UpdatedAt, "asset.import", "asset", after.ID, before, &after)
}

// tenancyDept is the department the principal in ctx is confined to.
func tenancyDept(ctx context.Context) string { return tenancy.PrincipalFrom(ctx).DepartmentID }

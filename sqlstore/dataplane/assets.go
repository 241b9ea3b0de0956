package dataplane

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
)

// AssetStore is the qm.AssetService on any engine and tier.
type AssetStore struct {
	router   sqlstore.Router
	identity *catalog.Identity
	now      func() time.Time
	// invitations invites the people an import checks assets out to who
	// are not members, when asked to (nil: nobody can be).
	invitations qm.InvitationService
}

var _ qm.AssetService = (*AssetStore)(nil)

// NewAssetStore returns an AssetStore; identity tells who the tenant's
// users are, for check-outs to them.
func NewAssetStore(router sqlstore.Router, identity *catalog.Identity, now func() time.Time) *AssetStore {
	return &AssetStore{router: router, identity: identity, now: now}
}

const assetColumns = `id, tag, name, serial, model_id, status_id, location_id, department_id, supplier_id,
	CAST(purchase_date AS TEXT), cost_cents, currency, order_number, warranty_months, notes,
	holder_type, holder_id, checked_out_at, CAST(expected_return AS TEXT), created_at, updated_at`

var errAssetNotFound = qm.Errorf(qm.ENotFound, "asset not found")

// defaultTagPrefix starts the tags the tenant's assets are numbered with.
const defaultTagPrefix = "ASSET-"

// checkRefs checks every reference of a, and fills in defaults: the
// principal's department, the first deployable status.
func (s *AssetStore) checkRefs(ctx context.Context, c sqlstore.Conn, a *qm.Asset) error {
	if a.DepartmentID == "" {
		a.DepartmentID = c.Department()
	}
	if a.StatusID == "" {
		err := c.QueryRow(ctx, `SELECT id FROM status_labels WHERE tenant_id = $1 AND kind = $2 ORDER BY name LIMIT 1`,
			c.TenantID(), qm.StatusDeployable).Scan(&a.StatusID)
		if err != nil && !errors.Is(err, sqlstore.ErrNoRows) {
			return err
		}
	}
	for _, ref := range []struct {
		table, field, noun, id string
		required               bool
	}{
		{"models", "model_id", "model", a.ModelID, true},
		{"status_labels", "status_id", "status label", a.StatusID, true},
		{"locations", "location_id", "location", a.LocationID, false},
		{"departments", "department_id", "department", a.DepartmentID, false},
		{"suppliers", "supplier_id", "supplier", a.SupplierID, false},
	} {
		if err := RefExists(ctx, c, ref.table, ref.field, ref.noun, ref.id, ref.required); err != nil {
			return err
		}
	}
	if a.DepartmentID == "" {
		return nil // only a principal confined to no department gets here
	}
	return sqlstore.InScope(ctx, c, a.DepartmentID)
}

// TagNumbering implements qm.AssetService.
func (s *AssetStore) TagNumbering(ctx context.Context) (*qm.TagNumbering, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.TagNumbering, error) { return tagNumbering(ctx, c) })
}

func tagNumbering(ctx context.Context, c sqlstore.Conn) (*qm.TagNumbering, error) {
	n := &qm.TagNumbering{Prefix: defaultTagPrefix, Next: 1}
	err := c.QueryRow(ctx, `SELECT prefix, next FROM asset_tag_counters WHERE tenant_id = $1`, c.TenantID()).Scan(&n.Prefix, &n.Next)
	if err != nil && !errors.Is(err, sqlstore.ErrNoRows) {
		return nil, fmt.Errorf("tag numbering: %w", err)
	}
	return n, nil
}

// SetTagNumbering implements qm.AssetService.
func (s *AssetStore) SetTagNumbering(ctx context.Context, n qm.TagNumbering) (*qm.TagNumbering, error) {
	n.Prefix = strings.TrimSpace(n.Prefix)
	if err := n.Validate(); err != nil {
		return nil, err
	}
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := tagNumbering(ctx, c)
		if err != nil {
			return err
		}
		if err := setTagNumbering(ctx, c, n); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, s.now(), "asset_tags.update", "settings", "", before, n)
	})
	if err != nil {
		return nil, err
	}
	return &n, nil
}

func setTagNumbering(ctx context.Context, c sqlstore.Conn, n qm.TagNumbering) error {
	_, err := c.Exec(ctx, `INSERT INTO asset_tag_counters (tenant_id, prefix, next) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id) DO UPDATE SET prefix = excluded.prefix, next = excluded.next`, c.TenantID(), n.Prefix, n.Next)
	if err != nil {
		return fmt.Errorf("number asset tag: %w", err)
	}
	return nil
}

// nextTag returns the tenant's next free automatic tag.
func (s *AssetStore) nextTag(ctx context.Context, c sqlstore.Conn) (string, error) {
	var counter tagCounter
	for range maxTagTries {
		tag, err := counter.take(ctx, c)
		if err != nil {
			return "", err
		}
		var one int
		if err := c.QueryRow(ctx, `SELECT 1 FROM assets WHERE tenant_id = $1 AND tag = $2`, c.TenantID(), tag).Scan(&one); errors.Is(err, sqlstore.ErrNoRows) {
			return tag, counter.save(ctx, c)
		} else if err != nil {
			return "", err
		}
	}
	return "", errNoFreeTag
}

// maxTagTries bounds the taken tags skipped in search of a free one.
const maxTagTries = 100

var errNoFreeTag = qm.Errorf(qm.EConflict, "could not find a free asset tag: give one")

// tagCounter numbers the automatic tags of a tenant's assets, from the
// counter the tenant keeps.
type tagCounter struct {
	prefix string
	next   int64
	read   bool // prefix and next are the tenant's
}

// take returns the next tag in line, free or not.
func (t *tagCounter) take(ctx context.Context, c sqlstore.Conn) (string, error) {
	if !t.read {
		// The counter's row is locked first (made at the defaults if
		// need be), so two transactions numbering at once take turns and
		// the second reads what the first left, not the number it took.
		_, err := c.Exec(ctx, `INSERT INTO asset_tag_counters (tenant_id, prefix, next) VALUES ($1, $2, 1)
			ON CONFLICT (tenant_id) DO UPDATE SET next = asset_tag_counters.next`, c.TenantID(), defaultTagPrefix)
		if err != nil {
			return "", fmt.Errorf("lock tag numbering: %w", err)
		}
		n, err := tagNumbering(ctx, c)
		if err != nil {
			return "", err
		}
		t.prefix, t.next, t.read = n.Prefix, n.Next, true
	}
	t.next++
	return fmt.Sprintf("%s%06d", t.prefix, t.next-1), nil
}

// save stores the counter past the tags taken.
func (t *tagCounter) save(ctx context.Context, c sqlstore.Conn) error {
	if !t.read {
		return nil
	}
	return setTagNumbering(ctx, c, qm.TagNumbering{Prefix: t.prefix, Next: t.next})
}

// CreateAsset implements qm.AssetService.
func (s *AssetStore) CreateAsset(ctx context.Context, a *qm.Asset) error {
	a.Normalize()
	if err := a.Validate(); err != nil {
		return err
	}
	a.ID = sqlstore.NewID()
	a.CreatedAt = sqlstore.Timestamp(s.now())
	a.UpdatedAt = a.CreatedAt
	given := a.Fields
	a.Fields = nil
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := s.checkRefs(ctx, c, a); err != nil {
			return err
		}
		if err := sqlstore.Room(ctx, c, qm.MaxAssets, 1, sqlstore.CountRows(ctx, c, "assets")); err != nil {
			return err
		}
		fc, err := loadFieldCatalog(ctx, c)
		if err != nil {
			return err
		}
		change, err := fc.check(ctx, c, a, given)
		if err != nil {
			return err
		}
		if a.Tag == "" {
			tag, err := s.nextTag(ctx, c)
			if err != nil {
				return err
			}
			a.Tag = tag
		}
		args := sqlstore.Args{c.TenantID()}
		_, err = c.Exec(ctx, `INSERT INTO assets (tenant_id, `+strings.Join(assetWritten, ", ")+`) VALUES ($1, `+args.List(assetValues(a)...)+`)`, args...)
		if err != nil {
			return assetError(err, "create asset")
		}
		if err := change.apply(ctx, c, a); err != nil {
			return err
		}
		if err := sqlstore.Audit(ctx, c, a.CreatedAt, "asset.create", "asset", a.ID, nil, a); err != nil {
			return err
		}
		return s.derive(ctx, c, a)
	})
}

// assetWritten are the columns of an asset its writer sets, in the order of
// assetValues.
var assetWritten = []string{"id", "tag", "name", "serial", "model_id", "status_id", "location_id", "department_id", "supplier_id",
	"purchase_date", "cost_cents", "currency", "order_number", "warranty_months", "notes", "created_at", "updated_at"}

// assetValues are the values of a's assetWritten columns.
func assetValues(a *qm.Asset) []any {
	return []any{a.ID, a.Tag, a.Name, a.Serial, a.ModelID, a.StatusID, sqlstore.Nullable(a.LocationID), sqlstore.Nullable(a.DepartmentID),
		sqlstore.Nullable(a.SupplierID), sqlstore.Nullable(a.PurchaseDate), a.CostCents, a.Currency, a.OrderNumber, a.WarrantyMonths, a.Notes, a.CreatedAt, a.UpdatedAt}
}

// Asset implements qm.AssetService.
func (s *AssetStore) Asset(ctx context.Context, id string) (*qm.Asset, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Asset, error) {
		a, err := FindAsset(ctx, c, id)
		if err != nil {
			return nil, err
		}
		return a, s.derive(ctx, c, a)
	})
}

// FindAsset reads the asset with id of the tenant c is bound to, with its
// field values, within c's department scope: ENotFound for any other.
func FindAsset(ctx context.Context, c sqlstore.Conn, id string) (*qm.Asset, error) {
	if !sqlstore.ValidID(id) {
		return nil, errAssetNotFound
	}
	args := sqlstore.Args{c.TenantID(), id}
	cond := sqlstore.Subtree(c, "department_id", &args)
	a, err := scanAsset(c.QueryRow(ctx, `SELECT `+assetColumns+` FROM assets WHERE tenant_id = $1 AND id = $2`+cond, args...))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errAssetNotFound
	case err != nil:
		return nil, fmt.Errorf("get asset: %w", err)
	}
	return a, readFieldValues(ctx, c, a)
}

// pageFromIndexMax is the most matches of a text search whose page is read
// from the text index; a page of more is read in the order of its sort.
const pageFromIndexMax = 1000

// assetCursor is where a page ended: the sort column's value and the id.
type assetCursor struct {
	Value string `json:"v"`
	ID    string `json:"id"`
}

// Assets implements qm.AssetService.
func (s *AssetStore) Assets(ctx context.Context, f qm.AssetFilter) (*qm.AssetPage, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	sort, desc := strings.CutPrefix(f.Sort, "-")
	if sort == "" {
		sort = "tag"
	}
	if !slices.Contains(qm.AssetSorts, sort) {
		return nil, qm.Errorf(qm.EBadRequest, "cannot sort by %q: use one of %s, with - for descending", f.Sort, strings.Join(qm.AssetSorts, ", "))
	}
	if f.WarrantyBefore != "" {
		if _, err := time.Parse(time.DateOnly, f.WarrantyBefore); err != nil {
			return nil, qm.Errorf(qm.EBadRequest, "warranty_before must be YYYY-MM-DD, got %q", f.WarrantyBefore)
		}
	}
	switch f.HolderType {
	case "", qm.HolderUser, qm.HolderLocation, qm.HolderAsset:
	default:
		return nil, qm.Errorf(qm.EBadRequest, "holder_type must be user, location or asset, got %q", f.HolderType)
	}
	if f.HolderID != "" && f.HolderType == "" {
		return nil, qm.Errorf(qm.EBadRequest, "holder_id needs holder_type: user, location or asset")
	}
	var after *assetCursor
	if f.After != "" {
		b, err := base64.RawURLEncoding.DecodeString(f.After)
		if err == nil {
			err = json.Unmarshal(b, &after)
		}
		if err != nil || !sqlstore.ValidID(after.ID) {
			return nil, qm.Errorf(qm.EBadRequest, "the cursor %q is not one this list gave", f.After)
		}
	}
	page := &qm.AssetPage{Assets: []*qm.Asset{}}
	err := s.router.View(ctx, func(c sqlstore.Conn) error {
		var where strings.Builder
		args := sqlstore.Args{c.TenantID()}
		where.WriteString(`tenant_id = $1`)
		for col, v := range map[string]string{"status_id": f.StatusID, "model_id": f.ModelID, "location_id": f.LocationID,
			"department_id": f.DepartmentID, "holder_id": f.HolderID} {
			if v != "" {
				if !sqlstore.ValidID(v) {
					return nil // no asset has it
				}
				where.WriteString(" AND " + col + " = " + args.Add(v))
			}
		}
		// Filters on the model: its category, its manufacturer.
		for col, v := range map[string]string{"category_id": f.CategoryID, "manufacturer_id": f.ManufacturerID} {
			if v != "" {
				if !sqlstore.ValidID(v) {
					return nil
				}
				where.WriteString(" AND model_id IN (SELECT id FROM models WHERE tenant_id = $1 AND " + col + " = " + args.Add(v) + ")")
			}
		}
		for _, key := range slices.Sorted(maps.Keys(f.Fields)) {
			cond, err := fieldFilter(ctx, c, key, f.Fields[key], &args)
			if err != nil {
				return err
			}
			where.WriteString(" AND " + cond)
		}
		if f.HolderType != "" {
			where.WriteString(" AND holder_type = " + args.Add(f.HolderType))
		}
		if f.WarrantyBefore != "" {
			where.WriteString(" AND warranty_end < " + args.Add(f.WarrantyBefore)) // NULL, no warranty end, never is
		}
		// A text search reads the assets its index finds, if it can, and
		// matches them exactly here: the index may find more.
		var matching string
		var matchingArg any
		indexed := false
		if q := strings.TrimSpace(f.Q); q != "" {
			fmt.Fprintf(&where, ` AND (LOWER(tag) LIKE %[1]s ESCAPE '\' OR LOWER(name) LIKE %[1]s ESCAPE '\' OR LOWER(serial) LIKE %[1]s ESCAPE '\'
				OR LOWER(notes) LIKE %[1]s ESCAPE '\'
				OR model_id IN (SELECT id FROM models WHERE tenant_id = $1 AND LOWER(name) LIKE %[1]s ESCAPE '\'))`, args.Add(sqlstore.LikePattern(q)))
			var err error
			if matching, matchingArg, indexed, err = c.AssetsMatching(ctx, q); err != nil {
				return err
			}
		}
		where.WriteString(sqlstore.Subtree(c, "department_id", &args))
		// from is what a query with arguments args reads: the assets the
		// index finds, its argument added to args, or the table.
		from := func(args sqlstore.Args, useIndex bool) (string, sqlstore.Args) {
			if !indexed || !useIndex {
				return "assets", args
			}
			args = slices.Clip(args)
			return fmt.Sprintf(matching, args.Add(matchingArg)), args
		}
		countFrom, countArgs := from(args, true)
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM `+countFrom+` WHERE `+where.String(), countArgs...).Scan(&page.Total); err != nil {
			return fmt.Errorf("count assets: %w", err)
		}
		op, dir := ">", "ASC"
		if desc {
			op, dir = "<", "DESC"
		}
		if after != nil {
			var v any = after.Value
			if sort == "created_at" || sort == "updated_at" {
				t, err := time.Parse(time.RFC3339Nano, after.Value)
				if err != nil {
					return qm.Errorf(qm.EBadRequest, "the cursor is not one this list gave")
				}
				v = sqlstore.Timestamp(t)
			}
			value, id := args.Add(v), args.Add(after.ID)
			fmt.Fprintf(&where, " AND (%[1]s %[2]s %[3]s OR (%[1]s = %[3]s AND id %[2]s %[4]s))", sort, op, value, id)
		}
		limit := args.Add(f.Limit + 1)
		// Many matches are met sooner in the order of the sort than by
		// fetching and sorting them all.
		pageFrom, pageArgs := from(args, page.Total <= pageFromIndexMax)
		rows, err := c.Query(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %s ORDER BY %s %s, id %s LIMIT %s`,
			assetColumns, pageFrom, where.String(), sort, dir, dir, limit), pageArgs...)
		if err != nil {
			return fmt.Errorf("list assets: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAsset(rows)
			if err != nil {
				return fmt.Errorf("list assets: %w", err)
			}
			page.Assets = append(page.Assets, a)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list assets: %w", err)
		}
		rows.Close()
		if err := readFieldValues(ctx, c, page.Assets...); err != nil {
			return err
		}
		return s.derive(ctx, c, page.Assets...)
	})
	if err != nil {
		return nil, err
	}
	if len(page.Assets) > f.Limit {
		page.Assets = page.Assets[:f.Limit]
		last := page.Assets[f.Limit-1]
		b, _ := json.Marshal(assetCursor{Value: sortValue(last, sort), ID: last.ID})
		page.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return page, nil
}

func sortValue(a *qm.Asset, sort string) string {
	switch sort {
	case "name":
		return a.Name
	case "serial":
		return a.Serial
	case "created_at":
		return a.CreatedAt.Format(time.RFC3339Nano)
	case "updated_at":
		return a.UpdatedAt.Format(time.RFC3339Nano)
	}
	return a.Tag
}

// UpdateAsset implements qm.AssetService.
func (s *AssetStore) UpdateAsset(ctx context.Context, id string, u qm.AssetUpdate) (*qm.Asset, error) {
	var a *qm.Asset
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := FindAsset(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		a = &after
		a.Fields = maps.Clone(before.Fields)
		for dst, src := range map[*string]*string{&a.Tag: u.Tag, &a.Name: u.Name, &a.Serial: u.Serial, &a.ModelID: u.ModelID,
			&a.StatusID: u.StatusID, &a.LocationID: u.LocationID, &a.DepartmentID: u.DepartmentID, &a.SupplierID: u.SupplierID,
			&a.PurchaseDate: u.PurchaseDate, &a.Currency: u.Currency, &a.OrderNumber: u.OrderNumber, &a.Notes: u.Notes} {
			sqlstore.SetIf(dst, src)
		}
		if u.CostCents != nil {
			a.CostCents = u.CostCents
		}
		if u.WarrantyMonths != nil {
			a.WarrantyMonths = u.WarrantyMonths
		}
		a.Normalize()
		if a.Tag == "" {
			return &qm.Error{Code: qm.EInvalid, Message: "an asset keeps a tag", Fields: map[string]string{"tag": "required"}}
		}
		if err := a.Validate(); err != nil {
			return err
		}
		if err := s.checkRefs(ctx, c, a); err != nil {
			return err
		}
		fc, err := loadFieldCatalog(ctx, c)
		if err != nil {
			return err
		}
		change, err := fc.check(ctx, c, a, u.Fields)
		if err != nil {
			return err
		}
		a.UpdatedAt = sqlstore.Timestamp(s.now())
		// Every column the writer sets but the key and created_at.
		args, set := sqlstore.Args{c.TenantID(), a.ID}, []string{}
		for i, v := range assetValues(a) {
			if col := assetWritten[i]; col != "id" && col != "created_at" {
				set = append(set, col+" = "+args.Add(v))
			}
		}
		_, err = c.Exec(ctx, `UPDATE assets SET `+strings.Join(set, ", ")+` WHERE tenant_id = $1 AND id = $2`, args...)
		if err != nil {
			return assetError(err, "update asset")
		}
		if err := change.apply(ctx, c, a); err != nil {
			return err
		}
		if err := sqlstore.Audit(ctx, c, a.UpdatedAt, "asset.update", "asset", a.ID, before, a); err != nil {
			return err
		}
		return s.derive(ctx, c, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// DeleteAsset implements qm.AssetService.
func (s *AssetStore) DeleteAsset(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := FindAsset(ctx, c, id)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM assets WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete asset: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "asset.delete", "asset", id, before, nil)
	})
}

func scanAsset(r sqlstore.Row) (*qm.Asset, error) {
	var a qm.Asset
	var loc, dept, supplier, purchased, expected sql.NullString
	var cost, warranty sql.NullInt64
	var out sql.NullTime
	err := r.Scan(&a.ID, &a.Tag, &a.Name, &a.Serial, &a.ModelID, &a.StatusID, &loc, &dept, &supplier, &purchased,
		&cost, &a.Currency, &a.OrderNumber, &warranty, &a.Notes, &a.HolderType, &a.HolderID, &out, &expected, &a.CreatedAt, &a.UpdatedAt)
	if err != nil {
		return nil, err
	}
	a.LocationID, a.DepartmentID, a.SupplierID, a.PurchaseDate = loc.String, dept.String, supplier.String, purchased.String
	a.CheckedOutAt, a.ExpectedReturn = sqlstore.TimePtr(out), expected.String
	if cost.Valid {
		a.CostCents = &cost.Int64
	}
	if warranty.Valid {
		w := int(warranty.Int64)
		a.WarrantyMonths = &w
	}
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return &a, nil
}

func assetError(err error, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "another asset has this tag", Fields: map[string]string{"tag": "already taken"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

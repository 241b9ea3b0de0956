package dataplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// DepreciationStore is the qm.DepreciationService on any engine and tier.
type DepreciationStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.DepreciationService = (*DepreciationStore)(nil)

// NewDepreciationStore returns a DepreciationStore.
func NewDepreciationStore(router sqlstore.Router, now func() time.Time) *DepreciationStore {
	return &DepreciationStore{router: router, now: now}
}

// CreateDepreciation implements qm.DepreciationService.
func (s *DepreciationStore) CreateDepreciation(ctx context.Context, d *qm.Depreciation) error {
	if err := d.Validate(); err != nil {
		return err
	}
	d.ID = sqlstore.NewID()
	d.CreatedAt = sqlstore.Timestamp(s.now())
	d.UpdatedAt = d.CreatedAt
	d.CategoryIDs = nonNil(d.CategoryIDs)
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO depreciations (tenant_id, id, name, months, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.TenantID(), d.ID, d.Name, d.Months, d.CreatedAt, d.UpdatedAt)
		if err != nil {
			return depreciationError(err, "create depreciation")
		}
		if err := attachCategories(ctx, c, d); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, d.CreatedAt, "depreciation.create", "depreciation", d.ID, nil, d)
	})
}

func depreciationError(err error, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "a schedule with this name already exists", Fields: map[string]string{"name": "already taken"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// attachCategories makes the categories d lists, and only those, follow d.
func attachCategories(ctx context.Context, c sqlstore.Conn, d *qm.Depreciation) error {
	for _, id := range d.CategoryIDs {
		if err := RefExists(ctx, c, "categories", "category_ids", "category", id, true); err != nil {
			return err
		}
	}
	if _, err := c.Exec(ctx, `DELETE FROM depreciation_categories WHERE tenant_id = $1 AND depreciation_id = $2`, c.TenantID(), d.ID); err != nil {
		return fmt.Errorf("attach categories: %w", err)
	}
	for _, id := range d.CategoryIDs {
		_, err := c.Exec(ctx, `INSERT INTO depreciation_categories (tenant_id, category_id, depreciation_id) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, category_id) DO UPDATE SET depreciation_id = excluded.depreciation_id`, c.TenantID(), id, d.ID)
		if err != nil {
			return fmt.Errorf("attach categories: %w", err)
		}
	}
	return nil
}

// Depreciations implements qm.DepreciationService.
func (s *DepreciationStore) Depreciations(ctx context.Context) ([]*qm.Depreciation, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Depreciation, error) {
		ds, err := sqlstore.QueryAll(ctx, c, scanDepreciation, `SELECT id, name, months, created_at, updated_at FROM depreciations WHERE tenant_id = $1 ORDER BY name`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list depreciations: %w", err)
		}
		return ds, readCategories(ctx, c, ds)
	})
}

func scanDepreciation(r sqlstore.Row) (*qm.Depreciation, error) {
	d := qm.Depreciation{CategoryIDs: []string{}}
	if err := r.Scan(&d.ID, &d.Name, &d.Months, &d.CreatedAt, &d.UpdatedAt); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

// readCategories fills in the categories of ds.
func readCategories(ctx context.Context, c sqlstore.Conn, ds []*qm.Depreciation) error {
	byID := map[string]*qm.Depreciation{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	rows, err := c.Query(ctx, `SELECT depreciation_id, category_id FROM depreciation_categories WHERE tenant_id = $1 ORDER BY category_id`, c.TenantID())
	if err != nil {
		return fmt.Errorf("read schedule categories: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dep, cat string
		if err := rows.Scan(&dep, &cat); err != nil {
			return fmt.Errorf("read schedule categories: %w", err)
		}
		if d := byID[dep]; d != nil {
			d.CategoryIDs = append(d.CategoryIDs, cat)
		}
	}
	return rows.Err()
}

func findDepreciation(ctx context.Context, c sqlstore.Conn, id string) (*qm.Depreciation, error) {
	notFound := qm.Errorf(qm.ENotFound, "depreciation schedule not found")
	if !sqlstore.ValidID(id) {
		return nil, notFound
	}
	d, err := scanDepreciation(c.QueryRow(ctx, `SELECT id, name, months, created_at, updated_at FROM depreciations WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, notFound
	case err != nil:
		return nil, fmt.Errorf("get depreciation: %w", err)
	}
	return d, readCategories(ctx, c, []*qm.Depreciation{d})
}

// UpdateDepreciation implements qm.DepreciationService.
func (s *DepreciationStore) UpdateDepreciation(ctx context.Context, id string, u qm.DepreciationUpdate) (*qm.Depreciation, error) {
	var d *qm.Depreciation
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findDepreciation(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		d = &after
		sqlstore.SetIf(&d.Name, u.Name)
		sqlstore.SetIf(&d.Months, u.Months)
		sqlstore.SetIf(&d.CategoryIDs, u.CategoryIDs)
		d.CategoryIDs = nonNil(d.CategoryIDs)
		if err := d.Validate(); err != nil {
			return err
		}
		d.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE depreciations SET name = $3, months = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), d.ID, d.Name, d.Months, d.UpdatedAt)
		if err != nil {
			return depreciationError(err, "update depreciation")
		}
		if err := attachCategories(ctx, c, d); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, d.UpdatedAt, "depreciation.update", "depreciation", d.ID, before, d)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// DeleteDepreciation implements qm.DepreciationService. Models are checked
// here, not left to a foreign key: SQLite could not add one to the
// existing models table. Categories that followed it follow none.
func (s *DepreciationStore) DeleteDepreciation(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		d, err := findDepreciation(ctx, c, id)
		if err != nil {
			return err
		}
		var users int
		if err := c.QueryRow(ctx, `SELECT COUNT(*) FROM models WHERE tenant_id = $1 AND depreciation_id = $2`, c.TenantID(), id).Scan(&users); err != nil {
			return err
		}
		if users > 0 {
			return qm.Errorf(qm.EConflict, "schedule %q is used by %d models", d.Name, users)
		}
		if _, err := c.Exec(ctx, `DELETE FROM depreciations WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete depreciation: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "depreciation.delete", "depreciation", id, d, nil)
	})
}

// derive fills in the values of assets that follow from the others,
// today (see qm.Asset.Derive), with the months of the depreciation
// schedule each one's model follows, its own or its category's.
func (s *AssetStore) derive(ctx context.Context, c sqlstore.Conn, assets ...*qm.Asset) error {
	if len(assets) == 0 {
		return nil
	}
	months := map[string]int{}
	rows, err := c.Query(ctx, `SELECT m.id, COALESCE(own.months, cat.months) FROM models m
		LEFT JOIN depreciations own ON own.tenant_id = m.tenant_id AND own.id = m.depreciation_id
		LEFT JOIN depreciation_categories dc ON dc.tenant_id = m.tenant_id AND dc.category_id = m.category_id
		LEFT JOIN depreciations cat ON cat.tenant_id = dc.tenant_id AND cat.id = dc.depreciation_id
		WHERE m.tenant_id = $1 AND COALESCE(own.months, cat.months) IS NOT NULL`, c.TenantID())
	if err != nil {
		return fmt.Errorf("depreciation schedules: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		months[id] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("depreciation schedules: %w", err)
	}
	today := s.now()
	for _, a := range assets {
		a.Derive(months[a.ModelID], today)
	}
	return nil
}

package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
)

// DepreciationStore is the qm.DepreciationService on any engine and tier.
type DepreciationStore struct {
	router Router
	now    func() time.Time
}

var _ qm.DepreciationService = (*DepreciationStore)(nil)

// NewDepreciationStore returns a DepreciationStore.
func NewDepreciationStore(router Router, now func() time.Time) *DepreciationStore {
	return &DepreciationStore{router: router, now: now}
}

// CreateDepreciation implements qm.DepreciationService.
func (s *DepreciationStore) CreateDepreciation(ctx context.Context, d *qm.Depreciation) error {
	if err := d.Validate(); err != nil {
		return err
	}
	d.ID = NewID()
	d.CreatedAt = Timestamp(s.now())
	d.UpdatedAt = d.CreatedAt
	return s.router.Update(ctx, func(c Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO depreciations (tenant_id, id, name, months, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.TenantID(), d.ID, d.Name, d.Months, d.CreatedAt, d.UpdatedAt)
		if IsConstraint(err, Unique) {
			return &qm.Error{Code: qm.EConflict, Message: "a schedule with this name already exists", Fields: map[string]string{"name": "already taken"}}
		} else if err != nil {
			return fmt.Errorf("create depreciation: %w", err)
		}
		return Audit(ctx, c, d.CreatedAt, "depreciation.create", "depreciation", d.ID, nil, d)
	})
}

// Depreciations implements qm.DepreciationService.
func (s *DepreciationStore) Depreciations(ctx context.Context) ([]*qm.Depreciation, error) {
	ds := []*qm.Depreciation{}
	err := s.router.View(ctx, func(c Conn) error {
		rows, err := c.Query(ctx, `SELECT id, name, months, created_at, updated_at FROM depreciations WHERE tenant_id = $1 ORDER BY name`, c.TenantID())
		if err != nil {
			return fmt.Errorf("list depreciations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var d qm.Depreciation
			if err := rows.Scan(&d.ID, &d.Name, &d.Months, &d.CreatedAt, &d.UpdatedAt); err != nil {
				return fmt.Errorf("list depreciations: %w", err)
			}
			d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
			ds = append(ds, &d)
		}
		return rows.Err()
	})
	return ds, err
}

// DeleteDepreciation implements qm.DepreciationService. Models are checked
// here, not left to a foreign key: SQLite could not add one to the
// existing models table.
func (s *DepreciationStore) DeleteDepreciation(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c Conn) error {
		notFound := qm.Errorf(qm.ENotFound, "depreciation schedule not found")
		if !ValidID(id) {
			return notFound
		}
		var d qm.Depreciation
		err := c.QueryRow(ctx, `SELECT id, name, months FROM depreciations WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id).Scan(&d.ID, &d.Name, &d.Months)
		if errors.Is(err, ErrNoRows) {
			return notFound
		} else if err != nil {
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
		return Audit(ctx, c, s.now(), "depreciation.delete", "depreciation", id, &d, nil)
	})
}

// ScheduleMonths maps each model of the tenant that has a depreciation
// schedule to the schedule's months.
func (s *AssetStore) ScheduleMonths(ctx context.Context) (map[string]int, error) {
	months := map[string]int{}
	err := s.router.View(ctx, func(c Conn) error {
		rows, err := c.Query(ctx, `SELECT m.id, d.months FROM models m JOIN depreciations d ON d.tenant_id = m.tenant_id AND d.id = m.depreciation_id
			WHERE m.tenant_id = $1`, c.TenantID())
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
		return rows.Err()
	})
	return months, err
}

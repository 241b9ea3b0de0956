package dataplane

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// MaintenanceStore is the qm.MaintenanceService on any engine and tier.
type MaintenanceStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.MaintenanceService = (*MaintenanceStore)(nil)

// NewMaintenanceStore returns a MaintenanceStore.
func NewMaintenanceStore(router sqlstore.Router, now func() time.Time) *MaintenanceStore {
	return &MaintenanceStore{router: router, now: now}
}

const maintenanceColumns = `id, asset_id, kind, title, CAST(started_on AS TEXT), CAST(completed_on AS TEXT), cost_cents, supplier_id, notes, created_at, updated_at`

var errMaintenanceNotFound = qm.Errorf(qm.ENotFound, "maintenance record not found")

// Maintenances implements qm.MaintenanceService.
func (s *MaintenanceStore) Maintenances(ctx context.Context, assetID string) ([]*qm.Maintenance, error) {
	ms := []*qm.Maintenance{}
	err := s.router.View(ctx, func(c sqlstore.Conn) error {
		if _, err := FindAsset(ctx, c, assetID); err != nil {
			return err
		}
		var err error
		if ms, err = sqlstore.QueryAll(ctx, c, scanMaintenance, `SELECT `+maintenanceColumns+` FROM maintenances WHERE tenant_id = $1 AND asset_id = $2
			ORDER BY started_on DESC, id DESC`, c.TenantID(), assetID); err != nil {
			return fmt.Errorf("list maintenance: %w", err)
		}
		return nil
	})
	return ms, err
}

// AddMaintenance implements qm.MaintenanceService.
func (s *MaintenanceStore) AddMaintenance(ctx context.Context, assetID string, m *qm.Maintenance) error {
	m.Normalize()
	if err := m.Validate(); err != nil {
		return err
	}
	m.ID, m.AssetID = sqlstore.NewID(), assetID
	m.CreatedAt = sqlstore.Timestamp(s.now())
	m.UpdatedAt = m.CreatedAt
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if _, err := FindAsset(ctx, c, assetID); err != nil {
			return err
		}
		if err := RefExists(ctx, c, "suppliers", "supplier_id", "supplier", m.SupplierID, false); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `INSERT INTO maintenances (tenant_id, id, asset_id, kind, title, started_on, completed_on, cost_cents, supplier_id, notes, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, c.TenantID(), m.ID, m.AssetID, m.Kind, m.Title, m.StartedOn,
			sqlstore.Nullable(m.CompletedOn), m.CostCents, sqlstore.Nullable(m.SupplierID), m.Notes, m.CreatedAt, m.UpdatedAt)
		if err != nil {
			return fmt.Errorf("add maintenance: %w", err)
		}
		return sqlstore.Audit(ctx, c, m.CreatedAt, "asset.maintenance", "asset", assetID, nil, m)
	})
}

// UpdateMaintenance implements qm.MaintenanceService.
func (s *MaintenanceStore) UpdateMaintenance(ctx context.Context, assetID, id string, u qm.MaintenanceUpdate) (*qm.Maintenance, error) {
	var m *qm.Maintenance
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findMaintenance(ctx, c, assetID, id)
		if err != nil {
			return err
		}
		after := *before
		m = &after
		sqlstore.SetIf(&m.Kind, u.Kind)
		sqlstore.SetIf(&m.Title, u.Title)
		sqlstore.SetIf(&m.StartedOn, u.StartedOn)
		sqlstore.SetIf(&m.CompletedOn, u.CompletedOn)
		sqlstore.SetIf(&m.SupplierID, u.SupplierID)
		sqlstore.SetIf(&m.Notes, u.Notes)
		if u.CostCents != nil {
			m.CostCents = u.CostCents
		}
		m.Normalize()
		if err := m.Validate(); err != nil {
			return err
		}
		if err := RefExists(ctx, c, "suppliers", "supplier_id", "supplier", m.SupplierID, false); err != nil {
			return err
		}
		m.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE maintenances SET kind = $3, title = $4, started_on = $5, completed_on = $6, cost_cents = $7,
			supplier_id = $8, notes = $9, updated_at = $10 WHERE tenant_id = $1 AND id = $2`, c.TenantID(), m.ID, m.Kind, m.Title, m.StartedOn,
			sqlstore.Nullable(m.CompletedOn), m.CostCents, sqlstore.Nullable(m.SupplierID), m.Notes, m.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update maintenance: %w", err)
		}
		return sqlstore.Audit(ctx, c, m.UpdatedAt, "asset.maintenance", "asset", assetID, before, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DeleteMaintenance implements qm.MaintenanceService.
func (s *MaintenanceStore) DeleteMaintenance(ctx context.Context, assetID, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findMaintenance(ctx, c, assetID, id)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM maintenances WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete maintenance: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "asset.maintenance", "asset", assetID, before, nil)
	})
}

// findMaintenance returns a record of an asset the caller can see.
func findMaintenance(ctx context.Context, c sqlstore.Conn, assetID, id string) (*qm.Maintenance, error) {
	if _, err := FindAsset(ctx, c, assetID); err != nil {
		return nil, err
	}
	if !sqlstore.ValidID(id) {
		return nil, errMaintenanceNotFound
	}
	m, err := scanMaintenance(c.QueryRow(ctx, `SELECT `+maintenanceColumns+` FROM maintenances WHERE tenant_id = $1 AND asset_id = $2 AND id = $3`,
		c.TenantID(), assetID, id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errMaintenanceNotFound
	case err != nil:
		return nil, fmt.Errorf("get maintenance: %w", err)
	}
	return m, nil
}

func scanMaintenance(r sqlstore.Row) (*qm.Maintenance, error) {
	var m qm.Maintenance
	var completed, supplier sql.NullString
	var cost sql.NullInt64
	err := r.Scan(&m.ID, &m.AssetID, &m.Kind, &m.Title, &m.StartedOn, &completed, &cost, &supplier, &m.Notes, &m.CreatedAt, &m.UpdatedAt)
	if err != nil {
		return nil, err
	}
	m.CompletedOn, m.SupplierID = completed.String, supplier.String
	if cost.Valid {
		m.CostCents = &cost.Int64
	}
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return &m, nil
}

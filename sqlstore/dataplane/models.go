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

// ModelStore is the qm.ModelService on any engine and tier.
type ModelStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.ModelService = (*ModelStore)(nil)

// NewModelStore returns a ModelStore.
func NewModelStore(router sqlstore.Router, now func() time.Time) *ModelStore {
	return &ModelStore{router: router, now: now}
}

const modelColumns = `id, name, model_number, category_id, manufacturer_id, depreciation_id, field_set_id, notes, created_at, updated_at`

var errModelNotFound = qm.Errorf(qm.ENotFound, "model not found")

// RefExists checks that id names a row of table (a constant of the
// caller's) in the tenant c is bound to; "" passes unless required. The
// composite foreign key is the backstop; this gives the field's message.
func RefExists(ctx context.Context, c sqlstore.Conn, table, field, noun, id string, required bool) error {
	if id == "" && !required {
		return nil
	}
	bad := &qm.Error{Code: qm.EInvalid, Message: "unknown " + noun, Fields: map[string]string{field: "no such " + noun}}
	if !sqlstore.ValidID(id) {
		return bad
	}
	var one int
	err := c.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id).Scan(&one)
	if errors.Is(err, sqlstore.ErrNoRows) {
		return bad
	}
	return err
}

func (s *ModelStore) checkRefs(ctx context.Context, c sqlstore.Conn, m *qm.Model) error {
	if err := RefExists(ctx, c, "categories", "category_id", "category", m.CategoryID, true); err != nil {
		return err
	}
	if err := RefExists(ctx, c, "manufacturers", "manufacturer_id", "manufacturer", m.ManufacturerID, false); err != nil {
		return err
	}
	if err := RefExists(ctx, c, "depreciations", "depreciation_id", "depreciation schedule", m.DepreciationID, false); err != nil {
		return err
	}
	return RefExists(ctx, c, "field_sets", "field_set_id", "field set", m.FieldSetID, false)
}

// CreateModel implements qm.ModelService.
func (s *ModelStore) CreateModel(ctx context.Context, m *qm.Model) error {
	m.Normalize()
	if err := m.Validate(); err != nil {
		return err
	}
	m.ID = sqlstore.NewID()
	m.CreatedAt = sqlstore.Timestamp(s.now())
	m.UpdatedAt = m.CreatedAt
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := s.checkRefs(ctx, c, m); err != nil {
			return err
		}
		return insertModel(ctx, c, m)
	})
}

// insertModel writes a new model and its audit entry.
func insertModel(ctx context.Context, c sqlstore.Conn, m *qm.Model) error {
	_, err := c.Exec(ctx, `INSERT INTO models (tenant_id, `+modelColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.TenantID(), m.ID, m.Name, m.ModelNumber, m.CategoryID, sqlstore.Nullable(m.ManufacturerID), sqlstore.Nullable(m.DepreciationID), sqlstore.Nullable(m.FieldSetID),
		m.Notes, m.CreatedAt, m.UpdatedAt)
	if err != nil {
		return modelError(err, "create model")
	}
	return sqlstore.Audit(ctx, c, m.CreatedAt, "model.create", "model", m.ID, nil, m)
}

// Model implements qm.ModelService.
func (s *ModelStore) Model(ctx context.Context, id string) (*qm.Model, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Model, error) { return findModel(ctx, c, id) })
}

// Models implements qm.ModelService.
func (s *ModelStore) Models(ctx context.Context) ([]*qm.Model, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Model, error) {
		ms, err := sqlstore.QueryAll(ctx, c, scanModel, `SELECT `+modelColumns+` FROM models WHERE tenant_id = $1 ORDER BY name, model_number`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list models: %w", err)
		}
		return ms, nil
	})
}

// UpdateModel implements qm.ModelService.
func (s *ModelStore) UpdateModel(ctx context.Context, id string, u qm.ModelUpdate) (*qm.Model, error) {
	var m *qm.Model
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findModel(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		m = &after
		sqlstore.SetIf(&m.Name, u.Name)
		sqlstore.SetIf(&m.ModelNumber, u.ModelNumber)
		sqlstore.SetIf(&m.CategoryID, u.CategoryID)
		sqlstore.SetIf(&m.ManufacturerID, u.ManufacturerID)
		sqlstore.SetIf(&m.DepreciationID, u.DepreciationID)
		sqlstore.SetIf(&m.FieldSetID, u.FieldSetID)
		sqlstore.SetIf(&m.Notes, u.Notes)
		m.Normalize()
		if err := m.Validate(); err != nil {
			return err
		}
		if err := s.checkRefs(ctx, c, m); err != nil {
			return err
		}
		m.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE models SET name = $3, model_number = $4, category_id = $5, manufacturer_id = $6, depreciation_id = $7,
			field_set_id = $8, notes = $9, updated_at = $10 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), m.ID, m.Name, m.ModelNumber, m.CategoryID, sqlstore.Nullable(m.ManufacturerID), sqlstore.Nullable(m.DepreciationID), sqlstore.Nullable(m.FieldSetID),
			m.Notes, m.UpdatedAt)
		if err != nil {
			return modelError(err, "update model")
		}
		return sqlstore.Audit(ctx, c, m.UpdatedAt, "model.update", "model", m.ID, before, m)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// DeleteModel implements qm.ModelService.
func (s *ModelStore) DeleteModel(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findModel(ctx, c, id)
		if err != nil {
			return err
		}
		_, err = c.Exec(ctx, `DELETE FROM models WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id)
		if sqlstore.IsConstraint(err, sqlstore.ForeignKey) {
			return qm.Errorf(qm.EConflict, "model %q is used by assets", before.Name)
		}
		if err != nil {
			return fmt.Errorf("delete model: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "model.delete", "model", id, before, nil)
	})
}

func findModel(ctx context.Context, c sqlstore.Conn, id string) (*qm.Model, error) {
	if !sqlstore.ValidID(id) {
		return nil, errModelNotFound
	}
	m, err := scanModel(c.QueryRow(ctx, `SELECT `+modelColumns+` FROM models WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errModelNotFound
	case err != nil:
		return nil, fmt.Errorf("get model: %w", err)
	}
	return m, nil
}

func scanModel(r sqlstore.Row) (*qm.Model, error) {
	var m qm.Model
	var maker, depreciation, fieldSet sql.NullString
	if err := r.Scan(&m.ID, &m.Name, &m.ModelNumber, &m.CategoryID, &maker, &depreciation, &fieldSet, &m.Notes, &m.CreatedAt, &m.UpdatedAt); err != nil {
		return nil, err
	}
	m.ManufacturerID, m.DepreciationID, m.FieldSetID = maker.String, depreciation.String, fieldSet.String
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return &m, nil
}

func modelError(err error, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "a model with this name and model number already exists", Fields: map[string]string{"name": "already taken"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

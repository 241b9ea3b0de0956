package dataplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// ReferenceStore is the qm.ReferenceService of one reference list: one
// table, named by the list, on any engine and tier.
type ReferenceStore struct {
	list   qm.ReferenceList
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.ReferenceService = (*ReferenceStore)(nil)

// NewReferenceStore returns the store of list.
func NewReferenceStore(list qm.ReferenceList, router sqlstore.Router, now func() time.Time) *ReferenceStore {
	return &ReferenceStore{list: list, router: router, now: now}
}

const referenceColumns = `id, name, kind, notes, created_at, updated_at`

// action names an audit action on the list: "category.create".
func (s *ReferenceStore) action(verb string) string {
	return strings.ReplaceAll(s.list.Noun, " ", "_") + "." + verb
}

func (s *ReferenceStore) notFound() error {
	return qm.Errorf(qm.ENotFound, "%s not found", s.list.Noun)
}

// Create implements qm.ReferenceService.
func (s *ReferenceStore) Create(ctx context.Context, r *qm.Reference) error {
	s.list.Normalize(r)
	if err := s.list.Validate(r); err != nil {
		return err
	}
	r.ID = sqlstore.NewID()
	r.CreatedAt = sqlstore.Timestamp(s.now())
	r.UpdatedAt = r.CreatedAt
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := s.insert(ctx, c, r); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, r.CreatedAt, s.action("create"), s.list.Noun, r.ID, nil, r)
	})
}

// insert writes r on a connection already in a transaction.
func (s *ReferenceStore) insert(ctx context.Context, c sqlstore.Conn, r *qm.Reference) error {
	_, err := c.Exec(ctx, `INSERT INTO `+s.list.Name+` (tenant_id, `+referenceColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		c.TenantID(), r.ID, r.Name, r.Kind, r.Notes, r.CreatedAt, r.UpdatedAt)
	if err != nil {
		return s.conflict(err, "create")
	}
	return nil
}

// Get implements qm.ReferenceService.
func (s *ReferenceStore) Get(ctx context.Context, id string) (*qm.Reference, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Reference, error) { return s.find(ctx, c, id) })
}

// List implements qm.ReferenceService.
func (s *ReferenceStore) List(ctx context.Context) ([]*qm.Reference, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Reference, error) {
		rs, err := sqlstore.QueryAll(ctx, c, scanReference, `SELECT `+referenceColumns+` FROM `+s.list.Name+` WHERE tenant_id = $1 ORDER BY name`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", s.list.Name, err)
		}
		return rs, nil
	})
}

// Update implements qm.ReferenceService.
func (s *ReferenceStore) Update(ctx context.Context, id string, u qm.ReferenceUpdate) (*qm.Reference, error) {
	var r *qm.Reference
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := s.find(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		r = &after
		sqlstore.SetIf(&r.Name, u.Name)
		sqlstore.SetIf(&r.Kind, u.Kind)
		sqlstore.SetIf(&r.Notes, u.Notes)
		s.list.Normalize(r)
		if err := s.list.Validate(r); err != nil {
			return err
		}
		r.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE `+s.list.Name+` SET name = $3, kind = $4, notes = $5, updated_at = $6 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), r.ID, r.Name, r.Kind, r.Notes, r.UpdatedAt)
		if err != nil {
			return s.conflict(err, "update")
		}
		return sqlstore.Audit(ctx, c, r.UpdatedAt, s.action("update"), s.list.Noun, r.ID, before, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Delete implements qm.ReferenceService.
func (s *ReferenceStore) Delete(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := s.find(ctx, c, id)
		if err != nil {
			return err
		}
		_, err = c.Exec(ctx, `DELETE FROM `+s.list.Name+` WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id)
		if sqlstore.IsConstraint(err, sqlstore.ForeignKey) {
			return qm.Errorf(qm.EConflict, "the %s %q is in use", s.list.Noun, before.Name)
		}
		if err != nil {
			return fmt.Errorf("delete %s: %w", s.list.Noun, err)
		}
		return sqlstore.Audit(ctx, c, s.now(), s.action("delete"), s.list.Noun, id, before, nil)
	})
}

func (s *ReferenceStore) find(ctx context.Context, c sqlstore.Conn, id string) (*qm.Reference, error) {
	if !sqlstore.ValidID(id) {
		return nil, s.notFound()
	}
	r, err := scanReference(c.QueryRow(ctx, `SELECT `+referenceColumns+` FROM `+s.list.Name+` WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, s.notFound()
	case err != nil:
		return nil, fmt.Errorf("get %s: %w", s.list.Noun, err)
	}
	return r, nil
}

func (s *ReferenceStore) conflict(err error, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "a " + s.list.Noun + " with this name already exists", Fields: map[string]string{"name": "already taken"}}
	}
	return fmt.Errorf("%s %s: %w", op, s.list.Noun, err)
}

func scanReference(r sqlstore.Row) (*qm.Reference, error) {
	var ref qm.Reference
	if err := r.Scan(&ref.ID, &ref.Name, &ref.Kind, &ref.Notes, &ref.CreatedAt, &ref.UpdatedAt); err != nil {
		return nil, err
	}
	ref.CreatedAt, ref.UpdatedAt = ref.CreatedAt.UTC(), ref.UpdatedAt.UTC()
	return &ref, nil
}

// SeedStatusLabels gives a new tenant the default status labels, as part of
// its creation (audited as that): the catalog.Seed the engines give
// catalog.NewTenantService.
func SeedStatusLabels(ctx context.Context, c sqlstore.Conn, now time.Time) error {
	s := &ReferenceStore{list: qm.StatusLabels}
	for _, d := range qm.DefaultStatusLabels {
		r := d
		r.ID, r.CreatedAt, r.UpdatedAt = sqlstore.NewID(), sqlstore.Timestamp(now), sqlstore.Timestamp(now)
		if err := s.insert(ctx, c, &r); err != nil {
			return err
		}
	}
	return nil
}

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

// LocationStore is the qm.LocationService on any engine and tier.
type LocationStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.LocationService = (*LocationStore)(nil)

// NewLocationStore returns a LocationStore whose queries run on router's
// connections, stamping times with now.
func NewLocationStore(router sqlstore.Router, now func() time.Time) *LocationStore {
	return &LocationStore{router: router, now: now}
}

const locationColumns = `id, name, parent_id, address, notes, created_at, updated_at`

// CreateLocation implements qm.LocationService.
func (s *LocationStore) CreateLocation(ctx context.Context, l *qm.Location) error {
	l.Normalize()
	l.ID = sqlstore.NewID()
	if err := l.Validate(); err != nil {
		return err
	}
	l.CreatedAt = sqlstore.Timestamp(s.now())
	l.UpdatedAt = l.CreatedAt
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := checkParent(ctx, c, "locations", "location", l.ID, l.ParentID); err != nil {
			return err
		}
		if err := sqlstore.Room(ctx, c, qm.MaxLocations, 1, sqlstore.CountRows(ctx, c, "locations")); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `INSERT INTO locations (tenant_id, `+locationColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.TenantID(), l.ID, l.Name, sqlstore.Nullable(l.ParentID), l.Address, l.Notes, l.CreatedAt, l.UpdatedAt)
		if err != nil {
			return locationError(err, "create location")
		}
		return sqlstore.Audit(ctx, c, l.CreatedAt, "location.create", "location", l.ID, nil, l)
	})
}

// Location implements qm.LocationService.
func (s *LocationStore) Location(ctx context.Context, id string) (*qm.Location, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Location, error) { return findLocation(ctx, c, id) })
}

// Locations implements qm.LocationService.
func (s *LocationStore) Locations(ctx context.Context, f qm.LocationFilter) ([]*qm.Location, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > qm.MaxLocationPage:
		f.Limit = qm.MaxLocationPage
	}
	var ls []*qm.Location
	err := s.router.View(ctx, func(c sqlstore.Conn) error {
		args := sqlstore.Args{c.TenantID()}
		where := `tenant_id = $1`
		if f.ParentID != "" {
			if !sqlstore.ValidID(f.ParentID) {
				return nil // no location has such a parent
			}
			where += ` AND parent_id = ` + args.Add(f.ParentID)
		}
		if f.After != "" {
			if !sqlstore.ValidID(f.After) {
				return qm.Errorf(qm.EBadRequest, "the cursor %q is not one this list gave", f.After)
			}
			where += ` AND id > ` + args.Add(f.After)
		}
		var err error
		if ls, err = sqlstore.QueryAll(ctx, c, scanLocation, `SELECT `+locationColumns+` FROM locations WHERE `+where+` ORDER BY id LIMIT `+args.Add(f.Limit), args...); err != nil {
			return fmt.Errorf("list locations: %w", err)
		}
		return nil
	})
	return ls, err
}

// UpdateLocation implements qm.LocationService.
func (s *LocationStore) UpdateLocation(ctx context.Context, id string, u qm.LocationUpdate) (*qm.Location, error) {
	var l *qm.Location
	err := s.router.Update(ctx, func(c sqlstore.Conn) (err error) {
		before, err := findLocation(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		l = &after
		u.Apply(l)
		l.Normalize()
		if err := l.Validate(); err != nil {
			return err
		}
		if err := checkParent(ctx, c, "locations", "location", l.ID, l.ParentID); err != nil {
			return err
		}
		l.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE locations SET name = $3, parent_id = $4, address = $5, notes = $6, updated_at = $7
			WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), l.ID, l.Name, sqlstore.Nullable(l.ParentID), l.Address, l.Notes, l.UpdatedAt)
		if err != nil {
			return locationError(err, "update location")
		}
		return sqlstore.Audit(ctx, c, l.UpdatedAt, "location.update", "location", l.ID, before, l)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// DeleteLocation implements qm.LocationService.
func (s *LocationStore) DeleteLocation(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findLocation(ctx, c, id)
		if err != nil {
			return err
		}
		_, err = c.Exec(ctx, `DELETE FROM locations WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id)
		if sqlstore.IsConstraint(err, sqlstore.ForeignKey) {
			return qm.Errorf(qm.EConflict, "location has child locations: move or delete them first")
		}
		if err != nil {
			return fmt.Errorf("delete location: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "location.delete", "location", id, before, nil)
	})
}

var errLocationNotFound = qm.Errorf(qm.ENotFound, "location not found")

func findLocation(ctx context.Context, c sqlstore.Conn, id string) (*qm.Location, error) {
	if !sqlstore.ValidID(id) {
		return nil, errLocationNotFound
	}
	l, err := scanLocation(c.QueryRow(ctx, `SELECT `+locationColumns+` FROM locations WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errLocationNotFound
	case err != nil:
		return nil, fmt.Errorf("get location: %w", err)
	}
	return l, nil
}

func locationError(err error, op string) error {
	switch {
	case err == nil:
		return nil
	case sqlstore.IsConstraint(err, sqlstore.Unique):
		return &qm.Error{Code: qm.EConflict, Message: "a location with this name already exists under the same parent",
			Fields: map[string]string{"name": "already taken"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func scanLocation(r sqlstore.Row) (*qm.Location, error) {
	var l qm.Location
	var parent sql.NullString
	if err := r.Scan(&l.ID, &l.Name, &parent, &l.Address, &l.Notes, &l.CreatedAt, &l.UpdatedAt); err != nil {
		return nil, err
	}
	l.ParentID = parent.String
	l.CreatedAt = l.CreatedAt.UTC()
	l.UpdatedAt = l.UpdatedAt.UTC()
	return &l, nil
}

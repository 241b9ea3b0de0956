package dataplane

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
)

// LicenseStore is the qm.LicenseService on any engine and tier.
type LicenseStore struct {
	router   sqlstore.Router
	identity *catalog.Identity
	now      func() time.Time
}

var _ qm.LicenseService = (*LicenseStore)(nil)

// NewLicenseStore returns a LicenseStore; identity tells who the tenant's
// members are, for seats assigned to them.
func NewLicenseStore(router sqlstore.Router, identity *catalog.Identity, now func() time.Time) *LicenseStore {
	return &LicenseStore{router: router, identity: identity, now: now}
}

// licenseColumns are what scanLicense reads, of licenses l; the count of
// seats names the tenant, $1 of the query, by itself, for Citus.
const licenseColumns = `l.id, l.name, l.product_key, l.manufacturer_id, l.seats,
	(SELECT COUNT(*) FROM license_seats s WHERE s.tenant_id = $1 AND s.license_id = l.id),
	CAST(l.expires_on AS TEXT), l.notes, l.created_at, l.updated_at`

var errLicenseNotFound = qm.Errorf(qm.ENotFound, "license not found")

// CreateLicense implements qm.LicenseService.
func (s *LicenseStore) CreateLicense(ctx context.Context, l *qm.License) error {
	l.Normalize()
	if err := l.Validate(); err != nil {
		return err
	}
	l.ID, l.UsedSeats = sqlstore.NewID(), 0
	l.CreatedAt = sqlstore.Timestamp(s.now())
	l.UpdatedAt = l.CreatedAt
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := RefExists(ctx, c, "manufacturers", "manufacturer_id", "manufacturer", l.ManufacturerID, false); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `INSERT INTO licenses (tenant_id, id, name, product_key, manufacturer_id, seats, expires_on, notes, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.TenantID(), l.ID, l.Name, l.ProductKey, sqlstore.Nullable(l.ManufacturerID), l.Seats, sqlstore.Nullable(l.ExpiresOn), l.Notes, l.CreatedAt, l.UpdatedAt)
		if err != nil {
			return fmt.Errorf("create license: %w", err)
		}
		return sqlstore.Audit(ctx, c, l.CreatedAt, "license.create", "license", l.ID, nil, l)
	})
}

// License implements qm.LicenseService.
func (s *LicenseStore) License(ctx context.Context, id string) (*qm.License, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.License, error) { return findLicense(ctx, c, id) })
}

// Licenses implements qm.LicenseService.
func (s *LicenseStore) Licenses(ctx context.Context, f qm.LicenseFilter) ([]*qm.License, error) {
	query, args := `SELECT `+licenseColumns+` FROM licenses l WHERE l.tenant_id = $1 ORDER BY l.name, l.id`, []any{}
	if f.ExpiringBefore != "" {
		if _, err := time.Parse(time.DateOnly, f.ExpiringBefore); err != nil {
			return nil, qm.Errorf(qm.EBadRequest, "expiring_before must be YYYY-MM-DD, got %q", f.ExpiringBefore)
		}
		query = `SELECT ` + licenseColumns + ` FROM licenses l WHERE l.tenant_id = $1 AND l.expires_on IS NOT NULL AND l.expires_on < $2 ORDER BY l.expires_on, l.id`
		args = append(args, f.ExpiringBefore)
	}
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.License, error) {
		ls, err := sqlstore.QueryAll(ctx, c, scanLicense, query, append([]any{c.TenantID()}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("list licenses: %w", err)
		}
		return ls, nil
	})
}

// UpdateLicense implements qm.LicenseService.
func (s *LicenseStore) UpdateLicense(ctx context.Context, id string, u qm.LicenseUpdate) (*qm.License, error) {
	var l *qm.License
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findLicense(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		l = &after
		sqlstore.SetIf(&l.Name, u.Name)
		sqlstore.SetIf(&l.ProductKey, u.ProductKey)
		sqlstore.SetIf(&l.ManufacturerID, u.ManufacturerID)
		sqlstore.SetIf(&l.Seats, u.Seats)
		sqlstore.SetIf(&l.ExpiresOn, u.ExpiresOn)
		sqlstore.SetIf(&l.Notes, u.Notes)
		l.Normalize()
		if err := l.Validate(); err != nil {
			return err
		}
		if l.Seats < l.UsedSeats {
			return &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("%d seats are assigned: free some before cutting the seats to %d", l.UsedSeats, l.Seats),
				Fields: map[string]string{"seats": "fewer than assigned"}}
		}
		if err := RefExists(ctx, c, "manufacturers", "manufacturer_id", "manufacturer", l.ManufacturerID, false); err != nil {
			return err
		}
		l.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE licenses SET name = $3, product_key = $4, manufacturer_id = $5, seats = $6, expires_on = $7, notes = $8,
			updated_at = $9 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), l.ID, l.Name, l.ProductKey, sqlstore.Nullable(l.ManufacturerID), l.Seats, sqlstore.Nullable(l.ExpiresOn), l.Notes, l.UpdatedAt)
		if err != nil {
			return fmt.Errorf("update license: %w", err)
		}
		return sqlstore.Audit(ctx, c, l.UpdatedAt, "license.update", "license", l.ID, before, l)
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// DeleteLicense implements qm.LicenseService.
func (s *LicenseStore) DeleteLicense(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findLicense(ctx, c, id)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM license_seats WHERE tenant_id = $1 AND license_id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete license: %w", err)
		}
		if _, err := c.Exec(ctx, `DELETE FROM licenses WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete license: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "license.delete", "license", id, before, nil)
	})
}

const seatColumns = `id, license_id, assignee_type, assignee_id, assigned_at`

// Seats implements qm.LicenseService.
func (s *LicenseStore) Seats(ctx context.Context, licenseID string) ([]*qm.Seat, error) {
	seats := []*qm.Seat{}
	err := s.router.View(ctx, func(c sqlstore.Conn) error {
		if _, err := findLicense(ctx, c, licenseID); err != nil {
			return err
		}
		// A seat given to an asset outside the member's department is
		// not theirs to see (nor that the asset exists).
		args := sqlstore.Args{c.TenantID(), licenseID}
		visible := ""
		if c.Department() != "" {
			visible = ` AND (assignee_type <> ` + args.Add(qm.HolderAsset) + ` OR assignee_id IN (SELECT CAST(id AS TEXT) FROM assets WHERE tenant_id = $1` +
				sqlstore.Subtree(c, "department_id", &args) + `))`
		}
		rows, err := c.Query(ctx, `SELECT `+seatColumns+` FROM license_seats WHERE tenant_id = $1 AND license_id = $2`+visible+` ORDER BY assigned_at, id`,
			args...)
		if err != nil {
			return fmt.Errorf("list seats: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var st qm.Seat
			if err := rows.Scan(&st.ID, &st.LicenseID, &st.AssigneeType, &st.AssigneeID, &st.AssignedAt); err != nil {
				return fmt.Errorf("list seats: %w", err)
			}
			st.AssignedAt = st.AssignedAt.UTC()
			seats = append(seats, &st)
		}
		return rows.Err()
	})
	return seats, err
}

// AssignSeat implements qm.LicenseService.
func (s *LicenseStore) AssignSeat(ctx context.Context, licenseID, assigneeType, assigneeID string) (*qm.Seat, error) {
	var seat *qm.Seat
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		// Lock the license row first, so two assignments at once cannot
		// both take the last seat (SQLite has one writer anyway).
		if sqlstore.ValidID(licenseID) {
			if _, err := c.Exec(ctx, `UPDATE licenses SET seats = seats WHERE tenant_id = $1 AND id = $2`, c.TenantID(), licenseID); err != nil {
				return err
			}
		}
		l, err := findLicense(ctx, c, licenseID)
		if err != nil {
			return err
		}
		bad := &qm.Error{Code: qm.EInvalid, Message: "unknown " + assigneeType + " to assign a seat to", Fields: map[string]string{"assignee_id": "no such " + assigneeType}}
		switch assigneeType {
		case qm.HolderUser:
			if _, err := s.identity.Membership(ctx, c.TenantID(), assigneeID); qm.ErrorCode(err) == qm.ENotFound {
				return bad
			} else if err != nil {
				return err
			}
		case qm.HolderAsset:
			if _, err := FindAsset(ctx, c, assigneeID); qm.ErrorCode(err) == qm.ENotFound {
				return bad
			} else if err != nil {
				return err
			}
		default:
			return &qm.Error{Code: qm.EInvalid, Message: "a seat goes to a user or an asset", Fields: map[string]string{"assignee_type": "user or asset"}}
		}
		if l.FreeSeats() <= 0 {
			return qm.Errorf(qm.EConflict, "all %d seats of %s are assigned", l.Seats, l.Name)
		}
		var one int
		err = c.QueryRow(ctx, `SELECT 1 FROM license_seats WHERE tenant_id = $1 AND license_id = $2 AND assignee_type = $3 AND assignee_id = $4`,
			c.TenantID(), licenseID, assigneeType, assigneeID).Scan(&one)
		if err == nil {
			return qm.Errorf(qm.EConflict, "that %s has a seat of %s already", assigneeType, l.Name)
		} else if !errors.Is(err, sqlstore.ErrNoRows) {
			return err
		}
		seat = &qm.Seat{ID: sqlstore.NewID(), LicenseID: licenseID, AssigneeType: assigneeType, AssigneeID: assigneeID, AssignedAt: sqlstore.Timestamp(s.now())}
		_, err = c.Exec(ctx, `INSERT INTO license_seats (tenant_id, `+seatColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.TenantID(), seat.ID, seat.LicenseID, seat.AssigneeType, seat.AssigneeID, seat.AssignedAt)
		if err != nil {
			return fmt.Errorf("assign seat: %w", err)
		}
		return sqlstore.Audit(ctx, c, seat.AssignedAt, "license.assign", "license", licenseID, nil, seat)
	})
	return seat, err
}

// FreeSeat implements qm.LicenseService.
func (s *LicenseStore) FreeSeat(ctx context.Context, licenseID, seatID string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if _, err := findLicense(ctx, c, licenseID); err != nil {
			return err
		}
		if !sqlstore.ValidID(seatID) {
			return qm.Errorf(qm.ENotFound, "seat not found")
		}
		var st qm.Seat
		err := c.QueryRow(ctx, `SELECT `+seatColumns+` FROM license_seats WHERE tenant_id = $1 AND license_id = $2 AND id = $3`,
			c.TenantID(), licenseID, seatID).Scan(&st.ID, &st.LicenseID, &st.AssigneeType, &st.AssigneeID, &st.AssignedAt)
		if errors.Is(err, sqlstore.ErrNoRows) {
			return qm.Errorf(qm.ENotFound, "seat not found")
		} else if err != nil {
			return err
		}
		if st.AssigneeType == qm.HolderAsset {
			if _, err := FindAsset(ctx, c, st.AssigneeID); qm.ErrorCode(err) == qm.ENotFound {
				return qm.Errorf(qm.ENotFound, "seat not found") // given to an asset outside the member's department
			} else if err != nil {
				return err
			}
		}
		if _, err := c.Exec(ctx, `DELETE FROM license_seats WHERE tenant_id = $1 AND id = $2`, c.TenantID(), seatID); err != nil {
			return fmt.Errorf("free seat: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "license.free", "license", licenseID, &st, nil)
	})
}

func findLicense(ctx context.Context, c sqlstore.Conn, id string) (*qm.License, error) {
	if !sqlstore.ValidID(id) {
		return nil, errLicenseNotFound
	}
	l, err := scanLicense(c.QueryRow(ctx, `SELECT `+licenseColumns+` FROM licenses l WHERE l.tenant_id = $1 AND l.id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errLicenseNotFound
	case err != nil:
		return nil, fmt.Errorf("get license: %w", err)
	}
	return l, nil
}

func scanLicense(r sqlstore.Row) (*qm.License, error) {
	var l qm.License
	var maker, expires sql.NullString
	if err := r.Scan(&l.ID, &l.Name, &l.ProductKey, &maker, &l.Seats, &l.UsedSeats, &expires, &l.Notes, &l.CreatedAt, &l.UpdatedAt); err != nil {
		return nil, err
	}
	l.ManufacturerID, l.ExpiresOn = maker.String, expires.String
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return &l, nil
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// DeviceStore is the qm.DeviceInventory on any engine: the catalog's device
// tables, and the audit logs of the tenants devices move between.
type DeviceStore struct {
	catalog Querier
	inTx    TxFunc
	tenants *TenantService
	router  Router
	now     func() time.Time
	creds   credentialCache[qm.Device]
}

var _ qm.DeviceInventory = (*DeviceStore)(nil)

// NewDeviceStore returns the device inventory of the catalog reached by
// catalog and inTx; router reaches the tenants' audit logs.
func NewDeviceStore(catalog Querier, inTx TxFunc, tenants *TenantService, router Router, now func() time.Time) *DeviceStore {
	return &DeviceStore{catalog: catalog, inTx: inTx, tenants: tenants, router: router, now: now}
}

// DeviceTokenPrefix starts every device credential, so secret scanners can
// recognise a leaked one.
const DeviceTokenPrefix = "qmd_"

const deviceColumns = `id, ident, serial, kind, model, firmware, notes, tenant_id, assigned_at, token_rotated_at, created_at, updated_at`

var errDeviceNotFound = qm.Errorf(qm.ENotFound, "device not found")

// RegisterDevice implements qm.DeviceInventory.
func (s *DeviceStore) RegisterDevice(ctx context.Context, d *qm.Device) (string, error) {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return "", err
	}
	return s.insert(ctx, s.catalog, d, Timestamp(s.now()))
}

// RegisterDevices implements qm.DeviceInventory.
func (s *DeviceStore) RegisterDevices(ctx context.Context, ds []*qm.Device) ([]string, error) {
	problems := map[string]string{}
	seen := map[string]int{}
	for i, d := range ds {
		d.Normalize()
		if err := d.Validate(); err != nil {
			problems[fmt.Sprintf("devices[%d]", i)] = qm.ErrorMessage(err)
		} else if j, ok := seen[d.Ident]; ok {
			problems[fmt.Sprintf("devices[%d]", i)] = fmt.Sprintf("ident %q is also devices[%d]", d.Ident, j)
		}
		seen[d.Ident] = i
	}
	if len(problems) > 0 {
		return nil, &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("%d of %d devices are invalid: nothing was registered", len(problems), len(ds)), Fields: problems}
	}
	tokens := make([]string, len(ds))
	at := Timestamp(s.now())
	err := s.inTx(ctx, func(q Querier) error {
		for i, d := range ds {
			var err error
			if tokens[i], err = s.insert(ctx, q, d, at); qm.ErrorCode(err) == qm.EConflict {
				// Say which device of the list it is.
				return &qm.Error{Code: qm.EConflict, Message: qm.ErrorMessage(err) + ": nothing was registered",
					Fields: map[string]string{fmt.Sprintf("devices[%d]", i): qm.ErrorMessage(err)}}
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tokens, nil
}

// insert stores a valid device with a new credential and returns it.
func (s *DeviceStore) insert(ctx context.Context, q Querier, d *qm.Device, at time.Time) (string, error) {
	token := qm.NewSecret(DeviceTokenPrefix)
	d.ID, d.TenantID, d.AssignedAt = NewID(), "", nil
	d.CreatedAt, d.UpdatedAt, d.TokenRotatedAt = at, at, at
	_, err := q.Exec(ctx, `INSERT INTO devices (id, ident, serial, kind, model, firmware, notes, token_hash, token_rotated_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.ID, d.Ident, d.Serial, d.Kind, d.Model, d.Firmware, d.Notes, qm.HashSecret(token), d.TokenRotatedAt, d.CreatedAt, d.UpdatedAt)
	if IsConstraint(err, Unique) {
		return "", &qm.Error{Code: qm.EConflict, Message: fmt.Sprintf("a device with ident %q is already registered", d.Ident),
			Fields: map[string]string{"ident": "already registered"}}
	}
	if err != nil {
		return "", fmt.Errorf("register device: %w", err)
	}
	return token, nil
}

// Device implements qm.DeviceInventory.
func (s *DeviceStore) Device(ctx context.Context, idOrIdent string) (*qm.Device, error) {
	return findDevice(ctx, s.catalog, idOrIdent)
}

func findDevice(ctx context.Context, q Querier, idOrIdent string) (*qm.Device, error) {
	column := "ident"
	if ValidID(idOrIdent) {
		column = "id"
	} else if !qm.ValidIdent(idOrIdent) {
		return nil, errDeviceNotFound
	}
	d, err := scanDevice(q.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE `+column+` = $1`, idOrIdent))
	switch {
	case errors.Is(err, ErrNoRows):
		return nil, errDeviceNotFound
	case err != nil:
		return nil, fmt.Errorf("get device: %w", err)
	}
	return d, nil
}

// Devices implements qm.DeviceInventory.
func (s *DeviceStore) Devices(ctx context.Context, f qm.DeviceFilter) ([]*qm.Device, error) {
	switch {
	case f.Limit <= 0:
		f.Limit = 100
	case f.Limit > 1000:
		f.Limit = 1000
	}
	query, args := `SELECT `+deviceColumns+` FROM devices WHERE ident > $1`, []any{f.After}
	switch {
	case f.TenantID != "":
		if !ValidID(f.TenantID) {
			return []*qm.Device{}, nil
		}
		query, args = query+` AND tenant_id = $2`, append(args, f.TenantID)
	case f.Unassigned:
		query += ` AND tenant_id IS NULL`
	}
	args = append(args, f.Limit)
	ds, err := queryAll(ctx, s.catalog, scanDevice, fmt.Sprintf(`%s ORDER BY ident LIMIT $%d`, query, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return ds, nil
}

// AssignDevice implements qm.DeviceInventory.
func (s *DeviceStore) AssignDevice(ctx context.Context, idOrIdent string, tenant *qm.Tenant) (*qm.Device, string, error) {
	var d *qm.Device
	var from, token string
	at := Timestamp(s.now())
	err := s.inTx(ctx, func(q Querier) error {
		var err error
		if d, err = findDevice(ctx, q, idOrIdent); err != nil {
			return err
		}
		if d.TenantID == tenant.ID {
			return qm.Errorf(qm.EConflict, "device %s is already assigned to %s", d.Ident, tenant.Slug)
		}
		from = d.TenantID
		if from != "" {
			// A transfer: the credential the old tenant's people may know
			// stops working.
			token = qm.NewSecret(DeviceTokenPrefix)
			if err := rotate(ctx, q, d, token, at); err != nil {
				return err
			}
		}
		return s.move(ctx, q, d, tenant.ID, at)
	})
	if err != nil {
		return nil, "", err
	}
	s.creds.clear()
	details := map[string]any{"device_id": d.ID, "ident": d.Ident, "to_tenant": tenant.Slug}
	if from != "" {
		if err := s.audit(ctx, from, "device.transfer_out", d, details, at); err != nil {
			return d, token, err
		}
		return d, token, s.audit(ctx, tenant.ID, "device.transfer_in", d, details, at)
	}
	return d, token, s.audit(ctx, tenant.ID, "device.assign", d, details, at)
}

// UnassignDevice implements qm.DeviceInventory.
func (s *DeviceStore) UnassignDevice(ctx context.Context, idOrIdent string) (*qm.Device, error) {
	var d *qm.Device
	var from string
	at := Timestamp(s.now())
	err := s.inTx(ctx, func(q Querier) error {
		var err error
		if d, err = findDevice(ctx, q, idOrIdent); err != nil {
			return err
		}
		if from = d.TenantID; from == "" {
			return qm.Errorf(qm.EConflict, "device %s is not assigned to a tenant", d.Ident)
		}
		return s.move(ctx, q, d, "", at)
	})
	if err != nil {
		return nil, err
	}
	s.creds.clear()
	return d, s.audit(ctx, from, "device.unassign", d, map[string]any{"device_id": d.ID, "ident": d.Ident}, at)
}

// move closes the device's custody, if any, and opens tenantID's ("" for
// none), inside a catalog transaction.
func (s *DeviceStore) move(ctx context.Context, q Querier, d *qm.Device, tenantID string, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE device_custody SET until_at = $2 WHERE device_id = $1 AND until_at IS NULL`, d.ID, at); err != nil {
		return fmt.Errorf("move device: %w", err)
	}
	d.TenantID, d.AssignedAt, d.UpdatedAt = tenantID, nil, at
	if tenantID != "" {
		d.AssignedAt = &at
		if _, err := q.Exec(ctx, `INSERT INTO device_custody (device_id, tenant_id, from_at) VALUES ($1, $2, $3)`, d.ID, tenantID, at); err != nil {
			return fmt.Errorf("move device: %w", err)
		}
	}
	_, err := q.Exec(ctx, `UPDATE devices SET tenant_id = $2, assigned_at = $3, updated_at = $4 WHERE id = $1`, d.ID, nullable(tenantID), d.AssignedAt, at)
	if err != nil {
		return fmt.Errorf("move device: %w", err)
	}
	return nil
}

// audit records a change of custody in the log of the tenant with id
// tenantID.
func (s *DeviceStore) audit(ctx context.Context, tenantID, action string, d *qm.Device, details map[string]any, at time.Time) error {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return s.router.Update(tenancy.WithTenant(ctx, t), func(c Conn) error {
		return Audit(ctx, c, at, action, "device", d.ID, nil, details)
	})
}

// RotateToken implements qm.DeviceInventory.
func (s *DeviceStore) RotateToken(ctx context.Context, idOrIdent string) (string, error) {
	token := qm.NewSecret(DeviceTokenPrefix)
	at := Timestamp(s.now())
	var d *qm.Device
	err := s.inTx(ctx, func(q Querier) error {
		var err error
		if d, err = findDevice(ctx, q, idOrIdent); err != nil {
			return err
		}
		return rotate(ctx, q, d, token, at)
	})
	if err != nil {
		return "", err
	}
	s.creds.clear()
	if d.TenantID != "" {
		return token, s.audit(ctx, d.TenantID, "device.rotate_token", d, map[string]any{"device_id": d.ID, "ident": d.Ident}, at)
	}
	return token, nil
}

func rotate(ctx context.Context, q Querier, d *qm.Device, token string, at time.Time) error {
	d.TokenRotatedAt, d.UpdatedAt = at, at
	_, err := q.Exec(ctx, `UPDATE devices SET token_hash = $2, token_rotated_at = $3, updated_at = $3 WHERE id = $1`, d.ID, qm.HashSecret(token), at)
	if err != nil {
		return fmt.Errorf("rotate device token: %w", err)
	}
	return nil
}

// Custody implements qm.DeviceInventory.
func (s *DeviceStore) Custody(ctx context.Context, idOrIdent string) ([]qm.Custody, error) {
	d, err := findDevice(ctx, s.catalog, idOrIdent)
	if err != nil {
		return nil, err
	}
	rows, err := s.catalog.Query(ctx, `SELECT tenant_id, from_at, until_at FROM device_custody WHERE device_id = $1 ORDER BY from_at`, d.ID)
	if err != nil {
		return nil, fmt.Errorf("device custody: %w", err)
	}
	defer rows.Close()
	cs := []qm.Custody{}
	for rows.Next() {
		var c qm.Custody
		var until sql.NullTime
		if err := rows.Scan(&c.TenantID, &c.From, &until); err != nil {
			return nil, fmt.Errorf("device custody: %w", err)
		}
		c.From, c.Until = c.From.UTC(), timePtr(until)
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// DeviceByToken returns the device whose credential token is, for the
// ingest edge. EUnauthorized for a credential that is not one, or that
// was rotated. Found devices are kept for a few seconds: a rotation on this
// node takes effect at once, on another within credentialTTL.
func (s *DeviceStore) DeviceByToken(ctx context.Context, token string) (*qm.Device, error) {
	hash := qm.HashSecret(token)
	now := time.Now()
	if d, ok := s.creds.get(hash, now); ok {
		return &d, nil
	}
	d, err := scanDevice(s.catalog.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = $1`, hash))
	switch {
	case errors.Is(err, ErrNoRows):
		return nil, qm.Errorf(qm.EUnauthorized, "unknown or revoked device credential")
	case err != nil:
		return nil, fmt.Errorf("device by token: %w", err)
	}
	s.creds.put(hash, *d, now)
	return d, nil
}

// DeviceByIdent returns the device with the ident, for protocols in which
// devices name themselves. ENotFound. Found devices are kept for a few
// seconds, as DeviceByToken keeps them.
func (s *DeviceStore) DeviceByIdent(ctx context.Context, ident string) (*qm.Device, error) {
	now := time.Now()
	key := "ident:" + ident
	if d, ok := s.creds.get(key, now); ok {
		return &d, nil
	}
	if !qm.ValidIdent(ident) {
		return nil, errDeviceNotFound
	}
	d, err := findDevice(ctx, s.catalog, ident)
	if err != nil {
		return nil, err
	}
	s.creds.put(key, *d, now)
	return d, nil
}

func scanDevice(r Row) (*qm.Device, error) {
	var d qm.Device
	var tenant sql.NullString
	var assigned sql.NullTime
	err := r.Scan(&d.ID, &d.Ident, &d.Serial, &d.Kind, &d.Model, &d.Firmware, &d.Notes, &tenant, &assigned, &d.TokenRotatedAt, &d.CreatedAt, &d.UpdatedAt)
	if err != nil {
		return nil, err
	}
	d.TenantID, d.AssignedAt = tenant.String, timePtr(assigned)
	d.TokenRotatedAt, d.CreatedAt, d.UpdatedAt = d.TokenRotatedAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

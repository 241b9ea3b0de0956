package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/tenancy"
)

// DeviceStore is the qm.DeviceInventory on any engine: the catalog's device
// tables, and the audit logs of the tenants devices move between.
type DeviceStore struct {
	catalog sqlstore.Querier
	inTx    schema.TxFunc
	tenants *TenantService
	router  sqlstore.Router
	now     func() time.Time
	creds   credentialCache[qm.Device]

	mu        sync.Mutex
	observers []qm.DeviceEvents
	accounts  qm.DeviceAccounts
}

var (
	_ qm.DeviceInventory   = (*DeviceStore)(nil)
	_ qm.DeviceCredentials = (*DeviceStore)(nil)
)

// NewDeviceStore returns the device inventory of the catalog reached by
// catalog and inTx; router reaches the tenants' audit logs.
func NewDeviceStore(catalog sqlstore.Querier, inTx schema.TxFunc, tenants *TenantService, router sqlstore.Router, now func() time.Time) *DeviceStore {
	s := &DeviceStore{catalog: catalog, inTx: inTx, tenants: tenants, router: router, now: now}
	tenants.devices = s
	return s
}

// Notify makes ev hear of every device change this store commits from now
// on, and of those WatchChanges learns other nodes made; an ev that is
// also a qm.DeviceSettingsEvents hears of the settings other nodes change
// too. cmd/quartermaster wires the MQTT broker here.
func (s *DeviceStore) Notify(ev qm.DeviceEvents) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, ev)
}

// KeepAccounts makes every change of a device's credential or holder made
// here from now on reach accounts (an external MQTT broker's) before it is
// committed. cmd/quartermaster wires it when --mqtt-broker is set.
func (s *DeviceStore) KeepAccounts(accounts qm.DeviceAccounts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accounts = accounts
}

// keptAccounts returns the accounts KeepAccounts gave, nil for none.
func (s *DeviceStore) keptAccounts() qm.DeviceAccounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts
}

// account tells the accounts, if kept, of device d's credential (token,
// "" when unchanged), and whether it may connect (mayConnect). It runs in
// the transaction q of accountsTx that changes d, before it commits.
func (s *DeviceStore) account(ctx context.Context, q sqlstore.Querier, d *qm.Device, token string) error {
	accounts := s.keptAccounts()
	if accounts == nil {
		return nil
	}
	state := ""
	if d.TenantID != "" {
		if err := q.QueryRow(ctx, `SELECT state FROM tenants WHERE id = $1`, d.TenantID).Scan(&state); err != nil {
			return fmt.Errorf("device %s: its tenant: %w", d.Ident, err)
		}
	}
	if err := accounts.SetDeviceAccount(ctx, d.Ident, token, mayConnect(state)); err != nil {
		return fmt.Errorf("device %s at the MQTT broker: %w", d.Ident, err)
	}
	return nil
}

// mayConnect says whether a device may connect to the broker, given the
// state of the tenant holding it ("" for none): while a tenant holds it
// that is not suspended (one being deleted has given its devices back).
func mayConnect(tenantState string) bool {
	return tenantState != "" && qm.TenantState(tenantState) != qm.StateSuspended
}

// suspendAccounts disables, or enables again, at the accounts, if kept,
// those of the devices tenant tenantID holds, in q's transaction, which
// changes the tenant's state to suspended or back and has taken
// accountsLock.
func (s *DeviceStore) suspendAccounts(ctx context.Context, q sqlstore.Querier, tenantID string, suspended bool) error {
	accounts := s.keptAccounts()
	if accounts == nil {
		return nil
	}
	var idents []string
	err := sqlstore.Each(ctx, q, func(r sqlstore.Row) error {
		var ident string
		err := r.Scan(&ident)
		idents = append(idents, ident)
		return err
	}, `SELECT ident FROM devices WHERE tenant_id = $1 ORDER BY ident`, tenantID)
	if err != nil {
		return fmt.Errorf("devices of the tenant: %w", err)
	}
	for _, ident := range idents {
		if err := accounts.SetDeviceAccount(ctx, ident, "", !suspended); err != nil {
			return fmt.Errorf("device %s at the MQTT broker: %w", ident, err)
		}
	}
	return nil
}

// accountsLock names the row of leases whose lock orders the changes of
// devices' accounts at the broker against AccountsSettled: a transaction
// that may change an account (accountsTx) takes it and holds it until it
// commits, for the account is changed before the device is; whoever
// compares the accounts with the inventory takes it for as long as that
// takes. It is a lock, never taken as a lease.
const accountsLock = "lock/device-accounts"

// accountsTx runs fn in a catalog transaction that may change devices'
// accounts at the broker. Where accounts are kept it takes accountsLock
// first, before fn locks any device, so that two such transactions wait
// for each other at their start rather than deadlock half way.
func (s *DeviceStore) accountsTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return s.inTx(ctx, func(q sqlstore.Querier) error {
		if s.keptAccounts() != nil {
			if err := s.lockAccounts(ctx, q); err != nil {
				return err
			}
		}
		return fn(q)
	})
}

// lockAccounts takes accountsLock in q's transaction, until it ends: an
// upsert, which every engine makes wait for the transaction that holds
// the row (SQLite has one writer at a time anyway).
func (s *DeviceStore) lockAccounts(ctx context.Context, q sqlstore.Querier) error {
	_, err := q.Exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, '', $2)
		ON CONFLICT (name) DO UPDATE SET holder = leases.holder`, accountsLock, sqlstore.Timestamp(time.Time{}))
	if err != nil {
		return fmt.Errorf("lock the devices' accounts: %w", err)
	}
	return nil
}

// AccountsSettled calls fn with every device of the inventory, by ident,
// and whether it may connect to the broker, while no change of a device's
// account is under way: none begun and not yet committed, nor begun
// before fn returns. A comparison of the broker's accounts with the
// inventory (broker.DynSec.Reconcile) runs in it, so that it never takes
// an account written for a device not yet committed for one the
// inventory lacks. fn must not change the catalog.
func (s *DeviceStore) AccountsSettled(ctx context.Context, fn func(ctx context.Context, mayConnect map[string]bool) error) error {
	return s.inTx(ctx, func(q sqlstore.Querier) error {
		if err := s.lockAccounts(ctx, q); err != nil {
			return err
		}
		devices := map[string]bool{}
		err := sqlstore.Each(ctx, q, func(r sqlstore.Row) error {
			var ident string
			var state *string
			if err := r.Scan(&ident, &state); err != nil {
				return err
			}
			devices[ident] = state != nil && mayConnect(*state)
			return nil
		}, `SELECT d.ident, t.state FROM devices d LEFT JOIN tenants t ON t.id = d.tenant_id`)
		if err != nil {
			return fmt.Errorf("the devices' accounts: %w", err)
		}
		return fn(ctx, devices)
	})
}

// changed forgets this node's cached credentials and tells the observers,
// after a change to d is committed: every path that changes a device's
// custody or credential goes through here.
func (s *DeviceStore) changed(ctx context.Context, d *qm.Device, action, from string) {
	s.creds.clear()
	copied := *d
	s.notify(ctx, qm.DeviceChange{Device: &copied, Action: action, FromTenantID: from})
}

// notify tells the observers of c.
func (s *DeviceStore) notify(ctx context.Context, c qm.DeviceChange) {
	for _, ev := range s.observing() {
		ev.DeviceChanged(ctx, c)
	}
}

// observing returns the observers Notify added.
func (s *DeviceStore) observing() []qm.DeviceEvents {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.observers
}

const deviceColumns = `id, ident, serial, kind, model, firmware, notes, ident_only, tenant_id, assigned_at, token_rotated_at, created_at, updated_at`

var errDeviceNotFound = qm.Errorf(qm.ENotFound, "device not found")

// ErrFleetDeviceNotFound is the answer of a tenant's fleet for a device it
// neither holds nor held (HeldBy), or that lies outside the principal's
// department.
var ErrFleetDeviceNotFound = qm.Errorf(qm.ENotFound, "device not found")

// RegisterDevice implements qm.DeviceInventory.
func (s *DeviceStore) RegisterDevice(ctx context.Context, d *qm.Device) (string, error) {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return "", err
	}
	var token string
	// In a transaction: the broker learns of the credential once the ident
	// is known to be free, and before the device is committed.
	err := s.accountsTx(ctx, func(q sqlstore.Querier) error {
		var err error
		token, err = s.insert(ctx, q, d, sqlstore.Timestamp(s.now()))
		return err
	})
	if err != nil {
		return "", err
	}
	return token, nil
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
	at := sqlstore.Timestamp(s.now())
	err := s.accountsTx(ctx, func(q sqlstore.Querier) error {
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
func (s *DeviceStore) insert(ctx context.Context, q sqlstore.Querier, d *qm.Device, at time.Time) (string, error) {
	token := qm.NewSecret(qm.DeviceTokenPrefix)
	d.ID, d.TenantID, d.AssignedAt = sqlstore.NewID(), "", nil
	d.CreatedAt, d.UpdatedAt, d.TokenRotatedAt = at, at, at
	_, err := q.Exec(ctx, `INSERT INTO devices (id, ident, serial, kind, model, firmware, notes, ident_only, token_hash, token_rotated_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.ID, d.Ident, d.Serial, d.Kind, d.Model, d.Firmware, d.Notes, d.IdentOnly, qm.HashSecret(token), d.TokenRotatedAt, d.CreatedAt, d.UpdatedAt)
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return "", &qm.Error{Code: qm.EConflict, Message: fmt.Sprintf("a device with ident %q is already registered", d.Ident),
			Fields: map[string]string{"ident": "already registered"}}
	}
	if err != nil {
		return "", fmt.Errorf("register device: %w", err)
	}
	if err := s.account(ctx, q, d, token); err != nil {
		return "", err
	}
	return token, recordOperator(ctx, q, at, "device.register", nil, deviceDetails(d))
}

// deviceDetails names device d in an entry of the operator's audit log.
func deviceDetails(d *qm.Device) map[string]any {
	return map[string]any{"device_id": d.ID, "ident": d.Ident}
}

// tenantRef is the tenant with id, as much as the operator's audit log
// names: nil for none.
func tenantRef(ctx context.Context, q sqlstore.Querier, id string) (*qm.Tenant, error) {
	if id == "" {
		return nil, nil
	}
	t := &qm.Tenant{ID: id}
	if err := q.QueryRow(ctx, `SELECT slug FROM tenants WHERE id = $1`, id).Scan(&t.Slug); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", id, err)
	}
	return t, nil
}

// Device implements qm.DeviceInventory.
func (s *DeviceStore) Device(ctx context.Context, idOrIdent string) (*qm.Device, error) {
	return findDevice(ctx, s.catalog, idOrIdent)
}

func findDevice(ctx context.Context, q sqlstore.Querier, idOrIdent string) (*qm.Device, error) {
	column := "ident"
	if sqlstore.ValidID(idOrIdent) {
		column = "id"
	} else if !qm.ValidIdent(idOrIdent) {
		return nil, errDeviceNotFound
	}
	d, err := scanDevice(q.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE `+column+` = $1`, idOrIdent))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
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
	where, args, ok := deviceWhere(f)
	if !ok {
		return []*qm.Device{}, nil
	}
	ds, err := sqlstore.QueryAll(ctx, s.catalog, scanDevice, `SELECT `+deviceColumns+` FROM devices WHERE `+where+` ORDER BY ident LIMIT `+args.Add(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	return ds, nil
}

// CountDevices implements qm.DeviceInventory.
func (s *DeviceStore) CountDevices(ctx context.Context, f qm.DeviceFilter) (int, error) {
	f.After = ""
	where, args, ok := deviceWhere(f)
	if !ok {
		return 0, nil
	}
	var n int
	if err := s.catalog.QueryRow(ctx, `SELECT count(*) FROM devices WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count devices: %w", err)
	}
	return n, nil
}

// deviceWhere is the WHERE clause that f selects and its arguments; ok
// is false when f can match no device.
func deviceWhere(f qm.DeviceFilter) (where string, args sqlstore.Args, ok bool) {
	where = `ident > ` + args.Add(f.After)
	switch {
	case f.TenantID != "":
		if !sqlstore.ValidID(f.TenantID) {
			return "", nil, false
		}
		where += ` AND tenant_id = ` + args.Add(f.TenantID)
	case f.Unassigned:
		where += ` AND tenant_id IS NULL`
	}
	return where, args, true
}

// roomForDevice checks, in q's catalog transaction, that tenant's plan has
// the fleet and room for one more device. While a cap is set, it locks the
// tenant's catalog row first, so two assignments at once cannot both take
// the last place.
func roomForDevice(ctx context.Context, q sqlstore.Querier, tenant *qm.Tenant) error {
	if err := tenant.Limits.Feature(qm.FeatureFleet); err != nil {
		return err
	}
	if tenant.Limits.MaxDevices() == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, `UPDATE tenants SET plan = plan WHERE id = $1`, tenant.ID); err != nil {
		return fmt.Errorf("lock tenant %s: %w", tenant.Slug, err)
	}
	var n int64
	if err := q.QueryRow(ctx, `SELECT count(*) FROM devices WHERE tenant_id = $1`, tenant.ID).Scan(&n); err != nil {
		return fmt.Errorf("count devices of %s: %w", tenant.Slug, err)
	}
	return tenant.Limits.Room(qm.MaxDevices, n, 1)
}

// AssignDevice implements qm.DeviceInventory.
func (s *DeviceStore) AssignDevice(ctx context.Context, idOrIdent string, tenant *qm.Tenant) (*qm.Device, string, error) {
	var d *qm.Device
	var from, token, change string
	at := sqlstore.Timestamp(s.now())
	err := s.accountsTx(ctx, func(q sqlstore.Querier) error {
		var err error
		if d, err = findDevice(ctx, q, idOrIdent); err != nil {
			return err
		}
		if d.TenantID == tenant.ID {
			return qm.Errorf(qm.EConflict, "device %s is already assigned to %s", d.Ident, tenant.Slug)
		}
		if err := roomForDevice(ctx, q, tenant); err != nil {
			return err
		}
		from = d.TenantID
		action, details := "device.assign", deviceDetails(d)
		change = qm.DeviceAssigned
		if from != "" {
			change = qm.DeviceTransferred
			// A transfer: the credential the old tenant's people may know
			// stops working.
			token = qm.NewSecret(qm.DeviceTokenPrefix)
			if err := s.rotate(ctx, q, d, token, at); err != nil {
				return err
			}
			old, err := tenantRef(ctx, q, from)
			if err != nil {
				return err
			}
			action, details["from_tenant"] = "device.transfer", old.Slug
		}
		if err := s.move(ctx, q, d, tenant.ID, change, at); err != nil {
			return err
		}
		return recordOperator(ctx, q, at, action, tenant, details)
	})
	if err != nil {
		return nil, "", err
	}
	s.changed(ctx, d, change, from)
	// Neither tenant's log names the other: who holds the device now is
	// none of the old holder's business, nor who held it before of the new.
	details := map[string]any{"device_id": d.ID, "ident": d.Ident}
	if from != "" {
		if err := s.audit(ctx, from, "device.transfer_out", d, details, at); err != nil {
			return d, token, err
		}
		return d, token, s.audit(ctx, tenant.ID, "device.transfer_in", d, details, at)
	}
	return d, token, s.audit(ctx, tenant.ID, "device.assign", d, details, at)
}

// UpdateDevice implements qm.DeviceInventory.
func (s *DeviceStore) UpdateDevice(ctx context.Context, idOrIdent string, u qm.DeviceUpdate) (*qm.Device, error) {
	var d *qm.Device
	var before qm.Device
	at := sqlstore.Timestamp(s.now())
	err := s.inTx(ctx, func(q sqlstore.Querier) error {
		var err error
		if d, err = findDevice(ctx, q, idOrIdent); err != nil {
			return err
		}
		before = *d
		u.Apply(d)
		d.Normalize()
		if err := d.Validate(); err != nil {
			return err
		}
		d.UpdatedAt = at
		_, err = q.Exec(ctx, `UPDATE devices SET serial = $2, kind = $3, model = $4, firmware = $5, notes = $6, ident_only = $7, updated_at = $8 WHERE id = $1`,
			d.ID, d.Serial, d.Kind, d.Model, d.Firmware, d.Notes, d.IdentOnly, at)
		if err != nil {
			return fmt.Errorf("update device: %w", err)
		}
		// How the device may authenticate (ident_only) is in the nodes'
		// cached credentials; the device keeps its connections.
		if err := s.tenants.publish(ctx, q, changeDevice, d.ID, ""); err != nil {
			return err
		}
		return s.recordHeld(ctx, q, at, "device.update", d, &before)
	})
	if err != nil {
		return nil, err
	}
	s.creds.clear()
	if d.TenantID == "" || before.IdentOnly == d.IdentOnly {
		return d, nil
	}
	// The tenant learns how its device may authenticate, not the
	// operator's notes.
	return d, s.audit(ctx, d.TenantID, "device.update", d, map[string]any{"device_id": d.ID, "ident": d.Ident,
		"ident_only": map[string]bool{"before": before.IdentOnly, "after": d.IdentOnly}}, at)
}

// UnassignDevice implements qm.DeviceInventory.
func (s *DeviceStore) UnassignDevice(ctx context.Context, idOrIdent string) (*qm.Device, error) {
	var d *qm.Device
	var from string
	at := sqlstore.Timestamp(s.now())
	err := s.accountsTx(ctx, func(q sqlstore.Querier) error {
		var err error
		if d, err = findDevice(ctx, q, idOrIdent); err != nil {
			return err
		}
		if from = d.TenantID; from == "" {
			return qm.Errorf(qm.EConflict, "device %s is not assigned to a tenant", d.Ident)
		}
		if err := s.recordHeld(ctx, q, at, "device.unassign", d, nil); err != nil {
			return err
		}
		return s.move(ctx, q, d, "", qm.DeviceUnassigned, at)
	})
	if err != nil {
		return nil, err
	}
	s.changed(ctx, d, qm.DeviceUnassigned, from)
	return d, s.audit(ctx, from, "device.unassign", d, map[string]any{"device_id": d.ID, "ident": d.Ident}, at)
}

// moveFrom moves device id from tenant from to tenant to ("" for the
// inventory) when it is still where from says, telling the observers
// (the broker cuts a device off), and returns it as it now is, moved or
// left. The tenants' logs are its caller's to write.
func (s *DeviceStore) moveFrom(ctx context.Context, id, from, to, action string, at time.Time) (*qm.Device, error) {
	var d *qm.Device
	moved := false
	err := s.accountsTx(ctx, func(q sqlstore.Querier) error {
		var err error
		if d, err = findDevice(ctx, q, id); err != nil || d.TenantID != from {
			return err
		}
		moved = true
		return s.move(ctx, q, d, to, action, at)
	})
	if err != nil {
		return nil, err
	}
	if moved {
		s.changed(ctx, d, action, from)
	}
	return d, nil
}

// move closes the device's custody, if any, and opens tenantID's ("" for
// none), inside a catalog transaction, publishing the change (action, a
// qm.DeviceChange action).
func (s *DeviceStore) move(ctx context.Context, q sqlstore.Querier, d *qm.Device, tenantID, action string, at time.Time) error {
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
	_, err := q.Exec(ctx, `UPDATE devices SET tenant_id = $2, assigned_at = $3, updated_at = $4 WHERE id = $1`, d.ID, sqlstore.Nullable(tenantID), d.AssignedAt, at)
	if err != nil {
		return fmt.Errorf("move device: %w", err)
	}
	if err := s.account(ctx, q, d, ""); err != nil {
		return err
	}
	return s.tenants.publish(ctx, q, changeDevice, d.ID, action)
}

// recordHeld writes action on device d in the operator's audit log, in
// the catalog transaction q runs in, naming the tenant holding it, if
// any, and the fields changed from before (nil: none).
func (s *DeviceStore) recordHeld(ctx context.Context, q sqlstore.Querier, at time.Time, action string, d, before *qm.Device) error {
	t, err := tenantRef(ctx, q, d.TenantID)
	if err != nil {
		return err
	}
	details := deviceDetails(d)
	if before != nil {
		changes, err := sqlstore.Changes(before, d)
		if err != nil {
			return err
		}
		details["changes"] = json.RawMessage(changes)
	}
	return recordOperator(ctx, q, at, action, t, details)
}

// audit records a change of custody in the log of the tenant with id
// tenantID.
func (s *DeviceStore) audit(ctx context.Context, tenantID, action string, d *qm.Device, details map[string]any, at time.Time) error {
	t, err := s.tenants.TenantByID(ctx, tenantID)
	if err != nil {
		return fmt.Errorf("%s: %w", action, err)
	}
	return s.router.Update(tenancy.WithTenant(ctx, t), func(c sqlstore.Conn) error {
		return sqlstore.Audit(ctx, c, at, action, "device", d.ID, nil, details)
	})
}

// RotateToken implements qm.DeviceInventory.
func (s *DeviceStore) RotateToken(ctx context.Context, idOrIdent string) (string, error) {
	token := qm.NewSecret(qm.DeviceTokenPrefix)
	at := sqlstore.Timestamp(s.now())
	var d *qm.Device
	err := s.accountsTx(ctx, func(q sqlstore.Querier) error {
		var err error
		if d, err = findDevice(ctx, q, idOrIdent); err != nil {
			return err
		}
		if err := s.rotate(ctx, q, d, token, at); err != nil {
			return err
		}
		if err := s.tenants.publish(ctx, q, changeDevice, d.ID, qm.DeviceRotated); err != nil {
			return err
		}
		return s.recordHeld(ctx, q, at, "device.rotate_token", d, nil)
	})
	if err != nil {
		return "", err
	}
	s.changed(ctx, d, qm.DeviceRotated, d.TenantID)
	if d.TenantID != "" {
		return token, s.audit(ctx, d.TenantID, "device.rotate_token", d, map[string]any{"device_id": d.ID, "ident": d.Ident}, at)
	}
	return token, nil
}

// rotate gives device d the credential token, in q's transaction.
func (s *DeviceStore) rotate(ctx context.Context, q sqlstore.Querier, d *qm.Device, token string, at time.Time) error {
	d.TokenRotatedAt, d.UpdatedAt = at, at
	_, err := q.Exec(ctx, `UPDATE devices SET token_hash = $2, token_rotated_at = $3, updated_at = $3 WHERE id = $1`, d.ID, qm.HashSecret(token), at)
	if err != nil {
		return fmt.Errorf("rotate device token: %w", err)
	}
	return s.account(ctx, q, d, token)
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
		c.From, c.Until = c.From.UTC(), sqlstore.TimePtr(until)
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// HeldBy returns a device the tenant with id tenantID holds or held, and
// for one it gave up, when it last held it (nil while it holds it).
// ENotFound for any other device, exactly as for one that does not exist:
// one query answers both, so not even the time taken tells them apart.
func (s *DeviceStore) HeldBy(ctx context.Context, tenantID, idOrIdent string) (*qm.Device, *time.Time, error) {
	column := "ident"
	if sqlstore.ValidID(idOrIdent) {
		column = "id"
	} else if !qm.ValidIdent(idOrIdent) {
		return nil, nil, ErrFleetDeviceNotFound
	}
	var until sql.NullTime
	d, err := scanDeviceAnd(s.catalog.QueryRow(ctx, `SELECT `+deviceColumnsOf("d")+`, c.until_at FROM devices d
		LEFT JOIN device_custody c ON c.device_id = d.id AND c.tenant_id = $2 AND c.until_at IS NOT NULL
		WHERE d.`+column+` = $1 ORDER BY c.until_at DESC LIMIT 1`, idOrIdent, tenantID), &until)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, nil, ErrFleetDeviceNotFound
	case err != nil:
		return nil, nil, fmt.Errorf("get device: %w", err)
	case d.TenantID == tenantID:
		return d, nil, nil
	case !until.Valid:
		return nil, nil, ErrFleetDeviceNotFound
	}
	return d, sqlstore.TimePtr(until), nil
}

// FormerDevices lists by ident the devices the tenant with id tenantID
// held and gave up, each with when it last held it.
func (s *DeviceStore) FormerDevices(ctx context.Context, tenantID string) ([]*qm.Device, map[string]time.Time, error) {
	if !sqlstore.ValidID(tenantID) {
		return nil, nil, nil
	}
	ds, err := sqlstore.QueryAll(ctx, s.catalog, scanDevice, `SELECT `+deviceColumns+` FROM devices
		WHERE id IN (SELECT device_id FROM device_custody WHERE tenant_id = $1) AND (tenant_id IS NULL OR tenant_id <> $1) ORDER BY ident`, tenantID)
	if err != nil || len(ds) == 0 {
		return nil, nil, err
	}
	rows, err := s.catalog.Query(ctx, `SELECT device_id, until_at FROM device_custody WHERE tenant_id = $1 AND until_at IS NOT NULL`, tenantID)
	if err != nil {
		return nil, nil, fmt.Errorf("former devices: %w", err)
	}
	defer rows.Close()
	until := make(map[string]time.Time, len(ds))
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			return nil, nil, fmt.Errorf("former devices: %w", err)
		}
		if at = at.UTC(); at.After(until[id]) {
			until[id] = at
		}
	}
	return ds, until, rows.Err()
}

// DeviceByToken returns the device whose credential token is, for the
// ingest edge. EUnauthorized for a credential that is not one, or that
// was rotated. Found devices are kept for a few seconds: a rotation on this
// node takes effect at once, on another as its WatchChanges reads it
// (within credentialTTL if it misses it).
func (s *DeviceStore) DeviceByToken(ctx context.Context, token string) (*qm.Device, error) {
	hash := qm.HashSecret(token)
	now := time.Now()
	cached, gen, ok := s.creds.get(hash, now)
	if ok {
		return &cached, nil
	}
	d, err := scanDevice(s.catalog.QueryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE token_hash = $1`, hash))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, qm.Errorf(qm.EUnauthorized, "unknown or revoked device credential")
	case err != nil:
		return nil, fmt.Errorf("device by token: %w", err)
	}
	s.creds.put(hash, *d, now, gen)
	return d, nil
}

// DeviceByIdent returns the device with the ident, for protocols in which
// devices name themselves. ENotFound. Found devices are kept for a few
// seconds, as DeviceByToken keeps them.
func (s *DeviceStore) DeviceByIdent(ctx context.Context, ident string) (*qm.Device, error) {
	now := time.Now()
	key := "ident:" + ident
	cached, gen, ok := s.creds.get(key, now)
	if ok {
		return &cached, nil
	}
	if !qm.ValidIdent(ident) {
		return nil, errDeviceNotFound
	}
	d, err := findDevice(ctx, s.catalog, ident)
	if err != nil {
		return nil, err
	}
	s.creds.put(key, *d, now, gen)
	return d, nil
}

// deviceColumnsOf is deviceColumns of the table aliased as alias.
func deviceColumnsOf(alias string) string {
	return alias + "." + strings.ReplaceAll(deviceColumns, ", ", ", "+alias+".")
}

func scanDevice(r sqlstore.Row) (*qm.Device, error) { return scanDeviceAnd(r) }

// scanDeviceAnd reads deviceColumns, then the columns after them into
// more.
func scanDeviceAnd(r sqlstore.Row, more ...any) (*qm.Device, error) {
	var d qm.Device
	var tenant sql.NullString
	var assigned sql.NullTime
	err := r.Scan(append([]any{&d.ID, &d.Ident, &d.Serial, &d.Kind, &d.Model, &d.Firmware, &d.Notes, &d.IdentOnly, &tenant, &assigned,
		&d.TokenRotatedAt, &d.CreatedAt, &d.UpdatedAt}, more...)...)
	if err != nil {
		return nil, err
	}
	d.TenantID, d.AssignedAt = tenant.String, sqlstore.TimePtr(assigned)
	d.TokenRotatedAt, d.CreatedAt, d.UpdatedAt = d.TokenRotatedAt.UTC(), d.CreatedAt.UTC(), d.UpdatedAt.UTC()
	return &d, nil
}

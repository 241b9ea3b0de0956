package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// ImportTenant creates a tenant from an archive (package lifecycle): its
// catalog row is written in state provisioning, with plan and overrides,
// so the slug is reserved and nobody is served; its storage is made at the
// newest version; load fills it, with t as it will be served (active);
// then the tenant is activated. Unlike CreateTenant it seeds nothing and
// writes nothing to the tenant's log: the archive holds both. On any
// failure the tenant is removed whole: its storage, its part of the
// catalog (what load added there: memberships, devices) and its row.
// EInvalid and EConflict as CreateTenant. Operator only.
func (s *TenantService) ImportTenant(ctx context.Context, n qm.NewTenant, plan string, overrides qm.LimitSet,
	load func(ctx context.Context, t *qm.Tenant) error) (*qm.Tenant, error) {
	defer s.cache.clear()
	if err := n.Validate(); err != nil {
		return nil, err
	}
	over, err := json.Marshal(overrides)
	if err != nil {
		return nil, err
	}
	t := &qm.Tenant{ID: sqlstore.NewID(), Slug: n.Slug, Name: n.Name, Tier: n.Tier, State: qm.StateProvisioning, CreatedAt: sqlstore.Timestamp(s.now()), Plan: plan}
	if t.Placement, err = s.storage.Place(t.ID, n); err != nil {
		return nil, err
	}
	p := t.Placement
	_, err = s.catalog.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`, plan, limit_overrides) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		t.ID, t.Slug, t.Name, string(t.Tier), string(p.Engine), p.Server, p.Location, string(t.State), 0, t.CreatedAt, plan, string(over))
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return nil, &qm.Error{Code: qm.EConflict, Message: fmt.Sprintf("a tenant with slug %q already exists", n.Slug),
			Fields: map[string]string{"slug": "already taken"}}
	}
	if err != nil {
		return nil, fmt.Errorf("import tenant: %w", err)
	}
	v, err := s.storage.Provision(ctx, t)
	if err == nil {
		// The limits are read back as every tenant's are: plan and
		// overrides, as stored.
		var read *qm.Tenant
		if read, err = s.findTenant(ctx, "id", t.ID); err == nil {
			active := *read
			active.State, active.SchemaVersion = qm.StateActive, v
			err = load(ctx, &active)
		}
	}
	if err == nil {
		err = s.activate(ctx, t, v, "tenant.import", map[string]any{"name": t.Name, "plan": plan, "overrides": overrides})
	}
	if err != nil {
		// As CreateTenant: the cleanup outlives a cancelled request.
		undo := context.WithoutCancel(ctx)
		err = fmt.Errorf("import tenant %s: %w", t.Slug, err)
		if derr := s.storage.Deprovision(undo, t); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove storage of failed import %s: %w", t.Slug, derr))
		}
		if derr := s.storage.Forget(undo, t); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove catalog entries of failed import %s: %w", t.Slug, derr))
		}
		if _, derr := s.catalog.Exec(undo, `DELETE FROM tenants WHERE id = $1`, t.ID); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove catalog row of failed import %s: %w", t.Slug, derr))
		}
		return nil, err
	}
	s.cache.clear()
	return s.findTenant(ctx, "id", t.ID)
}

// AdoptDevice gives tenant the device an archive describes (rec, its id
// and ident where the archive was made), for an import, with a new
// credential, which it returns: a device this inventory lacks is
// registered under the archive's id; one it has, under the same id and
// assigned to nobody, is assigned. The tenant's custody of it in the
// archive that is over (custody) is recorded again, where it does not
// collide with another's, so the tenant reads the history it owns. Like
// the import, it writes nothing to the tenant's log. EConflict for a
// device another tenant holds, or that has another id here; the errors of
// the tenant's limits. Operator only.
func (s *DeviceStore) AdoptDevice(ctx context.Context, tenant *qm.Tenant, rec qm.Device, custody []qm.Custody) (string, error) {
	token := qm.NewSecret(qm.DeviceTokenPrefix)
	at := sqlstore.Timestamp(s.now())
	var d *qm.Device
	err := s.accountsTx(ctx, func(q sqlstore.Querier) error {
		var err error
		d, err = findDevice(ctx, q, rec.Ident)
		switch {
		case errors.Is(err, errDeviceNotFound):
			rec.Normalize()
			if err := rec.Validate(); err != nil {
				return err
			}
			_, err = q.Exec(ctx, `INSERT INTO devices (id, ident, serial, kind, model, firmware, notes, ident_only, token_hash, token_rotated_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
				rec.ID, rec.Ident, rec.Serial, rec.Kind, rec.Model, rec.Firmware, rec.Notes, rec.IdentOnly, qm.HashSecret(token), at, at, at)
			if sqlstore.IsConstraint(err, sqlstore.Unique) {
				return qm.Errorf(qm.EConflict, "device id %s is another device's here", rec.ID)
			}
			if err != nil {
				return fmt.Errorf("register device: %w", err)
			}
			if d, err = findDevice(ctx, q, rec.ID); err != nil {
				return err
			}
			if err := s.account(ctx, q, d, token); err != nil {
				return err
			}
		case err != nil:
			return err
		case d.ID != rec.ID:
			return qm.Errorf(qm.EConflict, "device %s has another id here (%s): its history in the archive names %s", d.Ident, d.ID, rec.ID)
		case d.TenantID != "":
			return qm.Errorf(qm.EConflict, "device %s is held by another tenant", d.Ident)
		default:
			if err := s.rotate(ctx, q, d, token, at); err != nil {
				return err
			}
		}
		if err := roomForDevice(ctx, q, tenant); err != nil {
			return err
		}
		for _, c := range custody {
			if c.Until == nil || !c.Until.Before(at) {
				continue
			}
			if _, err := q.Exec(ctx, `INSERT INTO device_custody (device_id, tenant_id, from_at, until_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, d.ID, tenant.ID, sqlstore.Timestamp(c.From), sqlstore.Timestamp(*c.Until)); err != nil {
				return fmt.Errorf("device custody: %w", err)
			}
		}
		return s.move(ctx, q, d, tenant.ID, qm.DeviceAssigned, at)
	})
	if err != nil {
		return "", err
	}
	s.changed(ctx, d, qm.DeviceAssigned, "")
	return token, nil
}

package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

// Keeps reports whether the catalog table called name keeps a tenant's
// row while its purge runs: its record in tenants, removed last, with
// its tombstone written.
func Keeps(name string) bool { return name == "tenants" }

// ForgetIn deletes tenant t's rows from the catalog tables named (those
// with a tenant_id, as the engine found them), in the transaction q runs
// in, all but those Keeps; a device still held is freed rather than
// deleted, for the inventory is the operator's. quote quotes a table's
// name for the engine.
func ForgetIn(ctx context.Context, q sqlstore.Querier, t *qm.Tenant, tables []string, quote func(string) string) error {
	slices.Sort(tables)
	for _, name := range tables {
		stmt := `DELETE FROM ` + quote(name) + ` WHERE tenant_id = $1`
		switch {
		case Keeps(name):
			continue
		case name == "devices":
			stmt = `UPDATE ` + quote(name) + ` SET tenant_id = NULL, assigned_at = NULL WHERE tenant_id = $1`
		}
		if _, err := q.Exec(ctx, stmt, t.ID); err != nil {
			return fmt.Errorf("forget tenant %s in %s: %w", t.Slug, name, err)
		}
	}
	return nil
}

// CountIn adds to left the rows of tenant t in each of tables (but
// those Keeps), as prefix+table, when there are any. quote quotes a
// table's name for the engine.
func CountIn(ctx context.Context, q sqlstore.Querier, t *qm.Tenant, tables []string, quote func(string) string, prefix string, left map[string]int64) error {
	for _, name := range tables {
		if Keeps(name) {
			continue
		}
		var n int64
		if err := q.QueryRow(ctx, `SELECT count(*) FROM `+quote(name)+` WHERE tenant_id = $1`, t.ID).Scan(&n); err != nil {
			return fmt.Errorf("count tenant %s in %s%s: %w", t.Slug, prefix, name, err)
		}
		if n > 0 {
			left[prefix+name] = n
		}
	}
	return nil
}

// asOperator is the principal a change by the operator in ctx is recorded
// under.
func asOperator(ctx context.Context) string { return tenancy.PrincipalFrom(ctx).Name }

// DeleteTenant implements qm.TenantService. The deletion is written to the
// tenant's log, and each device it gives back to the inventory, before it
// stops being served; the catalog keeps it suspended, with the time it is
// purged and the devices it gave back, for a restore.
func (s *TenantService) DeleteTenant(ctx context.Context, slug string, grace time.Duration) (*qm.Tenant, error) {
	defer s.cache.clear()
	if grace <= 0 {
		grace = qm.DefaultDeleteGrace
	}
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	switch t.State {
	case qm.StateDeleting:
		return nil, qm.Errorf(qm.EConflict, "tenant %s is already being deleted; it is purged at %s", t.Slug, t.DeleteAfter.Format(time.RFC3339))
	case qm.StateProvisioning:
		return nil, qm.Errorf(qm.EConflict, "tenant %s is still being created", t.Slug)
	}
	if t.Moving {
		return nil, qm.Errorf(qm.EConflict, "tenant %s is moving: delete it once the move ends", t.Slug)
	}
	at := sqlstore.Timestamp(s.now())
	after := sqlstore.Timestamp(at.Add(grace))
	by := asOperator(ctx)
	released, err := s.releaseDevices(ctx, t, at)
	if err != nil {
		return nil, err
	}
	if err := s.auditAs(ctx, t, at, "tenant.delete", map[string]any{"state": t.State},
		map[string]any{"state": qm.StateDeleting, "delete_after": after, "devices_released": len(released)}); err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(q sqlstore.Querier) error {
		_, err := q.Exec(ctx, `UPDATE tenants SET state = $2, delete_after = $3, deleted_by = $4, deleted_at = $5, released_devices = $6 WHERE id = $1`,
			t.ID, string(qm.StateSuspended), after, by, at, strings.Join(released, "\n"))
		if err != nil {
			return err
		}
		if err := s.publish(ctx, q, changeTenant, t.ID, "tenant.delete"); err != nil {
			return err
		}
		return recordOperator(ctx, q, at, "tenant.delete", t, map[string]any{"from": t.State, "delete_after": after, "devices_released": released})
	})
	if err != nil {
		return nil, fmt.Errorf("delete tenant %s: %w", t.Slug, err)
	}
	deleting := *t
	deleting.State, deleting.DeleteAfter, deleting.DeletedBy = qm.StateDeleting, &after, by
	return &deleting, nil
}

// releaseDevices gives every device t holds back to the inventory, and
// returns their ids.
func (s *TenantService) releaseDevices(ctx context.Context, t *qm.Tenant, at time.Time) ([]string, error) {
	ids, err := sqlstore.QueryIDs(ctx, s.catalog, `SELECT id FROM devices WHERE tenant_id = $1`, t.ID)
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", t.Slug, err)
	}
	released := slices.Sorted(maps.Keys(ids))
	for _, id := range released {
		if _, err := s.devices.moveFrom(ctx, id, t.ID, "", qm.DeviceUnassigned, at); err != nil {
			return nil, err
		}
	}
	return released, nil
}

// auditAs writes to t's log, served for the while as an active tenant.
func (s *TenantService) auditAs(ctx context.Context, t *qm.Tenant, at time.Time, action string, before, after any) error {
	active := *t
	active.State = qm.StateActive
	return s.router.Update(tenancy.WithTenant(ctx, &active), func(c sqlstore.Conn) error {
		return sqlstore.Audit(ctx, c, at, action, "tenant", t.ID, before, after)
	})
}

// RestoreTenant implements qm.TenantService. It returns the idents of the
// devices the tenant gave back that are held by another tenant now, and
// so stay there.
func (s *TenantService) RestoreTenant(ctx context.Context, slug string) (*qm.Tenant, []string, error) {
	defer s.cache.clear()
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return nil, nil, err
	}
	if t.State != qm.StateDeleting {
		return nil, nil, qm.Errorf(qm.EConflict, "tenant %s is not being deleted", t.Slug)
	}
	var released string
	if err := s.catalog.QueryRow(ctx, `SELECT released_devices FROM tenants WHERE id = $1`, t.ID).Scan(&released); err != nil {
		return nil, nil, fmt.Errorf("restore tenant %s: %w", t.Slug, err)
	}
	res, err := s.catalog.Exec(ctx, `UPDATE tenants SET state = $2, delete_after = NULL, deleted_by = '', deleted_at = NULL, released_devices = '' WHERE id = $1 AND delete_after IS NOT NULL`,
		t.ID, string(qm.StateActive))
	switch {
	case err != nil:
		return nil, nil, fmt.Errorf("restore tenant %s: %w", t.Slug, err)
	case res == 0:
		return nil, nil, qm.Errorf(qm.EConflict, "tenant %s is no longer being deleted", t.Slug)
	}
	if err := s.publish(ctx, s.catalog, changeTenant, t.ID, "tenant.restore"); err != nil {
		return nil, nil, err
	}
	active := *t
	active.State, active.DeleteAfter, active.DeletedBy = qm.StateActive, nil, ""
	at := sqlstore.Timestamp(s.now())
	var kept []string
	back := 0
	for _, id := range strings.Fields(released) {
		d, err := s.devices.moveFrom(ctx, id, "", t.ID, qm.DeviceAssigned, at)
		switch {
		case errors.Is(err, errDeviceNotFound):
			continue // deleted from the inventory since
		case err != nil:
			return nil, nil, err
		case d.TenantID == t.ID:
			back++
		default:
			kept = append(kept, d.Ident)
		}
	}
	err = s.auditAs(ctx, &active, at, "tenant.restore", map[string]any{"state": qm.StateDeleting},
		map[string]any{"state": qm.StateActive, "devices_back": back, "devices_held_elsewhere": len(kept)})
	return &active, kept, errors.Join(err, recordOperator(ctx, s.catalog, at, "tenant.restore", t,
		map[string]any{"devices_back": back, "devices_held_elsewhere": kept}))
}

// Remains says what is left of t's data at t's placement (Storage.Remains):
// after a move, of its old copy.
func (s *TenantService) Remains(ctx context.Context, t *qm.Tenant) (map[string]int64, error) {
	return s.storage.Remains(ctx, t)
}

// PurgeTenant implements qm.TenantService.
func (s *TenantService) PurgeTenant(ctx context.Context, slug string) (*qm.Tombstone, error) {
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t.State != qm.StateDeleting {
		return nil, qm.Errorf(qm.EConflict, "tenant %s is not being deleted: delete it first", t.Slug)
	}
	return s.purge(ctx, t)
}

// purge removes t whole: what it holds, counted first, then its data and
// its part of the catalog; then it looks for anything left, and only when
// nothing is found writes the tombstone as it removes t's record.
func (s *TenantService) purge(ctx context.Context, t *qm.Tenant) (*qm.Tombstone, error) {
	defer s.cache.clear()
	var deletedAt time.Time
	if err := s.catalog.QueryRow(ctx, `SELECT deleted_at FROM tenants WHERE id = $1`, t.ID).Scan(&deletedAt); err != nil {
		return nil, fmt.Errorf("purge %s: %w", t.Slug, err)
	}
	// Deleted a moment ago (a purge --now), the tenant may still be served
	// by a node trusting its copy: the purge waits until none does, so
	// nothing is written after it looks.
	if s.now().Sub(deletedAt) <= qm.TenantCacheTTL {
		if err := s.awaitOthers(ctx, ""); err != nil {
			return nil, err
		}
	}
	held, err := s.storage.Remains(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("purge %s: count its data: %w", t.Slug, err)
	}
	if err := s.storage.Deprovision(ctx, t); err != nil {
		return nil, fmt.Errorf("purge %s: %w", t.Slug, err)
	}
	if err := s.storage.Forget(ctx, t); err != nil {
		return nil, fmt.Errorf("purge %s: %w", t.Slug, err)
	}
	left, err := s.storage.Remains(ctx, t)
	if err != nil {
		return nil, fmt.Errorf("purge %s: verify: %w", t.Slug, err)
	}
	if len(left) > 0 {
		// No tombstone for a purge not verified: the tenant stays
		// deleting, and the next purge goes again.
		return nil, fmt.Errorf("purge %s: found after it: %v; the tenant stays deleting, for the next purge", t.Slug, left)
	}
	ts := &qm.Tombstone{TenantID: t.ID, Slug: t.Slug, Name: t.Name, Tier: t.Tier, Engine: t.Placement.Engine, DeletedBy: t.DeletedBy,
		DeletedAt: deletedAt.UTC(), PurgedAt: sqlstore.Timestamp(s.now()), Removed: held, Verified: true}
	removed, err := json.Marshal(held)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO tombstones (purged_tenant, slug, name, tier, engine, deleted_at, deleted_by, purged_at, removed, verified)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, ts.TenantID, ts.Slug, ts.Name, string(ts.Tier), string(ts.Engine), ts.DeletedAt, ts.DeletedBy,
			ts.PurgedAt, string(removed), ts.Verified); err != nil {
			return fmt.Errorf("tombstone of %s: %w", t.Slug, err)
		}
		// The entry says what the tombstone says.
		err := recordOperator(ctx, q, ts.PurgedAt, "tenant.purge", t, map[string]any{"deleted_by": ts.DeletedBy, "deleted_at": ts.DeletedAt,
			"removed": ts.Removed, "verified": ts.Verified})
		if err != nil {
			return err
		}
		_, err = q.Exec(ctx, `DELETE FROM tenants WHERE id = $1`, t.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("purge %s: %w", t.Slug, err)
	}
	return ts, nil
}

// PurgeDue purges every tenant whose grace has passed; the purge job of
// `quartermaster serve` runs it, on the node holding its lease.
func (s *TenantService) PurgeDue(ctx context.Context, log *slog.Logger) error {
	ts, err := s.Tenants(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	var errs []error
	for _, t := range ts {
		if t.State != qm.StateDeleting || t.DeleteAfter.After(now) {
			continue
		}
		ts, err := s.purge(ctx, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		log.Info("tenant purged", "tenant", ts.Slug, "id", ts.TenantID, "removed", ts.Removed)
	}
	return errors.Join(errs...)
}

// Tombstones implements qm.TenantService.
func (s *TenantService) Tombstones(ctx context.Context) ([]*qm.Tombstone, error) {
	return sqlstore.QueryAll(ctx, s.catalog, func(r sqlstore.Row) (*qm.Tombstone, error) {
		var ts qm.Tombstone
		var removed string
		if err := r.Scan(&ts.TenantID, &ts.Slug, &ts.Name, &ts.Tier, &ts.Engine, &ts.DeletedAt, &ts.DeletedBy, &ts.PurgedAt, &removed, &ts.Verified); err != nil {
			return nil, err
		}
		ts.DeletedAt, ts.PurgedAt = ts.DeletedAt.UTC(), ts.PurgedAt.UTC()
		if err := json.Unmarshal([]byte(removed), &ts.Removed); err != nil {
			return nil, fmt.Errorf("tombstone of %s: %w", ts.Slug, err)
		}
		return &ts, nil
	}, `SELECT purged_tenant, slug, name, tier, engine, deleted_at, deleted_by, purged_at, removed, verified FROM tombstones ORDER BY purged_at DESC, slug`)
}

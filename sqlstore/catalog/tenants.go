package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/tenancy"
)

// Storage is what an engine does for the tenants whose data it holds.
type Storage interface {
	// Place decides where a new tenant's data will live. EInvalid for a tier
	// or server the engine cannot host.
	Place(id string, n qm.NewTenant) (qm.Placement, error)
	// Provision creates t's storage at the newest schema version and returns
	// that version. On error it may leave a part behind for Deprovision.
	Provision(ctx context.Context, t *qm.Tenant) (int, error)
	// Deprovision removes whatever Provision created for t, and every row
	// of t in the shared pool. It is safe to call for storage that was
	// never (or only partly) created.
	Deprovision(ctx context.Context, t *qm.Tenant) error
	// Forget deletes t's rows from every catalog table that has a
	// tenant_id (memberships, tokens, invitations, roles, break-glass
	// grants, custody, usage, job progress), found in the engine's own
	// record of its tables, all but its record in tenants (Keeps), and
	// frees its devices.
	Forget(ctx context.Context, t *qm.Tenant) error
	// Remains says what is left of t's data, read from the engine's own
	// record of what exists (not from a list of tables kept in code): for
	// a pool tenant the rows with its id in each table of the pool that
	// has a tenant_id, by table; for a bridge or silo tenant its schema,
	// database or file, if it is still there; and its rows in the
	// catalog's tables but tenants. Nothing left: empty.
	Remains(ctx context.Context, t *qm.Tenant) (map[string]int64, error)
	// MigrateData brings the place t's data lives in to the newest version
	// and returns it. For a pool tenant that migrates the whole pool.
	MigrateData(ctx context.Context, t *qm.Tenant) (int, error)
	// Servers lists every server the engine keeps tenants' data on, with
	// the bytes it holds: its shared places, and those of tenants (every
	// tenant of the catalog) placed there. Tenants is left for the
	// catalog to count.
	Servers(ctx context.Context, tenants []*qm.Tenant) ([]qm.DataServer, error)
}

// Servers implements qm.TenantService.
func (s *TenantService) Servers(ctx context.Context) ([]qm.DataServer, error) {
	ts, err := s.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	servers, err := s.storage.Servers(ctx, ts)
	if err != nil {
		return nil, fmt.Errorf("servers: %w", err)
	}
	for i := range servers {
		for _, t := range ts {
			if t.Placement.Engine == servers[i].Engine && t.Placement.Server == servers[i].Name {
				servers[i].Tenants++
			}
		}
	}
	return servers, nil
}

// TenantService is the qm.TenantService on any engine: the catalog's tenant
// table plus the engine's Storage.
type TenantService struct {
	catalog sqlstore.Querier
	inTx    schema.TxFunc
	storage Storage
	router  sqlstore.Router
	seed    Seed
	now     func() time.Time
	cache   tenantCache
	gate    gate
	// devices is the inventory a deleted tenant's devices go back to: the
	// engine's DeviceStore, which sets it.
	devices *DeviceStore
	// identity is the engine's Identity, which sets it: WatchChanges
	// forgets its cached tokens.
	identity *Identity
	// origin names this TenantService in the changes and notices it
	// publishes, so WatchChanges and PointNews skip their own; notices
	// are the engine's, nil for none.
	origin  string
	notices Notices
}

var _ qm.TenantService = (*TenantService)(nil)

// Seed gives a new tenant's data what every tenant starts with, in the
// transaction that starts its audit log with its creation at now. The
// data plane owns what that is (dataplane.SeedStatusLabels); the catalog
// only calls it.
type Seed func(ctx context.Context, c sqlstore.Conn, now time.Time) error

// NewTenantService returns a TenantService over the catalog reached by
// catalog and inTx, provisioning storage with storage, writing tenants'
// audit logs through router and seeding new tenants' data with seed;
// notices (nil for none) are how the nodes sharing the catalog tell each
// other of something at once (WatchChanges, PointNews).
func NewTenantService(catalog sqlstore.Querier, inTx schema.TxFunc, storage Storage, router sqlstore.Router, seed Seed, now func() time.Time, notices Notices) *TenantService {
	return &TenantService{catalog: catalog, inTx: inTx, storage: storage, router: router, seed: seed, now: now, origin: sqlstore.NewID(), notices: notices}
}

// Catalog is the catalog s reads and writes, for the stores that keep
// their own bookkeeping there (the progress of import jobs).
func (s *TenantService) Catalog() sqlstore.Querier { return s.catalog }

const tenantColumns = `id, slug, name, tier, engine, server, location, state, schema_version, created_at`

// tenantSelect reads tenants with their plans' limits, for scanTenant.
const tenantSelect = `SELECT t.id, t.slug, t.name, t.tier, t.engine, t.server, t.location, t.state, t.schema_version, t.created_at,
	t.delete_after, t.deleted_by, t.moving_to, t.plan, t.limit_overrides, COALESCE(p.limits, '{}') FROM tenants t LEFT JOIN plans p ON p.name = t.plan`

// CreateTenant implements qm.TenantService. The catalog row is written
// first, in state provisioning, so the slug is reserved and the row records
// where storage is being made; on any failure the storage and the row are
// removed again.
func (s *TenantService) CreateTenant(ctx context.Context, n qm.NewTenant) (*qm.Tenant, error) {
	defer s.cache.clear()
	if err := n.Validate(); err != nil {
		return nil, err
	}
	t := &qm.Tenant{ID: sqlstore.NewID(), Slug: n.Slug, Name: n.Name, Tier: n.Tier, State: qm.StateProvisioning, CreatedAt: sqlstore.Timestamp(s.now()), Plan: qm.DefaultPlan}
	p, err := s.storage.Place(t.ID, n)
	if err != nil {
		return nil, err
	}
	t.Placement = p
	_, err = s.catalog.Exec(ctx, `INSERT INTO tenants (`+tenantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.ID, t.Slug, t.Name, string(t.Tier), string(p.Engine), p.Server, p.Location, string(t.State), 0, t.CreatedAt)
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return nil, &qm.Error{Code: qm.EConflict, Message: fmt.Sprintf("a tenant with slug %q already exists", n.Slug),
			Fields: map[string]string{"slug": "already taken"}}
	}
	if err != nil {
		return nil, fmt.Errorf("create tenant: %w", err)
	}
	v, err := s.storage.Provision(ctx, t)
	if err == nil {
		// The tenant's log starts with its creation, by whoever made it.
		active := *t
		active.State, active.SchemaVersion = qm.StateActive, v
		err = s.router.Update(tenancy.WithTenant(ctx, &active), func(c sqlstore.Conn) error {
			err := sqlstore.Audit(ctx, c, t.CreatedAt, "tenant.create", "tenant", t.ID, nil,
				map[string]any{"slug": t.Slug, "name": t.Name, "tier": t.Tier})
			if err != nil {
				return err
			}
			return s.seed(ctx, c, t.CreatedAt)
		})
	}
	if err == nil {
		err = s.activate(ctx, t, v, "tenant.create", map[string]any{"name": t.Name, "plan": t.Plan})
	}
	if err != nil {
		// Undo with a context that outlives a cancelled request: leaving
		// half a tenant behind is worse than finishing the cleanup.
		undo := context.WithoutCancel(ctx)
		err = fmt.Errorf("provision tenant %s: %w", t.Slug, err)
		if derr := s.storage.Deprovision(undo, t); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove storage of failed tenant %s: %w", t.Slug, derr))
		}
		if _, derr := s.catalog.Exec(undo, `DELETE FROM tenants WHERE id = $1`, t.ID); derr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove catalog row of failed tenant %s: %w", t.Slug, derr))
		}
		return nil, err
	}
	t.State, t.SchemaVersion = qm.StateActive, v
	return t, nil
}

// activate puts tenant t, provisioned at schema version v, in service,
// with action (tenant.create, tenant.import) in the operator's audit log,
// in one transaction; details are added to where t's data lives.
func (s *TenantService) activate(ctx context.Context, t *qm.Tenant, v int, action string, details map[string]any) error {
	maps.Copy(details, placeDetails(t))
	return s.inTx(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `UPDATE tenants SET state = $2, schema_version = $3 WHERE id = $1`, t.ID, string(qm.StateActive), v); err != nil {
			return err
		}
		return recordOperator(ctx, q, t.CreatedAt, action, t, details)
	})
}

// Tenant implements qm.TenantService.
func (s *TenantService) Tenant(ctx context.Context, slug string) (*qm.Tenant, error) {
	return s.findTenant(ctx, "slug", slug)
}

// TenantByID implements qm.TenantService.
func (s *TenantService) TenantByID(ctx context.Context, id string) (*qm.Tenant, error) {
	if !sqlstore.ValidID(id) {
		return nil, errTenantNotFound
	}
	return s.findTenant(ctx, "id", id)
}

var errTenantNotFound = qm.Errorf(qm.ENotFound, "tenant not found")

func (s *TenantService) findTenant(ctx context.Context, column, value string) (*qm.Tenant, error) {
	now := s.now()
	t, gen, ok := s.cache.get(column+":"+value, now)
	if ok {
		return t, nil
	}
	t, err := scanTenant(s.catalog.QueryRow(ctx, tenantSelect+` WHERE t.`+column+` = $1`, value))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errTenantNotFound
	case err != nil:
		return nil, fmt.Errorf("get tenant: %w", err)
	}
	s.cache.put(t, now, gen)
	return t, nil
}

// Tenants implements qm.TenantService.
func (s *TenantService) Tenants(ctx context.Context) ([]*qm.Tenant, error) {
	rows, err := s.catalog.Query(ctx, tenantSelect+` ORDER BY t.slug`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var ts []*qm.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

func scanTenant(r sqlstore.Row) (*qm.Tenant, error) {
	var t qm.Tenant
	var overrides, plan string
	var deleteAfter sql.NullTime
	var movingTo string
	err := r.Scan(&t.ID, &t.Slug, &t.Name, &t.Tier, &t.Placement.Engine, &t.Placement.Server, &t.Placement.Location,
		&t.State, &t.SchemaVersion, &t.CreatedAt, &deleteAfter, &t.DeletedBy, &movingTo, &t.Plan, &overrides, &plan)
	if err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	// The catalog keeps a tenant deleting as suspended, with the time it
	// is purged.
	if t.DeleteAfter = sqlstore.TimePtr(deleteAfter); t.DeleteAfter != nil {
		t.State = qm.StateDeleting
	}
	// A tenant moving is served while its data is copied; while its
	// writes pause for the last changes, the catalog keeps it as
	// suspended, with where it goes.
	if movingTo != "" {
		var p place
		if err := json.Unmarshal([]byte(movingTo), &p); err != nil {
			return nil, fmt.Errorf("tenant %s: its move: %w", t.Slug, err)
		}
		t.Moving = true
		if p.Paused != "" {
			t.State = qm.StateMoving
		}
	}
	limits, err := effectiveLimits(plan, overrides)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", t.Slug, err)
	}
	t.Limits = limits
	return &t, nil
}

// effectiveLimits lays a tenant's overrides over its plan's limits, both as
// stored (JSON).
func effectiveLimits(plan, overrides string) (qm.Effective, error) {
	var p, o qm.LimitSet
	if err := json.Unmarshal([]byte(plan), &p); err != nil {
		return qm.Effective{}, fmt.Errorf("plan limits: %w", err)
	}
	if err := json.Unmarshal([]byte(overrides), &o); err != nil {
		return qm.Effective{}, fmt.Errorf("limit overrides: %w", err)
	}
	return qm.EffectiveLimits(p, o), nil
}

// MigrateTenants brings every tenant's data behind latest to it, at most
// parallel places at a time, and records each tenant's new version. Pool
// tenants share one place and are migrated together.
func (s *TenantService) MigrateTenants(ctx context.Context, latest, parallel int, progress func(schema.Progress)) (schema.RunReport, error) {
	tenants, err := s.Tenants(ctx)
	if err != nil {
		return schema.RunReport{}, err
	}
	var targets []schema.Target
	byPlace := map[qm.Placement]int{}
	for _, t := range tenants {
		if t.SchemaVersion >= latest || t.State == qm.StateProvisioning {
			continue
		}
		i, ok := byPlace[t.Placement]
		if !ok {
			i = len(targets)
			byPlace[t.Placement] = i
			name := fmt.Sprintf("%s %s (%s)", t.Tier, t.Slug, t.Placement.Location)
			if t.Tier == qm.TierPool {
				name = fmt.Sprintf("pool (%s)", t.Placement.Location)
			}
			t := t
			targets = append(targets, schema.Target{Name: name, Migrate: func(ctx context.Context) (int, error) {
				return s.storage.MigrateData(ctx, t)
			}})
		}
		targets[i].Tenants = append(targets[i].Tenants, t)
	}
	return schema.RunMigrations(ctx, targets, parallel, s.recordVersion, progress), nil
}

func (s *TenantService) recordVersion(ctx context.Context, tenants []*qm.Tenant, v int) error {
	defer s.cache.clear()
	return s.inTx(ctx, func(q sqlstore.Querier) error {
		for _, t := range tenants {
			if _, err := q.Exec(ctx, `UPDATE tenants SET schema_version = $2 WHERE id = $1`, t.ID, v); err != nil {
				return fmt.Errorf("record schema version of %s: %w", t.Slug, err)
			}
			t.SchemaVersion = v
		}
		return s.publish(ctx, q, changeTenant, "", "tenant.migrate")
	})
}

// Behind lists the tenants whose data is not at version latest.
func (s *TenantService) Behind(ctx context.Context, latest int) ([]*qm.Tenant, error) {
	tenants, err := s.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var behind []*qm.Tenant
	for _, t := range tenants {
		if t.SchemaVersion != latest {
			behind = append(behind, t)
		}
	}
	return behind, nil
}

// Ready reports whether the catalog answers, is at version catalogLatest,
// and holds no tenant whose data is behind tenantLatest.
func (s *TenantService) Ready(ctx context.Context, catalogLatest, tenantLatest int) error {
	var v, behind int
	if err := s.catalog.QueryRow(ctx, schema.SelectVersion).Scan(&v); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if v != catalogLatest {
		return fmt.Errorf("catalog is at version %d, want %d: run quartermaster migrate", v, catalogLatest)
	}
	err := s.catalog.QueryRow(ctx, `SELECT COUNT(*) FROM tenants WHERE schema_version <> $1 AND state <> $2`,
		tenantLatest, string(qm.StateProvisioning)).Scan(&behind)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if behind > 0 {
		return fmt.Errorf("%d tenants are not at schema version %d: run quartermaster migrate", behind, tenantLatest)
	}
	return nil
}

// RemoveIncomplete removes tenants that have been provisioning for longer
// than age: a process that died while creating them left a catalog row, and
// maybe part of their storage. It removes both and returns the tenants
// removed. Pass an age well beyond the longest provisioning, so a tenant
// being created right now is left alone.
func (s *TenantService) RemoveIncomplete(ctx context.Context, age time.Duration) ([]*qm.Tenant, error) {
	defer s.cache.clear()
	tenants, err := s.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-age)
	var removed []*qm.Tenant
	for _, t := range tenants {
		if t.State != qm.StateProvisioning || t.CreatedAt.After(cutoff) {
			continue
		}
		if err := s.storage.Deprovision(ctx, t); err != nil {
			return removed, fmt.Errorf("remove storage of incomplete tenant %s: %w", t.Slug, err)
		}
		if _, err := s.catalog.Exec(ctx, `DELETE FROM tenants WHERE id = $1 AND state = $2`, t.ID, string(qm.StateProvisioning)); err != nil {
			return removed, fmt.Errorf("remove incomplete tenant %s: %w", t.Slug, err)
		}
		removed = append(removed, t)
	}
	return removed, nil
}

// SetState suspends or resumes the tenant with the given slug, recording it
// in the tenant's audit log, and returns the tenant as it now is. ENotFound;
// EInvalid for a state other than active or suspended.
func (s *TenantService) SetState(ctx context.Context, slug string, state qm.TenantState) (*qm.Tenant, error) {
	if state != qm.StateActive && state != qm.StateSuspended {
		return nil, qm.Errorf(qm.EInvalid, "a tenant can be set active or suspended, not %q", state)
	}
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	switch t.State {
	case qm.StateDeleting:
		return nil, qm.Errorf(qm.EConflict, "tenant %s is being deleted: restore it first", t.Slug)
	case qm.StateMoving:
		return nil, qm.Errorf(qm.EConflict, "tenant %s is moving: its state is its own again when the move ends", t.Slug)
	}
	if t.State == state || t.State == qm.StateProvisioning {
		return t, nil
	}
	// The log is written while the tenant is active: before a suspension,
	// after a resumption; the router serves only active tenants.
	after := *t
	after.State = state
	action := "tenant." + map[qm.TenantState]string{qm.StateActive: "resume", qm.StateSuspended: "suspend"}[state]
	audit := func(active *qm.Tenant) error {
		return s.router.Update(tenancy.WithTenant(ctx, active), func(c sqlstore.Conn) error {
			return sqlstore.Audit(ctx, c, s.now(), action,
				"tenant", t.ID, map[string]any{"state": t.State}, map[string]any{"state": state})
		})
	}
	if state == qm.StateSuspended {
		if err := audit(t); err != nil {
			return nil, err
		}
	}
	// A suspended tenant's devices are refused at an external broker, as
	// the embedded one refuses them.
	err = s.devices.accountsTx(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `UPDATE tenants SET state = $2 WHERE id = $1`, t.ID, string(state)); err != nil {
			return err
		}
		if err := s.devices.suspendAccounts(ctx, q, t.ID, state == qm.StateSuspended); err != nil {
			return err
		}
		if err := s.publish(ctx, q, changeTenant, t.ID, action); err != nil {
			return err
		}
		return recordOperator(ctx, q, s.now(), action, t, map[string]any{"from": t.State, "to": state})
	})
	s.cache.clear()
	if err != nil {
		return nil, fmt.Errorf("set tenant state: %w", err)
	}
	if state == qm.StateActive {
		if err := audit(&after); err != nil {
			return nil, err
		}
	}
	return &after, nil
}

// devicesHeard counts, of the devices held (ids), those that reported
// within the tenant's offline minutes and those that reported before but
// not since: the state of a device it held before is its history, not its
// fleet.
func (s *TenantService) devicesHeard(ctx context.Context, c sqlstore.Conn, held []any) (online, offline int, err error) {
	if len(held) == 0 {
		return 0, 0, nil
	}
	settings, err := sqlstore.FleetSettings(ctx, c)
	if err != nil {
		return 0, 0, err
	}
	args := sqlstore.Args{c.TenantID()}
	since := args.Add(sqlstore.Micros(s.now().Add(-time.Duration(settings.OfflineMinutes) * time.Minute)))
	err = c.QueryRow(ctx, `SELECT COUNT(CASE WHEN last_seen_us >= `+since+` THEN 1 END), COUNT(CASE WHEN last_seen_us < `+since+` THEN 1 END)
		FROM device_state WHERE tenant_id = $1 AND device_id IN (`+args.List(held...)+`)`, args...).Scan(&online, &offline)
	if err != nil {
		return 0, 0, fmt.Errorf("devices online: %w", err)
	}
	return online, offline, nil
}

// maxHeldCounted bounds the devices of a tenant whose health the
// operator's list counts one by one; a bigger fleet's is left uncounted.
const maxHeldCounted = 5000

// heldDevices are the ids of the devices each tenant of in (placeholders,
// of args) holds now, by tenant id, but for fleets past maxHeldCounted.
func (s *TenantService) heldDevices(ctx context.Context, in string, args sqlstore.Args) (map[string][]any, error) {
	held := map[string][]any{}
	rows, err := s.catalog.Query(ctx, `SELECT tenant_id, id FROM devices WHERE tenant_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("devices held: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var tenant, id string
		if err := rows.Scan(&tenant, &id); err != nil {
			return nil, fmt.Errorf("devices held: %w", err)
		}
		if len(held[tenant]) <= maxHeldCounted {
			held[tenant] = append(held[tenant], id)
		}
	}
	for tenant, ids := range held {
		if len(ids) > maxHeldCounted {
			delete(held, tenant)
		}
	}
	return held, rows.Err()
}

// BreakGlass implements qm.TenantService.
func (s *TenantService) BreakGlass(ctx context.Context, slug, reason string) (*qm.Tenant, time.Time, error) {
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return nil, time.Time{}, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || len(reason) > 500 {
		return nil, time.Time{}, &qm.Error{Code: qm.EInvalid, Message: "say why, in at most 500 characters", Fields: map[string]string{"reason": "required"}}
	}
	p := tenancy.PrincipalFrom(ctx)
	now := s.now()
	until := now.Add(qm.BreakGlassFor)
	ctx = tenancy.WithTenant(ctx, t)
	err = s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := s.identity.BreakGlass(ctx, t.ID, p.ID, reason, now, until); err != nil {
			return err
		}
		if err := recordOperator(ctx, s.catalog, now, "tenant.break_glass", t, map[string]any{"reason": reason, "until": until}); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, now, "break_glass.start", "tenant", t.ID, nil, map[string]any{"reason": reason, "until": until})
	})
	return t, until, err
}

// Activity tells, for each of ts in order, how many members and devices it
// has (two grouped catalog queries for all of ts) and, for each tenant
// whose data is served, how many assets it holds and when its audit log
// last grew (one read through the router per tenant: the work grows with
// len(ts), so callers pass a page, never every tenant). Operator only.
func (s *TenantService) Activity(ctx context.Context, ts []*qm.Tenant) ([]qm.TenantActivity, error) {
	out := make([]qm.TenantActivity, len(ts))
	if len(ts) == 0 {
		return out, nil
	}
	index := make(map[string]int, len(ts))
	ids := make([]any, len(ts))
	for i, t := range ts {
		index[t.ID] = i
		ids[i] = t.ID
	}
	var args sqlstore.Args
	in := args.List(ids...)
	for _, count := range []struct {
		table string
		into  func(a *qm.TenantActivity, n int)
	}{
		{"memberships", func(a *qm.TenantActivity, n int) { a.Members = n }},
		{"devices", func(a *qm.TenantActivity, n int) { a.Devices = n }},
	} {
		rows, err := s.catalog.Query(ctx, `SELECT tenant_id, COUNT(*) FROM `+count.table+` WHERE tenant_id IN (`+in+`) GROUP BY tenant_id`, args...)
		if err != nil {
			return nil, fmt.Errorf("count %s per tenant: %w", count.table, err)
		}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("count %s per tenant: %w", count.table, err)
			}
			count.into(&out[index[id]], n)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("count %s per tenant: %w", count.table, err)
		}
	}
	held, err := s.heldDevices(ctx, in, args)
	if err != nil {
		return nil, err
	}
	for i, t := range ts {
		if t.State != qm.StateActive {
			continue
		}
		var assets, online, offline int
		var points int64
		var last *time.Time
		err := s.router.View(tenancy.WithTenant(ctx, t), func(c sqlstore.Conn) error {
			n, err := sqlstore.CountRows(ctx, c, "assets")()
			if err != nil {
				return fmt.Errorf("count assets: %w", err)
			}
			assets = int(n)
			if err := c.QueryRow(ctx, `SELECT COALESCE(SUM(points), 0) FROM device_state WHERE tenant_id = $1`, c.TenantID()).Scan(&points); err != nil {
				return fmt.Errorf("stored points: %w", err)
			}
			if online, offline, err = s.devicesHeard(ctx, c, held[t.ID]); err != nil {
				return err
			}
			var at time.Time
			switch err := c.QueryRow(ctx, `SELECT at FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1`, c.TenantID()).Scan(&at); {
			case errors.Is(err, sqlstore.ErrNoRows):
			case err != nil:
				return fmt.Errorf("newest audit entry: %w", err)
			default:
				at = at.UTC()
				last = &at
			}
			return nil
		})
		switch qm.ErrorCode(err) {
		case "":
			out[i].Assets, out[i].LastActivity, out[i].DevicesOnline, out[i].DevicesOffline, out[i].StoredPoints = &assets, last, &online, &offline, &points
		case qm.ETenantNewer, qm.ETenantInert:
			// Not served by this build or not now: the counts stay unknown.
		default:
			return nil, fmt.Errorf("activity of tenant %s: %w", t.Slug, err)
		}
	}
	return out, nil
}

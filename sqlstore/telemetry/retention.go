package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/tenancy"
)

// Retention deletes every tenant's points older than the tenant's
// retention, and its alarms cleared before then (with their events) and
// delivery attempts. It is a background job: on several nodes, the one holding its
// lease runs it.
type Retention struct {
	Tenants *catalog.TenantService
	Router  sqlstore.Router
	// Holder names this node for the lease.
	Holder string
	// Logger receives what fails (slog.Default when nil).
	Logger *slog.Logger
	Now    func() time.Time
}

func (r *Retention) log() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

// RunOnce applies every active tenant's retention now, but to a tenant
// moving, and returns how many points it deleted. A tenant that fails is logged and skipped.
func (r *Retention) RunOnce(ctx context.Context) (int64, error) {
	ts, err := r.Tenants.Tenants(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, t := range ts {
		// A tenant moving keeps its points until it has moved: a move
		// counts on the rows it copied staying (lifecycle.Move).
		if t.State != qm.StateActive || t.Moving {
			continue
		}
		n, err := r.apply(tenancy.WithTenant(ctx, t))
		if err != nil {
			r.log().Error("retention", "tenant", t.Slug, "err", err)
			continue
		}
		total += n
	}
	return total, nil
}

// apply deletes the old points of the tenant in ctx, device by device, so
// each delete walks the primary key.
func (r *Retention) apply(ctx context.Context) (int64, error) {
	var deleted int64
	err := r.Router.Update(ctx, func(c sqlstore.Conn) error {
		settings, err := sqlstore.FleetSettings(ctx, c)
		if err != nil {
			return err
		}
		// The plan's longest retention wins over a setting made before the
		// plan shortened it.
		if t, _ := tenancy.FromContext(ctx); t.Limits.MaxRetentionDays() > 0 {
			settings.RetentionDays = min(settings.RetentionDays, t.Limits.MaxRetentionDays())
		}
		cutoff := sqlstore.Micros(r.Now().AddDate(0, 0, -settings.RetentionDays))
		rows, err := c.Query(ctx, `SELECT device_id FROM device_state WHERE tenant_id = $1`, c.TenantID())
		if err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		var devices []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("retention: %w", err)
			}
			devices = append(devices, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		for _, id := range devices {
			n, err := c.Exec(ctx, `DELETE FROM points WHERE tenant_id = $1 AND device_id = $2 AND t_us < $3`, c.TenantID(), id, cutoff)
			if err != nil {
				return fmt.Errorf("retention: %w", err)
			}
			deleted += n
		}
		// Alarms cleared before the cutoff go too, with their events and
		// the outbox rows of those (by cascade), and so does the delivery
		// log's tail.
		before := sqlstore.Timestamp(r.Now().AddDate(0, 0, -settings.RetentionDays))
		alarms, err := c.Exec(ctx, `DELETE FROM alarms WHERE tenant_id = $1 AND cleared_at < $2`, c.TenantID(), before)
		if err != nil {
			return fmt.Errorf("retention of alarms: %w", err)
		}
		attempts, err := c.Exec(ctx, `DELETE FROM deliveries WHERE tenant_id = $1 AND at < $2`, c.TenantID(), before)
		if err != nil {
			return fmt.Errorf("retention of the delivery log: %w", err)
		}
		if deleted > 0 || alarms > 0 || attempts > 0 {
			return sqlstore.Audit(ctx, c, r.Now(), "telemetry.retention", "points", "", nil,
				map[string]any{"deleted": deleted, "alarms": alarms, "deliveries": attempts, "older_than_days": settings.RetentionDays})
		}
		return nil
	})
	return deleted, err
}

// Run applies retention every interval while this node holds the lease,
// until ctx is done (see catalog.TenantService.Every).
func (r *Retention) Run(ctx context.Context, every time.Duration) error {
	return r.Tenants.Every(ctx, "telemetry-retention", r.Holder, every, r.log(), func(ctx context.Context) error {
		n, err := r.RunOnce(ctx)
		if n > 0 {
			r.log().Info("retention deleted old points", "points", n)
		}
		return err
	})
}

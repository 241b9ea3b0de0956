package alerting

import (
	"context"
	"log/slog"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// Scheduled evaluates the rules time decides (silence, dates, seats) for
// the tenant in ctx (alerts.Scheduler).
type Scheduled interface {
	Evaluate(ctx context.Context) ([]*qm.AlarmEvent, error)
}

// ScheduledJob is the job that runs s for every active tenant, telling
// raised (when not nil) of the events each caused; cmd/quartermaster runs
// it every minute on the node holding its lease. A tenant's failure is
// logged and tried again at the next run.
func ScheduledJob(s Scheduled, tenants TenantSource, log *slog.Logger, raised func(tenantID string, events []*qm.AlarmEvent)) func(context.Context) error {
	return func(ctx context.Context) error {
		ts, err := tenants.Tenants(ctx)
		if err != nil {
			return err
		}
		for _, t := range ts {
			if ctx.Err() != nil {
				return nil
			}
			if t.State != qm.StateActive {
				continue
			}
			events, err := s.Evaluate(tenancy.WithTenant(ctx, t))
			switch {
			case err != nil:
				log.Warn("alerting: scheduled rules", "tenant", t.Slug, "err", err)
			case len(events) > 0 && raised != nil:
				raised(t.ID, events)
			}
		}
		return nil
	}
}

package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

// PlanStore is the qm.PlanService: plans in the catalog, and each tenant's
// plan and overrides in its catalog row, read with the tenant (scanTenant),
// so a change reaches every node as it forgets its cached tenants
// (WatchChanges).
type PlanStore struct {
	tenants *TenantService
}

var _ qm.PlanService = (*PlanStore)(nil)

// NewPlanStore returns the plans of the catalog tenants keeps.
func NewPlanStore(tenants *TenantService) *PlanStore { return &PlanStore{tenants: tenants} }

var errPlanNotFound = qm.Errorf(qm.ENotFound, "plan not found")

// CreatePlan implements qm.PlanService. The default plan may be created
// too: its limits are then every plan-less tenant's.
func (s *PlanStore) CreatePlan(ctx context.Context, p *qm.Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := s.insert(ctx, p); err != nil {
		return err
	}
	return recordOperator(ctx, s.tenants.catalog, p.CreatedAt, "plan.create", nil, map[string]any{"plan": p.Name, "limits": p.Limits})
}

// insert stores plan p, valid.
func (s *PlanStore) insert(ctx context.Context, p *qm.Plan) error {
	limits, _ := json.Marshal(p.Limits)
	p.CreatedAt = sqlstore.Timestamp(s.tenants.now())
	p.UpdatedAt = p.CreatedAt
	err := s.tenants.inTx(ctx, func(q sqlstore.Querier) error {
		if _, err := q.Exec(ctx, `INSERT INTO plans (name, limits, created_at, updated_at) VALUES ($1, $2, $3, $4)`,
			p.Name, string(limits), p.CreatedAt, p.UpdatedAt); err != nil {
			return err
		}
		return s.tenants.publish(ctx, q, changeTenant, "", "plan.create")
	})
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: fmt.Sprintf("a plan named %q exists", p.Name), Fields: map[string]string{"name": "already taken"}}
	} else if err != nil {
		return fmt.Errorf("create plan: %w", err)
	}
	s.tenants.cache.clear()
	return nil
}

// UpdatePlan implements qm.PlanService.
func (s *PlanStore) UpdatePlan(ctx context.Context, name string, set qm.LimitSet, unset []string) (*qm.Plan, error) {
	p, err := s.Plan(ctx, name)
	if err != nil {
		return nil, err
	}
	limits, err := p.Limits.Change(set, unset)
	if err != nil {
		return nil, err
	}
	before := p.Limits
	if p.CreatedAt.IsZero() { // the default plan, never stored
		p.Limits = limits
		if err := s.insert(ctx, p); err != nil {
			return nil, err
		}
	} else {
		b, _ := json.Marshal(limits)
		err := s.tenants.inTx(ctx, func(q sqlstore.Querier) error {
			n, err := q.Exec(ctx, `UPDATE plans SET limits = $2, updated_at = $3 WHERE name = $1`, name, string(b), sqlstore.Timestamp(s.tenants.now()))
			switch {
			case err != nil:
				return fmt.Errorf("update plan: %w", err)
			case n == 0:
				return errPlanNotFound
			}
			return s.tenants.publish(ctx, q, changeTenant, "", "plan.update")
		})
		s.tenants.cache.clear()
		if err != nil {
			return nil, err
		}
	}
	err = recordOperator(ctx, s.tenants.catalog, s.tenants.now(), "plan.update", nil, map[string]any{"plan": name, "before": before, "after": limits})
	if err != nil {
		return nil, err
	}
	if err := s.auditPlanChange(ctx, name, before, limits); err != nil {
		return nil, err
	}
	return s.Plan(ctx, name)
}

// auditPlanChange writes a change of plan name's limits in the audit log of
// every active tenant on it, whose limits it changed. The change stands
// whatever happens here; an error names the tenants whose logs lack it.
func (s *PlanStore) auditPlanChange(ctx context.Context, name string, before, after qm.LimitSet) error {
	ts, err := s.tenants.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("the plan changed, but its tenants could not be listed to log it: %w", err)
	}
	var missed []string
	for _, t := range ts {
		if t.Plan != name || t.State != qm.StateActive {
			continue
		}
		err := s.tenants.router.Update(tenancy.WithTenant(ctx, t), func(c sqlstore.Conn) error {
			return sqlstore.Audit(ctx, c, s.tenants.now(), "plan.update", "plan", name, map[string]any{"limits": before}, map[string]any{"limits": after})
		})
		if err != nil {
			missed = append(missed, t.Slug)
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("plan %s changed, but the audit logs of %s lack it", name, strings.Join(missed, ", "))
	}
	return nil
}

const planColumns = `name, limits, created_at, updated_at`

func scanPlan(r sqlstore.Row) (*qm.Plan, error) {
	var p qm.Plan
	var limits string
	if err := r.Scan(&p.Name, &limits, &p.CreatedAt, &p.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(limits), &p.Limits); err != nil {
		return nil, fmt.Errorf("plan %s: %w", p.Name, err)
	}
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return &p, nil
}

// Plan implements qm.PlanService.
func (s *PlanStore) Plan(ctx context.Context, name string) (*qm.Plan, error) {
	p, err := scanPlan(s.tenants.catalog.QueryRow(ctx, `SELECT `+planColumns+` FROM plans WHERE name = $1`, name))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows) && name == qm.DefaultPlan:
		return &qm.Plan{Name: qm.DefaultPlan}, nil
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errPlanNotFound
	case err != nil:
		return nil, fmt.Errorf("get plan: %w", err)
	}
	return p, nil
}

// Plans implements qm.PlanService; the default plan is listed even when
// never stored.
func (s *PlanStore) Plans(ctx context.Context) ([]*qm.Plan, error) {
	ps, err := sqlstore.QueryAll(ctx, s.tenants.catalog, scanPlan, `SELECT `+planColumns+` FROM plans ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	for _, p := range ps {
		if p.Name == qm.DefaultPlan {
			return ps, nil
		}
	}
	return append([]*qm.Plan{{Name: qm.DefaultPlan}}, ps...), nil
}

// TenantLimits implements qm.PlanService.
func (s *PlanStore) TenantLimits(ctx context.Context, slug string) (*qm.TenantLimits, error) {
	t, err := s.tenants.Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	return s.limitsOf(ctx, t)
}

func (s *PlanStore) limitsOf(ctx context.Context, t *qm.Tenant) (*qm.TenantLimits, error) {
	var overrides string
	if err := s.tenants.catalog.QueryRow(ctx, `SELECT limit_overrides FROM tenants WHERE id = $1`, t.ID).Scan(&overrides); err != nil {
		return nil, fmt.Errorf("limits of %s: %w", t.Slug, err)
	}
	tl := &qm.TenantLimits{Plan: t.Plan, Effective: t.Limits}
	if err := json.Unmarshal([]byte(overrides), &tl.Overrides); err != nil {
		return nil, fmt.Errorf("limits of %s: %w", t.Slug, err)
	}
	p, err := s.Plan(ctx, t.Plan)
	if err != nil {
		return nil, fmt.Errorf("limits of %s: %w", t.Slug, err)
	}
	tl.PlanLimits = p.Limits
	return tl, nil
}

// SetTenantPlan implements qm.PlanService.
func (s *PlanStore) SetTenantPlan(ctx context.Context, slug, plan string) (*qm.TenantLimits, error) {
	if _, err := s.Plan(ctx, plan); qm.ErrorCode(err) == qm.ENotFound {
		return nil, &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("there is no plan %q", plan), Fields: map[string]string{"plan": "no such plan"}}
	} else if err != nil {
		return nil, err
	}
	return s.change(ctx, slug, "tenant.plan", func(before *qm.TenantLimits) (string, any, any) {
		return `plan = $2`, plan, map[string]string{"plan": plan}
	})
}

// SetTenantOverrides implements qm.PlanService.
func (s *PlanStore) SetTenantOverrides(ctx context.Context, slug string, set qm.LimitSet, unset []string) (*qm.TenantLimits, error) {
	// The keys are checked before anything is written.
	if _, err := (qm.LimitSet{}).Change(set, unset); err != nil {
		return nil, err
	}
	return s.change(ctx, slug, "tenant.limits", func(before *qm.TenantLimits) (string, any, any) {
		o, _ := before.Overrides.Change(set, unset)
		b, _ := json.Marshal(o)
		return `limit_overrides = $2`, string(b), map[string]any{"overrides": o}
	})
}

// change sets one column of the tenant's catalog row (edit says which, to
// what, and what the audit log records after) and records the change, with
// the limits before, in the tenant's audit log, in the one transaction of
// the tenant's data: the log never holds a change the catalog lacks. The
// tenant must be active, as the router serves only active tenants: a
// suspended tenant's limits wait for it to resume.
func (s *PlanStore) change(ctx context.Context, slug, action string, edit func(before *qm.TenantLimits) (set string, value, after any)) (*qm.TenantLimits, error) {
	t, err := s.tenants.Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	if t.State != qm.StateActive {
		return nil, qm.Errorf(qm.EConflict, "tenant %s is %s: resume it to change its limits, so the change is in its audit log", t.Slug, t.State)
	}
	before, err := s.limitsOf(ctx, t)
	if err != nil {
		return nil, err
	}
	set, value, after := edit(before)
	err = s.tenants.router.Update(tenancy.WithTenant(ctx, t), func(c sqlstore.Conn) error {
		if err := sqlstore.Audit(ctx, c, s.tenants.now(), action, "tenant", t.ID, before, after); err != nil {
			return err
		}
		if _, err := s.tenants.catalog.Exec(ctx, `UPDATE tenants SET `+set+` WHERE id = $1`, t.ID, value); err != nil {
			return err
		}
		if err := s.tenants.publish(ctx, s.tenants.catalog, changeTenant, t.ID, action); err != nil {
			return err
		}
		return recordOperator(ctx, s.tenants.catalog, s.tenants.now(), action, t, map[string]any{
			"before": map[string]any{"plan": before.Plan, "overrides": before.Overrides}, "after": after})
	})
	s.tenants.cache.clear()
	if err != nil {
		return nil, fmt.Errorf("change the limits of %s: %w", t.Slug, err)
	}
	return s.TenantLimits(ctx, slug)
}

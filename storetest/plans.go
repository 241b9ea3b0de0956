package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// TestPlans checks plans and each tenant's place on them: what a tenant
// reads with itself (its effective limits) follows its plan and overrides,
// every change is in its own audit log, and another tenant is untouched.
func TestPlans(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	ta, ctxA := MustTenant(t, e, h.Tier, "plan-a")
	tb, _ := MustTenant(t, e, h.Tier, "plan-b")
	s := catalog.NewPlanStore(e.Tenants())
	limits := func(slug string) qm.Effective {
		t.Helper()
		tn, err := e.Tenants().Tenant(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		return tn.Limits
	}
	if ps, err := s.Plans(ctx); err != nil || len(ps) != 1 || ps[0].Name != qm.DefaultPlan {
		t.Fatalf("plans before any: %+v, %v; want the default plan", ps, err)
	}
	if l := limits(ta.Slug); l.MaxAssets() != 0 || !l.Has(qm.FeatureImport) || ta.Plan != qm.DefaultPlan {
		t.Fatalf("a new tenant is on plan %q with %d assets at most; want the default plan, unlimited", ta.Plan, l.MaxAssets())
	}
	var team qm.LimitSet
	team.Set("max_assets", "5")
	team.Set("features", "fleet,import")
	if err := s.CreatePlan(ctx, &qm.Plan{Name: "team", Limits: team}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreatePlan(ctx, &qm.Plan{Name: "team"}), qm.EConflict)
	wantCode(t, s.CreatePlan(ctx, &qm.Plan{Name: "Team Plan"}), qm.EInvalid)
	_, err := s.SetTenantPlan(ctx, ta.Slug, "enterprise")
	wantCode(t, err, qm.EInvalid)
	tl, err := s.SetTenantPlan(ctx, ta.Slug, "team")
	if err != nil || tl.Plan != "team" || tl.Effective.MaxAssets() != 5 || tl.Effective.Has(qm.FeatureLabels) {
		t.Fatalf("on plan team: %+v, %v", tl, err)
	}
	if l := limits(ta.Slug); l.MaxAssets() != 5 || l.Has(qm.FeatureLabels) || !l.Has(qm.FeatureFleet) {
		t.Fatal("the tenant read afresh does not carry its plan's limits")
	}
	if l := limits(tb.Slug); l.MaxAssets() != 0 || !l.Has(qm.FeatureLabels) {
		t.Fatal("B's limits changed with A's plan")
	}

	t.Run("Overrides", func(t *testing.T) {
		var more qm.LimitSet
		more.Set("max_assets", "8")
		more.Set("max_devices", "2")
		_, err := s.SetTenantOverrides(ctx, ta.Slug, more, []string{"max_assetz"})
		wantCode(t, err, qm.EInvalid)
		if limits(ta.Slug).MaxAssets() != 5 {
			t.Fatal("a refused change of overrides changed the limits")
		}
		tl, err := s.SetTenantOverrides(ctx, ta.Slug, more, nil)
		if err != nil || tl.Effective.MaxAssets() != 8 || tl.Effective.MaxDevices() != 2 || tl.Overrides.Values[qm.MaxAssets] != 8 {
			t.Fatalf("overridden: %+v, %v", tl, err)
		}
		tl, err = s.SetTenantOverrides(ctx, ta.Slug, qm.LimitSet{}, []string{"max_assets"})
		if err != nil || tl.Effective.MaxAssets() != 5 || tl.Effective.MaxDevices() != 2 || len(tl.Overrides.Values) != 1 {
			t.Fatalf("max_assets unset: %+v, %v; want the plan's 5 back and the devices kept", tl, err)
		}
		log, err := dataplane.NewAuditStore(e).AuditLog(ctxA, qm.AuditFilter{ResourceType: "tenant"})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, en := range log {
			actions = append(actions, en.Action)
		}
		if len(actions) < 3 || actions[0] != "tenant.limits" || actions[1] != "tenant.limits" || actions[2] != "tenant.plan" {
			t.Fatalf("audit log: %v; want the two changes of overrides and the change of plan, newest first", actions)
		}
	})
	t.Run("PlanChangeReachesItsTenants", func(t *testing.T) {
		var fewer qm.LimitSet
		fewer.Set("max_assets", "3")
		p, err := s.UpdatePlan(ctx, "team", fewer, []string{"features"})
		if err != nil || p.Limits.Values[qm.MaxAssets] != 3 || p.Limits.Features != nil {
			t.Fatalf("update: %+v, %v", p, err)
		}
		if l := limits(ta.Slug); l.MaxAssets() != 3 || !l.Has(qm.FeatureLabels) {
			t.Fatal("the tenant does not work under its plan's new limits")
		}
		log, err := dataplane.NewAuditStore(e).AuditLog(ctxA, qm.AuditFilter{Action: "plan.update"})
		if err != nil || len(log) != 1 || log[0].ResourceID != "team" {
			t.Fatalf("A's log of its plan's change: %+v, %v; want one entry", log, err)
		}
		if log, _ := dataplane.NewAuditStore(e).AuditLog(tenancy.WithTenant(ctx, tb), qm.AuditFilter{Action: "plan.update"}); len(log) != 0 {
			t.Fatalf("B, on another plan, logged team's change: %+v", log)
		}
		_, err = s.UpdatePlan(ctx, "nonesuch", fewer, nil)
		wantCode(t, err, qm.ENotFound)
	})
	t.Run("DefaultPlan", func(t *testing.T) {
		var base qm.LimitSet
		base.Set("max_locations", "100")
		if _, err := s.UpdatePlan(ctx, qm.DefaultPlan, base, nil); err != nil {
			t.Fatal(err)
		}
		if limits(tb.Slug).MaxLocations() != 100 || limits(ta.Slug).MaxLocations() != 0 {
			t.Fatal("the default plan's limits reach only the tenants on it")
		}
	})
	t.Run("Suspended", func(t *testing.T) {
		if _, err := e.Tenants().SetState(ctx, tb.Slug, qm.StateSuspended); err != nil {
			t.Fatal(err)
		}
		_, err := s.SetTenantPlan(ctx, tb.Slug, "team")
		wantCode(t, err, qm.EConflict)
		_, err = s.TenantLimits(ctx, "nonesuch")
		wantCode(t, err, qm.ENotFound)
	})
}

package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// mustShape reads a GeoJSON shape.
func mustShape(t *testing.T, geojson string) qm.Shape {
	t.Helper()
	var s qm.Shape
	if err := json.Unmarshal([]byte(geojson), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

const depotJSON = `{"type":"Feature","geometry":{"type":"Point","coordinates":[13.405,52.52]},"properties":{"radius_m":200}}`

// onAPlan puts tn on a new plan of the given limits and returns a context
// scoped to the tenant as read now, with them.
func onAPlan(t *testing.T, e Engine, tn *qm.Tenant, plan string, limits map[string]string) context.Context {
	t.Helper()
	ctx := context.Background()
	var set qm.LimitSet
	for k, v := range limits {
		if err := set.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	plans := catalog.NewPlanStore(e.Tenants())
	if err := plans.CreatePlan(ctx, &qm.Plan{Name: plan, Limits: set}); err != nil {
		t.Fatal(err)
	}
	if _, err := plans.SetTenantPlan(ctx, tn.Slug, plan); err != nil {
		t.Fatal(err)
	}
	now, err := e.Tenants().Tenant(ctx, tn.Slug)
	if err != nil {
		t.Fatal(err)
	}
	return tenancy.WithTenant(ctx, now)
}

// mustRule makes a rule of d.
func mustRule(t *testing.T, s qm.RuleService, ctx context.Context, d qm.RuleDefinition) *qm.Rule {
	t.Helper()
	r, err := s.CreateRule(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ruleErr is the error of a call that returns a rule.
func ruleErr(_ *qm.Rule, err error) error { return err }

// TestGeofences checks geofences, with a different-tenant case for each
// method.
func TestGeofences(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, _ := MustTenant(t, e, h.Tier, "fence-a")
	_, ctxB := MustTenant(t, e, h.Tier, "fence-b")
	ctxA := onAPlan(t, e, ta, "two-fences", map[string]string{"max_geofences": "2"})
	s := alerts.NewGeofenceStore(e, clock())

	depot := &qm.Geofence{Name: " Depot ", Shape: mustShape(t, depotJSON)}
	if err := s.CreateGeofence(ctxA, depot); err != nil {
		t.Fatal(err)
	}
	if depot.Name != "Depot" || depot.ID == "" {
		t.Fatalf("created %+v: want the name trimmed and an id", depot)
	}
	got, err := s.Geofence(ctxA, depot.ID)
	if err != nil || got.Name != "Depot" || !got.Shape.Contains(qm.Position{Lat: 52.5201, Lon: 13.4051}) || got.Shape.Contains(qm.Position{Lat: 52.53, Lon: 13.405}) {
		t.Fatalf("read back %+v, %v: want the 200 m circle", got, err)
	}
	wantCode(t, s.CreateGeofence(ctxA, &qm.Geofence{Name: "Depot", Shape: mustShape(t, depotJSON)}), qm.EConflict)
	wantCode(t, s.CreateGeofence(ctxA, &qm.Geofence{Name: "No shape"}), qm.EInvalid)
	yard := &qm.Geofence{Name: "Yard", Shape: mustShape(t, `{"type":"Polygon","coordinates":[[[13,52],[14,52],[14,53],[13,52]]]}`)}
	if err := s.CreateGeofence(ctxA, yard); err != nil {
		t.Fatal(err)
	}
	third := &qm.Geofence{Name: "Third", Shape: mustShape(t, depotJSON)}
	err = s.CreateGeofence(ctxA, third)
	wantCode(t, err, qm.ELimitReached)
	if e, _ := err.(*qm.Error); e.Limit == nil || e.Limit.Limit != qm.MaxGeofences || e.Limit.Count != 2 {
		t.Fatalf("the refusal names %+v; want max_geofences at 2", e.Limit)
	}

	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.Geofence(ctxB, depot.ID)
		wantCode(t, err, qm.ENotFound)
		if gs, err := s.Geofences(ctxB); err != nil || len(gs) != 0 {
			t.Fatalf("B lists %+v, %v; want none", gs, err)
		}
		_, err = s.UpdateGeofence(ctxB, depot.ID, qm.GeofenceUpdate{Name: ptr("Hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteGeofence(ctxB, depot.ID), qm.ENotFound)
		// B may use A's names.
		if err := s.CreateGeofence(ctxB, &qm.Geofence{Name: "Depot", Shape: mustShape(t, depotJSON)}); err != nil {
			t.Fatal(err)
		}
	})

	moved := mustShape(t, `{"type":"Feature","geometry":{"type":"Point","coordinates":[2.35,48.85]},"properties":{"radius_m":300}}`)
	up, err := s.UpdateGeofence(ctxA, depot.ID, qm.GeofenceUpdate{Shape: &moved})
	if err != nil || up.Name != "Depot" || !up.Shape.Contains(qm.Position{Lat: 48.851, Lon: 2.35}) {
		t.Fatalf("update %+v, %v: want the depot moved to Paris", up, err)
	}
	_, err = s.UpdateGeofence(ctxA, depot.ID, qm.GeofenceUpdate{Name: ptr("Yard")})
	wantCode(t, err, qm.EConflict)
	if gs, err := s.Geofences(ctxA); err != nil || len(gs) != 2 || gs[0].Name != "Depot" || gs[1].Name != "Yard" {
		t.Fatalf("A lists %+v, %v; want Depot and Yard", gs, err)
	}

	rules := alerts.NewRuleStore(e, telemetry.NewFleetStore(e, e.Devices(), clock()), clock())
	exit := mustRule(t, rules, ctxA, qm.RuleDefinition{Name: "Leaves the yard", Kind: qm.RuleGeofence, Severity: qm.SeverityMajor, GeofenceID: yard.ID, Trigger: "exit", Enabled: true})
	wantCode(t, s.DeleteGeofence(ctxA, yard.ID), qm.EConflict)
	if err := rules.DeleteRule(ctxA, exit.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGeofence(ctxA, yard.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Geofence(ctxA, yard.ID)
	wantCode(t, err, qm.ENotFound)

	entries, err := dataplane.NewAuditStore(e).AuditLog(ctxA, qm.AuditFilter{ResourceType: "geofence"})
	if err != nil || len(entries) != 4 || entries[0].Action != "geofence.delete" || entries[3].Action != "geofence.create" {
		t.Fatalf("audit %+v, %v: want create, create, update, delete", entries, err)
	}
}

// TestRules checks rules: each kind as stored and read back, the names
// they refer to, the department scope, the cap, and a different-tenant
// case for each method.
func TestRules(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, _ := MustTenant(t, e, h.Tier, "rules-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "rules-b")
	ctxA := onAPlan(t, e, ta, "four-rules", map[string]string{"max_rules": "4"})
	fleet := telemetry.NewFleetStore(e, e.Devices(), clock())
	s := alerts.NewRuleStore(e, fleet, clock())
	fences := alerts.NewGeofenceStore(e, clock())
	depot := &qm.Geofence{Name: "Depot", Shape: mustShape(t, depotJSON)}
	if err := fences.CreateGeofence(ctxA, depot); err != nil {
		t.Fatal(err)
	}
	da := mustAssignedDevice(t, e, ta, "rules-a-1")
	db := mustAssignedDevice(t, e, tb, "rules-b-1")

	hot := mustRule(t, s, ctxA, qm.RuleDefinition{Name: "Hot engine", Kind: qm.RuleMetric, Severity: qm.SeverityCritical, Enabled: true,
		Condition: &qm.Comparison{Metric: "coolant_c", Op: ">", Value: qm.NumberMetric(105)},
		Clear:     &qm.Comparison{Metric: "coolant_c", Op: "<", Value: qm.NumberMetric(95)},
		ForS:      30, DeviceIDs: []string{da.ID, da.Ident}, QuietHours: &qm.QuietHours{From: "22:00", To: "06:00"}})
	got, err := s.Rule(ctxA, hot.ID)
	if err != nil || got.Name != "Hot engine" || got.Kind != qm.RuleMetric || got.Condition == nil || got.Condition.Value != qm.NumberMetric(105) ||
		got.Clear == nil || got.ForS != 30 || len(got.DeviceIDs) != 1 || got.DeviceIDs[0] != da.ID || got.QuietHours == nil ||
		got.QuietHours.From != "22:00" || !got.Enabled || got.Severity != qm.SeverityCritical || !got.CreatedAt.Equal(hot.CreatedAt) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	exit := mustRule(t, s, ctxA, qm.RuleDefinition{Name: "Leaves the depot", Kind: qm.RuleGeofence, Severity: qm.SeverityMajor, GeofenceID: depot.ID, Trigger: "exit"})

	for name, bad := range map[string]qm.RuleDefinition{
		"unknown geofence": {Name: "x", Kind: qm.RuleGeofence, Severity: qm.SeverityInfo, GeofenceID: sqlstore.NewID(), Trigger: "enter"},
		"B's device":       {Name: "x", Kind: qm.RuleBattery, Severity: qm.SeverityInfo, BatteryPct: 10, DeviceIDs: []string{db.ID}},
		"unknown dept":     {Name: "x", Kind: qm.RuleOverdue, Severity: qm.SeverityInfo, DepartmentID: sqlstore.NewID()},
		"no condition":     {Name: "x", Kind: qm.RuleMetric, Severity: qm.SeverityInfo},
	} {
		if _, err := s.CreateRule(ctxA, bad); qm.ErrorCode(err) != qm.EInvalid {
			t.Errorf("%s: got %v, want EInvalid", name, err)
		}
	}
	wantCode(t, ruleErr(s.CreateRule(ctxA, qm.RuleDefinition{Name: "Hot engine", Kind: qm.RuleOverdue, Severity: qm.SeverityInfo})), qm.EConflict)

	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.Rule(ctxB, hot.ID)
		wantCode(t, err, qm.ENotFound)
		if rs, err := s.Rules(ctxB); err != nil || len(rs) != 0 {
			t.Fatalf("B lists %+v, %v; want none", rs, err)
		}
		_, err = s.ReplaceRule(ctxB, hot.ID, qm.RuleDefinition{Name: "Hijacked", Kind: qm.RuleOverdue, Severity: qm.SeverityInfo})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteRule(ctxB, hot.ID), qm.ENotFound)
		// Nor may B name A's geofence or device.
		wantCode(t, ruleErr(s.CreateRule(ctxB, qm.RuleDefinition{Name: "x", Kind: qm.RuleGeofence, Severity: qm.SeverityInfo, GeofenceID: depot.ID, Trigger: "enter"})), qm.EInvalid)
		wantCode(t, ruleErr(s.CreateRule(ctxB, qm.RuleDefinition{Name: "x", Kind: qm.RuleSpeed, Severity: qm.SeverityInfo, SpeedKMH: 90, DeviceIDs: []string{da.ID}})), qm.EInvalid)
	})

	// Replacing changes the kind and the fields, and keeps the id and the
	// creation time.
	fast := qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityWarning, SpeedKMH: 90, ForS: 10, Enabled: true}
	up, err := s.ReplaceRule(ctxA, hot.ID, fast)
	if err != nil || up.ID != hot.ID || !up.CreatedAt.Equal(hot.CreatedAt) || up.Condition != nil || up.SpeedKMH != 90 || len(up.DeviceIDs) != 0 {
		t.Fatalf("replace %+v, %v", up, err)
	}
	if again, err := s.Rule(ctxA, hot.ID); err != nil || again.Kind != qm.RuleSpeed || again.Name != "Speeding" || again.Condition != nil {
		t.Fatalf("read back %+v, %v: want the speed rule", again, err)
	}
	if rs, err := s.Rules(ctxA); err != nil || len(rs) != 2 || rs[0].Name != "Leaves the depot" || rs[1].Name != "Speeding" {
		t.Fatalf("list %+v, %v", rs, err)
	}

	t.Run("Cap", func(t *testing.T) {
		var made []*qm.Rule
		for _, name := range []string{"Third", "Fourth"} {
			made = append(made, mustRule(t, s, ctxA, qm.RuleDefinition{Name: name, Kind: qm.RuleOverdue, Severity: qm.SeverityMinor}))
		}
		_, err := s.CreateRule(ctxA, qm.RuleDefinition{Name: "Fifth", Kind: qm.RuleOverdue, Severity: qm.SeverityMinor})
		wantCode(t, err, qm.ELimitReached)
		if e, _ := err.(*qm.Error); e.Limit == nil || e.Limit.Limit != qm.MaxRules || e.Limit.Count != 4 {
			t.Fatalf("the refusal names %+v; want max_rules at 4", e.Limit)
		}
		for _, r := range made {
			if err := s.DeleteRule(ctxA, r.ID); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("WithoutTheFleet", func(t *testing.T) {
		tc, _ := MustTenant(t, e, h.Tier, "rules-c")
		ctxC := onAPlan(t, e, tc, "no-fleet", map[string]string{"features": "import"})
		wantCode(t, ruleErr(s.CreateRule(ctxC, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityInfo, SpeedKMH: 90})), qm.EFeatureDisabled)
		mustRule(t, s, ctxC, qm.RuleDefinition{Name: "Warranties", Kind: qm.RuleWarranty, Severity: qm.SeverityInfo, WithinDays: 30})
	})

	t.Run("DepartmentScope", func(t *testing.T) {
		depts := dataplane.NewDepartmentStore(e, clock())
		north, south := &qm.Department{Name: "North"}, &qm.Department{Name: "South"}
		for _, d := range []*qm.Department{north, south} {
			if err := depts.CreateDepartment(ctxA, d); err != nil {
				t.Fatal(err)
			}
		}
		southern := mustRule(t, s, ctxA, qm.RuleDefinition{Name: "South's overdue laptops", Kind: qm.RuleOverdue, Severity: qm.SeverityMinor, DepartmentID: south.ID})
		confined := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "north@example.com",
			Role: qm.BuiltInRoles[1], DepartmentID: north.ID})
		// North's member makes a rule, which is North's; sees only it; and
		// cannot read, change or delete South's, nor make one for South.
		mine := mustRule(t, s, confined, qm.RuleDefinition{Name: "North's warranties", Kind: qm.RuleWarranty, Severity: qm.SeverityInfo, WithinDays: 30})
		if mine.DepartmentID != north.ID {
			t.Fatalf("the confined member's rule is in %q, want North", mine.DepartmentID)
		}
		if rs, err := s.Rules(confined); err != nil || len(rs) != 1 || rs[0].ID != mine.ID {
			t.Fatalf("North lists %+v, %v; want only its own rule", rs, err)
		}
		_, err := s.Rule(confined, southern.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.ReplaceRule(confined, southern.ID, qm.RuleDefinition{Name: "x", Kind: qm.RuleOverdue, Severity: qm.SeverityInfo})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteRule(confined, southern.ID), qm.ENotFound)
		wantCode(t, ruleErr(s.CreateRule(confined, qm.RuleDefinition{Name: "y", Kind: qm.RuleOverdue, Severity: qm.SeverityInfo, DepartmentID: south.ID})), qm.EInvalid)
		// A rule of the whole tenant is not North's either.
		_, err = s.Rule(confined, exit.ID)
		wantCode(t, err, qm.ENotFound)
	})

	entries, err := dataplane.NewAuditStore(e).AuditLog(ctxA, qm.AuditFilter{ResourceType: "rule", ResourceID: hot.ID})
	if err != nil || len(entries) != 2 || entries[0].Action != "rule.update" || entries[1].Action != "rule.create" {
		t.Fatalf("audit %+v, %v: want create then update", entries, err)
	}
}

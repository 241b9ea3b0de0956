package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/tenancy"
)

// operatorReads are the methods of the operator's services that change
// nothing, and so write nothing in the operator's audit log.
var operatorReads = map[string]bool{
	"Tenant": true, "TenantByID": true, "Tenants": true, "Tombstones": true, "Activity": true, "Servers": true,
	"OperatorAudit": true, "CountOperatorAudit": true,
	"Plan": true, "Plans": true, "TenantLimits": true,
	"Device": true, "Devices": true, "CountDevices": true, "Custody": true,
}

// TestOperatorAudit runs every action of the operator's services
// (qm.TenantService, qm.PlanService, qm.DeviceInventory, qm.TenantArchiver,
// qm.TenantMover) and checks that each writes its entry in the operator's
// audit log: its action, by the operator in the context, naming the
// tenant. A method of those interfaces that is neither a case here nor in
// operatorReads fails the test, so a new operator action says what it
// writes. The purge's entry outlives the tenant and says what its
// tombstone says; the log reads newest first, by tenant and by action, in
// pages.
func TestOperatorAudit(t *testing.T, h Harness) {
	e := MustOpenEmpty(t, h)
	ts := e.Tenants()
	plans := catalog.NewPlanStore(ts)
	devices := e.Devices()
	archiver := lifecycle.NewArchiver(e)
	other := qm.TierSilo
	if h.Tier == qm.TierSilo {
		other = qm.TierPool
	}
	op := &qm.User{Email: "ops@example.com", Name: "Ops", Operator: true}
	if err := e.Identity().CreateUser(context.Background(), op, "", clock()()); err != nil {
		t.Fatal(err)
	}
	ctx := tenancy.WithPrincipal(context.Background(), &qm.Principal{Kind: qm.PrincipalOperator, ID: op.ID, Name: op.Email})
	var archive bytes.Buffer
	d := &qm.Device{Ident: "audited-van"}
	cases := []struct {
		method, action, tenant string
		run                    func() error
	}{
		{"CreateTenant", "tenant.create", "audited", func() error {
			_, err := ts.CreateTenant(ctx, qm.NewTenant{Slug: "audited", Name: "Audited", Tier: h.Tier})
			return err
		}},
		{"SetState", "tenant.suspend", "audited", func() error { _, err := ts.SetState(ctx, "audited", qm.StateSuspended); return err }},
		{"SetState", "tenant.resume", "audited", func() error { _, err := ts.SetState(ctx, "audited", qm.StateActive); return err }},
		{"CreatePlan", "plan.create", "", func() error {
			return plans.CreatePlan(ctx, &qm.Plan{Name: "gold", Limits: qm.LimitSet{Values: map[qm.Limit]float64{qm.MaxAssets: 500}}})
		}},
		{"SetTenantPlan", "tenant.plan", "audited", func() error { _, err := plans.SetTenantPlan(ctx, "audited", "gold"); return err }},
		{"UpdatePlan", "plan.update", "", func() error {
			_, err := plans.UpdatePlan(ctx, "gold", qm.LimitSet{Values: map[qm.Limit]float64{qm.MaxAssets: 600}}, nil)
			return err
		}},
		{"SetTenantOverrides", "tenant.limits", "audited", func() error {
			_, err := plans.SetTenantOverrides(ctx, "audited", qm.LimitSet{Values: map[qm.Limit]float64{qm.MaxAssets: 700}}, nil)
			return err
		}},
		{"ExportTenant", "tenant.export", "audited", func() error { return archiver.ExportTenant(ctx, "audited", &archive, nil) }},
		{"ImportTenant", "tenant.import", "imported", func() error {
			_, _, err := archiver.ImportTenant(ctx, &archive, qm.TenantImport{Slug: "imported", Tier: h.Tier})
			return err
		}},
		{"RegisterDevice", "device.register", "", func() error { _, err := devices.RegisterDevice(ctx, d); return err }},
		{"RegisterDevices", "device.register", "", func() error {
			_, err := devices.RegisterDevices(ctx, []*qm.Device{{Ident: "audited-truck"}})
			return err
		}},
		{"AssignDevice", "device.assign", "audited", func() error {
			tn, err := ts.Tenant(ctx, "audited")
			if err == nil {
				_, _, err = devices.AssignDevice(ctx, d.ID, tn)
			}
			return err
		}},
		{"UpdateDevice", "device.update", "audited", func() error {
			notes := "spare key in the glovebox"
			_, err := devices.UpdateDevice(ctx, d.ID, qm.DeviceUpdate{Notes: &notes})
			return err
		}},
		{"RotateToken", "device.rotate_token", "audited", func() error { _, err := devices.RotateToken(ctx, d.ID); return err }},
		{"AssignDevice", "device.transfer", "imported", func() error {
			tn, err := ts.Tenant(ctx, "imported")
			if err == nil {
				_, _, err = devices.AssignDevice(ctx, d.ID, tn)
			}
			return err
		}},
		{"UnassignDevice", "device.unassign", "imported", func() error { _, err := devices.UnassignDevice(ctx, d.ID); return err }},
		{"BreakGlass", "tenant.break_glass", "audited", func() error {
			_, _, err := ts.BreakGlass(ctx, "audited", "support ticket 42")
			return err
		}},
		{"MoveTenant", "tenant.move", "audited", func() error {
			_, err := archiver.MoveTenant(ctx, "audited", qm.TenantMove{Tier: other, Holder: "audit-test"})
			return err
		}},
		{"MoveTenant", "tenant.move_abort", "audited", func() error {
			from, to, err := ts.BeginMove(ctx, "audited", h.Tier, "", "audit-test")
			if err != nil {
				return err
			}
			defer ts.ReleaseMove(ctx, from.ID, "audit-test")
			return ts.AbortMove(ctx, from, to)
		}},
		{"DeleteTenant", "tenant.delete", "audited", func() error { _, err := ts.DeleteTenant(ctx, "audited", 0); return err }},
		{"RestoreTenant", "tenant.restore", "audited", func() error { _, _, err := ts.RestoreTenant(ctx, "audited"); return err }},
		{"DeleteTenant", "tenant.delete", "imported", func() error { _, err := ts.DeleteTenant(ctx, "imported", 0); return err }},
		{"PurgeTenant", "tenant.purge", "imported", func() error { _, err := ts.PurgeTenant(ctx, "imported"); return err }},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.method] = true
		if err := c.run(); err != nil {
			t.Fatalf("%s (%s): %v", c.method, c.action, err)
		}
		got, err := ts.OperatorAudit(ctx, qm.OperatorAuditFilter{Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("after %s: the newest entry: %+v, %v", c.action, got, err)
		}
		if g := got[0]; g.Action != c.action || g.TenantSlug != c.tenant || g.ActorName != op.Email || g.ActorID != op.ID || g.ActorKind != qm.PrincipalOperator {
			t.Errorf("after %s: got %s on %q by %s %q (%s), want %s on %q by operator %q (%s)", c.method, g.Action, g.TenantSlug,
				g.ActorKind, g.ActorName, g.ActorID, c.action, c.tenant, op.Email, op.ID)
		}
	}
	for _, iface := range []reflect.Type{
		reflect.TypeFor[qm.TenantService](), reflect.TypeFor[qm.PlanService](), reflect.TypeFor[qm.DeviceInventory](),
		reflect.TypeFor[qm.TenantArchiver](), reflect.TypeFor[qm.TenantMover](),
	} {
		for i := range iface.NumMethod() {
			if m := iface.Method(i).Name; !covered[m] && !operatorReads[m] {
				t.Errorf("%s.%s is neither a case of TestOperatorAudit nor a read (operatorReads): what does it write in the operator's audit log?", iface, m)
			}
		}
	}

	t.Run("PurgeAsTombstone", func(t *testing.T) {
		stones, err := ts.Tombstones(ctx)
		if err != nil || len(stones) != 1 {
			t.Fatalf("tombstones: %+v, %v", stones, err)
		}
		purged, err := ts.OperatorAudit(ctx, qm.OperatorAuditFilter{Tenant: "imported", Action: "tenant.purge"})
		if err != nil || len(purged) != 1 {
			t.Fatalf("purge entries: %+v, %v", purged, err)
		}
		if purged[0].TenantID != stones[0].TenantID {
			t.Errorf("purge entry's tenant %s, want the tombstone's %s", purged[0].TenantID, stones[0].TenantID)
		}
		got, _ := json.Marshal(map[string]any{"removed": purged[0].Details["removed"], "verified": purged[0].Details["verified"]})
		want, _ := json.Marshal(map[string]any{"removed": stones[0].Removed, "verified": stones[0].Verified})
		if !bytes.Equal(got, want) {
			t.Errorf("purge entry says %s, want the tombstone's %s", got, want)
		}
		if len(stones[0].Removed) == 0 {
			t.Error("the tombstone counts nothing removed: the comparison proves nothing")
		}
	})
	t.Run("MoveDetails", func(t *testing.T) {
		moved, err := ts.OperatorAudit(ctx, qm.OperatorAuditFilter{Action: "tenant.move"})
		if err != nil || len(moved) != 1 {
			t.Fatalf("move entries: %+v, %v", moved, err)
		}
		from, _ := moved[0].Details["from"].(map[string]any)
		to, _ := moved[0].Details["to"].(map[string]any)
		if from["tier"] != string(h.Tier) || to["tier"] != string(other) {
			t.Errorf("move entry from %v to %v, want tiers %s to %s", from, to, h.Tier, other)
		}
	})
	t.Run("Pages", func(t *testing.T) {
		f := qm.OperatorAuditFilter{Tenant: "audited"}
		all, err := ts.OperatorAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := ts.CountOperatorAudit(ctx, f)
		if err != nil || n != len(all) || n < 10 {
			t.Fatalf("count %d, %v; listed %d, want as many, and at least 10", n, err, len(all))
		}
		f.Limit = 3
		var paged []string
		for {
			page, err := ts.OperatorAudit(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				paged = append(paged, e.ID)
			}
			if len(page) < f.Limit {
				break
			}
			f.Before = page[len(page)-1].ID
		}
		if len(paged) != len(all) {
			t.Fatalf("pages of 3 read %d entries, want %d", len(paged), len(all))
		}
		for i, e := range all {
			if paged[i] != e.ID {
				t.Fatalf("pages of 3 read %v, want %d entries in the order of one page", paged, len(all))
			}
			if i > 0 && e.At.After(all[i-1].At) {
				t.Errorf("entry %d (%s) is newer than the one before it", i, e.Action)
			}
		}
		_, err = ts.OperatorAudit(ctx, qm.OperatorAuditFilter{Before: "not-a-cursor"})
		wantCode(t, err, qm.EBadRequest)
	})
}

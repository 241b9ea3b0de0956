package storetest

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// TestDeleteTenant checks a tenant's deletion: at once it is no longer
// served and its devices are back in the inventory; restored, it is back
// whole; purged, nothing of it is found in any table of the engine's (the
// engine's own record of its tables, not a list kept in code), nor its
// schema, database or file, and its slug is free; the tombstone says what
// went; its neighbour lost nothing; the purge job takes only those whose
// grace has passed.
func TestDeleteTenant(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ts := e.Tenants()
	ctx := context.Background()
	type holding struct {
		tn     *qm.Tenant
		device *qm.Device
		assets int
	}
	// Each tenant has assets, a member, a device with points, a rule and
	// its alarm, and so its audit log.
	fill := func(slug string) holding {
		t.Helper()
		tn, scope := MustTenant(t, e, h.Tier, slug)
		w := mustAssetWorld(t, e, scope)
		as := dataplane.NewAssetStore(e, e.Identity(), clock())
		for range 3 {
			if err := as.CreateAsset(scope, &qm.Asset{ModelID: w.model.ID}); err != nil {
				t.Fatal(err)
			}
		}
		mustMember(t, e, tn, "someone@"+slug+".example")
		d := mustAssignedDevice(t, e, tn, slug+"-van")
		pw := telemetry.NewPointWriter(e, time.Now, 0)
		defer pw.Close()
		fleet := telemetry.NewFleetStore(e, e.Devices(), time.Now)
		mustRule(t, alerts.NewRuleStore(e, fleet, func() time.Time { return time.Now().Add(-2 * time.Hour) }), scope,
			qm.RuleDefinition{Name: "Flat", Kind: qm.RuleBattery, Severity: qm.SeverityMinor, BatteryPct: 20, Enabled: true})
		if _, err := pw.Write(scope, d.ID, track(time.Now().Add(-time.Hour), 10)); err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(scope, d.ID, []qm.Point{{Time: time.Now().Add(-time.Minute), Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(5)}}}); err != nil {
			t.Fatal(err)
		}
		if evs, err := alerts.NewAlarmStore(e, time.Now).EvaluateDevice(scope, d.ID); err != nil || len(evs) != 1 {
			t.Fatalf("%s's alarm: %+v, %v", slug, evs, err)
		}
		return holding{tn: tn, device: d, assets: 3}
	}
	// served reads tn's assets as a request would: with the tenant as the
	// catalog has it now.
	served := func(slug string) ([]*qm.Asset, error) {
		t.Helper()
		tn, err := ts.Tenant(ctx, slug)
		if err != nil {
			return nil, err
		}
		page, err := dataplane.NewAssetStore(e, e.Identity(), clock()).Assets(tenancy.WithTenant(ctx, tn), qm.AssetFilter{})
		if err != nil {
			return nil, err
		}
		return page.Assets, nil
	}
	a, b := fill("doomed"), fill("neighbour")

	deleting, err := ts.DeleteTenant(ctx, "doomed", time.Hour)
	if err != nil || deleting.State != qm.StateDeleting || deleting.DeleteAfter == nil {
		t.Fatalf("delete: %+v, %v", deleting, err)
	}
	if _, err := served("doomed"); qm.ErrorCode(err) != qm.ETenantInert {
		t.Fatalf("the deleted tenant's assets: %v; want %s", err, qm.ETenantInert)
	}
	if d, err := e.Devices().Device(ctx, a.device.ID); err != nil || d.TenantID != "" {
		t.Fatalf("the deleted tenant's device: %+v, %v; want it back in the inventory", d, err)
	}
	_, err = ts.DeleteTenant(ctx, "doomed", time.Hour)
	wantCode(t, err, qm.EConflict)
	_, err = ts.SetState(ctx, "doomed", qm.StateActive)
	wantCode(t, err, qm.EConflict)
	_, err = ts.CreateTenant(ctx, qm.NewTenant{Slug: "doomed", Name: "Again", Tier: h.Tier})
	wantCode(t, err, qm.EConflict) // the slug is free only after the purge

	restored, kept, err := ts.RestoreTenant(ctx, "doomed")
	if err != nil || restored.State != qm.StateActive || len(kept) != 0 {
		t.Fatalf("restore: %+v, kept elsewhere %v, %v", restored, kept, err)
	}
	if got, err := served("doomed"); err != nil || len(got) != a.assets {
		t.Fatalf("the restored tenant's assets: %d, %v; want %d", len(got), err, a.assets)
	}
	if d, err := e.Devices().Device(ctx, a.device.ID); err != nil || d.TenantID != a.tn.ID {
		t.Fatalf("the restored tenant's device: %+v, %v; want it back", d, err)
	}
	_, _, err = ts.RestoreTenant(ctx, "doomed")
	wantCode(t, err, qm.EConflict)

	// Deleted again, and purged at once.
	if _, err := ts.DeleteTenant(ctx, "doomed", time.Hour); err != nil {
		t.Fatal(err)
	}
	_, err = ts.PurgeTenant(ctx, "neighbour") // not deleting
	wantCode(t, err, qm.EConflict)
	stone, err := ts.PurgeTenant(ctx, "doomed")
	if err != nil {
		t.Fatal(err)
	}
	if !stone.Verified || stone.Slug != "doomed" || stone.TenantID != a.tn.ID || stone.Removed["catalog.memberships"] != 1 {
		t.Fatalf("tombstone %+v; want it verified, with the membership removed", stone)
	}
	if h.Tier == qm.TierPool && (stone.Removed["pool.assets"] != int64(a.assets) || stone.Removed["pool.points"] != 11 || stone.Removed["pool.audit_log"] == 0) {
		t.Fatalf("removed %v; want the pool's assets, points and audit log", stone.Removed)
	}
	if h.Tier != qm.TierPool && len(stone.Removed) < 2 {
		t.Fatalf("removed %v; want the tenant's own storage", stone.Removed)
	}
	if _, err := ts.Tenant(ctx, "doomed"); qm.ErrorCode(err) != qm.ENotFound {
		t.Fatalf("the purged tenant: %v; want not found", err)
	}
	if d, err := e.Devices().Device(ctx, a.device.ID); err != nil || d.TenantID != "" {
		t.Fatalf("the purged tenant's device: %+v, %v; want it in the inventory", d, err)
	}
	if custody, err := e.Devices().Custody(ctx, a.device.ID); err != nil || slices.ContainsFunc(custody, func(c qm.Custody) bool { return c.TenantID == a.tn.ID }) {
		t.Fatalf("the device's custody names the purged tenant: %+v, %v", custody, err)
	}
	stones, err := ts.Tombstones(ctx)
	if err != nil || len(stones) != 1 || stones[0].TenantID != a.tn.ID || !stones[0].Verified || !maps.Equal(stones[0].Removed, stone.Removed) {
		t.Fatalf("tombstones %+v, %v", stones, err)
	}
	// The neighbour lost nothing; the slug is free.
	if got, err := served("neighbour"); err != nil || len(got) != b.assets {
		t.Fatalf("the neighbour's assets: %d, %v", len(got), err)
	}
	if d, err := e.Devices().Device(ctx, b.device.ID); err != nil || d.TenantID != b.tn.ID {
		t.Fatalf("the neighbour's device: %+v, %v", d, err)
	}
	if ms, err := e.Identity().Members(ctx, b.tn.ID); err != nil || len(ms) != 1 {
		t.Fatalf("the neighbour's members: %+v, %v", ms, err)
	}
	again, _ := MustTenant(t, e, h.Tier, "doomed")
	if again.ID == a.tn.ID {
		t.Fatal("the slug's new tenant has the purged one's id")
	}

	// The purge job takes what is due, and only that.
	if _, err := ts.DeleteTenant(ctx, "neighbour", time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.DeleteTenant(ctx, "doomed", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := ts.PurgeDue(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.Tenant(ctx, "neighbour"); qm.ErrorCode(err) != qm.ENotFound {
		t.Fatalf("the neighbour, due: %v; want it purged", err)
	}
	if tn, err := ts.Tenant(ctx, "doomed"); err != nil || tn.State != qm.StateDeleting {
		t.Fatalf("the new doomed, not due: %+v, %v; want it waiting", tn, err)
	}
}

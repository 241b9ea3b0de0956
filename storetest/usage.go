package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/usage"
)

// TestUsage checks that the catalog keeps what the nodes metered: saving
// a node's totals again counts nothing twice, nodes add up, each tenant
// reads only its own, and a change of a quota's state is in the tenant's
// audit log once.
func TestUsage(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	ta, ctxA := MustTenant(t, e, h.Tier, "use-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "use-b")
	s := catalog.NewUsageStore(e.Tenants())
	save := func(node string, totals map[usage.Key]int64) {
		t.Helper()
		if err := s.Save(ctx, node, totals); err != nil {
			t.Fatal(err)
		}
	}
	pts := qm.MeterPointsStored + "/http"
	save("n1", map[usage.Key]int64{{Tenant: ta.ID, Day: "2026-11-02", Meter: pts}: 10, {Tenant: ta.ID, Day: "2026-11-03", Meter: pts}: 5, {Tenant: tb.ID, Day: "2026-11-02", Meter: qm.MeterAPIRequests}: 3})
	save("n1", map[usage.Key]int64{{Tenant: ta.ID, Day: "2026-11-03", Meter: pts}: 8}) // n1's running total grew
	save("n2", map[usage.Key]int64{{Tenant: ta.ID, Day: "2026-11-03", Meter: pts}: 4, {Tenant: ta.ID, Day: "2026-10-31", Meter: pts}: 100})
	month, err := s.Month(ctx, "2026-11")
	if err != nil || month[ta.ID][pts] != 22 || month[tb.ID][qm.MeterAPIRequests] != 3 {
		t.Fatalf("November: %v, %v; want A 10+8+4 points and B 3 requests", month, err)
	}
	u, err := s.Usage(ctxA, "2026-11-01", "2026-11-30")
	if err != nil || len(u.Days) != 2 || u.Days[1].Value != 12 || u.Totals[pts] != 22 {
		t.Fatalf("A's usage: %+v, %v", u, err)
	}
	if u, err := s.Usage(ctxB, "2026-11-01", "2026-11-30"); err != nil || u.Totals[pts] != 0 || u.Totals[qm.MeterAPIRequests] != 3 {
		t.Fatalf("B's usage: %+v, %v; want its requests alone", u, err)
	}
	for _, bad := range [][2]string{{"2026-11-31", "2026-12-01"}, {"2026-11-05", "2026-11-01"}, {"2025-01-01", "2026-11-01"}} {
		_, err := s.Usage(ctxA, bad[0], bad[1])
		wantCode(t, err, qm.EBadRequest)
	}
	lines, err := s.MonthUsage(ctx, "2026-11")
	if err != nil || len(lines) != 2 || lines[0].Tenant != ta.Slug || lines[0].Value != 22 || lines[1].Tenant != tb.Slug {
		t.Fatalf("November's lines: %+v, %v", lines, err)
	}
	_, err = s.MonthUsage(ctx, "November")
	wantCode(t, err, qm.EBadRequest)

	t.Run("Gauges", func(t *testing.T) {
		w := mustAssetWorld(t, e, ctxA)
		for range 3 {
			if err := dataplane.NewAssetStore(e, e.Identity(), clock()).CreateAsset(ctxA, &qm.Asset{ModelID: w.model.ID}); err != nil {
				t.Fatal(err)
			}
		}
		// Read twice the same day: a gauge's level, never added up.
		for range 2 {
			if err := s.SnapshotGauges(ctx); err != nil {
				t.Fatal(err)
			}
		}
		today := time.Now().UTC().Format(time.DateOnly)
		u, err := s.Usage(ctxA, today, today)
		if err != nil || u.Totals[qm.MeterAssets] != 3 || u.Totals[qm.MeterStoredPoints] != 0 {
			t.Fatalf("A's gauges today: %+v, %v; want 3 assets and no stored points", u.Totals, err)
		}
		if u, _ := s.Usage(ctxB, today, today); u.Totals[qm.MeterAssets] != 0 {
			t.Fatalf("B's assets: %d, want none", u.Totals[qm.MeterAssets])
		}
		month, err := s.Month(ctx, today[:7])
		if err != nil || month[ta.ID][qm.MeterAssets] != 3 {
			t.Fatalf("the month's level of A's assets: %v, %v; want the last day's 3", month[ta.ID], err)
		}
	})

	warn := qm.Quota{Quota: qm.PointsPerMonth, Used: 85, Limit: 100, State: qm.QuotaWarning}
	for i, want := range []bool{true, false} {
		if changed, err := s.QuotaState(ctx, ta, "2026-11", warn); err != nil || changed != want {
			t.Fatalf("warning, time %d: changed %v, %v; want %v", i+1, changed, err, want)
		}
	}
	log, err := dataplane.NewAuditStore(e).AuditLog(ctxA, qm.AuditFilter{ResourceType: "quota"})
	if err != nil || len(log) != 1 || log[0].Action != "quota.warning" {
		t.Fatalf("A's log of quotas: %+v, %v; want the warning once", log, err)
	}
	if log, _ := dataplane.NewAuditStore(e).AuditLog(ctxB, qm.AuditFilter{ResourceType: "quota"}); len(log) != 0 {
		t.Fatalf("B's log has A's quota: %+v", log)
	}
}

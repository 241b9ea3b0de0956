package storetest

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// TestRemoteTenants: a tenant kept on the harness's Server lives as any
// other. A copy of a tenant of the harness's tier (the same rows, the
// same ids) is imported there and exports the same tables; it is served,
// searched through the server's index, and written, points through the
// group-commit writer included, while the tenant it was copied from keeps
// its own rows; the two never share a transaction; the server counts it;
// deleted, its database is purged and verified gone.
func TestRemoteTenants(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	ts := e.Tenants()
	home := MustFillTenant(t, e, h.Tier, "home")
	archive, m := MustExport(t, e, "home")
	remoteServer := func() qm.DataServer {
		t.Helper()
		servers, err := ts.Servers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range servers {
			if s.Name == h.Server {
				return s
			}
		}
		t.Fatalf("servers %+v; want %s among them", servers, h.Server)
		return qm.DataServer{}
	}
	before := remoteServer()
	away, _, err := lifecycle.Import(ctx, e, bytes.NewReader(archive), lifecycle.ImportOptions{Slug: "away", Tier: qm.TierSilo, Server: h.Server})
	if err != nil {
		t.Fatal(err)
	}
	if away.Placement.Server != h.Server || away.Placement == home.Tenant.Placement || away.Tier != qm.TierSilo {
		t.Fatalf("imported at %+v; want a silo on server %s", away.Placement, h.Server)
	}
	_, kept := MustExport(t, e, "away")
	SameTables(t, m, kept)
	if s := remoteServer(); s.Tenants != before.Tenants+1 || s.Bytes <= before.Bytes {
		t.Fatalf("server %+v, before the import %+v; want it keeping the tenant, with its bytes", s, before)
	}

	assets := dataplane.NewAssetStore(e, e.Identity(), clock())
	atHome, atAway := scoped(home.Tenant), scoped(away)
	found, err := assets.Assets(atAway, qm.AssetFilter{Q: "latitude"})
	if err != nil || len(found.Assets) != 5 {
		t.Fatalf("a search of the tenant kept on %s: %d assets, %v; want its 5", h.Server, len(found.Assets), err)
	}
	renamed := "Renamed away"
	if _, err := assets.UpdateAsset(atAway, found.Assets[0].ID, qm.AssetUpdate{Name: &renamed}); err != nil {
		t.Fatal(err)
	}
	if a, err := assets.Asset(atHome, found.Assets[0].ID); err != nil || a.Name == renamed {
		t.Fatalf("the same asset at home: %+v, %v; want it as it was", a, err)
	}
	if got, err := assets.Assets(atAway, qm.AssetFilter{Q: "renamed"}); err != nil || len(got.Assets) != 1 {
		t.Fatalf("a search for the new name: %d, %v; want 1", len(got.Assets), err)
	}

	van := mustAssignedDevice(t, e, away, "away-van")
	pw := telemetry.NewPointWriter(e, time.Now, 0)
	defer pw.Close()
	if _, err := pw.Write(atAway, van.ID, track(time.Now().Add(-time.Hour), 7)); err != nil {
		t.Fatal(err)
	}
	points := func(scope context.Context) int {
		t.Helper()
		n, err := sqlstore.View(scope, e, func(c sqlstore.Conn) (int, error) {
			var n int
			err := c.QueryRow(scope, `SELECT count(*) FROM points WHERE tenant_id = $1`, c.TenantID()).Scan(&n)
			return n, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got, want := points(atAway), m.File("tables/points.jsonl").Rows+7; int64(got) != want {
		t.Fatalf("points kept on %s: %d; want %d", h.Server, got, want)
	}
	if got, want := points(atHome), m.File("tables/points.jsonl").Rows; int64(got) != want {
		t.Fatalf("points at home: %d; want %d", got, want)
	}
	if e.TxDomain(away) == e.TxDomain(home.Tenant) {
		t.Fatalf("both tenants in transaction domain %q", e.TxDomain(away))
	}
	err = e.UpdateEach(ctx, []context.Context{atHome, atAway}, func(context.Context, sqlstore.Conn) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "do not share a database") {
		t.Fatalf("one transaction for a tenant at home and one away: %v", err)
	}

	if _, err := ts.DeleteTenant(ctx, "away", time.Hour); err != nil {
		t.Fatal(err)
	}
	stone, err := ts.PurgeTenant(ctx, "away")
	if err != nil {
		t.Fatal(err)
	}
	if !stone.Verified || !slices.ContainsFunc(slices.Collect(maps.Keys(stone.Removed)), func(k string) bool { return strings.HasPrefix(k, "database ") }) {
		t.Fatalf("tombstone %+v; want its database removed, verified", stone)
	}
	if left, err := ts.Remains(ctx, away); err != nil || len(left) != 0 {
		t.Fatalf("left of the purged tenant: %v, %v", left, err)
	}
	if s := remoteServer(); s.Tenants != before.Tenants {
		t.Fatalf("server %+v after the purge; want it keeping what it kept before the import, %d", s, before.Tenants)
	}
	_, now := MustExport(t, e, "home")
	SameTables(t, m, now)
}

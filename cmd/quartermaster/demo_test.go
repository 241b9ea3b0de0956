package main

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// openForTest opens the storage flags select, as the commands do.
func openForTest(t *testing.T, flags []string) engine {
	t.Helper()
	fs, c := newFlagSet("test", io.Discard)
	if err := fs.Parse(flags); err != nil {
		t.Fatal(err)
	}
	e, err := c.openReady(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// demoSnapshot is what the checks of the demo data count.
type demoSnapshot struct {
	assets, out, warranties, licenses, seats, devices, members int
}

// checkDemo checks acme's demo data and returns its counts.
func checkDemo(t *testing.T, e engine) demoSnapshot {
	t.Helper()
	ctx := t.Context()
	acme, err := e.Tenants().Tenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tctx := tenancy.WithTenant(ctx, acme)
	var n demoSnapshot
	assets := dataplane.NewAssetStore(e, e.Identity(), time.Now)
	count := func(f qm.AssetFilter) int {
		t.Helper()
		f.Limit = 1
		page, err := assets.Assets(tctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	today := time.Now()
	n.assets = count(qm.AssetFilter{})
	for _, h := range []string{qm.HolderUser, qm.HolderLocation, qm.HolderAsset} {
		out := count(qm.AssetFilter{HolderType: h})
		if out == 0 {
			t.Errorf("no asset is checked out to a %s", h)
		}
		n.out += out
	}
	n.warranties = count(qm.AssetFilter{WarrantyBefore: today.AddDate(0, 0, 30).Format(time.DateOnly)}) -
		count(qm.AssetFilter{WarrantyBefore: today.Format(time.DateOnly)})
	if n.assets < 250 || n.warranties == 0 {
		t.Errorf("got %d assets, %d with a warranty ending within 30 days; want at least 250, and some", n.assets, n.warranties)
	}

	licenses, err := dataplane.NewLicenseStore(e, e.Identity(), time.Now).Licenses(tctx, qm.LicenseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var nearlyFull, expiring bool
	for _, l := range licenses {
		n.seats += l.UsedSeats
		nearlyFull = nearlyFull || l.UsedSeats > 0 && l.FreeSeats() <= 1
		expiring = expiring || l.ExpiresOn != "" && l.ExpiresOn < today.AddDate(0, 0, 30).Format(time.DateOnly)
	}
	n.licenses = len(licenses)
	if n.seats == 0 || !nearlyFull || !expiring {
		t.Errorf("licenses %d with %d seats taken, one nearly full %v, one expiring within 30 days %v: want seats taken, both", n.licenses, n.seats, nearlyFull, expiring)
	}

	fields := dataplane.NewFieldStore(e, time.Now)
	sets, err := fields.FieldSets(tctx)
	if err != nil {
		t.Fatal(err)
	}
	var laptop *qm.FieldSet
	for _, s := range sets {
		if s.Name == "Laptop" {
			laptop = s
		}
	}
	if laptop == nil || len(laptop.FieldIDs) != 3 || len(laptop.CategoryIDs) != 1 {
		t.Fatalf("field set Laptop: got %+v in %d sets, want 3 fields on one category", laptop, len(sets))
	}
	if with := count(qm.AssetFilter{Fields: map[string]string{"os": "macOS"}}); with == 0 {
		t.Error("no laptop has the custom field OS = macOS")
	}

	fleet := telemetry.NewFleetStore(e, e.Devices(), time.Now)
	for i := 1; i <= 3; i++ {
		ident := simIdent("demo", "acme", i)
		d, err := e.Devices().Device(ctx, ident)
		if err != nil || d.TenantID != acme.ID {
			t.Fatalf("device %s: %+v, %v; want it assigned to acme", ident, d, err)
		}
		fd, err := fleet.Device(tctx, ident)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("Van %d", i)
		a, err := assets.Asset(tctx, fd.AssetID)
		if err != nil || fd.Name != want || a.Name != want {
			t.Errorf("device %s: named %q, linked to %+v (%v); want both %q", ident, fd.Name, a, err, want)
		}
	}
	if n.devices, err = e.Devices().CountDevices(ctx, qm.DeviceFilter{TenantID: acme.ID}); err != nil {
		t.Fatal(err)
	}
	members, err := e.Identity().Members(ctx, acme.ID)
	if err != nil {
		t.Fatal(err)
	}
	n.members = len(members)
	return n
}

// TestDemo seeds the demo tenants on each engine, into an acme that an
// interrupted run (or an older demo, and a serve --simulate) left without
// its data, and again, which adds nothing.
func TestDemo(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			flags := storageFlags(t, engine)
			mustRun(t, append([]string{"tenant", "create", "--slug", "acme", "--name", "Acme Corp", "--tier", "pool"}, flags...)...)
			e := openForTest(t, flags)
			if _, err := simVehicles(t.Context(), e, "demo", "acme", 3); err != nil {
				t.Fatal(err)
			}

			out := mustRun(t, append([]string{"demo"}, flags...)...)
			for _, want := range []string{"created demo tenant acme", "created demo tenant globex", "3 simulated vehicles linked to vans", "admin@acme.example (admin of acme)"} {
				if !strings.Contains(out, want) {
					t.Errorf("demo said no %q:\n%s", want, out)
				}
			}
			first := checkDemo(t, e)

			out = mustRun(t, append([]string{"demo"}, flags...)...)
			if !strings.Contains(out, "demo tenant acme exists") || !strings.Contains(out, "demo tenant globex exists") {
				t.Errorf("second run:\n%s", out)
			}
			if again := checkDemo(t, e); again != first {
				t.Errorf("after a second run: got %+v, want %+v", again, first)
			}
			// serve --simulate takes the vehicles over as they are.
			vehicles, err := simVehicles(t.Context(), e, "demo", "acme", 3)
			if err != nil || len(vehicles) != 3 {
				t.Fatalf("simVehicles after demo: %d, %v", len(vehicles), err)
			}
			if again := checkDemo(t, e); again != first {
				t.Errorf("after simVehicles: got %+v, want %+v", again, first)
			}
		})
	}
}

package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// hasExtraColumn reports whether the tenant's locations table has the column
// test_extra, asking through the router as the tenant.
func hasExtraColumn(e Engine, ctx context.Context) error {
	return e.View(ctx, func(c sqlstore.Conn) error {
		rows, err := c.Query(ctx, `SELECT test_extra FROM locations WHERE tenant_id = $1`, c.TenantID())
		if err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
}

// TestMigrations checks that migrating tenants brings each to the newest
// version, records it, is a no-op the second time, carries on after an
// interruption, and that a tenant at a newer version is refused.
func TestMigrations(t *testing.T, h Harness) {
	ctx := context.Background()
	st := h.NewStorage(t)
	e1, err := st.Open(t, h.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	slugs := []string{"mig-a", "mig-b", "mig-c", "mig-d"}
	for _, slug := range slugs {
		MustTenant(t, e1, h.Tier, slug)
	}
	newer := schema.Append(h.Migrations, "test_extra", "ALTER TABLE locations ADD COLUMN test_extra TEXT")
	latest := len(newer)

	e2, err := st.Open(t, newer)
	if err != nil {
		t.Fatal(err)
	}
	behind, err := e2.Tenants().Behind(ctx, latest)
	if err != nil || len(behind) != len(slugs) {
		t.Fatalf("behind: got %d tenants, %v; want %d", len(behind), err, len(slugs))
	}

	t.Run("Interrupted", func(t *testing.T) {
		// Cancel after the first place is done: the rest must be left at a
		// known version, for the next run to finish.
		ictx, cancel := context.WithCancel(ctx)
		defer cancel()
		rep, err := e2.Tenants().MigrateTenants(ictx, latest, 1, func(p schema.Progress) {
			if p.Err == nil {
				cancel()
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if h.Tier != qm.TierPool && len(rep.Failures) == 0 {
			t.Fatalf("got no failures after cancelling, report %+v", rep)
		}
	})
	t.Run("Complete", func(t *testing.T) {
		var done []schema.Progress
		rep, err := e2.Tenants().MigrateTenants(ctx, latest, 3, func(p schema.Progress) { done = append(done, p) })
		if err != nil || len(rep.Failures) != 0 {
			t.Fatalf("got %v, failures %+v", err, rep.Failures)
		}
		if len(done) > 0 && done[len(done)-1].Done != done[len(done)-1].Total {
			t.Fatalf("last progress %+v: done != total", done[len(done)-1])
		}
		for _, slug := range slugs {
			tn, err := e2.Tenants().Tenant(ctx, slug)
			if err != nil {
				t.Fatal(err)
			}
			if tn.SchemaVersion != latest {
				t.Fatalf("tenant %s at version %d, want %d", slug, tn.SchemaVersion, latest)
			}
			if err := hasExtraColumn(e2, scoped(tn)); err != nil {
				t.Fatalf("tenant %s: new column missing: %v", slug, err)
			}
		}
	})
	t.Run("NoOp", func(t *testing.T) {
		rep, err := e2.Tenants().MigrateTenants(ctx, latest, 3, nil)
		if err != nil || rep.Targets != 0 || rep.Tenants != 0 {
			t.Fatalf("second run: got %+v, %v; want nothing to do", rep, err)
		}
		if behind, _ := e2.Tenants().Behind(ctx, latest); len(behind) != 0 {
			t.Fatalf("still behind: %d", len(behind))
		}
	})
	t.Run("NewTenantAtLatest", func(t *testing.T) {
		tn, _ := MustTenant(t, e2, h.Tier, "mig-new")
		if tn.SchemaVersion != latest {
			t.Fatalf("new tenant at version %d, want %d", tn.SchemaVersion, latest)
		}
	})
	t.Run("ErrTenantNewer", func(t *testing.T) {
		// A build that knows only the older migrations must not serve, nor
		// migrate, the newer data.
		old, _ := st.Open(t, h.Migrations)
		tn, err := old.Tenants().Tenant(ctx, "mig-a")
		if err != nil {
			t.Fatal(err)
		}
		s := dataplane.NewLocationStore(old, clock())
		_, err = s.Locations(scoped(tn), qm.LocationFilter{})
		wantCode(t, err, qm.ETenantNewer)
		rep, err := old.Tenants().MigrateTenants(ctx, len(h.Migrations), 1, nil)
		if err != nil || rep.Targets != 0 {
			t.Fatalf("older build migrated: %+v, %v", rep, err)
		}
	})
}

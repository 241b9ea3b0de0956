package postgres_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/storetest"
)

// servingURL is dbURL with the serving role as user.
func servingURL(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("qm_app")
	return u.String()
}

// TestRowSecurityBackstop proves, as the serving role, that the pool's
// row-level security holds even for queries that forget the tenant.
func TestRowSecurityBackstop(t *testing.T) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(t)
	db, err := mustOpen(t, config(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	s := dataplane.NewLocationStore(db, time.Now)
	tnA, ctxA := storetest.MustTenant(t, db, qm.TierPool, "rls-a")
	tnB, ctxB := storetest.MustTenant(t, db, qm.TierPool, "rls-b")
	storetest.MustTenant(t, db, qm.TierBridge, "rls-bridge")
	for _, c := range []context.Context{ctxA, ctxB} {
		storetest.MustLocation(t, s, c, "HQ", "")
		storetest.MustLocation(t, s, c, "Depot", "")
	}

	admin := pgtest.MustConnect(t, dbURL)
	t.Run("RowsCarryTenantID", func(t *testing.T) {
		got := names(t, dbURL, `SELECT DISTINCT tenant_id::text FROM pool.locations ORDER BY 1`)
		want := []string{tnA.ID, tnB.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("got tenant ids %v in the pool, want %v", got, want)
		}
	})

	serving := pgtest.MustConnect(t, servingURL(t, dbURL))
	if _, err := serving.Exec(ctx, `SET search_path = pool`); err != nil {
		t.Fatal(err)
	}
	t.Run("NoTenantSeesNothing", func(t *testing.T) {
		var n int
		if err := serving.QueryRow(ctx, `SELECT count(*) FROM locations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("got %d rows with no tenant set, want 0", n)
		}
	})
	insert := `INSERT INTO locations (tenant_id, id, name, created_at, updated_at) VALUES ($1, $2, 'x', now(), now())`
	t.Run("NoTenantCannotInsert", func(t *testing.T) {
		if _, err := serving.Exec(ctx, insert, tnA.ID, sqlstore.NewID()); err == nil {
			t.Fatal("insert with no tenant set succeeded")
		}
	})
	t.Run("ScopedSeesOnlyItsOwn", func(t *testing.T) {
		err := pgx.BeginFunc(ctx, serving, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('qm.tenant_id', $1, true)`, tnA.ID); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT tenant_id::text FROM locations`)
			if err != nil {
				return err
			}
			ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if len(ids) != 2 {
				t.Errorf("got %d rows, want A's 2", len(ids))
			}
			for _, id := range ids {
				if id != tnA.ID {
					t.Errorf("scoped to A, read a row of tenant %s", id)
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE locations SET name = 'hijacked'`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, insert, tnB.ID, sqlstore.NewID()); err == nil {
				t.Error("scoped to A, inserted a row for B")
			}
			return nil
		})
		if err == nil {
			t.Fatal("the transaction committed after a failed insert")
		}
		// The scope was transaction-local: gone now.
		var setting string
		if err := serving.QueryRow(ctx, `SELECT coalesce(current_setting('qm.tenant_id', true), '')`).Scan(&setting); err != nil {
			t.Fatal(err)
		}
		if setting != "" {
			t.Fatalf("tenant setting %q outlived its transaction", setting)
		}
		if ls, err := s.Locations(ctxB, qm.LocationFilter{}); err != nil || len(ls) != 2 || ls[0].Name == "hijacked" || ls[1].Name == "hijacked" {
			t.Fatalf("B's locations: %v, %v", ls, err)
		}
	})
	t.Run("EveryTenantTableForcesRowSecurity", func(t *testing.T) {
		rows, err := admin.Query(ctx, `
			SELECT n.nspname || '.' || c.relname, c.relrowsecurity, c.relforcerowsecurity,
				(SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid)
			FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace
			JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
			WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('catalog', 'pg_catalog', 'information_schema')`)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for rows.Next() {
			var table string
			var enabled, forced bool
			var policies int
			if err := rows.Scan(&table, &enabled, &forced, &policies); err != nil {
				t.Fatal(err)
			}
			seen++
			// asset_search is the one exception: the serving role may not
			// read it at all, and its owner's search function needs the
			// policy unforced to use its index (migration 0011).
			wantForced := !strings.HasSuffix(table, ".asset_search")
			if !enabled || forced != wantForced || policies == 0 {
				t.Errorf("%s: row security enabled %v, forced %v (want %v), %d policies", table, enabled, forced, wantForced, policies)
			}
		}
		if seen < 2 { // the pool's and the bridge schema's locations
			t.Fatalf("checked %d tenant tables, want at least 2", seen)
		}
	})
	t.Run("SearchOnlyThroughItsFunction", func(t *testing.T) {
		assets := dataplane.NewAssetStore(db, db.Identity(), time.Now)
		for _, c := range []context.Context{ctxA, ctxB} {
			cat := &qm.Reference{Name: "Laptops"}
			if err := dataplane.NewReferenceStore(qm.Categories, db, time.Now).Create(c, cat); err != nil {
				t.Fatal(err)
			}
			m := &qm.Model{Name: "Latitude", CategoryID: cat.ID}
			if err := dataplane.NewModelStore(db, time.Now).CreateModel(c, m); err != nil {
				t.Fatal(err)
			}
			if err := assets.CreateAsset(c, &qm.Asset{Name: "Secret laptop", ModelID: m.ID}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := serving.Exec(ctx, `SELECT count(*) FROM asset_search`); err == nil {
			t.Error("the serving role read asset_search")
		}
		err := pgx.BeginFunc(ctx, serving, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('qm.tenant_id', $1, true)`, tnA.ID); err != nil {
				return err
			}
			for tenant, want := range map[string]int{tnA.ID: 1, tnB.ID: 0} {
				var n int
				if err := tx.QueryRow(ctx, `SELECT count(*) FROM asset_search_ids($1, '%secret%')`, tenant).Scan(&n); err != nil {
					return err
				}
				if n != want {
					t.Errorf("scoped to A, searching tenant %s found %d assets, want %d", tenant, n, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ServingRoleIsPlain", func(t *testing.T) {
		var super, bypass bool
		var owned int
		err := admin.QueryRow(ctx, `
			SELECT r.rolsuper, r.rolbypassrls,
				(SELECT count(*) FROM pg_class WHERE relowner = r.oid) +
				(SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid) +
				(SELECT count(*) FROM pg_database WHERE datdba = r.oid) +
				(SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
			FROM pg_roles r WHERE r.rolname = 'qm_app'`).Scan(&super, &bypass, &owned)
		if err != nil {
			t.Fatal(err)
		}
		if super || bypass || owned != 0 {
			t.Fatalf("serving role: superuser %v, bypassrls %v, owns %d objects", super, bypass, owned)
		}
	})
}

func TestContextLeak(t *testing.T) {
	db, err := mustOpen(t, postgres.Config{URL: pgtest.NewDatabase(t), MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	storetest.TestContextLeak(t, db, qm.TierPool, 50, 40)
}

func TestRefusesSuperuserServingRole(t *testing.T) {
	_, err := mustOpen(t, postgres.Config{URL: pgtest.NewDatabase(t), ServingRole: "postgres"})
	if err == nil {
		t.Fatal("Setup accepted a superuser as the serving role")
	}
}

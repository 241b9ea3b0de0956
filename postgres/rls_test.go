package postgres_test

import (
	"context"
	"errors"
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
	"github.com/quartermaster/qm/sqlstore/schema"
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
			if _, err := tx.Exec(ctx, `SET LOCAL qm.tenant_id = '`+tnA.ID+`'`); err != nil {
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
			// asset_search is the one exception: its owner's search
			// function needs the policy unforced to use its index
			// (migration 0014).
			wantForced := !strings.HasSuffix(table, ".asset_search")
			if !enabled || forced != wantForced || policies == 0 {
				t.Errorf("%s: row security enabled %v, forced %v (want %v), %d policies", table, enabled, forced, wantForced, policies)
			}
		}
		if seen < 2 { // the pool's and the bridge schema's locations
			t.Fatalf("checked %d tenant tables, want at least 2", seen)
		}
	})
	t.Run("SearchIndexUnderThePolicy", func(t *testing.T) {
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
		// The serving role writes the index (asset_search_refresh runs as
		// it) and reads it under the tenant policy.
		var n int
		if err := serving.QueryRow(ctx, `SELECT count(*) FROM asset_search`).Scan(&n); err != nil || n != 0 {
			t.Errorf("the serving role, no tenant in scope, read %d rows of asset_search (%v), want none", n, err)
		}
		err := pgx.BeginFunc(ctx, serving, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SET LOCAL qm.tenant_id = '`+tnA.ID+`'`); err != nil {
				return err
			}
			var others int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM asset_search WHERE tenant_id <> $1`, tnA.ID).Scan(&others); err != nil || others != 0 {
				t.Errorf("scoped to A, the serving role read %d rows of other tenants in asset_search (%v)", others, err)
			}
			forge, err := tx.Begin(ctx) // a savepoint: the refusal ends it, not tx
			if err != nil {
				return err
			}
			if _, err := forge.Exec(ctx, `INSERT INTO asset_search (tenant_id, asset_id, text) VALUES ($1, gen_random_uuid(), 'forged')`, tnB.ID); err == nil {
				t.Error("scoped to A, the serving role wrote B's search text")
			}
			if err := forge.Rollback(ctx); err != nil {
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
	t.Run("NoTriggerCitusRefuses", func(t *testing.T) {
		// Citus distributes no table with triggers of ours (foreign keys'
		// are PostgreSQL's own, internal).
		if got := names(t, dbURL, `SELECT t.tgrelid::regclass::text || ' ' || t.tgname FROM pg_trigger t
			JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE NOT t.tgisinternal AND n.nspname NOT IN ('catalog', 'pg_catalog', 'information_schema')`); len(got) != 0 {
			t.Fatalf("tenant tables with triggers: %v", got)
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

// TestScopeEndsWithItsTransaction checks, on a serving pool of one
// connection, that the scope a request's transaction sets (tenant, search
// path, read-only) is there for its statements and gone from the
// connection the next request gets: after a write, a write rolled back,
// a read, and a read that failed.
func TestScopeEndsWithItsTransaction(t *testing.T) {
	ctx := context.Background()
	db, err := mustOpen(t, postgres.Config{URL: pgtest.NewDatabase(t), MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A bridge tenant: its search path is not the connection's own.
	tn, ctxT := storetest.MustTenant(t, db, qm.TierBridge, "scope")
	const scopeOf = `SELECT pg_backend_pid(), coalesce(current_setting('qm.tenant_id', true), ''), current_setting('search_path'),
		current_setting('transaction_read_only')`
	type scope struct {
		pid                    int
		tenant, path, readOnly string
	}
	read := func(row interface{ Scan(...any) error }) (scope, error) {
		var s scope
		err := row.Scan(&s.pid, &s.tenant, &s.path, &s.readOnly)
		return s, err
	}
	errOnPurpose := errors.New("roll back on purpose")
	for _, tc := range []struct {
		name     string
		run      func(inside *scope) error
		wantErr  error
		readOnly string
	}{
		{"Update", func(inside *scope) error {
			return db.Update(ctxT, func(c sqlstore.Conn) (err error) { *inside, err = read(c.QueryRow(ctx, scopeOf)); return err })
		}, nil, "off"},
		{"RolledBack", func(inside *scope) error {
			return db.Update(ctxT, func(c sqlstore.Conn) error {
				var err error
				if *inside, err = read(c.QueryRow(ctx, scopeOf)); err != nil {
					return err
				}
				return errOnPurpose
			})
		}, errOnPurpose, "off"},
		{"View", func(inside *scope) error {
			return db.View(ctxT, func(c sqlstore.Conn) (err error) { *inside, err = read(c.QueryRow(ctx, scopeOf)); return err })
		}, nil, "on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inside scope
			if err := tc.run(&inside); !errors.Is(err, tc.wantErr) {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if want := (scope{inside.pid, tn.ID, tn.Placement.Location, tc.readOnly}); inside != want {
				t.Fatalf("inside the transaction: got %+v, want %+v", inside, want)
			}
			after, err := read(postgres.ServingPool(db).QueryRow(ctx, scopeOf))
			if err != nil {
				t.Fatal(err)
			}
			if want := (scope{inside.pid, "", "pool", "off"}); after != want {
				t.Fatalf("on the same connection after it: got %+v, want %+v", after, want)
			}
		})
	}
	t.Run("FailedView", func(t *testing.T) {
		err := db.View(ctxT, func(c sqlstore.Conn) error {
			var n int
			return c.QueryRow(ctx, `SELECT 1 / (count(*) - count(*))::int FROM locations WHERE tenant_id = $1`, c.TenantID()).Scan(&n)
		})
		if err == nil {
			t.Fatal("a division by zero succeeded")
		}
		after, err := read(postgres.ServingPool(db).QueryRow(ctx, scopeOf))
		if err != nil {
			t.Fatal(err)
		}
		if after.tenant != "" || after.path != "pool" || after.readOnly != "off" {
			t.Fatalf("after a failed read: got %+v", after)
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

// TestPoolDistribution checks the order Setup distributes the pool in on
// Citus, on plain PostgreSQL: every table of the pool with a tenant_id,
// each after every table it references; and that without Citus nothing
// is distributed.
func TestPoolDistribution(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	db, err := mustOpen(t, config(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	order, err := postgres.PoolDistribution(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	want := names(t, dbURL, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid WHERE n.nspname = 'pool' AND c.relkind = 'r' AND a.attname = 'tenant_id' ORDER BY 1`)
	if got := slices.Sorted(slices.Values(order)); !slices.Equal(got, want) || len(want) < len(schema.TenantTables) {
		t.Fatalf("distributed: %v; want the pool's tables with a tenant_id, %v", got, want)
	}
	at := map[string]int{}
	for i, name := range order {
		at[name] = i
	}
	for _, fk := range names(t, dbURL, `SELECT f.relname || ' ' || r.relname FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid
		JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace n ON n.oid = f.relnamespace
		WHERE k.contype = 'f' AND n.nspname = 'pool' AND f.oid <> r.oid`) {
		from, to, _ := strings.Cut(fk, " ")
		if at[to] >= at[from] {
			t.Fatalf("%s is distributed at %d, before %s at %d, which it references: %v", from, at[from], to, at[to], order)
		}
	}
	if tables, installed, err := db.CitusStatus(t.Context()); err != nil || installed || len(tables) != 0 {
		t.Fatalf("citus status on plain PostgreSQL: %v, %v, %v", tables, installed, err)
	}
}

package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/storetest"
)

// BenchmarkPointRead reads one pool location by id through the kernel
// (scope, router, row security) and straight on the driver as the
// privileged role, for the ratio between the two.
func BenchmarkPointRead(b *testing.B) {
	ctx := context.Background()
	url := pgtest.NewDatabase(b)
	db, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Setup(ctx); err != nil {
		b.Fatal(err)
	}
	s := dataplane.NewLocationStore(db, time.Now)
	tn, tctx := storetest.MustTenant(b, db, qm.TierPool, "bench")
	loc := storetest.MustLocation(b, s, tctx, "HQ", "")
	b.Run("Kernel", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Location(tctx, loc.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Driver", func(b *testing.B) {
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		for b.Loop() {
			var l qm.Location
			var parent *string
			err := pool.QueryRow(ctx, `SELECT id, name, parent_id, address, notes, created_at, updated_at
				FROM pool.locations WHERE tenant_id = $1 AND id = $2`, tn.ID, loc.ID).
				Scan(&l.ID, &l.Name, &parent, &l.Address, &l.Notes, &l.CreatedAt, &l.UpdatedAt)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkImport imports 100,000 assets into a pool tenant (row-level
// security) of a fresh database; rows/s is reported.
func BenchmarkImport(b *testing.B) {
	storetest.BenchmarkImport(b, 100000, openBench)
}

// BenchmarkGroupCommit writes one point a call from 1,000 devices at once
// through the group-commit writer, into a pool tenant (row-level security)
// of a fresh database.
func BenchmarkGroupCommit(b *testing.B) {
	storetest.BenchmarkGroupCommit(b, 1000, openBench)
}

// openBench opens a fresh database for a benchmark.
func openBench(b *testing.B) storetest.Engine {
	db, err := postgres.Open(b.Context(), postgres.Config{URL: pgtest.NewDatabase(b)})
	return storetest.MustSetUp(b, db, err)
}

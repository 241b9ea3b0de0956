package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// TestContextLeak runs many goroutines alternating two tenants over an engine
// opened with a tiny connection pool, cancelling and rolling back
// transactions at random mid-way, and checks that no row is ever read or
// written under the wrong tenant. Run it with -race.
func TestContextLeak(t *testing.T, e Engine, tier qm.Tier, goroutines, rounds int) {
	tnA, ctxA := MustTenant(t, e, tier, "leak-a")
	tnB, ctxB := MustTenant(t, e, tier, "leak-b")
	scopes := []struct {
		ctx  context.Context
		slug string
	}{{ctxA, tnA.Slug}, {ctxB, tnB.Slug}}
	errRollback := errors.New("rollback on purpose")
	const insert = `INSERT INTO locations (tenant_id, id, name, address, notes, created_at, updated_at)
		VALUES ($1, $2, $3, '', '', $4, $4)`

	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 7))
			for r := range rounds {
				sc := scopes[(g+r)%2]
				ctx, cancel := context.WithCancel(sc.ctx)
				name := fmt.Sprintf("%s/%d/%d", sc.slug, g, r)
				switch rng.IntN(4) {
				case 0: // commit
					err := e.Update(ctx, func(c sqlstore.Conn) error {
						_, err := c.Exec(ctx, insert, c.TenantID(), sqlstore.NewID(), name+"/kept", sqlstore.Timestamp(clock()()))
						return err
					})
					if err != nil {
						t.Errorf("insert: %v", err)
					}
				case 1: // roll back after writing
					_ = e.Update(ctx, func(c sqlstore.Conn) error {
						if _, err := c.Exec(ctx, insert, c.TenantID(), sqlstore.NewID(), name+"/rolled-back", sqlstore.Timestamp(clock()())); err != nil {
							return err
						}
						return errRollback
					})
				case 2: // cancel mid-transaction
					_ = e.Update(ctx, func(c sqlstore.Conn) error {
						if _, err := c.Exec(ctx, insert, c.TenantID(), sqlstore.NewID(), name+"/cancelled", sqlstore.Timestamp(clock()())); err != nil {
							return err
						}
						cancel()
						_, err := c.Exec(ctx, insert, c.TenantID(), sqlstore.NewID(), name+"/cancelled-2", sqlstore.Timestamp(clock()()))
						return err
					})
				default: // read everything visible
					if err := checkOwnRows(ctx, e, sc.slug); err != nil && ctx.Err() == nil {
						t.Error(err)
					}
				}
				cancel()
			}
		}()
	}
	wg.Wait()
	for _, sc := range scopes {
		if err := checkOwnRows(sc.ctx, e, sc.slug); err != nil {
			t.Error(err)
		}
	}
}

// checkOwnRows reads every location of the tenant the connection is bound to
// and checks each was written in slug's scope and committed: a connection
// bound to the wrong tenant, or a row written under the wrong tenant id,
// shows up as another tenant's name.
func checkOwnRows(ctx context.Context, e Engine, slug string) error {
	return e.View(ctx, func(c sqlstore.Conn) error {
		rows, err := c.Query(ctx, `SELECT name FROM locations WHERE tenant_id = $1`, c.TenantID())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return err
			}
			if !strings.HasPrefix(name, slug+"/") {
				return fmt.Errorf("tenant %s read row %q written as another tenant", slug, name)
			}
			if !strings.HasSuffix(name, "/kept") {
				return fmt.Errorf("tenant %s read row %q that was rolled back", slug, name)
			}
		}
		return rows.Err()
	})
}

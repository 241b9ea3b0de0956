package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestUpdateEach checks one transaction for several tenants: each part is
// bound to its own tenant, and a failure in one rolls back all.
func TestUpdateEach(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	br := e
	ta, ctxA := MustTenant(t, e, h.Tier, "each-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "each-b")
	write := func(scopes []context.Context, failLast bool) error {
		return br.UpdateEach(context.Background(), scopes, func(scope context.Context, c sqlstore.Conn) error {
			if err := sqlstore.Audit(scope, c, time.Now(), "test.each", "test", c.TenantID(), nil, map[string]string{"by": c.TenantID()}); err != nil {
				return err
			}
			if failLast && scope == scopes[len(scopes)-1] {
				return errors.New("the last part fails")
			}
			return nil
		})
	}
	count := func(ctx context.Context, resource string) int {
		t.Helper()
		es, err := dataplane.NewAuditStore(e).AuditLog(ctx, qm.AuditFilter{Action: "test.each"})
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range es {
			if en.ResourceID != resource {
				t.Fatalf("an entry about %s in the log of %s", en.ResourceID, resource)
			}
		}
		return len(es)
	}
	if br.TxDomain(ta) != br.TxDomain(tb) {
		// Silo tenants each have a database: one transaction cannot hold both.
		if err := write([]context.Context{ctxA, ctxB}, false); err == nil {
			t.Fatal("one transaction over two databases was allowed")
		}
		if err := write([]context.Context{ctxA}, false); err != nil || count(ctxA, ta.ID) != 1 {
			t.Fatalf("one tenant: %v", err)
		}
		return
	}
	if err := write([]context.Context{ctxA, ctxB, ctxA}, true); err == nil || count(ctxA, ta.ID) != 0 || count(ctxB, tb.ID) != 0 {
		t.Fatalf("a failed part left writes behind: %v", err)
	}
	if err := write([]context.Context{ctxA, ctxB, ctxA}, false); err != nil {
		t.Fatal(err)
	}
	if a, b := count(ctxA, ta.ID), count(ctxB, tb.ID); a != 2 || b != 1 {
		t.Fatalf("got %d entries for A and %d for B, want 2 and 1", a, b)
	}
}

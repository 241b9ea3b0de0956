package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// TestAudit checks that every change to a location is in the tenant's audit
// log, with who, what and from where, that failed changes leave no entry,
// that the log is append-only, and that no tenant reads another's log.
func TestAudit(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	s := dataplane.NewLocationStore(e, clock())
	a := dataplane.NewAuditStore(e)
	_, ctxA := MustTenant(t, e, h.Tier, "audit-a")
	_, ctxB := MustTenant(t, e, h.Tier, "audit-b")
	alice := &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "alice@example.com"}
	ctxA = tenancy.WithOrigin(tenancy.WithPrincipal(ctxA, alice), tenancy.Origin{RemoteAddr: "192.0.2.7", RequestID: "req-1"})

	l := MustLocation(t, s, ctxA, "HQ", "")
	if _, err := s.UpdateLocation(ctxA, l.ID, qm.LocationUpdate{Name: ptr("Head office")}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateLocation(ctxA, &qm.Location{Name: "Head office"}), qm.EConflict) // leaves no entry
	if err := s.DeleteLocation(ctxA, l.ID); err != nil {
		t.Fatal(err)
	}
	MustLocation(t, s, ctxB, "B's", "")

	t.Run("StartsWithCreation", func(t *testing.T) {
		got, err := a.AuditLog(ctxA, qm.AuditFilter{ResourceType: "tenant"})
		if err != nil || len(got) != 1 || got[0].Action != "tenant.create" || got[0].Changes["slug"].After != "audit-a" {
			t.Fatalf("got %+v, %v; want the tenant's creation", got, err)
		}
	})
	t.Run("OK", func(t *testing.T) {
		got, err := a.AuditLog(ctxA, qm.AuditFilter{ResourceType: "location"})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"location.delete", "location.update", "location.create"}
		if len(got) != len(want) {
			t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
		}
		for i, e := range got {
			if e.Action != want[i] || e.ResourceType != "location" || e.ResourceID != l.ID || e.ActorKind != qm.PrincipalUser ||
				e.ActorID != alice.ID || e.ActorName != alice.Name || e.RemoteAddr != "192.0.2.7" || e.RequestID != "req-1" || e.At.IsZero() {
				t.Errorf("entry %d: got %+v, want %s by alice", i, e, want[i])
			}
		}
		if c := got[1].Changes["name"]; c.Before != "HQ" || c.After != "Head office" || len(got[1].Changes) != 1 {
			t.Errorf("update changes: got %+v, want name HQ → Head office only", got[1].Changes)
		}
		if c := got[2].Changes["name"]; c.Before != nil || c.After != "HQ" {
			t.Errorf("create changes: got %+v", got[2].Changes)
		}
		if c := got[0].Changes["name"]; c.Before != "Head office" || c.After != nil {
			t.Errorf("delete changes: got %+v", got[0].Changes)
		}
	})
	t.Run("Filters", func(t *testing.T) {
		got, err := a.AuditLog(ctxA, qm.AuditFilter{Action: "location.update"})
		if err != nil || len(got) != 1 {
			t.Fatalf("by action: got %d, %v; want 1", len(got), err)
		}
		first, err := a.AuditLog(ctxA, qm.AuditFilter{Limit: 1})
		if err != nil || len(first) != 1 {
			t.Fatal(err)
		}
		rest, err := a.AuditLog(ctxA, qm.AuditFilter{Before: first[0].ID})
		if err != nil || len(rest) != 3 || rest[0].Action != "location.update" || rest[2].Action != "tenant.create" {
			t.Fatalf("after cursor: got %+v, %v", rest, err)
		}
		_, err = a.AuditLog(ctxA, qm.AuditFilter{Before: "nope"})
		wantCode(t, err, qm.EBadRequest)
		if n, err := a.CountAuditLog(ctxA, qm.AuditFilter{Before: first[0].ID, Limit: 1}); err != nil || n != 4 {
			t.Fatalf("count: got %d, %v; want 4, every entry whatever the page", n, err)
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		got, err := a.AuditLog(ctxB, qm.AuditFilter{})
		if err != nil || len(got) != 2 || got[0].ActorKind != qm.PrincipalSystem || got[1].Action != "tenant.create" {
			t.Fatalf("B's log: got %+v, %v; want only B's own creations, by the system", got, err)
		}
		for _, f := range []qm.AuditFilter{{ResourceID: l.ID}, {ActorID: alice.ID}} {
			if got, err := a.AuditLog(ctxB, f); err != nil || len(got) != 0 {
				t.Fatalf("B found A's entries with %+v: %v, %v", f, got, err)
			}
			if n, err := a.CountAuditLog(ctxB, f); err != nil || n != 0 {
				t.Fatalf("B counted A's entries with %+v: %d, %v", f, n, err)
			}
		}
	})
	t.Run("AppendOnly", func(t *testing.T) {
		for _, q := range []string{`UPDATE audit_log SET action = 'forged' WHERE tenant_id = $1`, `DELETE FROM audit_log WHERE tenant_id = $1`} {
			err := e.Update(ctxA, func(c sqlstore.Conn) error {
				_, err := c.Exec(ctxA, q, c.TenantID())
				return err
			})
			if err == nil {
				t.Errorf("%s: succeeded", q)
			}
		}
		if got, _ := a.AuditLog(ctxA, qm.AuditFilter{}); len(got) != 4 || got[0].Action == "forged" {
			t.Fatalf("log changed: %+v", got)
		}
	})
	t.Run("ErrNoTenant", func(t *testing.T) {
		_, err := a.AuditLog(context.Background(), qm.AuditFilter{})
		wantCode(t, err, qm.ENoTenant)
	})
}

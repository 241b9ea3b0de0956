package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// TestIdentity checks users, memberships, sessions and tokens in the
// catalog, with a different-tenant case for everything a tenant owns.
func TestIdentity(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	id := e.Identity()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tnA, _ := MustTenant(t, e, h.Tier, "ident-a")
	tnB, _ := MustTenant(t, e, h.Tier, "ident-b")
	u := &qm.User{Email: "alice@example.com", Name: "Alice"}

	t.Run("Users", func(t *testing.T) {
		if err := id.CreateUser(ctx, u, "hash-1", now); err != nil {
			t.Fatal(err)
		}
		wantCode(t, id.CreateUser(ctx, &qm.User{Email: "alice@example.com", Name: "Again"}, "h", now), qm.EConflict)
		got, hash, err := id.UserByEmail(ctx, "alice@example.com")
		if err != nil || hash != "hash-1" || got.ID != u.ID || got.Name != "Alice" || !got.CreatedAt.Equal(now) || got.LastLoginAt != nil {
			t.Fatalf("by email: got %+v, %q, %v", got, hash, err)
		}
		if err := id.RecordLogin(ctx, u.ID, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := id.SetPassword(ctx, u.ID, "hash-2"); err != nil {
			t.Fatal(err)
		}
		got, err = id.UserByID(ctx, u.ID)
		if err != nil || got.LastLoginAt == nil || !got.LastLoginAt.Equal(now.Add(time.Hour)) {
			t.Fatalf("by id: got %+v, %v", got, err)
		}
		if _, hash, _ := id.UserByEmail(ctx, "alice@example.com"); hash != "hash-2" {
			t.Fatalf("password hash: got %q, want hash-2", hash)
		}
		_, _, err = id.UserByEmail(ctx, "nobody@example.com")
		wantCode(t, err, qm.ENotFound)
		_, err = id.UserByID(ctx, "not-an-id")
		wantCode(t, err, qm.ENotFound)
	})
	t.Run("Memberships", func(t *testing.T) {
		m := &qm.Membership{TenantID: tnA.ID, UserID: u.ID, Role: "viewer"}
		if err := id.SetMembership(ctx, m, now); err != nil {
			t.Fatal(err)
		}
		m.Role, m.DepartmentID = "admin", sqlstore.NewID()
		if err := id.SetMembership(ctx, m, now); err != nil {
			t.Fatal(err)
		}
		got, err := id.Membership(ctx, tnA.ID, u.ID)
		if err != nil || got.Role != "admin" || got.DepartmentID != m.DepartmentID {
			t.Fatalf("got %+v, %v; want admin with the department", got, err)
		}
		_, err = id.Membership(ctx, tnB.ID, u.ID)
		wantCode(t, err, qm.ENotFound)
	})
	t.Run("Sessions", func(t *testing.T) {
		sess := qm.Session{UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		for _, h := range []string{"s1", "s2", "s3"} {
			if err := id.CreateSession(ctx, h, sess); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := id.Session(ctx, "s1", now); err != nil || got.UserID != u.ID {
			t.Fatalf("got %+v, %v", got, err)
		}
		_, err := id.Session(ctx, "s1", now.Add(time.Hour))
		wantCode(t, err, qm.ENotFound) // expired
		_, err = id.Session(ctx, "s1", now)
		wantCode(t, err, qm.ENotFound) // and removed
		if err := id.DeleteSession(ctx, "s2"); err != nil {
			t.Fatal(err)
		}
		_, err = id.Session(ctx, "s2", now)
		wantCode(t, err, qm.ENotFound)
		if err := id.DeleteSessions(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		_, err = id.Session(ctx, "s3", now)
		wantCode(t, err, qm.ENotFound)
	})
	t.Run("Roles", func(t *testing.T) {
		r := qm.Role{Name: "auditor", Permissions: []qm.Permission{qm.PermAuditRead, qm.PermAssetsRead}}
		if err := id.CreateRole(ctx, tnA.ID, r, now); err != nil {
			t.Fatal(err)
		}
		wantCode(t, id.CreateRole(ctx, tnA.ID, r, now), qm.EConflict)
		got, err := id.Role(ctx, tnA.ID, "auditor")
		if err != nil || !got.Allows(qm.PermAuditRead) || got.Allows(qm.PermUsersManage) {
			t.Fatalf("got %+v, %v", got, err)
		}
		if got, err := id.Role(ctx, tnB.ID, "viewer"); err != nil || !got.BuiltIn {
			t.Fatalf("built-in role in B: %+v, %v", got, err)
		}
		t.Run("OtherTenant", func(t *testing.T) {
			_, err := id.Role(ctx, tnB.ID, "auditor")
			wantCode(t, err, qm.ENotFound)
			wantCode(t, id.DeleteRole(ctx, tnB.ID, "auditor"), qm.ENotFound)
			if rs, err := id.CustomRoles(ctx, tnB.ID); err != nil || len(rs) != 0 {
				t.Fatalf("B lists %v, %v", rs, err)
			}
		})
		if err := id.SetMembership(ctx, &qm.Membership{TenantID: tnA.ID, UserID: u.ID, Role: "auditor"}, now); err != nil {
			t.Fatal(err)
		}
		wantCode(t, id.DeleteRole(ctx, tnA.ID, "auditor"), qm.EConflict)
		if err := id.SetMembership(ctx, &qm.Membership{TenantID: tnA.ID, UserID: u.ID, Role: "viewer"}, now); err != nil {
			t.Fatal(err)
		}
		if err := id.DeleteRole(ctx, tnA.ID, "auditor"); err != nil {
			t.Fatal(err)
		}
		_, err = id.Role(ctx, tnA.ID, "auditor")
		wantCode(t, err, qm.ENotFound)
	})
	t.Run("Tokens", func(t *testing.T) {
		exp := now.Add(24 * time.Hour)
		tok := &qm.APIToken{Name: "ci", Role: "viewer", CreatedBy: "alice", ExpiresAt: &exp}
		if err := id.CreateToken(ctx, tnA.ID, tok, "th-1", now); err != nil {
			t.Fatal(err)
		}
		tenantID, got, err := id.TokenBySecret(ctx, "th-1")
		if err != nil || tenantID != tnA.ID || got.ID != tok.ID || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) {
			t.Fatalf("by secret: got %s %+v, %v", tenantID, got, err)
		}
		if ts, err := id.Tokens(ctx, tnA.ID); err != nil || len(ts) != 1 {
			t.Fatalf("A's tokens: %d, %v", len(ts), err)
		}
		t.Run("OtherTenant", func(t *testing.T) {
			if ts, err := id.Tokens(ctx, tnB.ID); err != nil || len(ts) != 0 {
				t.Fatalf("B lists %d tokens, %v", len(ts), err)
			}
			_, err := id.Token(ctx, tnB.ID, tok.ID)
			wantCode(t, err, qm.ENotFound)
			wantCode(t, id.RevokeToken(ctx, tnB.ID, tok.ID, now), qm.ENotFound)
			id.TouchToken(ctx, tnB.ID, tok.ID, now)
			if got, _ := id.Token(ctx, tnA.ID, tok.ID); got.RevokedAt != nil || got.LastUsedAt != nil {
				t.Fatalf("B changed A's token: %+v", got)
			}
		})
		if err := id.TouchToken(ctx, tnA.ID, tok.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := id.RevokeToken(ctx, tnA.ID, tok.ID, now.Add(2*time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err = id.Token(ctx, tnA.ID, tok.ID)
		if err != nil || got.LastUsedAt == nil || got.RevokedAt == nil {
			t.Fatalf("after use and revocation: %+v, %v", got, err)
		}
		wantCode(t, id.RevokeToken(ctx, tnA.ID, tok.ID, now), qm.ENotFound) // already revoked
		_, _, err = id.TokenBySecret(ctx, "nope")
		wantCode(t, err, qm.ENotFound)
	})
}

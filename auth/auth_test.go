package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/throttle"
)

func TestAuthenticator(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(sqlite.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return now }
	cheap := password.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	a := auth.New(auth.Config{Identity: db.Identity(), Tenants: db.Tenants(), Now: clock, Passwords: cheap,
		Limiter: throttle.New(throttle.Config{Free: 2, Base: time.Minute, Now: clock})})
	hash, _ := password.HashWith(cheap, "correct horse battery")
	u := &qm.User{Email: "alice@example.com", Name: "Alice"}
	if err := db.Identity().CreateUser(ctx, u, hash, now); err != nil {
		t.Fatal(err)
	}

	t.Run("Login", func(t *testing.T) {
		secret, got, err := a.Login(ctx, " Alice@Example.com ", "correct horse battery", "192.0.2.1")
		if err != nil || got.ID != u.ID || got.LastLoginAt == nil {
			t.Fatalf("got %+v, %v", got, err)
		}
		if su, err := a.SessionUser(ctx, secret); err != nil || su.ID != u.ID {
			t.Fatalf("session user: %+v, %v", su, err)
		}
		if auth.CSRFToken(secret) == auth.CSRFToken(secret+"x") || len(auth.CSRFToken(secret)) != 64 {
			t.Fatal("CSRF tokens do not depend on the session")
		}
		if err := a.Logout(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SessionUser(ctx, secret); qm.ErrorCode(err) != qm.EUnauthorized {
			t.Fatalf("after logout: got %v, want EUnauthorized", err)
		}
	})
	t.Run("RehashedWithTheServersParameters", func(t *testing.T) {
		other := cheap
		other.Time = 2
		b := auth.New(auth.Config{Identity: db.Identity(), Tenants: db.Tenants(), Now: clock, Passwords: other})
		if _, _, err := b.Login(ctx, "alice@example.com", "correct horse battery", "192.0.2.4"); err != nil {
			t.Fatal(err)
		}
		_, stored, err := db.Identity().UserByEmail(ctx, "alice@example.com")
		if err != nil || password.NeedsRehashWith(other, stored) || !password.NeedsRehashWith(cheap, stored) {
			t.Fatalf("stored hash %q, %v: want it made again with the server's parameters", stored, err)
		}
		if _, _, err := a.Login(ctx, "alice@example.com", "correct horse battery", "192.0.2.4"); err != nil {
			t.Fatalf("sign-in after the rehash: %v", err)
		}
	})
	t.Run("ErrBadLogin", func(t *testing.T) {
		_, _, wrong := a.Login(ctx, "alice@example.com", "wrong", "192.0.2.2")
		_, _, unknown := a.Login(ctx, "bob@example.com", "wrong", "192.0.2.3")
		if wrong != auth.ErrBadLogin || unknown != auth.ErrBadLogin {
			t.Fatalf("got %v and %v, want the same ErrBadLogin", wrong, unknown)
		}
	})
	t.Run("Throttled", func(t *testing.T) {
		for range 3 {
			a.Login(ctx, "alice@example.com", "wrong", "192.0.2.9")
		}
		_, _, err := a.Login(ctx, "alice@example.com", "correct horse battery", "192.0.2.9")
		if qm.ErrorCode(err) != qm.ERateLimited {
			t.Fatalf("got %v, want ERateLimited even with the right password", err)
		}
		now = now.Add(2 * time.Hour)
		if _, _, err := a.Login(ctx, "alice@example.com", "correct horse battery", "192.0.2.9"); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
	})
	t.Run("Token", func(t *testing.T) {
		tn, err := db.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "acme", Name: "Acme", Tier: qm.TierPool})
		if err != nil {
			t.Fatal(err)
		}
		exp := now.Add(time.Hour)
		_, secret, err := dataplane.NewTokenStore(db.Identity(), db, clock).CreateToken(tenancy.WithTenant(ctx, tn), qm.NewAPIToken{Name: "ci", Role: "viewer", ExpiresAt: &exp})
		if err != nil {
			t.Fatal(err)
		}
		got, p, err := a.Token(ctx, secret)
		if err != nil || got.ID != tn.ID || p.Kind != qm.PrincipalToken || p.Role.Name != "viewer" {
			t.Fatalf("got %+v %+v, %v", got, p, err)
		}
		for _, bad := range []string{"qmt_unknown", "not-a-token", ""} {
			if _, _, err := a.Token(ctx, bad); qm.ErrorCode(err) != qm.EUnauthorized {
				t.Errorf("%q: got %v, want EUnauthorized", bad, err)
			}
		}
		now = now.Add(2 * time.Hour)
		if _, _, err := a.Token(ctx, secret); qm.ErrorCode(err) != qm.EUnauthorized {
			t.Fatalf("expired token: got %v, want EUnauthorized", err)
		}
	})
	t.Run("Member", func(t *testing.T) {
		tn, _ := db.Tenants().Tenant(ctx, "acme")
		if _, err := a.Member(ctx, u, tn); qm.ErrorCode(err) != qm.ENotFound {
			t.Fatalf("not a member: got %v, want ENotFound", err)
		}
		db.Identity().SetMembership(ctx, &qm.Membership{TenantID: tn.ID, UserID: u.ID, Role: "manager"}, now)
		p, err := a.Member(ctx, u, tn)
		if err != nil || p.Role.Name != "manager" || !p.Can(qm.PermAuditRead) || p.Can(qm.PermUsersManage) {
			t.Fatalf("got %+v, %v", p, err)
		}
	})
}

package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

// TestInvitations checks invitations and password resets in the catalog:
// one open invitation per tenant and email, each usable once and only in
// time, and nothing of tenant A's reachable or changeable as tenant B.
func TestInvitations(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	id := e.Identity()
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tnA, _ := MustTenant(t, e, h.Tier, "invite-a")
	tnB, _ := MustTenant(t, e, h.Tier, "invite-b")
	newInvitation := func(email string) *qm.Invitation {
		return &qm.Invitation{Email: email, Role: "viewer", InvitedBy: "admin", CreatedAt: now, ExpiresAt: now.Add(qm.InvitationTTL)}
	}

	first := newInvitation("bob@example.com")
	first.CheckOut = []string{"asset-1", "asset-2"}
	if replaced, err := id.CreateInvitation(ctx, tnA.ID, first, "ih-1"); err != nil || replaced != nil {
		t.Fatalf("first: replaced %+v, %v", replaced, err)
	}
	second := newInvitation("bob@example.com")
	second.Role = "manager"
	second.CheckOut = []string{"asset-2", "asset-3"}
	replaced, err := id.CreateInvitation(ctx, tnA.ID, second, "ih-2")
	if err != nil || replaced == nil || replaced.ID != first.ID {
		t.Fatalf("again: replaced %+v, %v; want the first", replaced, err)
	}
	if _, _, err := id.InvitationBySecret(ctx, "ih-1"); qm.ErrorCode(err) != qm.ENotFound {
		t.Fatalf("the replaced invitation's secret: %v, want not found", err)
	}
	tenantID, got, err := id.InvitationBySecret(ctx, "ih-2")
	if err != nil || tenantID != tnA.ID || got.ID != second.ID || got.Role != "manager" || !got.ExpiresAt.Equal(now.Add(qm.InvitationTTL)) {
		t.Fatalf("by secret: %s %+v, %v", tenantID, got, err)
	}
	if want := []string{"asset-2", "asset-3", "asset-1"}; !slices.Equal(got.CheckOut, want) {
		t.Fatalf("assets to check out: got %v, want %v (the replaced one's added)", got.CheckOut, want)
	}
	if is, err := id.OpenInvitations(ctx, tnA.ID); err != nil || len(is) != 1 || is[0].ID != second.ID {
		t.Fatalf("A's open invitations: %+v, %v", is, err)
	}
	if ps, err := id.PendingInvitations(ctx, "bob@example.com", now); err != nil || len(ps) != 1 || ps[0].TenantName != tnA.Name {
		t.Fatalf("bob's pending invitations: %+v, %v", ps, err)
	}
	if ps, err := id.PendingInvitations(ctx, "bob@example.com", now.Add(qm.InvitationTTL)); err != nil || len(ps) != 0 {
		t.Fatalf("bob's pending invitations once expired: %+v, %v", ps, err)
	}

	t.Run("OtherTenant", func(t *testing.T) {
		_, err := id.Invitation(ctx, tnB.ID, second.ID)
		wantCode(t, err, qm.ENotFound)
		wantCode(t, id.RevokeInvitation(ctx, tnB.ID, second.ID, now), qm.ENotFound)
		wantCode(t, id.UseInvitation(ctx, tnB.ID, second, now), qm.ENotFound)
		if is, err := id.OpenInvitations(ctx, tnB.ID); err != nil || len(is) != 0 {
			t.Fatalf("B lists %+v, %v", is, err)
		}
		// B inviting the same email is B's own invitation; A's stays.
		if replaced, err := id.CreateInvitation(ctx, tnB.ID, newInvitation("bob@example.com"), "ih-b"); err != nil || replaced != nil {
			t.Fatalf("B invites bob: replaced %+v, %v", replaced, err)
		}
		if got, err := id.Invitation(ctx, tnA.ID, second.ID); err != nil || got.AcceptedAt != nil || got.RevokedAt != nil {
			t.Fatalf("A's invitation after B's tries: %+v, %v", got, err)
		}
	})

	t.Run("UsedOnce", func(t *testing.T) {
		wantCode(t, id.UseInvitation(ctx, tnA.ID, second, now.Add(qm.InvitationTTL)), qm.ENotFound) // expired
		if err := id.UseInvitation(ctx, tnA.ID, second, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, id.UseInvitation(ctx, tnA.ID, second, now.Add(time.Hour)), qm.ENotFound)
		wantCode(t, id.RevokeInvitation(ctx, tnA.ID, second.ID, now), qm.ENotFound)
		if got, err := id.Invitation(ctx, tnA.ID, second.ID); err != nil || got.AcceptedAt == nil || got.State(now) != qm.InvitationAccepted {
			t.Fatalf("after use: %+v, %v", got, err)
		}
		// An accepted invitation is kept, and no longer blocks a new one.
		if replaced, err := id.CreateInvitation(ctx, tnA.ID, newInvitation("bob@example.com"), "ih-3"); err != nil || replaced != nil {
			t.Fatalf("invite after acceptance: replaced %+v, %v", replaced, err)
		}
	})

	t.Run("Revoked", func(t *testing.T) {
		inv := newInvitation("carol@example.com")
		if _, err := id.CreateInvitation(ctx, tnA.ID, inv, "ih-4"); err != nil {
			t.Fatal(err)
		}
		if err := id.RevokeInvitation(ctx, tnA.ID, inv.ID, now); err != nil {
			t.Fatal(err)
		}
		wantCode(t, id.UseInvitation(ctx, tnA.ID, inv, now), qm.ENotFound)
		_, got, err := id.InvitationBySecret(ctx, "ih-4")
		if err != nil || got.State(now) != qm.InvitationRevoked {
			t.Fatalf("by secret after revocation: %+v, %v", got, err)
		}
	})

	t.Run("TenantsOf", func(t *testing.T) {
		u := &qm.User{Email: "dave@example.com", Name: "Dave"}
		if err := id.CreateUser(ctx, u, "h", now); err != nil {
			t.Fatal(err)
		}
		if err := id.SetMembership(ctx, &qm.Membership{TenantID: tnB.ID, UserID: u.ID, Role: "viewer"}, now); err != nil {
			t.Fatal(err)
		}
		ms, err := id.TenantsOf(ctx, u.ID)
		if err != nil || len(ms) != 1 || ms[0] != (qm.TenantMembership{Slug: tnB.Slug, Name: tnB.Name, Role: "viewer"}) {
			t.Fatalf("got %+v, %v", ms, err)
		}
	})

	t.Run("PasswordResets", func(t *testing.T) {
		u := &qm.User{Email: "erin@example.com", Name: "Erin"}
		if err := id.CreateUser(ctx, u, "h", now); err != nil {
			t.Fatal(err)
		}
		for _, h := range []string{"rh-1", "rh-2"} {
			if err := id.CreatePasswordReset(ctx, u.ID, h, now, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := id.TakePasswordReset(ctx, "rh-1", now) // replaced by rh-2
		wantCode(t, err, qm.ENotFound)
		if got, err := id.TakePasswordReset(ctx, "rh-2", now); err != nil || got != u.ID {
			t.Fatalf("take: %q, %v", got, err)
		}
		_, err = id.TakePasswordReset(ctx, "rh-2", now)
		wantCode(t, err, qm.ENotFound)
		if err := id.CreatePasswordReset(ctx, u.ID, "rh-3", now, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		_, err = id.TakePasswordReset(ctx, "rh-3", now.Add(time.Hour))
		wantCode(t, err, qm.ENotFound)
	})
}

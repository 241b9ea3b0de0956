package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestLicenses checks licenses and seats, with a different-tenant case for
// each method.
func TestLicenses(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	tnA, ctxA := MustTenant(t, e, h.Tier, "lic-a")
	_, ctxB := MustTenant(t, e, h.Tier, "lic-b")
	s := dataplane.NewLicenseStore(e, e.Identity(), clock())
	a := mustAssetWorld(t, e, ctxA)
	asset := &qm.Asset{ModelID: a.model.ID}
	if err := dataplane.NewAssetStore(e, e.Identity(), clock()).CreateAsset(ctxA, asset); err != nil {
		t.Fatal(err)
	}
	u := &qm.User{Email: "seat@a.example", Name: "Seat"}
	e.Identity().CreateUser(context.Background(), u, "h", clock()())
	e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: tnA.ID, UserID: u.ID, Role: "viewer"}, clock()())

	office := &qm.License{Name: "Office", Seats: 2, ExpiresOn: "2026-06-30", ProductKey: "XXXX-YYYY"}
	if err := s.CreateLicense(ctxA, office); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateLicense(ctxA, &qm.License{Name: "Zero", Seats: 0}), qm.EInvalid)
	wantCode(t, s.CreateLicense(ctxA, &qm.License{Name: "Bad date", Seats: 1, ExpiresOn: "June"}), qm.EInvalid)
	later := &qm.License{Name: "Later", Seats: 1, ExpiresOn: "2030-01-01"}
	if err := s.CreateLicense(ctxA, later); err != nil {
		t.Fatal(err)
	}

	t.Run("Seats", func(t *testing.T) {
		s1, err := s.AssignSeat(ctxA, office.ID, qm.HolderUser, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.AssignSeat(ctxA, office.ID, qm.HolderUser, u.ID)
		wantCode(t, err, qm.EConflict) // one seat each
		if _, err := s.AssignSeat(ctxA, office.ID, qm.HolderAsset, asset.ID); err != nil {
			t.Fatal(err)
		}
		extra := &qm.Asset{ModelID: a.model.ID}
		dataplane.NewAssetStore(e, e.Identity(), clock()).CreateAsset(ctxA, extra)
		_, err = s.AssignSeat(ctxA, office.ID, qm.HolderAsset, extra.ID)
		wantCode(t, err, qm.EConflict) // none free
		got, err := s.License(ctxA, office.ID)
		if err != nil || got.UsedSeats != 2 || got.FreeSeats() != 0 {
			t.Fatalf("got %+v, %v", got, err)
		}
		_, err = s.UpdateLicense(ctxA, office.ID, qm.LicenseUpdate{Seats: ptr(1)})
		wantCode(t, err, qm.EInvalid) // fewer than assigned
		if err := s.FreeSeat(ctxA, office.ID, s1.ID); err != nil {
			t.Fatal(err)
		}
		if seats, err := s.Seats(ctxA, office.ID); err != nil || len(seats) != 1 || seats[0].AssigneeID != asset.ID {
			t.Fatalf("seats: %+v, %v", seats, err)
		}
		_, err = s.AssignSeat(ctxA, office.ID, "robot", u.ID)
		wantCode(t, err, qm.EInvalid)
	})
	t.Run("Expiring", func(t *testing.T) {
		ls, err := s.Licenses(ctxA, qm.LicenseFilter{ExpiringBefore: "2027-01-01"})
		if err != nil || len(ls) != 1 || ls[0].ID != office.ID {
			t.Fatalf("expiring: %+v, %v", ls, err)
		}
		_, err = s.Licenses(ctxA, qm.LicenseFilter{ExpiringBefore: "soon"})
		wantCode(t, err, qm.EBadRequest)
	})
	t.Run("OtherTenant", func(t *testing.T) {
		b := mustAssetWorld(t, e, ctxB)
		bAsset := &qm.Asset{ModelID: b.model.ID}
		dataplane.NewAssetStore(e, e.Identity(), clock()).CreateAsset(ctxB, bAsset)
		_, err := s.License(ctxB, office.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateLicense(ctxB, office.ID, qm.LicenseUpdate{Name: ptr("hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteLicense(ctxB, office.ID), qm.ENotFound)
		_, err = s.Seats(ctxB, office.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.AssignSeat(ctxB, office.ID, qm.HolderAsset, bAsset.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.AssignSeat(ctxA, later.ID, qm.HolderAsset, bAsset.ID) // B's asset in A's license
		wantCode(t, err, qm.EInvalid)
		if ls, err := s.Licenses(ctxB, qm.LicenseFilter{}); err != nil || len(ls) != 0 {
			t.Fatalf("B lists %d licenses, %v", len(ls), err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		if err := s.DeleteLicense(ctxA, office.ID); err != nil {
			t.Fatal(err)
		}
		_, err := s.License(ctxA, office.ID)
		wantCode(t, err, qm.ENotFound)
	})
}

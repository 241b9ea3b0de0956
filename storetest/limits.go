package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// TestLimits checks that every service that creates what a plan caps
// refuses to pass the cap, by every path (the service, the importer, the
// inventory), naming the cap; and that a tenant without caps is untouched.
func TestLimits(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ctx := context.Background()
	ta, _ := MustTenant(t, e, h.Tier, "caps-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "caps-b")
	plans := catalog.NewPlanStore(e.Tenants())
	var small qm.LimitSet
	for k, v := range map[string]string{"max_assets": "2", "max_locations": "2", "max_custom_fields": "1", "max_api_tokens": "1",
		"max_members": "2", "max_devices": "1"} {
		if err := small.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := plans.CreatePlan(ctx, &qm.Plan{Name: "small", Limits: small}); err != nil {
		t.Fatal(err)
	}
	if _, err := plans.SetTenantPlan(ctx, ta.Slug, "small"); err != nil {
		t.Fatal(err)
	}
	// The scope a request of A's would carry: the tenant as read now.
	scope := func() context.Context {
		t.Helper()
		tn, err := e.Tenants().Tenant(ctx, ta.Slug)
		if err != nil {
			t.Fatal(err)
		}
		return tenancy.WithTenant(ctx, tn)
	}
	ctxA := scope()
	wantLimit := func(t *testing.T, err error, key qm.Limit, count int64) {
		t.Helper()
		var e *qm.Error
		wantCode(t, err, qm.ELimitReached)
		if e, _ = err.(*qm.Error); e == nil || e.Limit == nil || e.Limit.Limit != key || e.Limit.Count != count {
			t.Fatalf("the refusal names %+v; want %s at %d", e, key, count)
		}
	}
	w := mustAssetWorld(t, e, ctxA)
	wb := mustAssetWorld(t, e, ctxB)
	assets := dataplane.NewAssetStore(e, e.Identity(), clock())

	t.Run("Assets", func(t *testing.T) {
		for range 2 {
			if err := assets.CreateAsset(ctxA, &qm.Asset{ModelID: w.model.ID}); err != nil {
				t.Fatal(err)
			}
		}
		wantLimit(t, assets.CreateAsset(ctxA, &qm.Asset{ModelID: w.model.ID}), qm.MaxAssets, 2)
		for range 3 {
			if err := assets.CreateAsset(ctxB, &qm.Asset{ModelID: wb.model.ID}); err != nil {
				t.Fatalf("B, on no plan, is refused: %v", err)
			}
		}
	})
	t.Run("AtOnce", func(t *testing.T) {
		// Eight creations at once under a cap of two: two succeed, however
		// the engine schedules them.
		_, ctx := MustTenant(t, e, h.Tier, "caps-race")
		tn, _ := tenancy.FromContext(ctx)
		if _, err := plans.SetTenantPlan(context.Background(), tn.Slug, "small"); err != nil {
			t.Fatal(err)
		}
		tn, _ = e.Tenants().Tenant(context.Background(), tn.Slug)
		ctx = tenancy.WithTenant(context.Background(), tn)
		s := dataplane.NewLocationStore(e, clock())
		errs := make(chan error, 8)
		for i := range 8 {
			go func() { errs <- s.CreateLocation(ctx, &qm.Location{Name: fmt.Sprintf("Racer %d", i)}) }()
		}
		made := 0
		for range 8 {
			switch err := <-errs; qm.ErrorCode(err) {
			case "":
				made++
			case qm.ELimitReached:
			default:
				t.Errorf("a creation failed otherwise: %v", err)
			}
		}
		if ls, err := s.Locations(ctx, qm.LocationFilter{}); err != nil || made != 2 || len(ls) != 2 {
			t.Fatalf("%d creations succeeded and %d locations exist (%v); want 2 of each", made, len(ls), err)
		}
	})
	t.Run("Import", func(t *testing.T) {
		_, ctx := MustTenant(t, e, h.Tier, "caps-import")
		tn, _ := tenancy.FromContext(ctx)
		if _, err := plans.SetTenantPlan(context.Background(), tn.Slug, "small"); err != nil {
			t.Fatal(err)
		}
		tn, _ = e.Tenants().Tenant(context.Background(), tn.Slug)
		ctx = tenancy.WithTenant(context.Background(), tn)
		csv := "Asset Tag,Model Name,Category\nI-1,Dock,Docks\nI-2,Dock,Docks\nI-3,Dock,Docks\n"
		rep, err := importFile(ctx, assets, csv, qm.ImportOptions{})
		if err != nil || rep.Committed || rep.Failed != 1 || rep.Problems[0].Line != 4 || rep.LimitReached == nil || rep.LimitReached.Limit != qm.MaxAssets {
			t.Fatalf("three new assets under a cap of two: %+v, %v; want nothing written and line 4 refused naming max_assets", rep, err)
		}
		if rep, err = importFile(ctx, assets, csv, qm.ImportOptions{SkipBadRows: true}); err != nil || !rep.Committed || rep.Created != 2 || rep.Failed != 1 {
			t.Fatalf("with skip_bad_rows: %+v, %v; want the first two made and the third reported", rep, err)
		}
		// At the cap, a file that only changes what exists is welcome;
		// one that makes a location past its cap is not.
		rep, err = importFile(ctx, assets, "Asset Tag,Model Name,Category,Item Name,Location\nI-1,Dock,Docks,Renamed,\nI-2,Dock,Docks,,Annex 1\n", qm.ImportOptions{})
		if err != nil || !rep.Committed || rep.Updated != 2 {
			t.Fatalf("updates at the cap: %+v, %v", rep, err)
		}
		rep, err = importFile(ctx, assets, "Asset Tag,Model Name,Category,Location\nI-1,Dock,Docks,Annex 2\nI-2,Dock,Docks,Annex 3\n", qm.ImportOptions{SkipBadRows: true})
		if err != nil || rep.Updated != 1 || rep.Failed != 1 || rep.LimitReached == nil || rep.LimitReached.Limit != qm.MaxLocations {
			t.Fatalf("a third location: %+v, %v; want the row that makes it refused naming max_locations", rep, err)
		}
	})
	t.Run("Locations", func(t *testing.T) {
		s := dataplane.NewLocationStore(e, clock())
		ls, err := s.Locations(ctxA, qm.LocationFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for i := len(ls); i < 2; i++ {
			if err := s.CreateLocation(ctxA, &qm.Location{Name: fmt.Sprintf("Room %d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		wantLimit(t, s.CreateLocation(ctxA, &qm.Location{Name: "One too many"}), qm.MaxLocations, 2)
	})
	t.Run("CustomFields", func(t *testing.T) {
		s := dataplane.NewFieldStore(e, clock())
		if err := s.CreateField(ctxA, &qm.CustomField{Name: "RAM", Type: qm.FieldNumber}); err != nil {
			t.Fatal(err)
		}
		wantLimit(t, s.CreateField(ctxA, &qm.CustomField{Name: "Colour", Type: qm.FieldText}), qm.MaxCustomFields, 1)
	})
	t.Run("APITokens", func(t *testing.T) {
		s := dataplane.NewTokenStore(e.Identity(), e, clock())
		tok, _, err := s.CreateToken(ctxA, qm.NewAPIToken{Name: "ci", Role: "viewer"})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.CreateToken(ctxA, qm.NewAPIToken{Name: "ci 2", Role: "viewer"})
		wantLimit(t, err, qm.MaxAPITokens, 1)
		// A revoked token no longer counts.
		if err := s.RevokeToken(ctxA, tok.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CreateToken(ctxA, qm.NewAPIToken{Name: "ci 3", Role: "viewer"}); err != nil {
			t.Fatalf("after a revocation: %v", err)
		}
	})
	t.Run("Members", func(t *testing.T) {
		mustMember(t, e, ta, "one@caps.example")
		s := dataplane.NewInvitationStore(e.Identity(), e, e.Tenants(), func(string) (string, error) { return "h", nil }, "", clock())
		if _, err := s.Invite(ctxA, qm.NewInvitation{Email: "two@caps.example", Role: "viewer"}); err != nil {
			t.Fatal(err)
		}
		// Inviting the same person again replaces the invitation: no
		// place is taken.
		if _, err := s.Invite(ctxA, qm.NewInvitation{Email: "two@caps.example", Role: "viewer"}); err != nil {
			t.Fatalf("invite again: %v", err)
		}
		_, err := s.Invite(ctxA, qm.NewInvitation{Email: "three@caps.example", Role: "viewer"})
		wantLimit(t, err, qm.MaxMembers, 2)
	})
	t.Run("Devices", func(t *testing.T) {
		inv := e.Devices()
		reg := func(ident string) *qm.Device {
			d := &qm.Device{Ident: ident}
			if _, err := inv.RegisterDevice(ctx, d); err != nil {
				t.Fatal(err)
			}
			return d
		}
		tn, _ := tenancy.FromContext(scope())
		if _, _, err := inv.AssignDevice(ctx, reg("caps-1").ID, tn); err != nil {
			t.Fatal(err)
		}
		_, _, err := inv.AssignDevice(ctx, reg("caps-2").ID, tn)
		wantLimit(t, err, qm.MaxDevices, 1)
		// A plan without the fleet takes no device at all.
		var noFleet qm.LimitSet
		noFleet.Set("features", "import")
		if _, err := plans.SetTenantOverrides(ctx, tb.Slug, noFleet, nil); err != nil {
			t.Fatal(err)
		}
		b, _ := e.Tenants().Tenant(ctx, tb.Slug)
		_, _, err = inv.AssignDevice(ctx, reg("caps-3").ID, b)
		wantCode(t, err, qm.EFeatureDisabled)
	})
}

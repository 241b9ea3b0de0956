package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// assetWorld is one tenant's reference data for asset tests.
type assetWorld struct {
	ctx      context.Context
	category *qm.Reference
	model    *qm.Model
	broken   *qm.Reference // an undeployable status
}

func mustAssetWorld(t *testing.T, e Engine, ctx context.Context) *assetWorld {
	t.Helper()
	w := &assetWorld{ctx: ctx, category: &qm.Reference{Name: "Laptops"}, broken: &qm.Reference{Name: "Smashed", Kind: qm.StatusUndeployable}}
	for _, r := range []struct {
		list qm.ReferenceList
		ref  *qm.Reference
	}{{qm.Categories, w.category}, {qm.StatusLabels, w.broken}} {
		if err := dataplane.NewReferenceStore(r.list, e, clock()).Create(ctx, r.ref); err != nil {
			t.Fatal(err)
		}
	}
	w.model = mustModel(t, e, ctx, &qm.Model{Name: "Latitude 5440", CategoryID: w.category.ID})
	return w
}

// mustModel creates m.
func mustModel(t *testing.T, e Engine, ctx context.Context, m *qm.Model) *qm.Model {
	t.Helper()
	if err := dataplane.NewModelStore(e, clock()).CreateModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	return m
}

// mustMember makes a user who is a viewer in tn, and returns the user's id.
func mustMember(t *testing.T, e Engine, tn *qm.Tenant, email string) string {
	t.Helper()
	u := &qm.User{Email: email, Name: email}
	if err := e.Identity().CreateUser(context.Background(), u, "h", clock()()); err != nil {
		t.Fatal(err)
	}
	if err := e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: tn.ID, UserID: u.ID, Role: "viewer"}, clock()()); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// TestModels checks qm.ModelService, with a different-tenant case for each
// method.
func TestModels(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "model-a")
	_, ctxB := MustTenant(t, e, h.Tier, "model-b")
	a, b := mustAssetWorld(t, e, ctxA), mustAssetWorld(t, e, ctxB)
	s := dataplane.NewModelStore(e, clock())
	wantCode(t, s.CreateModel(ctxA, &qm.Model{Name: "Latitude 5440", CategoryID: a.category.ID}), qm.EConflict)
	wantCode(t, s.CreateModel(ctxA, &qm.Model{Name: "X"}), qm.EInvalid)
	wantCode(t, s.CreateModel(ctxA, &qm.Model{Name: "X", CategoryID: b.category.ID}), qm.EInvalid) // B's category
	if ms, err := s.Models(ctxA); err != nil || len(ms) != 1 || ms[0].ID != a.model.ID {
		t.Fatalf("models: %+v, %v", ms, err)
	}
	got, err := s.UpdateModel(ctxA, a.model.ID, qm.ModelUpdate{ModelNumber: ptr("5440-i7")})
	if err != nil || got.ModelNumber != "5440-i7" {
		t.Fatalf("update: %+v, %v", got, err)
	}
	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.Model(ctxB, a.model.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateModel(ctxB, a.model.ID, qm.ModelUpdate{Name: ptr("hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteModel(ctxB, a.model.ID), qm.ENotFound)
		_, err = s.UpdateModel(ctxA, a.model.ID, qm.ModelUpdate{CategoryID: ptr(b.category.ID)})
		wantCode(t, err, qm.EInvalid)
	})
	if err := dataplane.NewAssetStore(e, e.Identity(), clock()).CreateAsset(ctxA, &qm.Asset{ModelID: a.model.ID}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteModel(ctxA, a.model.ID), qm.EConflict)
}

// TestAssets checks qm.AssetService: tags, references, lists, department
// scoping, and a different-tenant case for each method.
func TestAssets(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "asset-a")
	_, ctxB := MustTenant(t, e, h.Tier, "asset-b")
	a, b := mustAssetWorld(t, e, ctxA), mustAssetWorld(t, e, ctxB)
	s := dataplane.NewAssetStore(e, e.Identity(), clock())
	mustAsset := func(ctx context.Context, x *qm.Asset) *qm.Asset {
		t.Helper()
		if err := s.CreateAsset(ctx, x); err != nil {
			t.Fatalf("create asset %+v: %v", x, err)
		}
		return x
	}

	t.Run("Create", func(t *testing.T) {
		first := mustAsset(ctxA, &qm.Asset{Name: "Alice's laptop", ModelID: a.model.ID, Serial: "SN1"})
		second := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID})
		if first.Tag != "ASSET-000001" || second.Tag != "ASSET-000002" || first.StatusID == "" {
			t.Fatalf("got tags %q, %q and status %q; want numbered tags and the default status", first.Tag, second.Tag, first.StatusID)
		}
		if got, err := s.Asset(ctxA, first.ID); err != nil || got.Tag != first.Tag || got.Serial != "SN1" || got.CostCents != nil {
			t.Fatalf("get: %+v, %v", got, err)
		}
		mustAsset(ctxA, &qm.Asset{Tag: "ASSET-000003", ModelID: a.model.ID})
		if third := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID}); third.Tag != "ASSET-000004" {
			t.Fatalf("numbering did not skip a taken tag: %q", third.Tag)
		}
		wantCode(t, s.CreateAsset(ctxA, &qm.Asset{Tag: "ASSET-000001", ModelID: a.model.ID}), qm.EConflict)
		mustAsset(ctxB, &qm.Asset{Tag: "ASSET-000001", ModelID: b.model.ID, Serial: "SN1"}) // B may use the same tag
		cost, months := int64(129900), 36
		full := mustAsset(ctxA, &qm.Asset{Tag: "FULL-1", ModelID: a.model.ID, PurchaseDate: "2025-02-01", CostCents: &cost,
			Currency: "eur", WarrantyMonths: &months, StatusID: a.broken.ID})
		got, err := s.Asset(ctxA, full.ID)
		if err != nil || got.PurchaseDate != "2025-02-01" || *got.CostCents != cost || got.Currency != "EUR" || *got.WarrantyMonths != 36 ||
			got.WarrantyEnd() != "2028-01-31" || got.StatusID != a.broken.ID {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("TagNumbering", func(t *testing.T) {
		if n, err := s.TagNumbering(ctxB); err != nil || n.Prefix != "ASSET-" || n.Next != 1 {
			t.Fatalf("B's numbering: %+v, %v; want ASSET- and 1", n, err)
		}
		_, err := s.SetTagNumbering(ctxB, qm.TagNumbering{Prefix: "bad prefix!", Next: 1})
		wantCode(t, err, qm.EInvalid)
		if _, err := s.SetTagNumbering(ctxB, qm.TagNumbering{Prefix: "B-", Next: 42}); err != nil {
			t.Fatal(err)
		}
		x := mustAsset(ctxB, &qm.Asset{ModelID: b.model.ID})
		if x.Tag != "B-000042" {
			t.Fatalf("got tag %q, want B-000042", x.Tag)
		}
		if err := s.DeleteAsset(ctxB, x.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.TagNumbering(ctxA); err != nil || n.Prefix != "ASSET-" || n.Next != 5 {
			t.Fatalf("A's numbering changed with B's: %+v, %v", n, err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, x := range []*qm.Asset{
			{},                    // no model
			{ModelID: b.model.ID}, // B's model
			{ModelID: a.model.ID, StatusID: b.broken.ID},
			{ModelID: a.model.ID, PurchaseDate: "01/02/2025"},
			{ModelID: a.model.ID, Currency: "EURO"},
			{ModelID: a.model.ID, LocationID: sqlstore.NewID()},
		} {
			wantCode(t, s.CreateAsset(ctxA, x), qm.EInvalid)
		}
	})
	t.Run("List", func(t *testing.T) {
		page, err := s.Assets(ctxA, qm.AssetFilter{})
		if err != nil || page.Total != 5 || len(page.Assets) != 5 || page.Assets[0].Tag != "ASSET-000001" || page.Next != "" {
			t.Fatalf("got %+v, %v", page, err)
		}
		var tags []string
		after := ""
		for {
			p, err := s.Assets(ctxA, qm.AssetFilter{Sort: "-tag", Limit: 2, After: after})
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range p.Assets {
				tags = append(tags, x.Tag)
			}
			if p.Total != 5 {
				t.Fatalf("page total %d, want 5", p.Total)
			}
			if after = p.Next; after == "" {
				break
			}
		}
		if strings.Join(tags, ",") != "FULL-1,ASSET-000004,ASSET-000003,ASSET-000002,ASSET-000001" {
			t.Fatalf("pages by -tag: %v", tags)
		}
		for _, tc := range []struct {
			f    qm.AssetFilter
			want int
		}{
			{qm.AssetFilter{Q: "alice"}, 1},
			{qm.AssetFilter{Q: "latitude"}, 5}, // the model's name
			{qm.AssetFilter{Q: "100%"}, 0},
			{qm.AssetFilter{StatusID: a.broken.ID}, 1},
			{qm.AssetFilter{CategoryID: a.category.ID}, 5},
			{qm.AssetFilter{ModelID: b.model.ID}, 0},
			{qm.AssetFilter{Sort: "created_at", Limit: 1}, 5},
		} {
			p, err := s.Assets(ctxA, tc.f)
			if err != nil || p.Total != tc.want {
				t.Errorf("%+v: got total %v, %v; want %d", tc.f, p, err, tc.want)
			}
		}
		for _, f := range []qm.AssetFilter{{Sort: "cost; DROP TABLE assets"}, {After: "garbage"}} {
			_, err := s.Assets(ctxA, f)
			wantCode(t, err, qm.EBadRequest)
		}
	})
	t.Run("Update", func(t *testing.T) {
		x := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID})
		got, err := s.UpdateAsset(ctxA, x.ID, qm.AssetUpdate{Name: ptr("Renamed"), StatusID: ptr(a.broken.ID)})
		if err != nil || got.Name != "Renamed" || got.StatusID != a.broken.ID || got.Tag != x.Tag {
			t.Fatalf("got %+v, %v", got, err)
		}
		_, err = s.UpdateAsset(ctxA, x.ID, qm.AssetUpdate{Tag: ptr("ASSET-000001")})
		wantCode(t, err, qm.EConflict)
		_, err = s.UpdateAsset(ctxA, x.ID, qm.AssetUpdate{ModelID: ptr(b.model.ID)})
		wantCode(t, err, qm.EInvalid)
		if err := s.DeleteAsset(ctxA, x.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.Asset(ctxA, x.ID)
		wantCode(t, err, qm.ENotFound)
	})
	t.Run("OtherTenant", func(t *testing.T) {
		x := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID, Serial: "SECRET-SERIAL"})
		_, err := s.Asset(ctxB, x.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateAsset(ctxB, x.ID, qm.AssetUpdate{Name: ptr("hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteAsset(ctxB, x.ID), qm.ENotFound)
		for _, f := range []qm.AssetFilter{{}, {Q: "SECRET"}, {ModelID: a.model.ID}} {
			if p, err := s.Assets(ctxB, f); err != nil || p.Total > 1 || strings.Contains(fmt.Sprint(p.Assets), x.ID) {
				t.Fatalf("B's list with %+v: %+v, %v", f, p, err)
			}
		}
		if got, _ := s.Asset(ctxA, x.ID); got.Name != "" {
			t.Fatalf("A's asset changed: %+v", got)
		}
	})
	t.Run("CheckOutIn", func(t *testing.T) {
		tnA, _ := e.Tenants().Tenant(context.Background(), "asset-a")
		tnB, _ := e.Tenants().Tenant(context.Background(), "asset-b")
		alice, bob := mustMember(t, e, tnA, "alice@a.example"), mustMember(t, e, tnB, "bob@b.example")
		x := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID})
		got, err := s.CheckOut(ctxA, x.ID, qm.CheckOut{HolderType: qm.HolderUser, HolderID: alice, ExpectedReturn: "2026-12-24", Note: "for the trip"})
		if err != nil || got.HolderType != qm.HolderUser || got.HolderID != alice || got.ExpectedReturn != "2026-12-24" || got.CheckedOutAt == nil {
			t.Fatalf("check out: %+v, %v", got, err)
		}
		_, err = s.CheckOut(ctxA, x.ID, qm.CheckOut{HolderType: qm.HolderUser, HolderID: alice})
		wantCode(t, err, qm.EConflict)
		t.Run("OtherTenant", func(t *testing.T) {
			_, err := s.CheckIn(ctxB, x.ID, qm.CheckIn{})
			wantCode(t, err, qm.ENotFound)
			_, err = s.CheckOut(ctxB, x.ID, qm.CheckOut{HolderType: qm.HolderUser, HolderID: bob})
			wantCode(t, err, qm.ENotFound)
			_, err = s.History(ctxB, x.ID)
			wantCode(t, err, qm.ENotFound)
		})
		room := &qm.Location{Name: "Store room"}
		if err := dataplane.NewLocationStore(e, clock()).CreateLocation(ctxA, room); err != nil {
			t.Fatal(err)
		}
		got, err = s.CheckIn(ctxA, x.ID, qm.CheckIn{LocationID: room.ID, Note: "back"})
		if err != nil || got.HolderType != "" || got.HolderID != "" || got.CheckedOutAt != nil || got.LocationID != room.ID {
			t.Fatalf("check in: %+v, %v", got, err)
		}
		_, err = s.CheckIn(ctxA, x.ID, qm.CheckIn{})
		wantCode(t, err, qm.EConflict)
		bLoc := &qm.Location{Name: "B's room"}
		dataplane.NewLocationStore(e, clock()).CreateLocation(ctxB, bLoc)
		bAsset := mustAsset(ctxB, &qm.Asset{ModelID: b.model.ID})
		for _, co := range []qm.CheckOut{
			{HolderType: qm.HolderUser, HolderID: bob},         // B's member
			{HolderType: qm.HolderLocation, HolderID: bLoc.ID}, // B's location
			{HolderType: qm.HolderAsset, HolderID: bAsset.ID},  // B's asset
			{HolderType: qm.HolderAsset, HolderID: x.ID},       // itself
			{HolderType: "vehicle", HolderID: x.ID},
		} {
			_, err := s.CheckOut(ctxA, x.ID, co)
			wantCode(t, err, qm.EInvalid)
		}
		// A chain: dock holds cable holds adapter; the dock may not be
		// checked out to anything down its own chain.
		dock, cable, adapter := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID}), mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID}), mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID})
		for _, link := range [][2]*qm.Asset{{cable, dock}, {adapter, cable}} {
			if _, err := s.CheckOut(ctxA, link[0].ID, qm.CheckOut{HolderType: qm.HolderAsset, HolderID: link[1].ID}); err != nil {
				t.Fatal(err)
			}
		}
		for _, holder := range []*qm.Asset{cable, adapter} {
			_, err := s.CheckOut(ctxA, dock.ID, qm.CheckOut{HolderType: qm.HolderAsset, HolderID: holder.ID})
			wantCode(t, err, qm.EInvalid)
		}
		broken := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID, StatusID: a.broken.ID})
		_, err = s.CheckOut(ctxA, broken.ID, qm.CheckOut{HolderType: qm.HolderLocation, HolderID: room.ID})
		wantCode(t, err, qm.EConflict)
		hist, err := s.History(ctxA, x.ID)
		if err != nil || len(hist) != 3 || hist[0].Action != "asset.checkin" || hist[1].Action != "asset.checkout" || hist[2].Action != "asset.create" {
			t.Fatalf("history: %+v, %v", hist, err)
		}
		if hist[1].Changes["note"].After != "for the trip" {
			t.Fatalf("check-out note not in history: %+v", hist[1].Changes)
		}
	})
	t.Run("TagsAtOnce", func(t *testing.T) {
		// Assets made at once, none with a tag, each get their own.
		const makers, each = 8, 4
		var wg sync.WaitGroup
		errs := make(chan error, makers*each)
		tags := make(chan string, makers*each)
		for range makers {
			wg.Go(func() {
				for range each {
					x := &qm.Asset{ModelID: a.model.ID}
					if err := s.CreateAsset(ctxA, x); err != nil {
						errs <- err
						continue
					}
					tags <- x.Tag
				}
			})
		}
		wg.Wait()
		close(errs)
		close(tags)
		for err := range errs {
			t.Errorf("an asset made beside others: %v", err)
		}
		seen := map[string]bool{}
		for tag := range tags {
			if seen[tag] {
				t.Errorf("tag %s given twice", tag)
			}
			seen[tag] = true
		}
		if len(seen) != makers*each {
			t.Fatalf("%d distinct tags, want %d", len(seen), makers*each)
		}
	})

	t.Run("DepartmentScope", func(t *testing.T) {
		depts := dataplane.NewDepartmentStore(e, clock())
		north, south := &qm.Department{Name: "North"}, &qm.Department{Name: "South"}
		for _, d := range []*qm.Department{north, south} {
			if err := depts.CreateDepartment(ctxA, d); err != nil {
				t.Fatal(err)
			}
		}
		depot := &qm.Department{Name: "Depot", ParentID: north.ID}
		if err := depts.CreateDepartment(ctxA, depot); err != nil {
			t.Fatal(err)
		}
		inNorth := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID, DepartmentID: depot.ID})
		inSouth := mustAsset(ctxA, &qm.Asset{ModelID: a.model.ID, DepartmentID: south.ID})
		scoped := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "north@example.com",
			Role: qm.BuiltInRoles[1], DepartmentID: north.ID})
		p, err := s.Assets(scoped, qm.AssetFilter{})
		if err != nil || p.Total != 1 || p.Assets[0].ID != inNorth.ID {
			t.Fatalf("north sees %+v, %v; want only its depot's asset", p, err)
		}
		_, err = s.Asset(scoped, inSouth.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateAsset(scoped, inSouth.ID, qm.AssetUpdate{Name: ptr("x")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteAsset(scoped, inSouth.ID), qm.ENotFound)
		wantCode(t, s.CreateAsset(scoped, &qm.Asset{ModelID: a.model.ID, DepartmentID: south.ID}), qm.EInvalid)
		_, err = s.UpdateAsset(scoped, inNorth.ID, qm.AssetUpdate{DepartmentID: ptr(south.ID)})
		wantCode(t, err, qm.EInvalid)
		mine := mustAsset(scoped, &qm.Asset{ModelID: a.model.ID})
		if mine.DepartmentID != north.ID {
			t.Fatalf("a confined user's new asset is in %q, want its department", mine.DepartmentID)
		}
	})
}

package storetest

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/schema"
	"github.com/quartermaster/qm/tenancy"
)

// listWorld is one tenant's assets for the list tests: two models from
// two manufacturers, and assets whose fields the tests search and filter.
type listWorld struct {
	*assetWorld
	dell, hp *qm.Reference
	elite    *qm.Model // HP's; a.model (Latitude 5440) is Dell's
	byTag    map[string]*qm.Asset
}

func mustListWorld(t *testing.T, e Engine, ctx context.Context) *listWorld {
	t.Helper()
	w := &listWorld{assetWorld: mustAssetWorld(t, e, ctx), dell: &qm.Reference{Name: "Dell"}, hp: &qm.Reference{Name: "HP"},
		byTag: map[string]*qm.Asset{}}
	for _, m := range []*qm.Reference{w.dell, w.hp} {
		if err := dataplane.NewReferenceStore(qm.Manufacturers, e, clock()).Create(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	models := dataplane.NewModelStore(e, clock())
	if _, err := models.UpdateModel(ctx, w.model.ID, qm.ModelUpdate{ManufacturerID: &w.dell.ID}); err != nil {
		t.Fatal(err)
	}
	w.elite = &qm.Model{Name: "EliteBook 840", CategoryID: w.category.ID, ManufacturerID: w.hp.ID}
	if err := models.CreateModel(ctx, w.elite); err != nil {
		t.Fatal(err)
	}
	s := dataplane.NewAssetStore(e, e.Identity(), clock())
	for _, a := range []*qm.Asset{
		// Warranty to 2025-03-02: January 31 plus a month overflows.
		{Tag: "LAP-1", Name: "Alice's laptop", Serial: "SN-0001", ModelID: w.model.ID, Notes: "bought at 50% off_sale",
			PurchaseDate: "2025-01-31", WarrantyMonths: ptr(1)},
		{Tag: "LAP-2", Name: "Bob", Serial: "XY", ModelID: w.elite.ID, PurchaseDate: "2025-02-01", WarrantyMonths: ptr(36)},
		{Tag: "LAP-3", Name: "Spare", Serial: "SN-0003", ModelID: w.model.ID, Notes: "bought at 5000 off sale"},
		{Tag: "DOCK-1", Name: "Dock", ModelID: w.elite.ID, PurchaseDate: "2024-02-29", WarrantyMonths: ptr(12)},
	} {
		if err := s.CreateAsset(ctx, a); err != nil {
			t.Fatalf("create asset %s: %v", a.Tag, err)
		}
		w.byTag[a.Tag] = a
	}
	return w
}

// mustTags returns the tags of every asset f lists, in tag order, checking
// that the total agrees.
func mustTags(t *testing.T, s qm.AssetService, ctx context.Context, f qm.AssetFilter) []string {
	t.Helper()
	f.Limit = 500
	p, err := s.Assets(ctx, f)
	if err != nil {
		t.Fatalf("list %+v: %v", f, err)
	}
	tags := []string{}
	for _, a := range p.Assets {
		tags = append(tags, a.Tag)
	}
	if p.Total != len(tags) {
		t.Fatalf("list %+v: total %d, but %d assets listed", f, p.Total, len(tags))
	}
	return tags
}

// TestAssetSearch checks text search of assets (AssetFilter.Q): a
// case-insensitive substring of the tag, name, serial, notes or model name,
// whatever its length, % and _ as themselves; kept up to date as assets and
// models change; confined to a department-bound principal's subtree; and
// never finding another tenant's assets.
func TestAssetSearch(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "search-a")
	_, ctxB := MustTenant(t, e, h.Tier, "search-b")
	a, b := mustListWorld(t, e, ctxA), mustListWorld(t, e, ctxB)
	s := dataplane.NewAssetStore(e, e.Identity(), clock())

	t.Run("Match", func(t *testing.T) {
		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"alice", []string{"LAP-1"}},
			{"  ALICE'S LAPTOP ", []string{"LAP-1"}}, // trimmed; case and spaces
			{"sn-000", []string{"LAP-1", "LAP-3"}},
			{"lap-", []string{"LAP-1", "LAP-2", "LAP-3"}},
			{"latitude 54", []string{"LAP-1", "LAP-3"}}, // the model's name
			{"elitebook", []string{"DOCK-1", "LAP-2"}},
			{"50% off", []string{"LAP-1"}}, // % is not a wildcard: "5000 off" does not match
			{"off_sale", []string{"LAP-1"}},
			{"f_s", []string{"LAP-1"}},
			{"XY", []string{"LAP-2"}}, // two characters: too short for trigrams
			{"_s", []string{"LAP-1"}},
			{"%", []string{"LAP-1"}},
			{"k", []string{"DOCK-1", "LAP-2"}}, // Dock; EliteBook
			{"Bob\nXY", []string{}},            // name and serial, but no one field
			{"nothing like it", []string{}},
		} {
			if got := mustTags(t, s, ctxA, qm.AssetFilter{Q: tc.q}); !slices.Equal(got, tc.want) {
				t.Errorf("search %q: got %v, want %v", tc.q, got, tc.want)
			}
		}
		// Search narrows the other filters, and pages like any list.
		if got := mustTags(t, s, ctxA, qm.AssetFilter{Q: "lap-", ModelID: a.model.ID}); !slices.Equal(got, []string{"LAP-1", "LAP-3"}) {
			t.Errorf("search with a model filter: got %v", got)
		}
		p, err := s.Assets(ctxA, qm.AssetFilter{Q: "lap-", Sort: "-tag", Limit: 2})
		if err != nil || p.Total != 3 || len(p.Assets) != 2 || p.Assets[0].Tag != "LAP-3" || p.Next == "" {
			t.Fatalf("first page: %+v, %v", p, err)
		}
		if p, err = s.Assets(ctxA, qm.AssetFilter{Q: "lap-", Sort: "-tag", Limit: 2, After: p.Next}); err != nil || p.Total != 3 ||
			len(p.Assets) != 1 || p.Assets[0].Tag != "LAP-1" || p.Next != "" {
			t.Fatalf("second page: %+v, %v", p, err)
		}
	})
	t.Run("FollowsChanges", func(t *testing.T) {
		x := &qm.Asset{Tag: "TMP-1", Name: "Quokka", ModelID: a.model.ID}
		if err := s.CreateAsset(ctxA, x); err != nil {
			t.Fatal(err)
		}
		if got := mustTags(t, s, ctxA, qm.AssetFilter{Q: "quokka"}); !slices.Equal(got, []string{"TMP-1"}) {
			t.Fatalf("new asset: got %v", got)
		}
		if _, err := s.UpdateAsset(ctxA, x.ID, qm.AssetUpdate{Name: ptr("Wombat"), ModelID: &a.elite.ID}); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string][]string{"quokka": {}, "wombat": {"TMP-1"}, "elitebook": {"DOCK-1", "LAP-2", "TMP-1"}} {
			if got := mustTags(t, s, ctxA, qm.AssetFilter{Q: q}); !slices.Equal(got, want) {
				t.Errorf("after update, search %q: got %v, want %v", q, got, want)
			}
		}
		if _, err := dataplane.NewModelStore(e, clock()).UpdateModel(ctxA, a.elite.ID, qm.ModelUpdate{Name: ptr("ProBook 450")}); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string][]string{"elitebook": {}, "probook": {"DOCK-1", "LAP-2", "TMP-1"}} {
			if got := mustTags(t, s, ctxA, qm.AssetFilter{Q: q}); !slices.Equal(got, want) {
				t.Errorf("after renaming the model, search %q: got %v, want %v", q, got, want)
			}
		}
		if got := mustTags(t, s, ctxB, qm.AssetFilter{Q: "elitebook"}); len(got) != 2 {
			t.Errorf("B's model of the same name was renamed with A's: B finds %v", got)
		}
		if err := s.DeleteAsset(ctxA, x.ID); err != nil {
			t.Fatal(err)
		}
		if got := mustTags(t, s, ctxA, qm.AssetFilter{Q: "wombat"}); len(got) != 0 {
			t.Errorf("deleted asset still found: %v", got)
		}
	})
	t.Run("DepartmentScope", func(t *testing.T) {
		north := &qm.Department{Name: "North"}
		if err := dataplane.NewDepartmentStore(e, clock()).CreateDepartment(ctxA, north); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateAsset(ctxA, a.byTag["LAP-1"].ID, qm.AssetUpdate{DepartmentID: &north.ID}); err != nil {
			t.Fatal(err)
		}
		confined := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "north@example.com",
			Role: qm.BuiltInRoles[1], DepartmentID: north.ID})
		for _, q := range []string{"sn-000", "sn"} { // through the index, and too short for it
			if got := mustTags(t, s, confined, qm.AssetFilter{Q: q}); !slices.Equal(got, []string{"LAP-1"}) {
				t.Errorf("confined to North, search %q: got %v, want only LAP-1", q, got)
			}
		}
	})
	t.Run("ManyMatches", func(t *testing.T) {
		// More matches than a page is read through the index for: the page
		// is read in the order of the sort instead, and must be the same.
		_, ctxM := MustTenant(t, e, h.Tier, "search-many")
		n := 0
		rep, err := s.Import(ctxM, func() (*qm.ImportRow, error) {
			if n++; n > 1200 {
				return nil, io.EOF
			}
			return &qm.ImportRow{Line: n, Asset: qm.Asset{Tag: fmt.Sprintf("BULK-%04d", n), Name: fmt.Sprintf("Bulk %d", n)},
				Model: "Bulk model", Category: "Laptops"}, nil
		}, qm.ImportOptions{})
		if err != nil || rep.Created != 1200 {
			t.Fatalf("import: %+v, %v", rep, err)
		}
		for q, want := range map[string][]string{
			"bulk":    {"BULK-1200", "BULK-1199", "BULK-1198"},
			"bulk 11": {"BULK-1199", "BULK-1198", "BULK-1197"}, // 111 matches
		} {
			var tags []string
			total, after := 0, ""
			for range 2 {
				p, err := s.Assets(ctxM, qm.AssetFilter{Q: q, Sort: "-tag", Limit: 2, After: after})
				if err != nil {
					t.Fatal(err)
				}
				for _, x := range p.Assets {
					tags = append(tags, x.Tag)
				}
				total, after = p.Total, p.Next
			}
			if wantTotal := map[string]int{"bulk": 1200, "bulk 11": 111}[q]; total != wantTotal || !slices.Equal(tags[:3], want) {
				t.Errorf("search %q: total %d, pages %v; want %d, starting %v", q, total, tags, wantTotal, want)
			}
		}
	})
	t.Run("Backfill", func(t *testing.T) {
		// Assets written before the migration that makes the text index
		// are found once it has run.
		i := slices.IndexFunc(h.Migrations, func(m schema.Migration) bool { return strings.HasSuffix(m.Name, "_asset_search") })
		if i < 0 {
			t.Fatal("no asset_search migration")
		}
		st := h.NewStorage(t)
		older, err := st.Open(t, h.Migrations[:i])
		if err != nil {
			t.Fatal(err)
		}
		tn, ctxOld := MustTenant(t, older, h.Tier, "search-old")
		w := mustAssetWorld(t, older, ctxOld)
		old := &qm.Asset{Tag: "OLD-1", Name: "Heirloom", Serial: "SN-OLD", ModelID: w.model.ID}
		if err := dataplane.NewAssetStore(older, older.Identity(), clock()).CreateAsset(ctxOld, old); err != nil {
			t.Fatal(err)
		}
		newer, err := st.Open(t, h.Migrations)
		if err != nil {
			t.Fatal(err)
		}
		if rep, err := newer.Tenants().MigrateTenants(context.Background(), len(h.Migrations), 1, nil); err != nil || len(rep.Failures) != 0 {
			t.Fatalf("migrate: %+v, %v", rep, err)
		}
		s := dataplane.NewAssetStore(newer, newer.Identity(), clock())
		for _, q := range []string{"heirloom", "sn-old", "latitude"} {
			if got := mustTags(t, s, scoped(tn), qm.AssetFilter{Q: q}); !slices.Equal(got, []string{"OLD-1"}) {
				t.Errorf("search %q after migrating: got %v, want OLD-1", q, got)
			}
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		// B holds assets that match every search below: each tenant finds
		// its own, never the other's.
		for _, q := range []string{"alice", "sn-0001", "50% off", "latitude", "XY", "_s"} {
			for _, own := range []struct {
				ctx context.Context
				w   *listWorld
			}{{ctxA, a}, {ctxB, b}} {
				p, err := s.Assets(own.ctx, qm.AssetFilter{Q: q, Limit: 500})
				if err != nil || p.Total == 0 || p.Total != len(p.Assets) {
					t.Fatalf("search %q: %+v, %v", q, p, err)
				}
				for _, x := range p.Assets {
					if mine := own.w.byTag[x.Tag]; mine == nil || mine.ID != x.ID {
						t.Errorf("search %q found %s of another tenant", q, x.Tag)
					}
				}
			}
		}
	})
}

// TestAssetFilters checks the filters by manufacturer, holder and warranty
// end, their bad values, and that they never reach another tenant.
func TestAssetFilters(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	tnA, ctxA := MustTenant(t, e, h.Tier, "filter-a")
	tnB, ctxB := MustTenant(t, e, h.Tier, "filter-b")
	a, b := mustListWorld(t, e, ctxA), mustListWorld(t, e, ctxB)
	s := dataplane.NewAssetStore(e, e.Identity(), clock())
	alice := mustMember(t, e, tnA, "alice@filter-a.example")
	bob := mustMember(t, e, tnB, "bob@filter-b.example")
	room := &qm.Location{Name: "Store room"}
	if err := dataplane.NewLocationStore(e, clock()).CreateLocation(ctxA, room); err != nil {
		t.Fatal(err)
	}
	for _, co := range []struct {
		w   *listWorld
		ctx context.Context
		tag string
		to  qm.CheckOut
	}{
		{a, ctxA, "LAP-1", qm.CheckOut{HolderType: qm.HolderUser, HolderID: alice}},
		{a, ctxA, "LAP-2", qm.CheckOut{HolderType: qm.HolderLocation, HolderID: room.ID}},
		{a, ctxA, "DOCK-1", qm.CheckOut{HolderType: qm.HolderAsset, HolderID: a.byTag["LAP-3"].ID}},
		{b, ctxB, "LAP-1", qm.CheckOut{HolderType: qm.HolderUser, HolderID: bob}},
	} {
		if _, err := s.CheckOut(co.ctx, co.w.byTag[co.tag].ID, co.to); err != nil {
			t.Fatalf("check out %s: %v", co.tag, err)
		}
	}
	unknown := sqlstore.NewID()

	t.Run("OK", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			f    qm.AssetFilter
			want []string
		}{
			{"Manufacturer", qm.AssetFilter{ManufacturerID: a.dell.ID}, []string{"LAP-1", "LAP-3"}},
			{"OtherManufacturer", qm.AssetFilter{ManufacturerID: a.hp.ID}, []string{"DOCK-1", "LAP-2"}},
			{"ManufacturerAndSearch", qm.AssetFilter{ManufacturerID: a.hp.ID, Q: "bob"}, []string{"LAP-2"}},
			{"UnknownManufacturer", qm.AssetFilter{ManufacturerID: unknown}, []string{}},
			{"MalformedManufacturer", qm.AssetFilter{ManufacturerID: "dell"}, []string{}},
			{"HeldByUsers", qm.AssetFilter{HolderType: qm.HolderUser}, []string{"LAP-1"}},
			{"HeldByUser", qm.AssetFilter{HolderType: qm.HolderUser, HolderID: alice}, []string{"LAP-1"}},
			{"HeldByLocation", qm.AssetFilter{HolderType: qm.HolderLocation, HolderID: room.ID}, []string{"LAP-2"}},
			{"HeldByAsset", qm.AssetFilter{HolderType: qm.HolderAsset, HolderID: a.byTag["LAP-3"].ID}, []string{"DOCK-1"}},
			{"HolderOfOtherKind", qm.AssetFilter{HolderType: qm.HolderLocation, HolderID: alice}, []string{}},
			{"UnknownHolder", qm.AssetFilter{HolderType: qm.HolderUser, HolderID: unknown}, []string{}},
			// Ends 2025-03-02 (LAP-1), 2028-01-31 (LAP-2), 2025-02-28 (DOCK-1).
			{"WarrantyBefore", qm.AssetFilter{WarrantyBefore: "2025-03-03"}, []string{"DOCK-1", "LAP-1"}},
			{"WarrantyBeforeIsStrict", qm.AssetFilter{WarrantyBefore: "2025-03-02"}, []string{"DOCK-1"}},
			{"WarrantyBeforeLater", qm.AssetFilter{WarrantyBefore: "2030-01-01"}, []string{"DOCK-1", "LAP-1", "LAP-2"}},
			{"WarrantyBeforeAll", qm.AssetFilter{WarrantyBefore: "2000-01-01"}, []string{}},
			{"Together", qm.AssetFilter{ManufacturerID: a.hp.ID, HolderType: qm.HolderAsset, WarrantyBefore: "2026-01-01"}, []string{"DOCK-1"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := mustTags(t, s, ctxA, tc.f); !slices.Equal(got, tc.want) {
					t.Errorf("got %v, want %v", got, tc.want)
				}
			})
		}
		for _, x := range []*qm.Asset{a.byTag["LAP-1"], a.byTag["LAP-2"], a.byTag["DOCK-1"]} {
			if got := mustTags(t, s, ctxA, qm.AssetFilter{WarrantyBefore: x.WarrantyEnd()}); slices.Contains(got, x.Tag) {
				t.Errorf("%s ends its warranty on %s, yet is listed as ending before it", x.Tag, x.WarrantyEnd())
			}
		}
	})
	t.Run("ErrBadRequest", func(t *testing.T) {
		for _, f := range []qm.AssetFilter{
			{WarrantyBefore: "2025-13-01"},
			{WarrantyBefore: "soon"},
			{WarrantyBefore: "01/02/2025"},
			{HolderType: "vehicle"},
			{HolderType: "User", HolderID: alice},
			{HolderID: alice}, // needs a holder type
		} {
			_, err := s.Assets(ctxA, f)
			wantCode(t, err, qm.EBadRequest)
		}
	})
	t.Run("OtherTenant", func(t *testing.T) {
		for _, f := range []qm.AssetFilter{
			{ManufacturerID: b.dell.ID},
			{HolderType: qm.HolderUser, HolderID: bob},
		} {
			if got := mustTags(t, s, ctxA, f); len(got) != 0 {
				t.Errorf("A's list with B's ids %+v: got %v", f, got)
			}
		}
		p, err := s.Assets(ctxB, qm.AssetFilter{HolderType: qm.HolderUser, Limit: 500})
		if err != nil || p.Total != 1 || p.Assets[0].ID != b.byTag["LAP-1"].ID {
			t.Fatalf("B's assets held by users: %+v, %v; want B's LAP-1 alone", p, err)
		}
	})
}

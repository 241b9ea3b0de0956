package storetest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

const importCSV = `Asset Tag,Item Name,Category,Manufacturer,Model Name,Model Number,Serial Number,Location,Supplier,Purchase Date,Purchase Cost,Warranty Months,Status,Company
IMP-1,Alice's laptop,Laptops,Dell,Latitude 5440,5440,SN-1,HQ,Acme Supplies,2025-01-31,"$1,299.00",36,Ready to deploy,Logistics
IMP-2,Bob's laptop,Laptops,Dell,Latitude 5440,5440,SN-2,HQ,,31/01/2025,1299,,,Logistics
,Spare phone,Phones,Apple,iPhone 15,,SN-3,Depot,,,,,,
`

// importFile imports csv into the tenant in ctx, as every edge does.
func importFile(ctx context.Context, s *dataplane.AssetStore, csv string, opts qm.ImportOptions) (*qm.ImportReport, error) {
	r, err := assetcsv.NewReader(strings.NewReader(csv), opts)
	if err != nil {
		return nil, err
	}
	return r.Import(ctx, s)
}

// TestImport checks importing assets from CSV: dry runs, all-or-nothing,
// skipping bad rows, updating by tag, and names of other tenants never
// linked.
func TestImport(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "import-a")
	_, ctxB := MustTenant(t, e, h.Tier, "import-b")
	s := dataplane.NewAssetStore(e, e.Identity(), clock())
	bCategory := &qm.Reference{Name: "Laptops"}
	if err := dataplane.NewReferenceStore(qm.Categories, e, clock()).Create(ctxB, bCategory); err != nil {
		t.Fatal(err)
	}
	run := func(csv string, opts qm.ImportOptions) *qm.ImportReport {
		t.Helper()
		rep, err := importFile(ctxA, s, csv, opts)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	count := func() int {
		t.Helper()
		p, err := s.Assets(ctxA, qm.AssetFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return p.Total
	}

	t.Run("DryRun", func(t *testing.T) {
		rep := run(importCSV, qm.ImportOptions{DryRun: true, CompanyAsDepartment: true})
		if rep.Rows != 3 || rep.Created != 3 || rep.Failed != 0 || rep.Committed || rep.Made["models"] != 2 || rep.Made["categories"] != 2 ||
			rep.Made["locations"] != 2 || rep.Made["departments"] != 1 {
			t.Fatalf("got %+v", rep)
		}
		if n := count(); n != 0 {
			t.Fatalf("a dry run wrote %d assets", n)
		}
	})
	t.Run("AllOrNothing", func(t *testing.T) {
		bad := importCSV + "IMP-1,Again,Laptops,Dell,Latitude 5440,5440,SN-9,HQ,,31/02/2025,,,,\n"
		rep := run(bad, qm.ImportOptions{})
		if rep.Committed || rep.Failed != 1 || len(rep.Problems) != 1 || rep.Problems[0].Line != 5 || len(rep.Problems[0].Errors) != 2 {
			t.Fatalf("got %+v", rep)
		}
		if n := count(); n != 0 {
			t.Fatalf("a failed import wrote %d assets", n)
		}
	})
	t.Run("SkipBadRows", func(t *testing.T) {
		bad := importCSV + "IMP-9,Broken,Laptops,Dell,Latitude 5440,5440,SN-9,HQ,,,lots,,,\n"
		rep := run(bad, qm.ImportOptions{SkipBadRows: true})
		if !rep.Committed || rep.Created != 3 || rep.Failed != 1 || rep.Problems[0].Tag != "IMP-9" {
			t.Fatalf("got %+v", rep)
		}
		p, err := s.Assets(ctxA, qm.AssetFilter{Q: "alice"})
		if err != nil || p.Total != 1 || *p.Assets[0].CostCents != 129900 || p.Assets[0].PurchaseDate != "2025-01-31" || p.Assets[0].DepartmentID != "" {
			t.Fatalf("imported asset: %+v, %v", p, err)
		}
	})
	t.Run("UpdatesByTag", func(t *testing.T) {
		// Each row changes another column: the batch writes both.
		rep := run("Asset Tag,Model Name,Category,Item Name,Purchase Cost\nIMP-1,Latitude 5440,Laptops,Renamed,\nIMP-2,Latitude 5440,Laptops,,$5\n", qm.ImportOptions{})
		if !rep.Committed || rep.Updated != 2 || rep.Created != 0 {
			t.Fatalf("got %+v", rep)
		}
		p, _ := s.Assets(ctxA, qm.AssetFilter{Q: "IMP-1"})
		if p.Total != 1 || p.Assets[0].Name != "Renamed" || p.Assets[0].Serial != "SN-1" || *p.Assets[0].CostCents != 129900 {
			t.Fatalf("after update: %+v", p.Assets)
		}
		p, _ = s.Assets(ctxA, qm.AssetFilter{Q: "IMP-2"})
		if p.Total != 1 || p.Assets[0].Name != "Bob's laptop" || *p.Assets[0].CostCents != 500 || p.Assets[0].Currency != "USD" {
			t.Fatalf("after update: %+v", p.Assets)
		}
	})
	t.Run("ManyBatches", func(t *testing.T) {
		_, ctx := MustTenant(t, e, h.Tier, "import-many")
		var csv strings.Builder
		csv.WriteString("Asset Tag,Model Name,Category,Location,Purchase Cost\n")
		const rows = 1203 // three batches, the last one short
		for i := range rows {
			tag, cost, model := fmt.Sprintf("M-%04d", i), "12.50", "Latitude"
			if i >= 800 {
				model = "Precision" // made while the batches before are written
			}
			switch i {
			case 10, 1200, 1201, 1202:
				tag = "" // numbered by the import: ASSET-000001 to 4
			case 600:
				tag = "ASSET-000001" // given to row 10 already
			case 700:
				tag = "M-0003" // a duplicate, in another batch than the first
			case 1100:
				cost = "lots"
			}
			fmt.Fprintf(&csv, "%s,%s,Laptops,Site %d,%s\n", tag, model, i/300, cost)
		}
		rep, err := importFile(ctx, s, csv.String(), qm.ImportOptions{SkipBadRows: true})
		if err != nil || !rep.Committed || rep.Rows != rows || rep.Created != rows-3 || rep.Failed != 3 ||
			rep.Made["models"] != 2 || rep.Made["locations"] != 5 {
			t.Fatalf("got %+v, %v; want %d created, 3 failed, 2 models and 5 locations made", rep, err, rows-3)
		}
		if p := rep.Problems; len(p) != 3 || p[0].Line != 602 || p[1].Line != 702 || p[1].Tag != "M-0003" || p[2].Line != 1102 {
			t.Fatalf("problems: got %+v, want lines 602, 702 and 1102, in order", p)
		}
		for _, tag := range []string{"M-0000", "M-0499", "M-0500", "M-1199", "ASSET-000001", "ASSET-000004"} {
			p, err := s.Assets(ctx, qm.AssetFilter{Q: tag})
			if err != nil || p.Total != 1 || p.Assets[0].Tag != tag || *p.Assets[0].CostCents != 1250 {
				t.Fatalf("asset %s: got %+v, %v", tag, p, err)
			}
			log, err := dataplane.NewAuditStore(e).AuditLog(ctx, qm.AuditFilter{ResourceID: p.Assets[0].ID})
			if err != nil || len(log) != 1 || log[0].Action != "asset.import" || log[0].Changes["tag"].After != tag || log[0].Changes["tag"].Before != nil {
				t.Fatalf("audit of %s: got %+v, %v; want its import", tag, log, err)
			}
		}
	})
	t.Run("GivenTagsAvoidTheFile", func(t *testing.T) {
		_, ctx := MustTenant(t, e, h.Tier, "import-tags")
		csv := "Asset Tag,Model Name,Category\nASSET-000001,Latitude,Laptops\n,Latitude,Laptops\n,Latitude,Laptops\nASSET-000003,Latitude,Laptops\n"
		rep, err := importFile(ctx, s, csv, qm.ImportOptions{})
		if err != nil || rep.Created != 4 || rep.Failed != 0 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		p, err := s.Assets(ctx, qm.AssetFilter{})
		if err != nil || p.Total != 4 || p.Assets[0].Tag != "ASSET-000001" || p.Assets[1].Tag != "ASSET-000002" ||
			p.Assets[2].Tag != "ASSET-000003" || p.Assets[3].Tag != "ASSET-000004" {
			t.Fatalf("got %+v, %v; want the rows without a tag numbered around those of the file", p, err)
		}
		csv = "Asset Tag,Model Name,Category\n,Latitude,Laptops\nasset-000005,Latitude,Laptops\n"
		if rep, err = importFile(ctx, s, csv, qm.ImportOptions{}); err != nil || rep.Created != 2 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		for _, tag := range []string{"ASSET-000006", "asset-000005"} {
			if p, err := s.Assets(ctx, qm.AssetFilter{Q: tag}); err != nil || p.Total != 1 || p.Assets[0].Tag != tag {
				t.Fatalf("got %+v, %v; want %s: ASSET-000006 given, asset-000005 kept", p, err, tag)
			}
		}
	})
	t.Run("DepartmentScope", func(t *testing.T) {
		_, ctx := MustTenant(t, e, h.Tier, "import-scope")
		depts := dataplane.NewDepartmentStore(e, clock())
		north, south := &qm.Department{Name: "North"}, &qm.Department{Name: "South"}
		for _, d := range []*qm.Department{north, south} {
			if err := depts.CreateDepartment(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
		depot := &qm.Department{Name: "Depot", ParentID: north.ID}
		if err := depts.CreateDepartment(ctx, depot); err != nil {
			t.Fatal(err)
		}
		csv := "Asset Tag,Model Name,Category,Company\nS-1,Latitude,Laptops,South\nN-1,Latitude,Laptops,Depot\n"
		if rep, err := importFile(ctx, s, csv, qm.ImportOptions{CompanyAsDepartment: true}); err != nil || rep.Created != 2 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		scoped := tenancy.WithPrincipal(ctx, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "north@example.com",
			Role: qm.BuiltInRoles[1], DepartmentID: north.ID})
		csv = "Asset Tag,Model Name,Category,Company,Item Name\nN-1,Latitude,Laptops,,Renamed\nS-1,Latitude,Laptops,,Taken\n" +
			"N-2,Latitude,Laptops,South,Moved\nN-3,Latitude,Laptops,Depot,Placed\nN-4,Latitude,Laptops,,Mine\n"
		rep, err := importFile(scoped, s, csv, qm.ImportOptions{CompanyAsDepartment: true, SkipBadRows: true})
		if err != nil || rep.Updated != 1 || rep.Created != 2 || rep.Failed != 2 || rep.Problems[0].Line != 3 || rep.Problems[1].Line != 4 {
			t.Fatalf("got %+v, %v; want S-1 and the South row refused", rep, err)
		}
		p, err := s.Assets(scoped, qm.AssetFilter{})
		if err != nil || p.Total != 3 {
			t.Fatalf("north sees %+v, %v; want N-1, N-3 and N-4", p, err)
		}
		for _, a := range p.Assets {
			if want := map[string]string{"N-1": depot.ID, "N-3": depot.ID, "N-4": north.ID}[a.Tag]; a.DepartmentID != want {
				t.Errorf("%s is in %q, want %q", a.Tag, a.DepartmentID, want)
			}
		}
		// Checked out to an asset of another department: refused as if
		// that asset did not exist, as CheckOut refuses it.
		rep, err = importFile(scoped, s, "Asset Tag,Model Name,Category,Checked Out To\nN-5,Latitude,Laptops,asset: S-1\nN-6,Latitude,Laptops,asset: S-404\n",
			qm.ImportOptions{SkipBadRows: true})
		if err != nil || rep.Created != 0 || rep.Failed != 2 {
			t.Fatalf("got %+v, %v; want both rows refused", rep, err)
		}
		if got, want := rep.Problems[0].Errors, rep.Problems[1].Errors; len(got) != 1 || len(want) != 1 || strings.ReplaceAll(got[0], "S-1", "S-404") != want[0] {
			t.Fatalf("an asset outside the department is told apart from none: %q, %q", got, want)
		}
	})
	t.Run("AssetHolders", func(t *testing.T) {
		_, ctx := MustTenant(t, e, h.Tier, "import-holders")
		csv := "Asset Tag,Model Name,Category\nH-1,Dock,Docks\nH-2,Dock,Docks\nH-3,Dock,Docks\n"
		if rep, err := importFile(ctx, s, csv, qm.ImportOptions{}); err != nil || rep.Created != 3 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		// H-2 is held by H-1, H-3 by H-2: H-1 may hold neither itself nor
		// what it holds, however far down.
		csv = "Asset Tag,Model Name,Category,Checked Out To\nH-2,Dock,Docks,asset: H-1\nH-3,Dock,Docks,asset: H-2\n"
		if rep, err := importFile(ctx, s, csv, qm.ImportOptions{}); err != nil || rep.Updated != 2 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		for _, holder := range []string{"H-1", "H-2", "H-3"} {
			rep, err := importFile(ctx, s, "Asset Tag,Model Name,Category,Checked Out To\nH-1,Dock,Docks,asset: "+holder+"\n", qm.ImportOptions{})
			if err != nil || rep.Committed || rep.Failed != 1 || !strings.Contains(strings.Join(rep.Problems[0].Errors, " "), "hold") {
				t.Errorf("H-1 checked out to %s: %+v, %v; want it refused as a loop", holder, rep, err)
			}
		}
	})
	t.Run("CustomFieldsAndHolders", func(t *testing.T) {
		fields := dataplane.NewFieldStore(e, clock())
		ram := &qm.CustomField{Name: "RAM (GB)", Type: qm.FieldNumber, Required: true}
		barcode := &qm.CustomField{Name: "Barcode", Type: qm.FieldText, Unique: true}
		for _, f := range []*qm.CustomField{ram, barcode} {
			if err := fields.CreateField(ctxA, f); err != nil {
				t.Fatal(err)
			}
		}
		servers := &qm.Reference{Name: "Servers"}
		if err := dataplane.NewReferenceStore(qm.Categories, e, clock()).Create(ctxA, servers); err != nil {
			t.Fatal(err)
		}
		if err := fields.CreateFieldSet(ctxA, &qm.FieldSet{Name: "Server", FieldIDs: []string{ram.ID, barcode.ID}, CategoryIDs: []string{servers.ID}}); err != nil {
			t.Fatal(err)
		}
		user := mustMember(t, e, ta, "ops@import-a.example")
		csv := "Asset Tag,Model Name,Category,RAM (GB),barcode,Colour,Checkout Type,Checked Out To: Email,Checked Out To: Location\n" +
			"SRV-1,PowerEdge,Servers,64,B-1,red,user,ops@import-a.example,\n" + // line 2: good, checked out to a member
			"SRV-2,PowerEdge,Servers,lots,B-2,,,,\n" + // 3: RAM not a number
			"SRV-3,PowerEdge,Servers,,B-3,,,,\n" + // 4: RAM required
			"SRV-4,PowerEdge,Servers,32,B-1,,,,\n" + // 5: barcode already in the file
			"SRV-5,PowerEdge,Servers,16,B-5,,user,nobody@example.com,\n" + // 6: no such member: imported unassigned
			"SRV-6,PowerEdge,Servers,16,B-6,,location,,Rack room\n" // 7: good, checked out to a new location
		rep := run(csv, qm.ImportOptions{DryRun: true})
		lines := map[int]bool{}
		for _, p := range rep.Problems {
			lines[p.Line] = true
		}
		if rep.Failed != 3 || !lines[3] || !lines[4] || !lines[5] || len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], `"Colour"`) ||
			!strings.Contains(rep.Warnings[1], `"nobody@example.com"`) || !strings.Contains(rep.Warnings[1], "assets of line 6 are imported unassigned") {
			t.Fatalf("dry run: %+v", rep)
		}
		if len(rep.Changes) != 3 || rep.Changes[0].Line != 2 || rep.Changes[0].Action != "create" {
			t.Fatalf("changes: %+v", rep.Changes)
		}
		rep = run(csv, qm.ImportOptions{SkipBadRows: true})
		if !rep.Committed || rep.Created != 3 || len(rep.Unassigned) != 1 || rep.Unassigned[0].Lines[0] != 6 {
			t.Fatalf("import: %+v", rep)
		}
		if got, err := s.Assets(ctxA, qm.AssetFilter{Q: "SRV-5"}); err != nil || got.Total != 1 || got.Assets[0].HolderType != "" {
			t.Fatalf("the asset of someone who is not a member: %+v, %v; want it imported unassigned", got, err)
		}
		page, err := s.Assets(ctxA, qm.AssetFilter{Fields: map[string]string{"barcode": "B-1"}})
		if err != nil || page.Total != 1 {
			t.Fatalf("by barcode: %+v, %v", page, err)
		}
		a := page.Assets[0]
		if a.Fields["ram_gb"] != 64.0 || a.HolderType != qm.HolderUser || a.HolderID != user || a.CheckedOutAt == nil {
			t.Fatalf("imported asset: %+v", a)
		}
		// A second file updates by tag: a value the first set stays unless given.
		rep = run("Asset Tag,Model Name,Category,RAM (GB)\nSRV-1,PowerEdge,Servers,128\n", qm.ImportOptions{})
		if !rep.Committed || rep.Updated != 1 {
			t.Fatalf("update: %+v", rep)
		}
		if got, _ := s.Asset(ctxA, a.ID); got.Fields["ram_gb"] != 128.0 || got.Fields["barcode"] != "B-1" {
			t.Fatalf("after update: %v", got.Fields)
		}
	})
	t.Run("RealExport", func(t *testing.T) {
		_, ctx := MustTenant(t, e, h.Tier, "import-real")
		read := func(opts qm.ImportOptions) (*qm.ImportReport, error) {
			t.Helper()
			f, err := os.Open(RealExport())
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := assetcsv.NewReader(f, opts)
			if err != nil {
				return nil, err
			}
			return r.Import(ctx, s)
		}
		if _, err := read(qm.ImportOptions{}); qm.ErrorCode(err) != qm.EBadRequest || !strings.Contains(err.Error(), `line 2, column 1 ("Full Name") is not UTF-8`) {
			t.Fatalf("without its encoding: got %v, want the first line that is not UTF-8 named", err)
		}
		rep, err := read(RealExportOptions)
		if err != nil {
			t.Fatal(err)
		}
		CheckRealExport(t, rep)
		p, err := s.Assets(ctx, qm.AssetFilter{Sort: "tag"})
		if err != nil || p.Total != 7 {
			t.Fatalf("got %+v, %v; want 7 assets", p, err)
		}
		if a := p.Assets[0]; a.Tag+" "+a.Name+" "+a.PurchaseDate != RealExportAsset || a.HolderType != "" {
			t.Fatalf("got %+v, want %s, unassigned", a, RealExportAsset)
		}
		if a := p.Assets[1]; a.Notes != "Screen cracked –\nsent for repair" {
			t.Fatalf("notes across lines: got %q", a.Notes)
		}
		labels, err := dataplane.NewReferenceStore(qm.StatusLabels, e, clock()).List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]string{}
		for _, l := range labels {
			kinds[l.Name] = l.Kind
		}
		if kinds["Lost"] != qm.StatusUndeployable || kinds["Undeployable"] != qm.StatusUndeployable || kinds["Pending Diagnostics"] != qm.StatusPending {
			t.Fatalf("status labels made: %v", kinds)
		}
	})
	t.Run("InviteMissingUsers", func(t *testing.T) { testInviteMissingUsers(t, h, e) })
	t.Run("OtherTenantsNamesNotLinked", func(t *testing.T) {
		cats, err := dataplane.NewReferenceStore(qm.Categories, e, clock()).List(ctxA)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cats {
			if c.ID == bCategory.ID {
				t.Fatal("A's import linked B's category")
			}
		}
		if p, _ := s.Assets(ctxB, qm.AssetFilter{}); p.Total != 0 {
			t.Fatalf("A's import wrote %d assets into B", p.Total)
		}
	})
}

package storetest

import (
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore"
)

const importCSV = `Asset Tag,Item Name,Category,Manufacturer,Model Name,Model Number,Serial Number,Location,Supplier,Purchase Date,Purchase Cost,Warranty Months,Status,Company
IMP-1,Alice's laptop,Laptops,Dell,Latitude 5440,5440,SN-1,HQ,Acme Supplies,2025-01-31,"$1,299.00",36,Ready to deploy,Logistics
IMP-2,Bob's laptop,Laptops,Dell,Latitude 5440,5440,SN-2,HQ,,31/01/2025,1299,,,Logistics
,Spare phone,Phones,Apple,iPhone 15,,SN-3,Depot,,,,,,
`

// TestImport checks importing assets from CSV: dry runs, all-or-nothing,
// skipping bad rows, updating by tag, and names of other tenants never
// linked.
func TestImport(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "import-a")
	_, ctxB := MustTenant(t, e, h.Tier, "import-b")
	s := sqlstore.NewAssetStore(e, e.Identity(), clock())
	bCategory := &qm.Reference{Name: "Laptops"}
	if err := sqlstore.NewReferenceStore(qm.Categories, e, clock()).Create(ctxB, bCategory); err != nil {
		t.Fatal(err)
	}
	run := func(csv string, opts qm.ImportOptions) *qm.ImportReport {
		t.Helper()
		r, err := assetcsv.NewReader(strings.NewReader(csv))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := s.Import(ctxA, r.Next, opts)
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
		bad := importCSV + "IMP-1,Again,Laptops,Dell,Latitude 5440,5440,SN-9,HQ,,03/04/2025,,,,\n"
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
		rep := run("Asset Tag,Model Name,Category,Item Name\nIMP-1,Latitude 5440,Laptops,Renamed\n", qm.ImportOptions{})
		if !rep.Committed || rep.Updated != 1 || rep.Created != 0 {
			t.Fatalf("got %+v", rep)
		}
		p, _ := s.Assets(ctxA, qm.AssetFilter{Q: "IMP-1"})
		if p.Total != 1 || p.Assets[0].Name != "Renamed" || p.Assets[0].Serial != "SN-1" {
			t.Fatalf("after update: %+v", p.Assets)
		}
	})
	t.Run("OtherTenantsNamesNotLinked", func(t *testing.T) {
		cats, err := sqlstore.NewReferenceStore(qm.Categories, e, clock()).List(ctxA)
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

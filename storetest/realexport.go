package storetest

import (
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

// RealExport is the path of a file as an old Excel for Mac saves a
// Snipe-IT export: CR-only line endings, Mac Roman bytes, US dates with
// two-digit years (the first, 4/5/16, ambiguous on its own), a multi-line
// cell, status labels a new tenant lacks (Lost, Pending Diagnostics,
// Undeployable), a Company and a Full Name column, and assets checked out
// to people who are not members. It imports with the encoding macintosh
// and no other option; CheckRealExport checks the report.
func RealExport() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "snipe-it-mac-roman.csv")
}

// RealExportOptions are the options RealExport imports with.
var RealExportOptions = qm.ImportOptions{Encoding: "macintosh"}

// CheckRealExport checks the report of importing RealExport into a new
// tenant: every row created, the three status labels made, and each
// problem reported once: one warning naming the columns not imported, one
// for each person who is not a member, naming their lines.
func CheckRealExport(t testing.TB, rep *qm.ImportReport) {
	t.Helper()
	if !rep.Committed || rep.Rows != 7 || rep.Created != 7 || rep.Failed != 0 || rep.Made["status_labels"] != 3 || rep.Made["locations"] != 2 {
		t.Fatalf("got %+v; want 7 rows created, 3 status labels and 2 locations made", rep)
	}
	want := []string{
		`columns not imported: "Full Name", "Company" (the company-as-department option reads it as the department)`,
		`Checked Out To "zbronte@contractors.example": no member of the tenant has that email or user name, so the assets of lines 2, 6 are imported unassigned`,
		`Checked Out To "jgross@contractors.example": no member of the tenant has that email or user name, so the assets of line 3 are imported unassigned`,
		`Checked Out To "apereira@contractors.example": no member of the tenant has that email or user name, so the assets of lines 7, 8 are imported unassigned`,
	}
	if len(rep.Warnings) != len(want) {
		t.Fatalf("warnings: got %q, want %d", rep.Warnings, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(rep.Warnings[i], w) {
			t.Fatalf("warning %d: got %q, want %q", i, rep.Warnings[i], w)
		}
	}
	if !slices.Equal(rep.IgnoredColumns, []string{"Full Name", "Company"}) {
		t.Fatalf("ignored columns: got %q", rep.IgnoredColumns)
	}
}

// RealExportAsset is how the file's first row reads once imported: its
// text decoded from Mac Roman, its date read month first.
const RealExportAsset = "MR-0001 Zoë’s laptop 2016-04-05"

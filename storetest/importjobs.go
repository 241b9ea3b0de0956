package storetest

import (
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestImportJobs checks the record of background imports, with a
// different-tenant case for each method.
func TestImportJobs(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "job-a")
	_, ctxB := MustTenant(t, e, h.Tier, "job-b")
	s := dataplane.NewImportJobStore(e, e.Tenants(), clock())
	j := &qm.ImportJob{FileName: "laptops.csv", Options: qm.ImportOptions{SkipBadRows: true}, Bytes: 1234, Node: "n1"}
	if err := s.StartImportJob(ctxA, j); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ImportJob(ctxA, j.ID); err != nil || got.Status != qm.ImportRunning || !got.Options.SkipBadRows || got.Bytes != 1234 || got.Report != nil {
		t.Fatalf("running job: %+v, %v", got, err)
	}
	// The node running the job tells how far it has come; any node (here
	// another store on the same databases) reads it, and B never does.
	j.BytesRead, j.RowsRead = 600, 3
	if err := s.ReportProgress(ctxA, j); err != nil {
		t.Fatal(err)
	}
	other := dataplane.NewImportJobStore(e, e.Tenants(), clock())
	if got, err := other.ImportJob(ctxA, j.ID); err != nil || got.BytesRead != 600 || got.RowsRead != 3 {
		t.Fatalf("another node reads the running job as %+v, %v; want 600 bytes and 3 rows read", got, err)
	}
	if js, err := other.ImportJobs(ctxA); err != nil || len(js) != 1 || js[0].BytesRead != 600 {
		t.Fatalf("another node lists %+v, %v", js, err)
	}
	if err := s.ReportProgress(ctxB, &qm.ImportJob{ID: j.ID, BytesRead: 1, RowsRead: 1}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ImportJob(ctxA, j.ID); got.BytesRead != 600 {
		t.Fatalf("B's report of a job of the same id reached A's: %+v", got)
	}
	j.Status, j.RowsRead = qm.ImportDone, 7
	j.Report = &qm.ImportReport{Rows: 7, Created: 6, Failed: 1, Committed: true, Problems: []qm.ImportProblem{{Line: 3, Errors: []string{"Model is empty"}}},
		Invitations: []qm.ImportInvitation{{Email: "new@example.com", Lines: []int{2}, Assets: 1, Link: "/invite/qmi_secret"}}}
	if err := s.FinishImportJob(ctxA, j); err != nil {
		t.Fatal(err)
	}
	got, err := s.ImportJob(ctxA, j.ID)
	if err != nil || got.Status != qm.ImportDone || got.RowsRead != 7 || got.BytesRead != 1234 || got.FinishedAt == nil ||
		got.Report.Created != 6 || got.Report.Problems[0].Line != 3 {
		t.Fatalf("finished job: %+v, %v", got, err)
	}
	// A link is a secret shown once; a job's report is kept, for anyone
	// who may read assets.
	if invs := got.Report.Invitations; len(invs) != 1 || invs[0].Email != "new@example.com" || invs[0].Link != "" {
		t.Fatalf("invitations kept: got %+v, want the invitation without its link", invs)
	}
	if js, err := s.ImportJobs(ctxA); err != nil || len(js) != 1 || js[0].ID != j.ID {
		t.Fatalf("jobs: %v, %v", js, err)
	}
	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.ImportJob(ctxB, j.ID)
		wantCode(t, err, qm.ENotFound)
		if js, err := s.ImportJobs(ctxB); err != nil || len(js) != 0 {
			t.Fatalf("B lists %v, %v", js, err)
		}
		// B cannot finish A's job.
		wantCode(t, s.FinishImportJob(ctxB, &qm.ImportJob{ID: j.ID, Status: qm.ImportFailed, Error: "hijacked"}), qm.ENotFound)
		if got, _ := s.ImportJob(ctxA, j.ID); got.Status != qm.ImportDone {
			t.Fatalf("B changed A's job: %+v", got)
		}
	})
}

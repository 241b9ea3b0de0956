package storetest

import (
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// TestDepreciations checks depreciation schedules and models naming them,
// with a different-tenant case for each method.
func TestDepreciations(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "dep-a")
	_, ctxB := MustTenant(t, e, h.Tier, "dep-b")
	s := sqlstore.NewDepreciationStore(e, clock())
	d := &qm.Depreciation{Name: "Laptops, 3 years", Months: 36}
	if err := s.CreateDepreciation(ctxA, d); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateDepreciation(ctxA, &qm.Depreciation{Name: "Laptops, 3 years", Months: 12}), qm.EConflict)
	wantCode(t, s.CreateDepreciation(ctxA, &qm.Depreciation{Name: "Never", Months: 0}), qm.EInvalid)
	a := mustAssetWorld(t, e, ctxA)
	models := sqlstore.NewModelStore(e, clock())
	if _, err := models.UpdateModel(ctxA, a.model.ID, qm.ModelUpdate{DepreciationID: ptr(d.ID)}); err != nil {
		t.Fatal(err)
	}
	months, err := sqlstore.NewAssetStore(e, e.Identity(), clock()).ScheduleMonths(ctxA)
	if err != nil || months[a.model.ID] != 36 {
		t.Fatalf("schedule months: %v, %v", months, err)
	}
	t.Run("OtherTenant", func(t *testing.T) {
		b := mustAssetWorld(t, e, ctxB)
		_, err := models.UpdateModel(ctxB, b.model.ID, qm.ModelUpdate{DepreciationID: ptr(d.ID)})
		wantCode(t, err, qm.EInvalid)
		wantCode(t, s.DeleteDepreciation(ctxB, d.ID), qm.ENotFound)
		if ds, err := s.Depreciations(ctxB); err != nil || len(ds) != 0 {
			t.Fatalf("B lists %v, %v", ds, err)
		}
		if months, _ := sqlstore.NewAssetStore(e, e.Identity(), clock()).ScheduleMonths(ctxB); len(months) != 0 {
			t.Fatalf("B sees schedules %v", months)
		}
	})
	wantCode(t, s.DeleteDepreciation(ctxA, d.ID), qm.EConflict)
	if _, err := models.UpdateModel(ctxA, a.model.ID, qm.ModelUpdate{DepreciationID: ptr("")}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDepreciation(ctxA, d.ID); err != nil {
		t.Fatal(err)
	}
}

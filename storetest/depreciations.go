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
	b := mustAssetWorld(t, e, ctxB)
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
	t.Run("Category", func(t *testing.T) {
		byCategory := &qm.Depreciation{Name: "Laptops, 5 years", Months: 60, CategoryIDs: []string{a.category.ID}}
		if err := s.CreateDepreciation(ctxA, byCategory); err != nil {
			t.Fatal(err)
		}
		other := mustModel(t, e, ctxA, &qm.Model{Name: "ThinkPad X1", CategoryID: a.category.ID})
		months, err := sqlstore.NewAssetStore(e, e.Identity(), clock()).ScheduleMonths(ctxA)
		if err != nil || months[a.model.ID] != 36 || months[other.ID] != 60 {
			t.Fatalf("got months %v, %v; want the model's own 36 and the category's 60", months, err)
		}
		_, err = s.UpdateDepreciation(ctxB, byCategory.ID, qm.DepreciationUpdate{Months: ptr(1)})
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateDepreciation(ctxA, byCategory.ID, qm.DepreciationUpdate{CategoryIDs: ptr([]string{b.category.ID})})
		wantCode(t, err, qm.EInvalid) // B's category
		got, err := s.UpdateDepreciation(ctxA, byCategory.ID, qm.DepreciationUpdate{Months: ptr(48), CategoryIDs: ptr([]string{})})
		if err != nil || got.Months != 48 || len(got.CategoryIDs) != 0 {
			t.Fatalf("update: %+v, %v", got, err)
		}
		if months, _ := sqlstore.NewAssetStore(e, e.Identity(), clock()).ScheduleMonths(ctxA); months[other.ID] != 0 {
			t.Fatalf("a detached category still depreciates: %v", months)
		}
		if err := s.DeleteDepreciation(ctxA, byCategory.ID); err != nil {
			t.Fatal(err)
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

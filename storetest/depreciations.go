package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/engines"
)

// TestDepreciations checks depreciation schedules and models naming them,
// with a different-tenant case for each method.
func TestDepreciations(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "dep-a")
	_, ctxB := MustTenant(t, e, h.Tier, "dep-b")
	b := mustAssetWorld(t, e, ctxB)
	s := dataplane.NewDepreciationStore(e, clock())
	d := &qm.Depreciation{Name: "Laptops, 3 years", Months: 36}
	if err := s.CreateDepreciation(ctxA, d); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.CreateDepreciation(ctxA, &qm.Depreciation{Name: "Laptops, 3 years", Months: 12}), qm.EConflict)
	wantCode(t, s.CreateDepreciation(ctxA, &qm.Depreciation{Name: "Never", Months: 0}), qm.EInvalid)
	a := mustAssetWorld(t, e, ctxA)
	models := dataplane.NewModelStore(e, clock())
	if _, err := models.UpdateModel(ctxA, a.model.ID, qm.ModelUpdate{DepreciationID: ptr(d.ID)}); err != nil {
		t.Fatal(err)
	}
	if got := scheduleOf(t, e, ctxA, a.model.ID); got != 36 {
		t.Fatalf("the model's assets follow a schedule of %d months, want 36", got)
	}
	t.Run("OtherTenant", func(t *testing.T) {
		_, err := models.UpdateModel(ctxB, b.model.ID, qm.ModelUpdate{DepreciationID: ptr(d.ID)})
		wantCode(t, err, qm.EInvalid)
		wantCode(t, s.DeleteDepreciation(ctxB, d.ID), qm.ENotFound)
		if ds, err := s.Depreciations(ctxB); err != nil || len(ds) != 0 {
			t.Fatalf("B lists %v, %v", ds, err)
		}
		if got := scheduleOf(t, e, ctxB, b.model.ID); got != 0 {
			t.Fatalf("B's model follows a schedule of %d months, want none", got)
		}
	})
	t.Run("Category", func(t *testing.T) {
		byCategory := &qm.Depreciation{Name: "Laptops, 5 years", Months: 60, CategoryIDs: []string{a.category.ID}}
		if err := s.CreateDepreciation(ctxA, byCategory); err != nil {
			t.Fatal(err)
		}
		other := mustModel(t, e, ctxA, &qm.Model{Name: "ThinkPad X1", CategoryID: a.category.ID})
		if own, byCat := scheduleOf(t, e, ctxA, a.model.ID), scheduleOf(t, e, ctxA, other.ID); own != 36 || byCat != 60 {
			t.Fatalf("got %d and %d months; want the model's own 36 and the category's 60", own, byCat)
		}
		_, err := s.UpdateDepreciation(ctxB, byCategory.ID, qm.DepreciationUpdate{Months: ptr(1)})
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateDepreciation(ctxA, byCategory.ID, qm.DepreciationUpdate{CategoryIDs: ptr([]string{b.category.ID})})
		wantCode(t, err, qm.EInvalid) // B's category
		got, err := s.UpdateDepreciation(ctxA, byCategory.ID, qm.DepreciationUpdate{Months: ptr(48), CategoryIDs: ptr([]string{})})
		if err != nil || got.Months != 48 || len(got.CategoryIDs) != 0 {
			t.Fatalf("update: %+v, %v", got, err)
		}
		if got := scheduleOf(t, e, ctxA, other.ID); got != 0 {
			t.Fatalf("a detached category still depreciates over %d months", got)
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

// scheduleOf says over how many months the assets of model depreciate (0:
// they do not), from the book value of one bought a month before the test
// clock's day at a price every schedule here divides.
func scheduleOf(t *testing.T, e engines.Engine, ctx context.Context, modelID string) int {
	t.Helper()
	const cost = 720720
	s := dataplane.NewAssetStore(e, e.Identity(), clock())
	a := &qm.Asset{ModelID: modelID, CostCents: ptr(int64(cost)), PurchaseDate: "2025-12-02"}
	if err := s.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, err := s.Asset(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if (got.BookValueCents == nil) != (a.BookValueCents == nil) || got.BookValueCents != nil && *got.BookValueCents != *a.BookValueCents {
		t.Fatalf("the asset read back is worth %v, created %v", got.BookValueCents, a.BookValueCents)
	}
	if got.BookValueCents == nil {
		return 0
	}
	return int(cost / (cost - *got.BookValueCents))
}

package storetest

import (
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestMaintenances checks maintenance records, with a different-tenant case
// for each method.
func TestMaintenances(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "maint-a")
	_, ctxB := MustTenant(t, e, h.Tier, "maint-b")
	a := mustAssetWorld(t, e, ctxA)
	asset := &qm.Asset{ModelID: a.model.ID}
	if err := dataplane.NewAssetStore(e, e.Identity(), clock()).CreateAsset(ctxA, asset); err != nil {
		t.Fatal(err)
	}
	s := dataplane.NewMaintenanceStore(e, clock())
	cost := int64(8900)
	m := &qm.Maintenance{Kind: "repair", Title: "New screen", StartedOn: "2026-02-01", CompletedOn: "2026-02-03", CostCents: &cost}
	if err := s.AddMaintenance(ctxA, asset.ID, m); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []*qm.Maintenance{
		{Kind: "prayer", Title: "x", StartedOn: "2026-02-01"},
		{Kind: "repair", Title: "x", StartedOn: "2026-02-05", CompletedOn: "2026-02-01"},
		{Kind: "repair", Title: "x", StartedOn: "soon"},
	} {
		wantCode(t, s.AddMaintenance(ctxA, asset.ID, bad), qm.EInvalid)
	}
	got, err := s.UpdateMaintenance(ctxA, asset.ID, m.ID, qm.MaintenanceUpdate{Notes: ptr("warranty")})
	if err != nil || got.Notes != "warranty" || *got.CostCents != cost || got.CompletedOn != "2026-02-03" {
		t.Fatalf("update: %+v, %v", got, err)
	}
	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.Maintenances(ctxB, asset.ID)
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.AddMaintenance(ctxB, asset.ID, &qm.Maintenance{Kind: "repair", Title: "x", StartedOn: "2026-01-01"}), qm.ENotFound)
		_, err = s.UpdateMaintenance(ctxB, asset.ID, m.ID, qm.MaintenanceUpdate{Title: ptr("hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteMaintenance(ctxB, asset.ID, m.ID), qm.ENotFound)
	})
	if ms, err := s.Maintenances(ctxA, asset.ID); err != nil || len(ms) != 1 || ms[0].Title != "New screen" {
		t.Fatalf("list: %+v, %v", ms, err)
	}
	if err := s.DeleteMaintenance(ctxA, asset.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.DeleteMaintenance(ctxA, asset.ID, m.ID), qm.ENotFound)
}

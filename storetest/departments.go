package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestDepartments checks every method of qm.DepartmentService, with a
// different-tenant case for each.
func TestDepartments(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	s := dataplane.NewDepartmentStore(e, clock())
	_, ctxA := MustTenant(t, e, h.Tier, "dept-a")
	_, ctxB := MustTenant(t, e, h.Tier, "dept-b")
	mustDept := func(ctx context.Context, name, parent string) *qm.Department {
		t.Helper()
		d := &qm.Department{Name: name, ParentID: parent}
		if err := s.CreateDepartment(ctx, d); err != nil {
			t.Fatalf("create department %s: %v", name, err)
		}
		return d
	}
	acme := mustDept(ctxA, "Acme", "")
	logistics := mustDept(ctxA, "Logistics", acme.ID)
	north := mustDept(ctxA, "North depot", logistics.ID)

	t.Run("Create", func(t *testing.T) {
		got, err := s.Department(ctxA, north.ID)
		if err != nil || *got != *north {
			t.Fatalf("got %+v, %v; want %+v", got, err, north)
		}
		wantCode(t, s.CreateDepartment(ctxA, &qm.Department{Name: "Logistics", ParentID: acme.ID}), qm.EConflict)
		wantCode(t, s.CreateDepartment(ctxA, &qm.Department{Name: ""}), qm.EInvalid)
		wantCode(t, s.CreateDepartment(ctxA, &qm.Department{Name: "x", ParentID: sqlstore.NewID()}), qm.EInvalid)
		mustDept(ctxB, "Logistics", "") // names are per tenant
	})
	t.Run("List", func(t *testing.T) {
		ds, err := s.Departments(ctxA)
		if err != nil || len(ds) != 3 || ds[0].Name != "Acme" {
			t.Fatalf("got %+v, %v; want Acme, Logistics, North depot", ds, err)
		}
	})
	t.Run("Update", func(t *testing.T) {
		_, err := s.UpdateDepartment(ctxA, acme.ID, qm.DepartmentUpdate{ParentID: ptr(north.ID)})
		wantCode(t, err, qm.EInvalid) // a cycle
		got, err := s.UpdateDepartment(ctxA, north.ID, qm.DepartmentUpdate{Name: ptr("North")})
		if err != nil || got.Name != "North" || got.ParentID != logistics.ID {
			t.Fatalf("got %+v, %v", got, err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		wantCode(t, s.DeleteDepartment(ctxA, logistics.ID), qm.EConflict)
		spare := mustDept(ctxA, "Spare", "")
		if err := s.DeleteDepartment(ctxA, spare.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteDepartment(ctxA, spare.ID), qm.ENotFound)
	})
	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.Department(ctxB, acme.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.UpdateDepartment(ctxB, acme.ID, qm.DepartmentUpdate{Name: ptr("hijacked")})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteDepartment(ctxB, acme.ID), qm.ENotFound)
		wantCode(t, s.CreateDepartment(ctxB, &qm.Department{Name: "child", ParentID: acme.ID}), qm.EInvalid)
		ds, err := s.Departments(ctxB)
		if err != nil || len(ds) != 1 || ds[0].Name != "Logistics" {
			t.Fatalf("B lists %+v, %v; want only its own", ds, err)
		}
		if got, _ := s.Department(ctxA, acme.ID); got.Name != "Acme" {
			t.Fatalf("A's department changed: %+v", got)
		}
	})
	t.Run("ErrNoTenant", func(t *testing.T) {
		_, err := s.Departments(context.Background())
		wantCode(t, err, qm.ENoTenant)
	})
}

package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

func ptr[T any](v T) *T { return &v }

// MustLocation creates a location named name under parent ("" for the top).
func MustLocation(t testing.TB, s qm.LocationService, ctx context.Context, name, parent string) *qm.Location {
	t.Helper()
	l := &qm.Location{Name: name, ParentID: parent, Address: "1 Main St", Notes: "note"}
	if err := s.CreateLocation(ctx, l); err != nil {
		t.Fatalf("create location %q: %v", name, err)
	}
	return l
}

func mustGet(t *testing.T, s qm.LocationService, ctx context.Context, id string) *qm.Location {
	t.Helper()
	l, err := s.Location(ctx, id)
	if err != nil {
		t.Fatalf("get location %s: %v", id, err)
	}
	return l
}

// TestLocations checks every method of qm.LocationService, for one tenant,
// across two tenants, and without a tenant.
func TestLocations(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	s := dataplane.NewLocationStore(e, clock())
	_, ctxA := MustTenant(t, e, h.Tier, "tenant-a")
	_, ctxB := MustTenant(t, e, h.Tier, "tenant-b")

	t.Run("Create", func(t *testing.T) {
		t.Run("OK", func(t *testing.T) {
			l := &qm.Location{Name: "  HQ  ", Address: "1 Main St", Notes: "front desk"}
			if err := s.CreateLocation(ctxA, l); err != nil {
				t.Fatal(err)
			}
			if !sqlstore.ValidID(l.ID) || l.Name != "HQ" || l.CreatedAt.IsZero() || !l.UpdatedAt.Equal(l.CreatedAt) {
				t.Fatalf("got %+v", l)
			}
			if got := mustGet(t, s, ctxA, l.ID); *got != *l {
				t.Fatalf("got %+v, want %+v", got, l)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			for _, l := range []*qm.Location{{Name: ""}, {Name: strings.Repeat("x", 201)}, {Name: "x", ParentID: sqlstore.NewID()}, {Name: "x", ParentID: "nope"}} {
				wantCode(t, s.CreateLocation(ctxA, l), qm.EInvalid)
			}
		})
		t.Run("ErrConflict", func(t *testing.T) {
			site := MustLocation(t, s, ctxA, "Site C", "")
			MustLocation(t, s, ctxA, "Room 1", site.ID)
			wantCode(t, s.CreateLocation(ctxA, &qm.Location{Name: "Site C"}), qm.EConflict)
			wantCode(t, s.CreateLocation(ctxA, &qm.Location{Name: "Room 1", ParentID: site.ID}), qm.EConflict)
			MustLocation(t, s, ctxA, "Room 1", "") // same name, other parent
			MustLocation(t, s, ctxB, "Site C", "") // same name, other tenant
		})
		t.Run("OtherTenantsParent", func(t *testing.T) {
			a := MustLocation(t, s, ctxA, "A's parent", "")
			wantCode(t, s.CreateLocation(ctxB, &qm.Location{Name: "child", ParentID: a.ID}), qm.EInvalid)
			if kids, _ := s.Locations(ctxA, qm.LocationFilter{ParentID: a.ID}); len(kids) != 0 {
				t.Fatalf("B linked %d locations under A's", len(kids))
			}
		})
	})

	t.Run("Get", func(t *testing.T) {
		a := MustLocation(t, s, ctxA, "Get A", "")
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, id := range []string{sqlstore.NewID(), "not-an-id", "", "' OR 1=1 --"} {
				_, err := s.Location(ctxA, id)
				wantCode(t, err, qm.ENotFound)
			}
		})
		t.Run("OtherTenant", func(t *testing.T) {
			_, err := s.Location(ctxB, a.ID)
			wantCode(t, err, qm.ENotFound)
		})
	})

	t.Run("List", func(t *testing.T) {
		_, ctxC := MustTenant(t, e, h.Tier, "tenant-c")
		root := MustLocation(t, s, ctxC, "Root", "")
		var kids []string
		for i := range 5 {
			kids = append(kids, MustLocation(t, s, ctxC, fmt.Sprintf("Room %d", i), root.ID).ID)
		}
		t.Run("All", func(t *testing.T) {
			ls, err := s.Locations(ctxC, qm.LocationFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ls) != 6 {
				t.Fatalf("got %d locations, want 6", len(ls))
			}
			for i := 1; i < len(ls); i++ {
				if ls[i-1].ID >= ls[i].ID {
					t.Fatalf("not ordered by id: %s before %s", ls[i-1].ID, ls[i].ID)
				}
			}
		})
		t.Run("Pages", func(t *testing.T) {
			var got []string
			after := ""
			for {
				page, err := s.Locations(ctxC, qm.LocationFilter{ParentID: root.ID, Limit: 2, After: after})
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				if len(page) > 2 {
					t.Fatalf("got a page of %d, want at most 2", len(page))
				}
				for _, l := range page {
					got = append(got, l.ID)
				}
				after = page[len(page)-1].ID
			}
			if fmt.Sprint(got) != fmt.Sprint(kids) {
				t.Fatalf("got %v, want %v", got, kids)
			}
		})
		t.Run("ErrBadCursor", func(t *testing.T) {
			_, err := s.Locations(ctxC, qm.LocationFilter{After: "x"})
			wantCode(t, err, qm.EBadRequest)
		})
		t.Run("OtherTenant", func(t *testing.T) {
			for _, f := range []qm.LocationFilter{{}, {ParentID: root.ID}, {Limit: 1000}} {
				ls, err := s.Locations(ctxB, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range ls {
					if l.ID == root.ID || l.ParentID == root.ID {
						t.Fatalf("tenant B listed C's location %+v", l)
					}
				}
			}
		})
	})

	t.Run("Update", func(t *testing.T) {
		a := MustLocation(t, s, ctxA, "Update A", "")
		b := MustLocation(t, s, ctxA, "Update B", "")
		t.Run("OK", func(t *testing.T) {
			got, err := s.UpdateLocation(ctxA, a.ID, qm.LocationUpdate{Name: ptr("Renamed"), ParentID: ptr(b.ID), Notes: ptr("")})
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Renamed" || got.ParentID != b.ID || got.Notes != "" || got.Address != a.Address || !got.CreatedAt.Equal(a.CreatedAt) || got.UpdatedAt.Before(a.UpdatedAt) {
				t.Fatalf("got %+v", got)
			}
			if stored := mustGet(t, s, ctxA, a.ID); *stored != *got {
				t.Fatalf("stored %+v, returned %+v", stored, got)
			}
			if got, err = s.UpdateLocation(ctxA, a.ID, qm.LocationUpdate{ParentID: ptr("")}); err != nil || got.ParentID != "" {
				t.Fatalf("move to top: got %+v, %v", got, err)
			}
		})
		t.Run("ErrCycle", func(t *testing.T) {
			child := MustLocation(t, s, ctxA, "Cycle child", b.ID)
			grandchild := MustLocation(t, s, ctxA, "Cycle grandchild", child.ID)
			for _, parent := range []string{b.ID, child.ID, grandchild.ID} {
				_, err := s.UpdateLocation(ctxA, b.ID, qm.LocationUpdate{ParentID: ptr(parent)})
				wantCode(t, err, qm.EInvalid)
			}
			if got := mustGet(t, s, ctxA, b.ID); got.ParentID != "" {
				t.Fatalf("parent changed to %s", got.ParentID)
			}
		})
		t.Run("ErrInvalid", func(t *testing.T) {
			_, err := s.UpdateLocation(ctxA, a.ID, qm.LocationUpdate{Name: ptr(" ")})
			wantCode(t, err, qm.EInvalid)
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			_, err := s.UpdateLocation(ctxA, sqlstore.NewID(), qm.LocationUpdate{Name: ptr("x")})
			wantCode(t, err, qm.ENotFound)
		})
		t.Run("OtherTenant", func(t *testing.T) {
			before := mustGet(t, s, ctxA, a.ID)
			_, err := s.UpdateLocation(ctxB, a.ID, qm.LocationUpdate{Name: ptr("hijacked")})
			wantCode(t, err, qm.ENotFound)
			bLoc := MustLocation(t, s, ctxB, "B's own", "")
			_, err = s.UpdateLocation(ctxB, bLoc.ID, qm.LocationUpdate{ParentID: ptr(a.ID)})
			wantCode(t, err, qm.EInvalid)
			if after := mustGet(t, s, ctxA, a.ID); *after != *before {
				t.Fatalf("A's location changed: %+v, was %+v", after, before)
			}
		})
	})

	t.Run("Delete", func(t *testing.T) {
		parent := MustLocation(t, s, ctxA, "Delete parent", "")
		child := MustLocation(t, s, ctxA, "Delete child", parent.ID)
		t.Run("OtherTenant", func(t *testing.T) {
			wantCode(t, s.DeleteLocation(ctxB, child.ID), qm.ENotFound)
			mustGet(t, s, ctxA, child.ID)
		})
		t.Run("ErrHasChildren", func(t *testing.T) {
			wantCode(t, s.DeleteLocation(ctxA, parent.ID), qm.EConflict)
			mustGet(t, s, ctxA, parent.ID)
		})
		t.Run("OK", func(t *testing.T) {
			for _, id := range []string{child.ID, parent.ID} {
				if err := s.DeleteLocation(ctxA, id); err != nil {
					t.Fatal(err)
				}
				_, err := s.Location(ctxA, id)
				wantCode(t, err, qm.ENotFound)
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			wantCode(t, s.DeleteLocation(ctxA, parent.ID), qm.ENotFound)
			wantCode(t, s.DeleteLocation(ctxA, "garbage"), qm.ENotFound)
		})
	})

	t.Run("ErrNoTenant", func(t *testing.T) {
		ctx := context.Background()
		a := MustLocation(t, s, ctxA, "No tenant", "")
		_, err := s.Location(ctx, a.ID)
		wantCode(t, err, qm.ENoTenant)
		_, err = s.Locations(ctx, qm.LocationFilter{})
		wantCode(t, err, qm.ENoTenant)
		wantCode(t, s.CreateLocation(ctx, &qm.Location{Name: "x"}), qm.ENoTenant)
		_, err = s.UpdateLocation(ctx, a.ID, qm.LocationUpdate{Name: ptr("x")})
		wantCode(t, err, qm.ENoTenant)
		wantCode(t, s.DeleteLocation(ctx, a.ID), qm.ENoTenant)
		mustGet(t, s, ctxA, a.ID)
	})
}

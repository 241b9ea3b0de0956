package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestReferenceLists checks every reference list's store, with a
// different-tenant case for each method, and the status labels every new
// tenant starts with.
func TestReferenceLists(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	_, ctxA := MustTenant(t, e, h.Tier, "ref-a")
	_, ctxB := MustTenant(t, e, h.Tier, "ref-b")
	t.Run("DefaultStatusLabels", func(t *testing.T) {
		got, err := dataplane.NewReferenceStore(qm.StatusLabels, e, clock()).List(ctxA)
		if err != nil || len(got) != len(qm.DefaultStatusLabels) {
			t.Fatalf("got %d labels, %v; want %d", len(got), err, len(qm.DefaultStatusLabels))
		}
	})
	for _, list := range qm.ReferenceLists {
		t.Run(list.Name, func(t *testing.T) {
			s := dataplane.NewReferenceStore(list, e, clock())
			kind := ""
			if list.Kinds != nil {
				kind = list.Kinds[len(list.Kinds)-1]
			}
			r := &qm.Reference{Name: " Acme Parts ", Kind: kind, Notes: "n"}
			if err := s.Create(ctxA, r); err != nil {
				t.Fatal(err)
			}
			if got, err := s.Get(ctxA, r.ID); err != nil || *got != *r || got.Name != "Acme Parts" {
				t.Fatalf("got %+v, %v; want %+v", got, err, r)
			}
			wantCode(t, s.Create(ctxA, &qm.Reference{Name: "Acme Parts"}), qm.EConflict)
			wantCode(t, s.Create(ctxA, &qm.Reference{Name: ""}), qm.EInvalid)
			wantCode(t, s.Create(ctxA, &qm.Reference{Name: "Odd", Kind: "no-such-kind"}), qm.EInvalid)
			if err := s.Create(ctxB, &qm.Reference{Name: "Acme Parts"}); err != nil {
				t.Fatalf("same name in another tenant: %v", err)
			}
			got, err := s.Update(ctxA, r.ID, qm.ReferenceUpdate{Notes: ptr("changed")})
			if err != nil || got.Notes != "changed" || got.Name != "Acme Parts" {
				t.Fatalf("update: %+v, %v", got, err)
			}
			t.Run("OtherTenant", func(t *testing.T) {
				_, err := s.Get(ctxB, r.ID)
				wantCode(t, err, qm.ENotFound)
				_, err = s.Update(ctxB, r.ID, qm.ReferenceUpdate{Name: ptr("hijacked")})
				wantCode(t, err, qm.ENotFound)
				wantCode(t, s.Delete(ctxB, r.ID), qm.ENotFound)
				for _, x := range mustList(t, s, ctxB) {
					if x.ID == r.ID {
						t.Fatal("B lists A's entry")
					}
				}
				if got, _ := s.Get(ctxA, r.ID); got.Name != "Acme Parts" {
					t.Fatalf("A's entry changed: %+v", got)
				}
			})
			if err := s.Delete(ctxA, r.ID); err != nil {
				t.Fatal(err)
			}
			_, err = s.Get(ctxA, r.ID)
			wantCode(t, err, qm.ENotFound)
			_, err = s.List(context.Background())
			wantCode(t, err, qm.ENoTenant)
		})
	}
}

func mustList(t *testing.T, s *dataplane.ReferenceStore, ctx context.Context) []*qm.Reference {
	t.Helper()
	rs, err := s.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

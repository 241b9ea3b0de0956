package storetest

import (
	"context"
	"testing"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/schema"
)

// TestTenants checks creating and reading tenants, and that a failed
// provisioning leaves nothing behind.
func TestTenants(t *testing.T, h Harness) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		st := h.NewStorage(t)
		e, err := st.Open(t, nil)
		if err != nil {
			t.Fatal(err)
		}
		tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "acme", Name: "Acme Corp", Tier: h.Tier})
		if err != nil {
			t.Fatal(err)
		}
		if tn.Slug != "acme" || tn.Name != "Acme Corp" || tn.Tier != h.Tier || tn.State != qm.StateActive ||
			tn.SchemaVersion != e.LatestVersion() || !sqlstore.ValidID(tn.ID) {
			t.Fatalf("got %+v", tn)
		}
		if !st.Exists(t, tn) {
			t.Fatalf("storage of %+v does not exist", tn.Placement)
		}
		for name, get := range map[string]func() (*qm.Tenant, error){
			"Tenant":     func() (*qm.Tenant, error) { return e.Tenants().Tenant(ctx, "acme") },
			"TenantByID": func() (*qm.Tenant, error) { return e.Tenants().TenantByID(ctx, tn.ID) },
		} {
			got, err := get()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if *got != *tn {
				t.Fatalf("%s: got %+v, want %+v", name, got, tn)
			}
		}
	})
	t.Run("List", func(t *testing.T) {
		e := MustOpenEmpty(t, h)
		for _, slug := range []string{"zeta", "alpha", "mid-one"} {
			MustTenant(t, e, h.Tier, slug)
		}
		ts, err := e.Tenants().Tenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var slugs []string
		for _, tn := range ts {
			slugs = append(slugs, tn.Slug)
		}
		if got, want := len(slugs), 3; got != want || slugs[0] != "alpha" || slugs[1] != "mid-one" || slugs[2] != "zeta" {
			t.Fatalf("got %v, want [alpha mid-one zeta]", slugs)
		}
	})
	t.Run("ErrSlugTaken", func(t *testing.T) {
		e := MustOpenEmpty(t, h)
		first, _ := MustTenant(t, e, h.Tier, "acme")
		_, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "acme", Name: "Other", Tier: h.Tier})
		wantCode(t, err, qm.EConflict)
		got, err := e.Tenants().Tenant(ctx, "acme")
		if err != nil || *got != *first {
			t.Fatalf("got %+v, %v; want the first tenant unchanged", got, err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e := MustOpenEmpty(t, h)
		for _, n := range []qm.NewTenant{
			{Slug: "ab", Name: "x", Tier: h.Tier},
			{Slug: "Acme", Name: "x", Tier: h.Tier},
			{Slug: "-acme", Name: "x", Tier: h.Tier},
			{Slug: "acme", Name: "", Tier: h.Tier},
			{Slug: "acme", Name: "x", Tier: "gold"},
		} {
			_, err := e.Tenants().CreateTenant(ctx, n)
			wantCode(t, err, qm.EInvalid)
		}
		if ts, _ := e.Tenants().Tenants(ctx); len(ts) != 0 {
			t.Fatalf("got %d tenants after invalid creates, want 0", len(ts))
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		e := MustOpenEmpty(t, h)
		_, err := e.Tenants().Tenant(ctx, "nobody")
		wantCode(t, err, qm.ENotFound)
		_, err = e.Tenants().TenantByID(ctx, sqlstore.NewID())
		wantCode(t, err, qm.ENotFound)
		_, err = e.Tenants().TenantByID(ctx, "not-an-id")
		wantCode(t, err, qm.ENotFound)
	})
	if h.Tier != qm.TierPool {
		t.Run("FailedProvisioningLeavesNothing", func(t *testing.T) {
			broken := schema.Append(h.Migrations, "broken", "THIS IS NOT SQL")
			st := h.NewStorage(t)
			e, _ := st.Open(t, broken) // the pool's migration fails too; the catalog is fine
			_, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "doomed", Name: "Doomed", Tier: h.Tier})
			if err == nil {
				t.Fatal("got no error from a broken migration")
			}
			if _, err := e.Tenants().Tenant(ctx, "doomed"); qm.ErrorCode(err) != qm.ENotFound {
				t.Fatalf("catalog row left behind: %v", err)
			}
			if left := st.TenantPlaces(t); len(left) != 0 {
				t.Fatalf("storage left behind: %v", left)
			}
		})
	}
}

// TestServers: the operator sees each server tenants' data is kept on,
// with the tenants it keeps and the bytes it holds; a server keeps a
// tenant only where the tenant's placement says.
func TestServers(t *testing.T, h Harness) {
	e := MustOpenEmpty(t, h)
	ctx := context.Background()
	a, _ := MustTenant(t, e, h.Tier, "served-a")
	MustTenant(t, e, h.Tier, "served-b")
	servers, err := e.Tenants().Servers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	var home *qm.DataServer
	for i, s := range servers {
		total += s.Tenants
		if s.Engine == a.Placement.Engine && s.Name == a.Placement.Server {
			home = &servers[i]
		}
	}
	if home == nil || home.Tenants != 2 || home.Bytes <= 0 || total != 2 {
		t.Fatalf("servers %+v; want the tenants' own, %s %s, keeping both, with its bytes", servers, a.Placement.Engine, a.Placement.Server)
	}
}

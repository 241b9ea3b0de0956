package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

// demoTenants are created by `quartermaster demo`: one per tier SQLite
// hosts, each with a small tree of locations.
var demoTenants = []struct {
	tenant    qm.NewTenant
	locations [][2]string // name, parent name
}{
	{qm.NewTenant{Slug: "acme", Name: "Acme Corp", Tier: qm.TierPool}, [][2]string{
		{"Headquarters", ""}, {"Server room", "Headquarters"}, {"North depot", ""},
	}},
	{qm.NewTenant{Slug: "globex", Name: "Globex Logistics", Tier: qm.TierSilo}, [][2]string{
		{"Main warehouse", ""}, {"Loading bay", "Main warehouse"},
	}},
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("demo", stderr)
	if err := parseNone(fs, args); err != nil {
		return err
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	locations := sqlstore.NewLocationStore(e, time.Now)
	for _, d := range demoTenants {
		t, err := e.Tenants().Tenant(ctx, d.tenant.Slug)
		if err == nil {
			fmt.Fprintf(stdout, "demo tenant %s exists (%s)\n", t.Slug, where(t))
			continue
		}
		if t, err = e.Tenants().CreateTenant(ctx, d.tenant); err != nil {
			return fmt.Errorf("demo tenant %s: %w", d.tenant.Slug, err)
		}
		tctx := tenancy.WithTenant(ctx, t)
		ids := map[string]string{}
		for _, l := range d.locations {
			loc := &qm.Location{Name: l[0], ParentID: ids[l[1]]}
			if err := locations.CreateLocation(tctx, loc); err != nil {
				return fmt.Errorf("demo tenant %s: location %s: %w", t.Slug, l[0], err)
			}
			ids[loc.Name] = loc.ID
		}
		fmt.Fprintf(stdout, "created demo tenant %s (%s) with %d locations\n", t.Slug, where(t), len(d.locations))
	}
	return nil
}

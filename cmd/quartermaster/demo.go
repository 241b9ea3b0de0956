package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

// demoPassword is every demo user's password. Demo data is for trying the
// server out on one's own machine, never for a real deployment.
const demoPassword = "quartermaster-demo"

// demoTenants are created by `quartermaster demo`: one per tier SQLite
// hosts, each with a small tree of locations and two members.
var demoTenants = []struct {
	tenant    qm.NewTenant
	locations [][2]string // name, parent name
	members   [][2]string // email, role
}{
	{qm.NewTenant{Slug: "acme", Name: "Acme Corp", Tier: qm.TierPool}, [][2]string{
		{"Headquarters", ""}, {"Server room", "Headquarters"}, {"North depot", ""},
	}, [][2]string{{"admin@acme.example", "admin"}, {"viewer@acme.example", "viewer"}}},
	{qm.NewTenant{Slug: "globex", Name: "Globex Logistics", Tier: qm.TierSilo}, [][2]string{
		{"Main warehouse", ""}, {"Loading bay", "Main warehouse"},
	}, [][2]string{{"admin@globex.example", "admin"}, {"viewer@globex.example", "viewer"}}},
}

// demoUser returns the demo user with the email, creating it if missing.
func demoUser(ctx context.Context, id *sqlstore.Identity, email string, operator bool) (*qm.User, error) {
	u, _, err := id.UserByEmail(ctx, email)
	if qm.ErrorCode(err) != qm.ENotFound {
		return u, err
	}
	hash, err := password.Hash(demoPassword)
	if err != nil {
		return nil, err
	}
	name, _, _ := strings.Cut(email, "@")
	u = &qm.User{Email: email, Name: name, Operator: operator}
	return u, id.CreateUser(ctx, u, hash, time.Now())
}

func cmdDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
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
	if _, err := demoUser(ctx, e.Identity(), "operator@example.com", true); err != nil {
		return fmt.Errorf("demo operator: %w", err)
	}
	for _, d := range demoTenants {
		t, err := e.Tenants().Tenant(ctx, d.tenant.Slug)
		if err == nil {
			fmt.Fprintf(stdout, "demo tenant %s exists (%s)\n", t.Slug, where(t))
			continue
		}
		if t, err = e.Tenants().CreateTenant(ctx, d.tenant); err != nil {
			return fmt.Errorf("demo tenant %s: %w", d.tenant.Slug, err)
		}
		for _, m := range d.members {
			u, err := demoUser(ctx, e.Identity(), m[0], false)
			if err == nil {
				err = e.Identity().SetMembership(ctx, &qm.Membership{TenantID: t.ID, UserID: u.ID, Role: m[1]}, time.Now())
			}
			if err != nil {
				return fmt.Errorf("demo member %s: %w", m[0], err)
			}
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
	fmt.Fprintf(stdout, "\nSign in with any of these, password %q:\n  operator@example.com (operator)\n", demoPassword)
	for _, d := range demoTenants {
		for _, m := range d.members {
			fmt.Fprintf(stdout, "  %s (%s of %s)\n", m[0], m[1], d.tenant.Slug)
		}
	}
	fmt.Fprintln(stdout, `for example: curl -c cookies -H 'Content-Type: application/json' -d '{"email":"admin@acme.example","password":"`+demoPassword+`"}' http://127.0.0.1:8080/api/v1/auth/login`)
	return nil
}

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// tenantDelete deletes a tenant: at once out of service, purged after the
// grace period by serve's purge job, or now (--now) once the operator
// types its slug again (--yes for scripts).
func tenantDelete(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant delete", stderr)
	grace := fs.Duration("grace", qm.DefaultDeleteGrace, "how long the tenant can be restored before it is purged")
	now := fs.Bool("now", false, "purge at once, without a grace period (asks for the slug again)")
	yes := fs.Bool("yes", false, "with --now: do not ask")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: quartermaster tenant delete SLUG [--grace 168h] [--now [--yes]]")
		return errUsage
	}
	slug := pos[0]
	if *now && !*yes {
		fmt.Fprintf(stderr, "This purges tenant %s now: all of its data, for good. Type its slug to go on: ", slug)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if strings.TrimSpace(line) != slug {
			return qm.Errorf(qm.EInvalid, "the slug typed was not %q: nothing was deleted", slug)
		}
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	ctx = tenancy.WithPrincipal(ctx, cliOperator)
	t, err := e.Tenants().Tenant(ctx, slug)
	if err != nil {
		return noTenant(slug, err)
	}
	if t.State != qm.StateDeleting {
		if t, err = e.Tenants().DeleteTenant(ctx, slug, *grace); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deleted tenant %s: no longer served, its devices back in the inventory; purged at %s unless restored (quartermaster tenant restore %s)\n",
			t.Slug, t.DeleteAfter.Format(time.RFC3339), t.Slug)
	}
	if !*now {
		return nil
	}
	stone, err := e.Tenants().PurgeTenant(ctx, slug)
	if err != nil {
		return err
	}
	printTombstone(stdout, stone)
	return nil
}

// tenantRestore brings a tenant being deleted back into service.
func tenantRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant restore", stderr)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: quartermaster tenant restore SLUG")
		return errUsage
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	t, kept, err := e.Tenants().RestoreTenant(tenancy.WithPrincipal(ctx, cliOperator), pos[0])
	if err != nil {
		return noTenant(pos[0], err)
	}
	fmt.Fprintf(stdout, "restored tenant %s: in service again\n", t.Slug)
	if len(kept) > 0 {
		fmt.Fprintf(stdout, "these devices were given to another tenant meanwhile, and stay there: %s\n", strings.Join(kept, ", "))
	}
	return nil
}

// tenantTombstones lists the tenants purged.
func tenantTombstones(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant tombstones", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	stones, err := e.Tenants().Tombstones(ctx)
	if err != nil {
		return err
	}
	return printList(stdout, *asJSON, stones, "SLUG\tID\tDELETED\tBY\tPURGED\tVERIFIED", func(s *qm.Tombstone) string {
		return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%t", s.Slug, s.TenantID, s.DeletedAt.Format(time.RFC3339), s.DeletedBy, s.PurgedAt.Format(time.RFC3339), s.Verified)
	})
}

// tenantServers lists the servers tenants' data is kept on, with the
// tenants each keeps and its size.
func tenantServers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant servers", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	servers, err := e.Tenants().Servers(ctx)
	if err != nil {
		return err
	}
	return printList(stdout, *asJSON, servers, "ENGINE\tSERVER\tTENANTS\tSIZE", func(s qm.DataServer) string {
		return fmt.Sprintf("%s\t%s\t%d\t%.1f MiB", s.Engine, s.Name, s.Tenants, float64(s.Bytes)/(1<<20))
	})
}

// printList prints items as JSON (an empty list, never null), or as a
// table under header, a row of tab-separated cells each.
func printList[T any](w io.Writer, asJSON bool, items []T, header string, row func(T) string) error {
	if asJSON {
		if items == nil {
			items = []T{}
		}
		return printJSON(w, items)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, it := range items {
		fmt.Fprintln(tw, row(it))
	}
	return tw.Flush()
}

// printTombstone says what a purge removed, found gone after.
func printTombstone(w io.Writer, s *qm.Tombstone) {
	fmt.Fprintf(w, "purged tenant %s (%s): removed", s.Slug, s.TenantID)
	names := make([]string, 0, len(s.Removed))
	for name := range s.Removed {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, " %s=%d", name, s.Removed[name])
	}
	fmt.Fprintln(w, "; verified: nothing of it remains")
}

// noTenant words a tenant not found by its slug.
func noTenant(slug string, err error) error {
	if qm.ErrorCode(err) == qm.ENotFound {
		return qm.Errorf(qm.ENotFound, "no tenant with slug %q", slug)
	}
	return err
}

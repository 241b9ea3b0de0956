package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/quartermaster/qm"
)

func cmdTenant(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: quartermaster tenant create|invite|list|show|set-plan|limits|export|import|move|delete|restore|tombstones|servers …  (see quartermaster --help)")
		return errUsage
	}
	switch args[0] {
	case "create":
		return tenantCreate(ctx, args[1:], stdout, stderr)
	case "invite":
		return tenantInvite(ctx, args[1:], stdout, stderr)
	case "list", "show":
		return tenantRead(ctx, args[0], args[1:], stdout, stderr)
	case "set-plan", "limits":
		return tenantLimits(ctx, args[0], args[1:], stdout, stderr)
	case "move":
		return tenantMove(ctx, args[1:], stdout, stderr)
	case "delete":
		return tenantDelete(ctx, args[1:], stdin, stdout, stderr)
	case "restore":
		return tenantRestore(ctx, args[1:], stdout, stderr)
	case "tombstones":
		return tenantTombstones(ctx, args[1:], stdout, stderr)
	case "servers":
		return tenantServers(ctx, args[1:], stdout, stderr)
	case "export":
		return tenantExport(ctx, args[1:], stdout, stderr)
	case "import":
		return tenantImport(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "quartermaster: unknown tenant command %q: use create, invite, list, show, set-plan, limits, export, import, move, delete, restore, tombstones or servers\n", args[0])
	return errUsage
}

func tenantCreate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant create", stderr)
	slug := fs.String("slug", "", "short name used in URLs: 3-63 lowercase letters, digits and hyphens")
	name := fs.String("name", "", "display name")
	tier := fs.String("tier", "", "isolation tier: pool, bridge or silo (default --default-tier)")
	server := fs.String("server", "", "PostgreSQL server for a silo tenant (a --pg-server name)")
	asJSON := fs.Bool("json", false, "print the tenant as JSON")
	admin := fs.String("admin", "", "invite this email as the tenant's first admin, printing the one-time link")
	public := publicURLFlag(fs)
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *tier == "" {
		*tier = c.defaultTier
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	start := time.Now()
	t, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: *slug, Name: *name, Tier: qm.Tier(*tier), Server: *server})
	if err != nil {
		return err
	}
	if *asJSON {
		// The link goes beside the JSON, not into it.
		err, stdout = printJSON(stdout, t), stderr
	} else {
		fmt.Fprintf(stdout, "created tenant %s (%s) on tier %s at %s in %v\n", t.Slug, t.ID, t.Tier, where(t), time.Since(start).Round(time.Millisecond))
	}
	if err == nil && *admin != "" {
		err = invite(ctx, e, t, *admin, "admin", *public, stdout, stderr)
	}
	return err
}

// tenantInvite invites a person to a tenant, such as its first admin, and
// prints the one-time link: the person sets their own password, or signs
// in, when accepting.
func tenantInvite(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant invite", stderr)
	email := fs.String("email", "", "the person's email address")
	role := fs.String("role", "admin", "the role offered: owner, admin, manager, technician, viewer or a custom role")
	public := publicURLFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: quartermaster tenant invite SLUG --email EMAIL [--role admin]")
		return errUsage
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	t, err := e.Tenants().Tenant(ctx, pos[0])
	if err != nil {
		return noTenant(pos[0], err)
	}
	return invite(ctx, e, t, *email, *role, *public, stdout, stderr)
}

func tenantRead(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant "+verb, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if verb == "show" && len(pos) != 1 || verb == "list" && len(pos) != 0 {
		fmt.Fprintf(stderr, "usage: quartermaster tenant %s\n", map[string]string{"show": "show SLUG [--json]", "list": "list [--json]"}[verb])
		return errUsage
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	if verb == "show" {
		t, err := e.Tenants().Tenant(ctx, pos[0])
		if err != nil {
			return noTenant(pos[0], err)
		}
		if *asJSON {
			return printJSON(stdout, t)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		facts := [][2]any{
			{"id", t.ID}, {"slug", t.Slug}, {"name", t.Name}, {"tier", t.Tier}, {"state", t.State},
			{"schema version", t.SchemaVersion}, {"placement", where(t)}, {"created", t.CreatedAt.Format(time.RFC3339)},
		}
		if t.DeleteAfter != nil {
			facts = append(facts, [2]any{"purged at", t.DeleteAfter.Format(time.RFC3339)}, [2]any{"deleted by", t.DeletedBy})
		}
		for _, kv := range facts {
			fmt.Fprintf(tw, "%s:\t%v\n", kv[0], kv[1])
		}
		return tw.Flush()
	}
	ts, err := e.Tenants().Tenants(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if ts == nil {
			ts = []*qm.Tenant{}
		}
		return printJSON(stdout, ts)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SLUG\tNAME\tTIER\tSTATE\tVERSION\tID")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", t.Slug, t.Name, t.Tier, t.State, t.SchemaVersion, t.ID)
	}
	return tw.Flush()
}

// where says in words where a tenant's data lives.
func where(t *qm.Tenant) string {
	p := t.Placement
	switch {
	case p.Engine == qm.EngineSQLite:
		return "sqlite file " + p.Location
	case t.Tier == qm.TierSilo:
		return fmt.Sprintf("postgres database %s on server %s", p.Location, p.Server)
	}
	return fmt.Sprintf("postgres schema %s on server %s", p.Location, p.Server)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

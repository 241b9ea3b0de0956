package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlstore/schema"
)

func cmdMigrate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("migrate", stderr)
	parallel := fs.Int("parallel", 8, "how many tenant schemas or databases to migrate at once")
	status := fs.Bool("status", false, "list the tenants that are not at the newest version, and change nothing")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *parallel < 1 {
		return fmt.Errorf("--parallel must be at least 1, got %d", *parallel)
	}
	if *status {
		e, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer e.Close()
		return migrationStatus(ctx, e, stdout)
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	return migrateTenants(ctx, e, *parallel, stdout)
}

// incompleteAge is how long a tenant may stay in state provisioning before
// migrate takes it for the remains of a process that died creating it.
const incompleteAge = 15 * time.Minute

// migrateTenants removes tenants whose provisioning died half way, then
// migrates every tenant behind the newest version, printing progress to out,
// and fails if any tenant could not be migrated.
func migrateTenants(ctx context.Context, e engine, parallel int, out io.Writer) error {
	removed, err := e.Tenants().RemoveIncomplete(ctx, incompleteAge)
	for _, t := range removed {
		fmt.Fprintf(out, "removed tenant %s: its creation began %s and never finished\n", t.Slug, t.CreatedAt.Format(time.RFC3339))
	}
	if err != nil {
		return err
	}
	latest := e.LatestVersion()
	start := time.Now()
	rep, err := e.Tenants().MigrateTenants(ctx, latest, parallel, func(p schema.Progress) {
		if p.Err != nil {
			fmt.Fprintf(out, "[%d/%d] FAILED %s: %v\n", p.Done, p.Total, p.Target, p.Err)
			return
		}
		fmt.Fprintf(out, "[%d/%d] %s: at version %d\n", p.Done, p.Total, p.Target, p.Version)
	})
	if err != nil {
		return err
	}
	failed := 0
	for _, f := range rep.Failures {
		failed += len(f.Tenants)
	}
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case rep.Tenants == 0:
		fmt.Fprintf(out, "catalog and every tenant at version %d; no tenant needed migrating (%v)\n", latest, took)
	case failed == 0:
		fmt.Fprintf(out, "migrated %d tenants in %d places to version %d in %v\n", rep.Tenants, rep.Targets, latest, took)
	default:
		fmt.Fprintf(out, "migrated %d of %d tenants to version %d in %v; %d failed:\n", rep.Tenants-failed, rep.Tenants, latest, took, failed)
		for _, f := range rep.Failures {
			fmt.Fprintf(out, "  %s (tenants %v): %v\n", f.Target, f.Tenants, f.Err)
		}
		return fmt.Errorf("%d tenants were not migrated; run quartermaster migrate again once the cause is fixed", failed)
	}
	return nil
}

func migrationStatus(ctx context.Context, e engine, out io.Writer) error {
	latest := e.LatestVersion()
	behind, err := e.Tenants().Behind(ctx, latest)
	if err != nil {
		return fmt.Errorf("read catalog (has quartermaster migrate run?): %w", err)
	}
	if len(behind) == 0 {
		fmt.Fprintf(out, "every tenant is at version %d\n", latest)
	} else {
		fmt.Fprintf(out, "%d tenants are not at version %d:\n", len(behind), latest)
		for _, t := range behind {
			fmt.Fprintf(out, "  %-30s %-6s version %d\n", t.Slug, t.Tier, t.SchemaVersion)
		}
	}
	if pg, ok := e.(*postgres.DB); ok {
		return citusStatus(ctx, pg, out)
	}
	return nil
}

// citusStatus says how the pool's tables are distributed on Citus.
func citusStatus(ctx context.Context, db *postgres.DB, out io.Writer) error {
	tables, installed, err := db.CitusStatus(ctx)
	if err != nil {
		return err
	}
	if !installed {
		fmt.Fprintln(out, "citus: not installed, so the pool is the main database's alone")
		return nil
	}
	fmt.Fprintln(out, "citus: the pool's tables")
	for _, t := range tables {
		if t.Distributed {
			fmt.Fprintf(out, "  pool.%-28s distributed by %s, colocation group %d\n", t.Name, t.Column, t.Colocation)
		} else {
			fmt.Fprintf(out, "  pool.%-28s local: quartermaster migrate distributes it\n", t.Name)
		}
	}
	return nil
}

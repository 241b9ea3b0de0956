package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/tenancy"
)

// moveHoldEnv, set in a test's child process to a table's name, holds
// tenant move once it has copied that table, until the process is
// killed: the test's SIGKILL lands in the middle of the copy every time.
// Set to "TABLE:FILE", it holds until FILE exists, then goes on.
const moveHoldEnv = "QM_TEST_HOLD_MOVE_AFTER"

// tenantMove moves a tenant to another tier (or PostgreSQL server),
// printing each table copied; the tenant is answered 503 while it moves.
func tenantMove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant move", stderr)
	tier := fs.String("tier", "", "the tier to move to: pool, bridge or silo")
	server := fs.String("server", "", "the PostgreSQL server of a silo (a --pg-server name)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *tier == "" {
		fmt.Fprintln(stderr, "usage: quartermaster tenant move SLUG --tier pool|bridge|silo [--server NAME]")
		return errUsage
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	from, err := e.Tenants().Tenant(ctx, pos[0])
	if err != nil {
		return noTenant(pos[0], err)
	}
	start := time.Now()
	progress := progressTo(stderr)
	if hold := os.Getenv(moveHoldEnv); hold != "" {
		table, release, _ := strings.Cut(hold, ":")
		print := progress
		progress = func(p lifecycle.Progress) {
			print(p)
			if p.Table == table {
				holdUntil(ctx, release)
			}
		}
	}
	var pause time.Duration
	t, err := lifecycle.Move(tenancy.WithPrincipal(ctx, cliOperator), e, pos[0], lifecycle.MoveOptions{Tier: qm.Tier(*tier), Server: *server,
		Holder: nodeName(""), Progress: progress,
		Paused:   func() { fmt.Fprintln(stderr, "writes paused for the last pass") },
		Switched: func(d time.Duration) { pause = d }})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "moved tenant %s from %s (%s) to %s (%s) in %v, its writes paused for %v; the old copy is removed\n",
		t.Slug, from.Tier, where(from), t.Tier, where(t), time.Since(start).Round(time.Millisecond), pause.Round(time.Millisecond))
	return nil
}

// holdUntil returns once file exists, or never when file is "" (the test
// kills the process).
func holdUntil(ctx context.Context, file string) {
	if file == "" {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(file); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Command quartermaster runs the Quartermaster server and its operator
// tools. See `quartermaster --help`.
package main

import (
	// Time zones (tenants' quiet hours) without the host's database.
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	_ "time/tzdata"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/bench"
	"github.com/quartermaster/qm/tenancy"
)

const helpText = `Quartermaster: multi-tenant IT asset and connected-fleet management.

Usage:
  quartermaster serve   [--addr 127.0.0.1:8080]   run the server (migrates first)
  quartermaster migrate [--parallel 8] [--status] bring the catalog and every tenant to the newest schema
  quartermaster tenant create --slug SLUG --name NAME [--tier pool|bridge|silo] [--server NAME] [--admin EMAIL]
  quartermaster tenant invite SLUG --email EMAIL [--role admin]
                                                  invite a person (such as the first admin); prints a one-time link
  quartermaster tenant list [--json]
  quartermaster tenant show SLUG [--json]
  quartermaster tenant set-plan SLUG PLAN         put a tenant on a plan
  quartermaster tenant limits SLUG [--set key=value]… [--unset key]…
                                                  show a tenant's limits, or change what differs from its plan
  quartermaster tenant move SLUG --tier pool|bridge|silo [--server NAME]
                                                  copy a tenant to another tier or server, verified; 503 while it moves
  quartermaster tenant delete SLUG [--grace 168h] [--now [--yes]]
                                                  take a tenant out of service; purged after the grace (or now), verified
  quartermaster tenant restore SLUG               bring a tenant being deleted back, whole
  quartermaster tenant tombstones [--json]        the tenants purged: what went, and whether anything remained
  quartermaster tenant servers [--json]           the servers tenants' data is kept on: tenants and size of each
  quartermaster audit [--tenant SLUG] [--action ACTION] [--limit 100] [--json]
                                                  the operator's audit log, newest first: who did what to which tenant
  quartermaster tenant export SLUG -o FILE[.gz]   write a tenant to an archive (manifest with counts and hashes, no secrets)
  quartermaster tenant import FILE --slug NEW [--tier pool|bridge|silo] [--server NAME]
                                                  make a new tenant of an archive, verified before it is served;
                                                  prints new invitation links, device credentials and webhook secrets once
  quartermaster plan create|update NAME [--set key=value]… [--unset key]…
  quartermaster plan list|show [NAME] [--json]    plans: named sets of limits (max_assets=500, features=fleet,import, …)
  quartermaster usage [--month YYYY-MM] [--csv]   every tenant's usage of a month, for billing
  quartermaster top [--metrics URL]               the tenants loading a node most, every second (serve --metrics-addr)
  quartermaster assets import --tenant SLUG FILE.csv [--dry-run] [--skip-bad-rows] [--company-as-department]
                                                  import assets from CSV (Snipe-IT's columns)
  quartermaster device register --ident IDENT [--serial S] [--kind vehicle|phone|agent]
                                                  add a device to the inventory (prints its token once)
  quartermaster device assign IDENT --tenant SLUG give a device to a tenant (or move it)
  quartermaster device list [--tenant SLUG] [--json]
                                                  and: device register --csv, unassign, rotate, show
  quartermaster simulate --tenant SLUG [--devices 5] [--protocol http|mqtt|osmand] [--rate 1] [--reports N] [--duration D]
                                                  drive simulated vehicles through the device protocols
  quartermaster operator create --email EMAIL     create an operator (password from the terminal)
  quartermaster user reset-password EMAIL         print a one-time link with which the account's owner sets a password
  quartermaster token create --tenant SLUG --role ROLE --name NAME [--expires 90d]
  quartermaster demo                              create the demo tenants (idempotent)
  quartermaster bench [--json] [--engines sqlite,postgres] [--tenants 1000]
                                                  measure the kernel (see README)

Storage flags (every command; each has an environment variable):
  --data-dir DIR        QM_DATA_DIR       SQLite data directory (default ./data); used
                                          when no PostgreSQL URL is given
  --database-url URL    QM_DATABASE_URL   postgres://… of a privileged role: selects
                                          PostgreSQL; used to migrate and provision
  --pg-server NAME=URL  QM_PG_SERVERS     a PostgreSQL server for silo tenants (beside SQLite too)
                                          (repeatable; the variable takes NAME=URL,…)
  --serving-role ROLE   QM_SERVING_ROLE   the unprivileged role requests run as
                                          (default qm_app; migrate creates it if missing;
                                          its password comes from QM_SERVING_PASSWORD)
  --default-tier TIER   QM_DEFAULT_TIER   tier of new tenants when --tier is not given
                                          (default pool)
  --log-level LEVEL     QM_LOG_LEVEL      debug, info, warn or error (default info)
`

func main() {
	if bench.HoldIdleClients() || bench.RunNeighbour() { // the child process of a bench figure
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "quartermaster: "+describe(err))
		os.Exit(1)
	}
}

// errUsage marks a usage error already explained to the user.
var errUsage = errors.New("usage")

// run dispatches a command line. It is main without the process: tests call
// it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, helpText)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmds := map[string]func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error{
		"serve":    cmdServe,
		"migrate":  cmdMigrate,
		"tenant":   cmdTenant,
		"audit":    cmdAudit,
		"plan":     cmdPlan,
		"usage":    cmdUsage,
		"top":      cmdTop,
		"demo":     cmdDemo,
		"bench":    cmdBench,
		"operator": cmdOperator,
		"assets":   cmdAssets,
		"token":    cmdToken,
		"user":     cmdUser,
		"device":   cmdDevice,
		"simulate": cmdSimulate,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "quartermaster: unknown command %q\n\n%s", args[0], helpText)
		return errUsage
	}
	// Every command but serve is the operator at the command line, in the
	// audit logs; serve's requests carry their own principals, and its
	// jobs (the purge) act as the system.
	if args[0] != "serve" {
		ctx = tenancy.WithPrincipal(ctx, cliOperator)
	}
	return cmd(ctx, args[1:], stdin, stdout, stderr)
}

// describe turns an error into one line for the terminal. The CLI's user is
// the operator, so the whole chain is shown, with the per-field messages of
// an invalid input.
func describe(err error) string {
	msg := err.Error()
	var e *qm.Error
	if errors.As(err, &e) && len(e.Fields) > 1 {
		for _, f := range slices.Sorted(maps.Keys(e.Fields)) {
			msg += fmt.Sprintf("; %s: %s", f, e.Fields[f])
		}
	}
	return msg
}

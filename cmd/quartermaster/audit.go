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

// cmdAudit prints the operator's audit log, newest first: what was done
// to tenants, plans and devices, by whom, with its details.
func cmdAudit(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("audit", stderr)
	tenant := fs.String("tenant", "", "only the entries of the tenant with this slug (purged or not)")
	action := fs.String("action", "", "only the entries of this action, such as tenant.purge")
	limit := fs.Int("limit", 100, "at most this many entries, the newest (1 to 1000)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *limit < 1 || *limit > 1000 {
		return qm.Errorf(qm.EInvalid, "--limit must be 1 to 1000, got %d", *limit)
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	entries, err := e.Tenants().OperatorAudit(ctx, qm.OperatorAuditFilter{Tenant: *tenant, Action: *action, Limit: *limit})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, entries)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tBY\tACTION\tTENANT\tDETAILS")
	for _, en := range entries {
		details, err := json.Marshal(en.Details)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", en.At.Format(time.RFC3339), en.ActorName, en.Action, en.TenantSlug, details)
	}
	return tw.Flush()
}

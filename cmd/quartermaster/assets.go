package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
)

func cmdAssets(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: quartermaster assets import --tenant SLUG FILE.csv [--dry-run] [--skip-bad-rows] [--company-as-department] [--json]")
		return errUsage
	}
	fs, c := newFlagSet("assets import", stderr)
	slug := fs.String("tenant", "", "the tenant to import into")
	dry := fs.Bool("dry-run", false, "report what would happen, and change nothing")
	skip := fs.Bool("skip-bad-rows", false, "import the good rows even when some are bad (otherwise one bad row stops it all)")
	company := fs.Bool("company-as-department", false, "read Snipe-IT's Company column as the department (made if missing)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("assets import takes one CSV file, got %d", len(pos))
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := assetcsv.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	t, err := e.Tenants().Tenant(ctx, *slug)
	if err != nil {
		return fmt.Errorf("tenant %q: %w", *slug, err)
	}
	ctx = tenancy.WithPrincipal(tenancy.WithTenant(ctx, t), cliOperator)
	start := time.Now()
	rep, err := sqlstore.NewAssetStore(e, e.Identity(), time.Now).Import(ctx, r.Next, qm.ImportOptions{DryRun: *dry, SkipBadRows: *skip, CompanyAsDepartment: *company})
	if err != nil {
		return err
	}
	rep.Warnings = append(r.Warnings, rep.Warnings...)
	took := time.Since(start)
	if *asJSON {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep, took)
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d rows are bad", rep.Failed, rep.Rows)
	}
	return nil
}

// shownChanges is how many rows' changes the text report lists; --json
// has them all (up to the report's own bound).
const shownChanges = 20

func printReport(w io.Writer, rep *qm.ImportReport, took time.Duration) {
	for _, warn := range rep.Warnings {
		fmt.Fprintln(w, "warning:", warn)
	}
	for i, c := range rep.Changes {
		if i == shownChanges {
			fmt.Fprintf(w, "… and %d more rows that %s (--json lists them)\n", rep.Created+rep.Updated-shownChanges, map[bool]string{true: "would change assets", false: "changed assets"}[rep.DryRun || !rep.Committed])
			break
		}
		fmt.Fprintf(w, "line %d: %s %s\n", c.Line, c.Action, c.Tag)
	}
	for _, p := range rep.Problems {
		for _, e := range p.Errors {
			fmt.Fprintf(w, "line %d: %s\n", p.Line, e)
		}
	}
	if rep.Failed > len(rep.Problems) {
		fmt.Fprintf(w, "… and %d more bad rows\n", rep.Failed-len(rep.Problems))
	}
	verb := "imported"
	switch {
	case rep.DryRun:
		verb = "dry run: would import"
	case !rep.Committed:
		verb = "nothing imported (use --skip-bad-rows to import the good rows); would have imported"
	}
	fmt.Fprintf(w, "%s %d rows: %d created, %d updated, %d bad", verb, rep.Rows, rep.Created, rep.Updated, rep.Failed)
	for list, n := range rep.Made {
		fmt.Fprintf(w, ", %d %s made", n, list)
	}
	fmt.Fprintf(w, " (%v, %.0f rows/s)\n", took.Round(time.Millisecond), float64(rep.Rows)/took.Seconds())
}

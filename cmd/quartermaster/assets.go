package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/assetcsv"
	"github.com/quartermaster/qm/password"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

func cmdAssets(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		fmt.Fprintln(stderr, "usage: quartermaster assets import --tenant SLUG FILE.csv [--dry-run] [--skip-bad-rows] [--company-as-department] [--encoding NAME] [--date-format DD/MM/YYYY] [--invite-missing-users [--invite-role viewer]] [--public-url URL] [--json]")
		return errUsage
	}
	fs, c := newFlagSet("assets import", stderr)
	slug := fs.String("tenant", "", "the tenant to import into")
	var opts qm.ImportOptions
	fs.BoolVar(&opts.DryRun, "dry-run", false, "report what would happen, and change nothing")
	fs.BoolVar(&opts.SkipBadRows, "skip-bad-rows", false, "import the good rows even when some are bad (otherwise one bad row stops it all)")
	fs.BoolVar(&opts.CompanyAsDepartment, "company-as-department", false, "read Snipe-IT's Company column as the department (made if missing)")
	fs.StringVar(&opts.Encoding, "encoding", "", "the file's encoding when it is not UTF-8: windows-1252, macintosh (Mac Roman), iso-8859-1, …")
	fs.StringVar(&opts.DateFormat, "date-format", "", "the order of dates written in numbers: DD/MM/YYYY, MM/DD/YY, …; without it, each column's order is inferred from its values")
	fs.BoolVar(&opts.InviteMissingUsers, "invite-missing-users", false, "invite each person the file checks assets out to who is not a member, by email: the assets are checked out to them once they accept")
	fs.StringVar(&opts.InviteRole, "invite-role", "", "the role those invitations offer (default "+qm.DefaultInviteRole+")")
	public := publicURLFlag(fs)
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
	r, err := assetcsv.NewReader(f, opts)
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
	invitations := dataplane.NewInvitationStore(e.Identity(), e, e.Tenants(), password.Hash, *public, time.Now)
	rep, err := r.Import(ctx, dataplane.NewAssetStore(e, e.Identity(), time.Now).WithInvitations(invitations))
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	took := time.Since(start)
	if *asJSON {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		printReport(stdout, rep, took)
	}
	// The exit code says whether the file was imported (or, in a dry
	// run, would be): rows skipped on request do not make it fail.
	if !rep.Committed && (!rep.DryRun || rep.Failed > 0 && !opts.SkipBadRows) {
		return fmt.Errorf("%d of %d rows are bad: nothing was imported", rep.Failed, rep.Rows)
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
	printInvitations(w, rep)
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

// printInvitations lists the invitations an import made, each link shown
// this once, or, when it did not commit, would make.
func printInvitations(w io.Writer, rep *qm.ImportReport) {
	for _, inv := range rep.Invitations {
		switch {
		case inv.Error != "":
			fmt.Fprintf(w, "not invited: %s (%s)\n", inv.Email, inv.Error)
		case inv.Link == "":
			fmt.Fprintf(w, "would invite %s, to check out %d assets (lines %s)\n", inv.Email, inv.Assets, joinLines(inv))
		default:
			fmt.Fprintf(w, "invited %s, to check out %d assets once they accept (lines %s); the link is shown this once: %s\n",
				inv.Email, inv.Assets, joinLines(inv), inv.Link)
		}
	}
}

// joinLines writes the lines of an invitation's assets for a person to
// read; the report lists the first 100.
func joinLines(inv qm.ImportInvitation) string {
	s := make([]string, len(inv.Lines))
	for i, l := range inv.Lines {
		s[i] = strconv.Itoa(l)
	}
	if more := inv.Assets - len(inv.Lines); more > 0 {
		s = append(s, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(s, ", ")
}

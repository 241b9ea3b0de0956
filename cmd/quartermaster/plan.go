package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/usage"
)

// limitFlags are the --set key=value and --unset key flags of the commands
// that change limits.
type limitFlags struct {
	set   qm.LimitSet
	unset []string
}

func (l *limitFlags) register(fs *flag.FlagSet) {
	fs.Func("set", "set a limit, key=value (repeatable): max_assets=500, features=fleet,import; 0 is unlimited", func(kv string) error {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--set takes key=value, such as max_assets=500; got %q", kv)
		}
		return l.set.Set(strings.TrimSpace(key), value)
	})
	fs.Func("unset", "remove a limit, which then comes from below (repeatable)", func(key string) error {
		if err := (&qm.LimitSet{}).Unset(key); err != nil {
			return err
		}
		l.unset = append(l.unset, key)
		return nil
	})
}

func (l *limitFlags) changes() bool { return !l.set.Empty() || len(l.unset) > 0 }

func cmdPlan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: quartermaster plan create|update|list|show …  (see quartermaster --help)")
		return errUsage
	}
	verb := args[0]
	fs, c := newFlagSet("plan "+verb, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	var lf limitFlags
	if verb == "create" || verb == "update" {
		lf.register(fs)
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"create": 1, "update": 1, "show": 1, "list": 0}
	n, known := want[verb]
	if !known || len(pos) != n {
		fmt.Fprintln(stderr, "usage: quartermaster plan create NAME [--set key=value]… | update NAME [--set key=value]… [--unset key]… | list | show NAME  [--json]")
		return errUsage
	}
	return c.withEngine(ctx, func(e engine) error {
		return planCommand(ctx, verb, pos, lf, *asJSON, catalog.NewPlanStore(e.Tenants()), stdout)
	})
}

// planCommand runs plan VERB on plans.
func planCommand(ctx context.Context, verb string, pos []string, lf limitFlags, asJSON bool, plans *catalog.PlanStore, stdout io.Writer) (err error) {
	var p *qm.Plan
	switch verb {
	case "list":
		ps, err := plans.Plans(ctx)
		if err != nil || asJSON {
			return orJSON(stdout, ps, err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PLAN\tLIMITS")
		for _, p := range ps {
			fmt.Fprintf(tw, "%s\t%s\n", p.Name, describeLimits(p.Limits))
		}
		return tw.Flush()
	case "create":
		p = &qm.Plan{Name: pos[0], Limits: lf.set}
		err = plans.CreatePlan(ctx, p)
	case "update":
		p, err = plans.UpdatePlan(ctx, pos[0], lf.set, lf.unset)
	case "show":
		p, err = plans.Plan(ctx, pos[0])
	}
	if err != nil || asJSON {
		return orJSON(stdout, p, err)
	}
	fmt.Fprintf(stdout, "plan %s: %s\n", p.Name, describeLimits(p.Limits))
	return nil
}

// orJSON prints v as JSON unless err.
func orJSON(w io.Writer, v any, err error) error {
	if err != nil {
		return err
	}
	return printJSON(w, v)
}

// describeLimits says what a set of limits sets, in one line.
func describeLimits(s qm.LimitSet) string {
	var parts []string
	for _, d := range qm.Limits {
		if v, ok := s.Values[d.Key]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", d.Key, strconv.FormatFloat(v, 'f', -1, 64)))
		}
	}
	if s.Features != nil {
		parts = append(parts, fmt.Sprintf("%s=%s", qm.FeaturesKey, joinFeatures(*s.Features)))
	}
	if len(parts) == 0 {
		return "(nothing set: unlimited, every feature)"
	}
	return strings.Join(parts, " ")
}

func joinFeatures(fs []qm.Feature) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ",")
}

// tenantLimits runs `tenant set-plan SLUG PLAN`, which moves a tenant to
// another plan, and `tenant limits SLUG`, which changes its overrides when
// asked to; both then show its limits.
func tenantLimits(ctx context.Context, verb string, args []string, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("tenant "+verb, stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	var lf limitFlags
	want, use := 2, "set-plan SLUG PLAN [--json]"
	if verb == "limits" {
		lf.register(fs)
		want, use = 1, "limits SLUG [--set key=value]… [--unset key]… [--json]"
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != want {
		fmt.Fprintln(stderr, "usage: quartermaster tenant "+use)
		return errUsage
	}
	return c.withEngine(ctx, func(e engine) error {
		plans := catalog.NewPlanStore(e.Tenants())
		var tl *qm.TenantLimits
		switch {
		case verb == "set-plan":
			tl, err = plans.SetTenantPlan(ctx, pos[0], pos[1])
		case lf.changes():
			tl, err = plans.SetTenantOverrides(ctx, pos[0], lf.set, lf.unset)
		default:
			tl, err = plans.TenantLimits(ctx, pos[0])
		}
		return printTenantLimits(stdout, pos[0], tl, err, *asJSON)
	})
}

// printTenantLimits prints a tenant's effective limits, marking those its
// overrides set.
func printTenantLimits(w io.Writer, slug string, tl *qm.TenantLimits, err error, asJSON bool) error {
	if err != nil || asJSON {
		return orJSON(w, tl, err)
	}
	fmt.Fprintf(w, "tenant %s on plan %s\n", slug, tl.Plan)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LIMIT\tVALUE\tFROM")
	from := func(overridden bool) string {
		if overridden {
			return "override"
		}
		return "plan"
	}
	for _, d := range qm.Limits {
		v := "unlimited"
		if n := tl.Effective.Value(d.Key); n != 0 {
			v = strconv.FormatFloat(n, 'f', -1, 64)
		}
		_, over := tl.Overrides.Values[d.Key]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Key, v, from(over))
	}
	var on []qm.Feature
	for _, f := range qm.Features {
		if tl.Effective.Has(f) {
			on = append(on, f)
		}
	}
	fmt.Fprintf(tw, "%s\t%s\t%s\n", qm.FeaturesKey, joinFeatures(on), from(tl.Overrides.Features != nil))
	return tw.Flush()
}

// cmdUsage prints every tenant's usage of a month, for billing.
func cmdUsage(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("usage", stderr)
	month := fs.String("month", time.Now().UTC().Format("2006-01"), "the month, YYYY-MM")
	asCSV := fs.Bool("csv", false, "print CSV: month,tenant,meter,value")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	var lines []qm.UsageLine
	err := c.withEngine(ctx, func(e engine) (err error) {
		lines, err = catalog.NewUsageStore(e.Tenants()).MonthUsage(ctx, *month)
		return err
	})
	switch {
	case err != nil || *asJSON:
		return orJSON(stdout, lines, err)
	case *asCSV:
		return usage.WriteCSV(stdout, lines)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TENANT\tMETER\t%s\n", *month)
	for _, l := range lines {
		fmt.Fprintf(tw, "%s\t%s\t%d\n", l.Tenant, l.Meter, l.Value)
	}
	return tw.Flush()
}

// withEngine opens the configured storage, ready to serve, runs fn with it
// and closes it.
func (c *config) withEngine(ctx context.Context, fn func(engine) error) error {
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	return fn(e)
}

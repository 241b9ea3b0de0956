package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/quartermaster/qm/metrics"
)

// cmdTop shows, every second, the tenants loading a node most, as its
// metrics listener exports them (serve --metrics-addr): which tenant is
// hurting the server now.
func cmdTop(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, _ := newFlagSet("top", stderr)
	url := fs.String("metrics", "http://127.0.0.1:9090/metrics", "the node's metrics (serve --metrics-addr)")
	n := fs.Int("n", 20, "how many tenants to show")
	once := fs.Bool("once", false, "show once and stop")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		load, err := readLoad(ctx, client, *url)
		if err != nil {
			return err
		}
		if !*once {
			fmt.Fprint(stdout, "\033[H\033[2J") // the terminal, cleared
		}
		if err := printLoad(stdout, load, *n); err != nil || *once {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// readLoad reads the tenants' load from a node's metrics.
func readLoad(ctx context.Context, client *http.Client, url string) ([]metrics.TenantLoad, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("--metrics: %w", err)
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read the metrics: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read the metrics: %s answered %s", url, res.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read the metrics of %s: %w", url, err)
	}
	byTenant := map[string]*metrics.TenantLoad{}
	for name, set := range map[string]func(*metrics.TenantLoad, float64){
		"qm_tenant_requests_per_second": func(t *metrics.TenantLoad, v float64) { t.RequestsPerSecond = v },
		"qm_tenant_points_per_second":   func(t *metrics.TenantLoad, v float64) { t.PointsPerSecond = v },
		"qm_tenant_refused_per_second":  func(t *metrics.TenantLoad, v float64) { t.RefusedPerSecond = v },
		"qm_tenant_request_p99_seconds": func(t *metrics.TenantLoad, v float64) { t.RequestP99 = time.Duration(v * float64(time.Second)) },
	} {
		family := families[name]
		if family == nil {
			continue
		}
		for _, m := range family.GetMetric() {
			var tenant string
			for _, l := range m.GetLabel() {
				if l.GetName() == "tenant" {
					tenant = l.GetValue()
				}
			}
			if byTenant[tenant] == nil {
				byTenant[tenant] = &metrics.TenantLoad{Tenant: tenant}
			}
			set(byTenant[tenant], m.GetGauge().GetValue())
		}
	}
	out := make([]metrics.TenantLoad, 0, len(byTenant))
	for _, t := range byTenant {
		out = append(out, *t)
	}
	metrics.SortByLoad(out)
	return out, nil
}

// printLoad prints the n busiest tenants of load, busiest first.
func printLoad(w io.Writer, load []metrics.TenantLoad, n int) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "TENANT\tREQUESTS/S\tPOINTS/S\tREFUSED/S\tP99\t\n")
	if len(load) == 0 {
		fmt.Fprintf(tw, "(no tenant used the node in the last %v)\t\t\t\t\t\n", metrics.LoadWindow)
	}
	for i, t := range load {
		if i == n {
			break
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%v\t\n", t.Tenant, t.RequestsPerSecond, t.PointsPerSecond, t.RefusedPerSecond, t.RequestP99)
	}
	return tw.Flush()
}

// Package bench measures whole-system figures for `quartermaster bench`:
// each figure is a distribution (median, p99) and, where a baseline
// applies, the ratio to that baseline measured in the same run.
package bench

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// Result is one measured figure.
type Result struct {
	Name   string        `json:"name"`
	N      int           `json:"n"`
	Median time.Duration `json:"median_ns"`
	P99    time.Duration `json:"p99_ns"`
	// Total is the wall time of the whole measured run, for figures that
	// are one run (a migration of many tenants).
	Total time.Duration `json:"total_ns,omitempty"`
	// Baseline names what the figure is compared with, measured in the
	// same run; Ratio is Median / BaselineMedian, or P99 / BaselineP99
	// when RatioOf is "p99".
	Baseline       string        `json:"baseline,omitempty"`
	BaselineMedian time.Duration `json:"baseline_median_ns,omitempty"`
	BaselineP99    time.Duration `json:"baseline_p99_ns,omitempty"`
	Ratio          float64       `json:"ratio,omitempty"`
	RatioOf        string        `json:"ratio_of,omitempty"`
	// Rate and BaselineRate are per second, in Unit (requests when
	// empty), for load figures, whose Ratio is of the rates.
	Rate         float64 `json:"rate,omitempty"`
	BaselineRate float64 `json:"baseline_rate,omitempty"`
	Unit         string  `json:"unit,omitempty"`
	// Refused counts the requests answered 429 rate_limited, for figures
	// of tenants held to a plan's rates.
	Refused int    `json:"refused,omitempty"`
	Target  string `json:"target,omitempty"`
}

// Sample collects durations.
type Sample []time.Duration

// Time runs fn and records how long it took.
func (s *Sample) Time(fn func() error) error {
	start := time.Now()
	err := fn()
	*s = append(*s, time.Since(start))
	return err
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) by nearest rank.
func (s Sample) Quantile(q float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	return sorted[int(q*float64(len(sorted)-1)+0.5)]
}

// Result summarizes the sample.
func (s Sample) Result(name, target string) Result {
	return Result{Name: name, N: len(s), Median: s.Quantile(0.5), P99: s.Quantile(0.99), Target: target}
}

// Compared summarizes the sample against a baseline sample.
func (s Sample) Compared(name, target, baselineName string, baseline Sample) Result {
	r := s.Result(name, target)
	r.Baseline = baselineName
	r.BaselineMedian, r.BaselineP99 = baseline.Quantile(0.5), baseline.Quantile(0.99)
	if r.BaselineMedian > 0 {
		r.Ratio = float64(r.Median) / float64(r.BaselineMedian)
	}
	return r
}

// WriteTable prints results as an aligned table.
func WriteTable(w io.Writer, rs []Result) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tn\tmedian\tp99\ttotal\tbaseline median\tratio\ttarget\t")
	for _, r := range rs {
		median, p99, total, base, ratio := "", "", "", "", ""
		if r.Median > 0 {
			median, p99 = round(r.Median).String(), round(r.P99).String()
		}
		if r.Total > 0 {
			total = round(r.Total).String()
		}
		if r.Baseline != "" {
			base = round(r.BaselineMedian).String() + " (" + r.Baseline + ")"
			if r.RatioOf == "p99" {
				base = "p99 " + round(r.BaselineP99).String() + " (" + r.Baseline + ")"
			}
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		if r.Rate > 0 {
			unit := cmp.Or(r.Unit, "req/s")
			total = fmt.Sprintf("%.0f %s", r.Rate, unit)
			if r.Rate < 100 { // a figure such as KiB per device: one decimal
				total = fmt.Sprintf("%.1f %s", r.Rate, unit)
			}
			if r.Baseline != "" {
				base = fmt.Sprintf("%.0f %s (%s)", r.BaselineRate, unit, r.Baseline)
			}
		}
		if r.Refused > 0 {
			total += fmt.Sprintf(", %d refused", r.Refused)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.N, median, p99, total, base, ratio, r.Target)
	}
	return tw.Flush()
}

// WriteJSON prints results as a JSON array.
func WriteJSON(w io.Writer, rs []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rs)
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}

// Step is one named part of a run, for progress output.
type Step func(ctx context.Context) ([]Result, error)

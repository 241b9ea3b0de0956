package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/quartermaster/qm/bench"
	"github.com/quartermaster/qm/internal/pgtest"
)

// TestBenchLimits runs the figures of tenants' limits tiny, on each engine:
// the cost of limits, and the noisy neighbour, whose tenant B is answered
// 200 every time while tenant A's flood is refused.
func TestBenchLimits(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			args := []string{"bench", "--json", "--engines", engine, "--provision", "1", "--reads", "1", "--tenants", "0", "--http", "0", "--logins", "0",
				"--assets", "0", "--import-rows", "0", "--ingest", "0", "--mqtt", "0", "--mqtt-idle", "0",
				"--clients", "4", "--ingest-senders", "2", "--ingest-batch", "50", "--limits", "300ms", "--noisy", "2s", "--noisy-rate", "50", "--rules", "0"}
			if engine == "postgres" {
				args = append(args, "--database-url", pgtest.URL(t))
			}
			out := mustRun(t, args...)
			var results []bench.Result
			if err := json.Unmarshal([]byte(out), &results); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			seen := map[string]int{}
			for _, r := range results {
				kind, _, _ := strings.Cut(r.Name, ",")
				seen[kind]++
				switch {
				case strings.Contains(r.Name, "limits on vs off"):
					if r.N == 0 || r.Rate <= 0 || r.BaselineRate <= 0 || r.Ratio <= 0 {
						t.Errorf("%s: got %+v, want rates on and off", r.Name, r)
					}
				case strings.HasPrefix(r.Name, "noisy neighbour: B's"):
					if r.N == 0 || r.P99 <= 0 || r.BaselineP99 <= 0 || r.Ratio <= 0 {
						t.Errorf("%s: got %+v, want B's p99 beside the flood and alone", r.Name, r)
					}
					if r.Refused != 0 {
						t.Errorf("%s: got %d refused, want every request of B answered 200", r.Name, r.Refused)
					}
				case strings.HasPrefix(r.Name, "noisy neighbour: A's"):
					// Whatever pace A's process reached on this machine, its
					// plan let through at most a burst (a second's worth)
					// and the rate's worth of each of its four turns of
					// 2s/4, stretched by a tenth on each side; half as much
					// again for the turns' ends.
					const rate, turns, turn = 50, 4, 0.5 * 1.2
					allowed := 1.5 * turns * (rate + rate*turn)
					if accepted := r.N - r.Refused; r.N == 0 || float64(accepted) > allowed || r.Refused >= r.N {
						t.Errorf("%s: got %d of %d refused, want at most %.0f let through, and not all refused", r.Name, r.Refused, r.N, allowed)
					}
				}
			}
			for kind, want := range map[string]int{"api GET location": 1, "ingest HTTP": 1,
				"noisy neighbour: B's API reads": 2, "noisy neighbour: B's ingest": 2, // beside A at its plan, and beside its flood
				"noisy neighbour: A's API reads at 10x": 1, "noisy neighbour: A's ingest at 10x": 1} {
				if seen[kind] != want {
					t.Errorf("got %d figures %q, want %d:\n%s", seen[kind], kind, want, out)
				}
			}
		})
	}
}

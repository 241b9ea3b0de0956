package bench_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm/bench"
)

func TestSample(t *testing.T) {
	var s bench.Sample
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	if got := s.Quantile(0.5); got != 51*time.Millisecond && got != 50*time.Millisecond {
		t.Errorf("median: got %v, want 50ms or 51ms", got)
	}
	if got := s.Quantile(0.99); got != 99*time.Millisecond {
		t.Errorf("p99: got %v, want 99ms", got)
	}
	base := bench.Sample{25 * time.Millisecond, 25 * time.Millisecond}
	r := s.Compared("x", "≤ 1.1x", "driver", base)
	if r.Ratio < 2 || r.Ratio > 2.1 || r.N != 100 {
		t.Errorf("compared: got %+v, want ratio about 2", r)
	}
	var out bytes.Buffer
	if err := bench.WriteTable(&out, []bench.Result{r}); err != nil || !strings.Contains(out.String(), "2.0") {
		t.Errorf("table: %v\n%s", err, out.String())
	}
}

// TestTableRates checks that the table shows a small figure to a tenth and
// a large one whole.
func TestTableRates(t *testing.T) {
	var out bytes.Buffer
	rs := []bench.Result{{Name: "memory", N: 1, Rate: 25.44, Unit: "KiB each"}, {Name: "load", N: 1, Rate: 14506.4, Unit: "messages/s"}}
	if err := bench.WriteTable(&out, rs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"25.4 KiB each", "14506 messages/s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

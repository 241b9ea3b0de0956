package telemetry

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/quartermaster/qm"
)

// TestStoredMetrics checks that device_state's metrics read back as
// written, by the quick reader where it applies and by encoding/json
// otherwise, and that both read the same.
func TestStoredMetrics(t *testing.T) {
	values := []qm.Metric{qm.NumberMetric(13.9), qm.NumberMetric(-1e21), qm.NumberMetric(0), qm.BoolMetric(true), qm.BoolMetric(false),
		qm.StringMetric(`say "hi", \ {x:1}, ünï`), qm.StringMetric(""), qm.StringMetric(`}],"t":1`)}
	written := map[string]storedMetric{}
	for i, v := range values {
		enc, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		written[string(rune('a'+i))+"_m"] = storedMetric{V: enc, T: int64(i) * 1700000000000000}
	}
	for _, tc := range []struct {
		name  string
		text  string
		quick bool
	}{
		{"Written", string(appendStoredMetrics(nil, written)), true},
		{"Empty", string(appendStoredMetrics(nil, map[string]storedMetric{})), true},
		{"Spaced", `{ "a_m" : {"v": 1, "t": 2} }`, false},
		{"FieldsSwapped", `{"a_m":{"t":2,"v":1}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want map[string]storedMetric
			if err := json.Unmarshal([]byte(tc.text), &want); err != nil {
				t.Fatal(err)
			}
			if _, ok := parseStoredMetrics(tc.text); ok != tc.quick {
				t.Errorf("quick reader took it: got %v, want %v", ok, tc.quick)
			}
			got, err := decodeStoredMetrics(tc.text)
			if err != nil || !reflect.DeepEqual(compact(t, got), compact(t, want)) {
				t.Errorf("got %v, %v; want %v", got, err, want)
			}
		})
	}
	for _, bad := range []string{``, `{`, `{"a_m":{"v":1,"t":}}`, `{"a_m":{"v":"open,"t":1}}`, `[1]`} {
		if _, err := decodeStoredMetrics(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

// compact rewrites each value without spaces, as the writer would store it.
func compact(t *testing.T, m map[string]storedMetric) map[string]storedMetric {
	out := map[string]storedMetric{}
	for name, v := range m {
		var x any
		if err := json.Unmarshal(v.V, &x); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		enc, _ := json.Marshal(x)
		out[name] = storedMetric{V: enc, T: v.T}
	}
	return out
}

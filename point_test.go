package qm_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

func ptr(f float64) *float64 { return &f }

func TestPointValidate(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	lim := qm.DefaultPointLimits
	good := func() qm.Point {
		return qm.Point{
			Time: now.Add(-time.Minute),
			Position: &qm.Position{Lat: 52.52, Lon: 13.405, AltitudeM: ptr(-20), SpeedKMH: ptr(0),
				Heading: ptr(359.9), AccuracyM: ptr(0)},
			Metrics: map[string]qm.Metric{
				"battery_v": qm.NumberMetric(12.6),
				"ignition":  qm.BoolMetric(true),
				"dtc":       qm.StringMetric("P0301"),
				"guard":     qm.StringMetric("NaN"),
			},
		}
	}
	manyMetrics := map[string]qm.Metric{}
	for i := range lim.MaxMetrics + 1 {
		manyMetrics[fmt.Sprintf("m%d", i)] = qm.NumberMetric(1)
	}
	for _, tc := range []struct {
		name      string
		change    func(p *qm.Point)
		wantField string // "" means valid
	}{
		{"OK", func(p *qm.Point) {}, ""},
		{"OKNoPositionNoMetrics", func(p *qm.Point) { p.Position, p.Metrics = nil, nil }, ""},
		{"OKEdges", func(p *qm.Point) { p.Position.Lat, p.Position.Lon = -90, 180 }, ""},
		{"OKAtMaxFuture", func(p *qm.Point) { p.Time = now.Add(lim.MaxFuture) }, ""},
		{"OKAtMaxAge", func(p *qm.Point) { p.Time = now.Add(-lim.MaxAge) }, ""},
		{"OKLongestName", func(p *qm.Point) { p.Metrics[strings.Repeat("a", lim.MaxNameLen)] = qm.BoolMetric(false) }, ""},
		{"OKLongestString", func(p *qm.Point) { p.Metrics["s"] = qm.StringMetric(strings.Repeat("é", lim.MaxStringLen)) }, ""},
		{"ErrTimeZero", func(p *qm.Point) { p.Time = time.Time{} }, "time"},
		{"ErrTimeFuture", func(p *qm.Point) { p.Time = now.Add(lim.MaxFuture + time.Second) }, "time"},
		{"ErrTimeOld", func(p *qm.Point) { p.Time = now.Add(-lim.MaxAge - time.Second) }, "time"},
		{"ErrLat91", func(p *qm.Point) { p.Position.Lat = 91 }, "lat"},
		{"ErrLatJustBelow", func(p *qm.Point) { p.Position.Lat = -90.000001 }, "lat"},
		{"ErrLatNaN", func(p *qm.Point) { p.Position.Lat = math.NaN() }, "lat"},
		{"ErrLonMinus181", func(p *qm.Point) { p.Position.Lon = -181 }, "lon"},
		{"ErrLonInf", func(p *qm.Point) { p.Position.Lon = math.Inf(1) }, "lon"},
		{"ErrAltitudeNaN", func(p *qm.Point) { p.Position.AltitudeM = ptr(math.NaN()) }, "altitude_m"},
		{"ErrAltitudeInf", func(p *qm.Point) { p.Position.AltitudeM = ptr(math.Inf(-1)) }, "altitude_m"},
		{"ErrSpeedNegative", func(p *qm.Point) { p.Position.SpeedKMH = ptr(-1) }, "speed_kmh"},
		{"ErrSpeedInf", func(p *qm.Point) { p.Position.SpeedKMH = ptr(math.Inf(1)) }, "speed_kmh"},
		{"ErrHeading360", func(p *qm.Point) { p.Position.Heading = ptr(360) }, "heading"},
		{"ErrHeadingNegative", func(p *qm.Point) { p.Position.Heading = ptr(-0.5) }, "heading"},
		{"ErrHeadingNaN", func(p *qm.Point) { p.Position.Heading = ptr(math.NaN()) }, "heading"},
		{"ErrAccuracyNegative", func(p *qm.Point) { p.Position.AccuracyM = ptr(-3) }, "accuracy_m"},
		{"ErrTooManyMetrics", func(p *qm.Point) { p.Metrics = manyMetrics }, "metrics"},
		{"ErrNameUpper", func(p *qm.Point) { p.Metrics["Battery"] = qm.NumberMetric(1) }, "metrics"},
		{"ErrNameDigitFirst", func(p *qm.Point) { p.Metrics["1abc"] = qm.NumberMetric(1) }, "metrics"},
		{"ErrNameEmpty", func(p *qm.Point) { p.Metrics[""] = qm.NumberMetric(1) }, "metrics"},
		{"ErrNameDash", func(p *qm.Point) { p.Metrics["a-b"] = qm.NumberMetric(1) }, "metrics"},
		{"ErrNameTooLong", func(p *qm.Point) { p.Metrics[strings.Repeat("a", lim.MaxNameLen+1)] = qm.NumberMetric(1) }, "metrics"},
		{"ErrMetricNaN", func(p *qm.Point) { p.Metrics["battery_v"] = qm.NumberMetric(math.NaN()) }, "metrics.battery_v"},
		{"ErrMetricInf", func(p *qm.Point) { p.Metrics["battery_v"] = qm.NumberMetric(math.Inf(-1)) }, "metrics.battery_v"},
		{"ErrStringTooLong", func(p *qm.Point) { p.Metrics["dtc"] = qm.StringMetric(strings.Repeat("x", lim.MaxStringLen+1)) }, "metrics.dtc"},
		{"ErrStringNotUTF8", func(p *qm.Point) { p.Metrics["dtc"] = qm.StringMetric("P\xff") }, "metrics.dtc"},
		{"ErrMetricEmpty", func(p *qm.Point) { p.Metrics["dtc"] = qm.Metric{} }, "metrics.dtc"},
		// Physically impossible readings, as devices sent them and the
		// server stored them.
		{"OKPhysicalEdges", func(p *qm.Point) {
			p.Position.SpeedKMH, p.Position.AltitudeM, p.Position.AccuracyM = ptr(2000), ptr(-1000), ptr(20e6)
			for name, v := range map[string]float64{"battery_pct": 100, "fuel_pct": 0, "odometer_km": 1e7, "coolant_c": -60, "rpm": 30000, "hdop": 99.99, "battery_v": 800} {
				p.Metrics[name] = qm.NumberMetric(v)
			}
		}, ""},
		{"ErrSpeed1e300", func(p *qm.Point) { p.Position.SpeedKMH = ptr(1e300) }, "speed_kmh"},
		{"ErrSpeedPastBound", func(p *qm.Point) { p.Position.SpeedKMH = ptr(2000.1) }, "speed_kmh"},
		{"ErrAltitudeHigh", func(p *qm.Point) { p.Position.AltitudeM = ptr(1e6) }, "altitude_m"},
		{"ErrAltitudeLow", func(p *qm.Point) { p.Position.AltitudeM = ptr(-1001) }, "altitude_m"},
		{"ErrAccuracyHuge", func(p *qm.Point) { p.Position.AccuracyM = ptr(1e300) }, "accuracy_m"},
		{"ErrBattery500", func(p *qm.Point) { p.Metrics["battery_pct"] = qm.NumberMetric(500) }, "metrics.battery_pct"},
		{"ErrBatteryMinus50", func(p *qm.Point) { p.Metrics["battery_pct"] = qm.NumberMetric(-50) }, "metrics.battery_pct"},
		{"ErrBatteryText", func(p *qm.Point) { p.Metrics["battery_pct"] = qm.StringMetric("full") }, "metrics.battery_pct"},
		{"ErrBatteryVolts", func(p *qm.Point) { p.Metrics["battery_v"] = qm.NumberMetric(-12) }, "metrics.battery_v"},
		{"ErrFuelOver", func(p *qm.Point) { p.Metrics["fuel_pct"] = qm.NumberMetric(101) }, "metrics.fuel_pct"},
		{"ErrOdometerNegative", func(p *qm.Point) { p.Metrics["odometer_km"] = qm.NumberMetric(-1) }, "metrics.odometer_km"},
		{"ErrOdometerHuge", func(p *qm.Point) { p.Metrics["odometer_km"] = qm.NumberMetric(1e12) }, "metrics.odometer_km"},
		{"ErrCoolantHot", func(p *qm.Point) { p.Metrics["coolant_c"] = qm.NumberMetric(500) }, "metrics.coolant_c"},
		{"ErrCoolantCold", func(p *qm.Point) { p.Metrics["coolant_c"] = qm.NumberMetric(-273) }, "metrics.coolant_c"},
		{"ErrRPMNegative", func(p *qm.Point) { p.Metrics["rpm"] = qm.NumberMetric(-800) }, "metrics.rpm"},
		{"ErrRPMHuge", func(p *qm.Point) { p.Metrics["rpm"] = qm.NumberMetric(1e9) }, "metrics.rpm"},
		{"ErrHDOPNegative", func(p *qm.Point) { p.Metrics["hdop"] = qm.NumberMetric(-1) }, "metrics.hdop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.change(&p)
			err := p.Validate(now, lim)
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var e *qm.Error
			if !errors.As(err, &e) || e.Code != qm.EInvalid {
				t.Fatalf("got %v, want an %s *qm.Error", err, qm.EInvalid)
			}
			if _, ok := e.Fields[tc.wantField]; !ok || len(e.Fields) != 1 {
				t.Fatalf("got fields %v, want exactly %q", e.Fields, tc.wantField)
			}
		})
	}
}

func TestMetricJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    qm.Metric
		json string
	}{
		{"Number", qm.NumberMetric(12.5), `12.5`},
		{"NumberInteger", qm.NumberMetric(933), `933`},
		{"NumberNegativeExponent", qm.NumberMetric(-1.5e-7), `-1.5e-07`},
		{"NumberLarge", qm.NumberMetric(1e300), `1e+300`},
		{"True", qm.BoolMetric(true), `true`},
		{"False", qm.BoolMetric(false), `false`},
		{"String", qm.StringMetric("P0301"), `"P0301"`},
		{"StringGuard", qm.StringMetric("NaN"), `"NaN"`},
		{"StringEscapes", qm.StringMetric("a\"b\\c\n<é>"), `"a\"b\\c\n\u003cé\u003e"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.m)
			if err != nil || string(got) != tc.json {
				t.Fatalf("got %s, %v, want %s", got, err, tc.json)
			}
			var back qm.Metric
			if err := json.Unmarshal(got, &back); err != nil || back != tc.m {
				t.Fatalf("got %v, %v, want %v", back, err, tc.m)
			}
		})
	}
}

func TestMetricJSONErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		json string
	}{
		{"Null", `null`},
		{"Object", `{"v":1}`},
		{"Array", `[1]`},
		{"Overflow", `1e999`},
		{"NegativeOverflow", `-1e999`},
		{"NotJSON", `NaN`},
		{"Empty", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m qm.Metric
			if err := m.UnmarshalJSON([]byte(tc.json)); err == nil {
				t.Fatalf("got %v, want an error", m)
			}
		})
	}
	for _, tc := range []struct {
		name string
		m    qm.Metric
	}{
		{"MarshalNaN", qm.NumberMetric(math.NaN())},
		{"MarshalInf", qm.NumberMetric(math.Inf(1))},
		{"MarshalEmpty", qm.Metric{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := json.Marshal(tc.m); err == nil {
				t.Fatalf("got %s, want an error", got)
			}
		})
	}
}

func TestMetricAccessors(t *testing.T) {
	n, b, s := qm.NumberMetric(1.5), qm.BoolMetric(true), qm.StringMetric("x")
	if f, ok := n.Number(); !ok || f != 1.5 || n.Kind() != qm.MetricNumber {
		t.Fatalf("got %v %v %v, want 1.5 true number", f, ok, n.Kind())
	}
	if _, ok := n.Bool(); ok {
		t.Fatalf("got a bool from %v, want none", n)
	}
	if v, ok := b.Bool(); !ok || !v || b.Kind() != qm.MetricBool {
		t.Fatalf("got %v %v %v, want true true bool", v, ok, b.Kind())
	}
	if _, ok := b.Text(); ok {
		t.Fatalf("got text from %v, want none", b)
	}
	if v, ok := s.Text(); !ok || v != "x" || s.Kind() != qm.MetricString {
		t.Fatalf("got %q %v %v, want x true string", v, ok, s.Kind())
	}
	if _, ok := s.Number(); ok {
		t.Fatalf("got a number from %v, want none", s)
	}
	if got := fmt.Sprint(n, " ", b, " ", s, " ", qm.Metric{}); got != `1.5 true "x" <none>` {
		t.Fatalf("got %s, want 1.5 true \"x\" <none>", got)
	}
}

func TestPointJSON(t *testing.T) {
	p := qm.Point{
		Time:     time.Date(2025, 6, 15, 13, 45, 12, 862000000, time.UTC),
		Position: &qm.Position{Lat: 52.52, Lon: 13.405, SpeedKMH: ptr(50.5)},
		Metrics:  map[string]qm.Metric{"battery_v": qm.NumberMetric(12.6), "ignition": qm.BoolMetric(true), "dtc": qm.StringMetric("P0301")},
	}
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2025-06-15T13:45:12.862Z","position":{"lat":52.52,"lon":13.405,"speed_kmh":50.5},"metrics":{"battery_v":12.6,"dtc":"P0301","ignition":true}}`
	if string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	var back qm.Point
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !back.Time.Equal(p.Time) || !reflect.DeepEqual(back.Position, p.Position) || !reflect.DeepEqual(back.Metrics, p.Metrics) {
		t.Fatalf("got %+v, want %+v", back, p)
	}
}

// TestPointValidatePhysicalReason checks that a refused reading says which
// range it left, so the device's owner can fix the unit or the sensor.
func TestPointValidatePhysicalReason(t *testing.T) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	p := qm.Point{Time: now, Position: &qm.Position{Lat: 1, Lon: 2, SpeedKMH: ptr(1e300)},
		Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(500)}}
	err := qm.ValidatePoints([]qm.Point{p}, now, qm.DefaultPointLimits)
	var e *qm.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want a *qm.Error", err)
	}
	for _, want := range []string{"speed 1e+300 is outside [0, 2000]", "metric battery_pct 500 is outside [0, 100]"} {
		if !strings.Contains(e.Fields["points[0]"], want) {
			t.Errorf("got %q, want it to say %q", e.Fields["points[0]"], want)
		}
	}
}

// BenchmarkValidatePoints measures the check every protocol's batch passes
// through: 1000 points with a position and four metrics, two of them
// bounded.
func BenchmarkValidatePoints(b *testing.B) {
	now := time.Date(2025, 6, 15, 12, 0, 0, 0, time.UTC)
	pts := make([]qm.Point, 1000)
	for i := range pts {
		pts[i] = qm.Point{Time: now.Add(-time.Duration(i) * time.Second),
			Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: ptr(50), Heading: ptr(90), AltitudeM: ptr(34)},
			Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(80), "rpm": qm.NumberMetric(2100),
				"ignition": qm.BoolMetric(true), "dtc": qm.StringMetric("P0301")}}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := qm.ValidatePoints(pts, now, qm.DefaultPointLimits); err != nil {
			b.Fatal(err)
		}
	}
}

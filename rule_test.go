package qm_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

func TestRuleValidate(t *testing.T) {
	ok := func(r qm.RuleDefinition) qm.RuleDefinition {
		r.Name, r.Severity = "r", qm.SeverityMajor
		return r
	}
	gt90 := &qm.Comparison{Metric: "coolant_c", Op: ">", Value: qm.NumberMetric(90)}
	for _, tc := range []struct {
		name  string
		rule  qm.RuleDefinition
		field string // "" for valid
	}{
		{"Metric", ok(qm.RuleDefinition{Kind: qm.RuleMetric, Condition: gt90, ForS: 30}), ""},
		{"MetricWithClear", ok(qm.RuleDefinition{Kind: qm.RuleMetric, Condition: gt90, Clear: &qm.Comparison{Metric: "coolant_c", Op: "<", Value: qm.NumberMetric(80)}}), ""},
		{"MetricBoolEquals", ok(qm.RuleDefinition{Kind: qm.RuleMetric, Condition: &qm.Comparison{Metric: "door_open", Op: "==", Value: qm.BoolMetric(true)}}), ""},
		{"Speed", ok(qm.RuleDefinition{Kind: qm.RuleSpeed, SpeedKMH: 90, ForS: 10}), ""},
		{"GeofenceExit", ok(qm.RuleDefinition{Kind: qm.RuleGeofence, GeofenceID: "g1", Trigger: "exit"}), ""},
		{"IgnitionOn", ok(qm.RuleDefinition{Kind: qm.RuleIgnition, Trigger: "on"}), ""},
		{"Battery", ok(qm.RuleDefinition{Kind: qm.RuleBattery, BatteryPct: 20}), ""},
		{"Offline", ok(qm.RuleDefinition{Kind: qm.RuleOffline, OfflineMinutes: 15}), ""},
		{"Warranty", ok(qm.RuleDefinition{Kind: qm.RuleWarranty, WithinDays: 30}), ""},
		{"LicenseSeats", ok(qm.RuleDefinition{Kind: qm.RuleLicenseSeats}), ""},
		{"QuietHours", ok(qm.RuleDefinition{Kind: qm.RuleOverdue, QuietHours: &qm.QuietHours{From: "22:00", To: "07:00"}}), ""},

		{"ErrNoName", qm.RuleDefinition{Kind: qm.RuleOverdue, Severity: qm.SeverityInfo}, "name"},
		{"ErrSeverity", qm.RuleDefinition{Name: "r", Kind: qm.RuleOverdue, Severity: "urgent"}, "severity"},
		{"ErrKind", ok(qm.RuleDefinition{Kind: "weather"}), "kind"},
		{"ErrMetricNoCondition", ok(qm.RuleDefinition{Kind: qm.RuleMetric}), "condition"},
		{"ErrMetricBadOp", ok(qm.RuleDefinition{Kind: qm.RuleMetric, Condition: &qm.Comparison{Metric: "rpm", Op: "=>", Value: qm.NumberMetric(1)}}), "condition.op"},
		{"ErrMetricOrderOnText", ok(qm.RuleDefinition{Kind: qm.RuleMetric, Condition: &qm.Comparison{Metric: "dtc", Op: ">", Value: qm.StringMetric("P0301")}}), "condition.op"},
		{"ErrMetricName", ok(qm.RuleDefinition{Kind: qm.RuleMetric, Condition: &qm.Comparison{Metric: "RPM", Op: ">", Value: qm.NumberMetric(1)}}), "condition.metric"},
		{"ErrMetricNoValue", ok(qm.RuleDefinition{Kind: qm.RuleMetric, Condition: &qm.Comparison{Metric: "rpm", Op: ">"}}), "condition.value"},
		{"ErrNegativeFor", ok(qm.RuleDefinition{Kind: qm.RuleSpeed, SpeedKMH: 90, ForS: -1}), "for_s"},
		{"ErrSpeedZero", ok(qm.RuleDefinition{Kind: qm.RuleSpeed}), "speed_kmh"},
		{"ErrGeofenceTrigger", ok(qm.RuleDefinition{Kind: qm.RuleGeofence, GeofenceID: "g1", Trigger: "on"}), "trigger"},
		{"ErrGeofenceMissing", ok(qm.RuleDefinition{Kind: qm.RuleGeofence, Trigger: "enter"}), "geofence_id"},
		{"ErrBatteryOver100", ok(qm.RuleDefinition{Kind: qm.RuleBattery, BatteryPct: 120}), "battery_pct"},
		{"ErrOfflineZero", ok(qm.RuleDefinition{Kind: qm.RuleOffline}), "offline_minutes"},
		{"ErrForeignField", ok(qm.RuleDefinition{Kind: qm.RuleBattery, BatteryPct: 20, SpeedKMH: 90}), "speed_kmh"},
		{"ErrDevicesOnAssetRule", ok(qm.RuleDefinition{Kind: qm.RuleWarranty, DeviceIDs: []string{"d1"}}), "device_ids"},
		{"ErrQuietHours", ok(qm.RuleDefinition{Kind: qm.RuleOverdue, QuietHours: &qm.QuietHours{From: "25:00", To: "07:00"}}), "quiet_hours.from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.rule
			r.Normalize()
			err := r.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			var e *qm.Error
			if !asError(err, &e) || e.Code != qm.EInvalid || e.Fields[tc.field] == "" {
				t.Fatalf("got %#v, want EInvalid naming %s", err, tc.field)
			}
		})
	}
}

func asError(err error, target **qm.Error) bool {
	e, ok := err.(*qm.Error)
	*target = e
	return ok
}

func TestComparisonHolds(t *testing.T) {
	p := qm.Point{Metrics: map[string]qm.Metric{"rpm": qm.NumberMetric(3000), "door": qm.BoolMetric(true), "dtc": qm.StringMetric("P0301")}}
	for _, tc := range []struct {
		c           qm.Comparison
		held, known bool
	}{
		{qm.Comparison{Metric: "rpm", Op: ">", Value: qm.NumberMetric(2999)}, true, true},
		{qm.Comparison{Metric: "rpm", Op: ">", Value: qm.NumberMetric(3000)}, false, true},
		{qm.Comparison{Metric: "rpm", Op: ">=", Value: qm.NumberMetric(3000)}, true, true},
		{qm.Comparison{Metric: "rpm", Op: "<", Value: qm.NumberMetric(3000)}, false, true},
		{qm.Comparison{Metric: "rpm", Op: "<=", Value: qm.NumberMetric(3000)}, true, true},
		{qm.Comparison{Metric: "rpm", Op: "!=", Value: qm.NumberMetric(3000)}, false, true},
		{qm.Comparison{Metric: "door", Op: "==", Value: qm.BoolMetric(true)}, true, true},
		{qm.Comparison{Metric: "door", Op: "!=", Value: qm.BoolMetric(true)}, false, true},
		{qm.Comparison{Metric: "dtc", Op: "==", Value: qm.StringMetric("P0301")}, true, true},
		{qm.Comparison{Metric: "dtc", Op: "!=", Value: qm.StringMetric("P0420")}, true, true},
		{qm.Comparison{Metric: "door", Op: "==", Value: qm.NumberMetric(1)}, false, false}, // another kind tells nothing
		{qm.Comparison{Metric: "fuel_pct", Op: "<", Value: qm.NumberMetric(10)}, false, false},
	} {
		held, known := tc.c.Holds(p)
		if held != tc.held || known != tc.known {
			t.Errorf("%s %s %s: got %v, %v; want %v, %v", tc.c.Metric, tc.c.Op, tc.c.Value, held, known, tc.held, tc.known)
		}
	}
}

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func speedPoint(s int, kmh float64) qm.Point {
	return qm.Point{Time: at(s), Position: &qm.Position{Lat: 52.52, Lon: 13.40, SpeedKMH: &kmh}}
}

func placePoint(s int, lat, lon float64) qm.Point {
	return qm.Point{Time: at(s), Position: &qm.Position{Lat: lat, Lon: lon}}
}

func metricPoint(s int, name string, v float64) qm.Point {
	return qm.Point{Time: at(s), Metrics: map[string]qm.Metric{name: qm.NumberMetric(v)}}
}

// steps feeds points to r in the order given and returns the transitions
// as a string, one letter each: . none, R raised, P repeated, C cleared.
func steps(r *qm.RuleDefinition, st *qm.RuleState, fence *qm.Shape, pts ...qm.Point) string {
	var b strings.Builder
	for _, p := range pts {
		b.WriteByte(".RPC"[r.Step(st, p, fence)])
	}
	return b.String()
}

func TestRuleStepSpeedForDuration(t *testing.T) {
	r := &qm.RuleDefinition{Kind: qm.RuleSpeed, SpeedKMH: 90, ForS: 10}
	var st qm.RuleState
	got := steps(r, &st, nil,
		speedPoint(0, 95),  // starts holding
		speedPoint(5, 96),  // 5 s: not yet
		speedPoint(10, 97), // 10 s: raised
		speedPoint(11, 99),
		speedPoint(11, 40), // a resend of 11 s with other values: ignored
		speedPoint(9, 40),  // a late point from before: ignored
		speedPoint(12, 80), // slows: cleared
		speedPoint(20, 95),
		speedPoint(25, 40), // held 5 s only: never raised
	)
	if want := "..R...C.."; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if st.Open || st.Holding || !st.Last.Equal(at(25)) {
		t.Fatalf("state %+v: want closed, not holding, last at 25 s", st)
	}
}

func TestRuleStepGeofenceExitInMeasuredOrder(t *testing.T) {
	depot, err := qm.CircleShape(qm.Position{Lat: 52.5200, Lon: 13.4050}, 200)
	if err != nil {
		t.Fatal(err)
	}
	r := &qm.RuleDefinition{Kind: qm.RuleGeofence, GeofenceID: "depot", Trigger: "exit"}
	var st qm.RuleState
	got := steps(r, &st, &depot,
		placePoint(0, 52.5200, 13.4050),  // inside
		placePoint(60, 52.5300, 13.4050), // about 1.1 km north: exit
		placePoint(60, 52.5300, 13.4050), // resent: nothing
		placePoint(30, 52.5200, 13.4050), // a late point from inside, measured before the exit: no false enter
		qm.Point{Time: at(70)},           // no position: tells nothing
		placePoint(90, 52.5201, 13.4051), // back inside: cleared
	)
	if want := ".R...C"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}

	enter := &qm.RuleDefinition{Kind: qm.RuleGeofence, GeofenceID: "depot", Trigger: "enter"}
	st = qm.RuleState{}
	if got := steps(enter, &st, &depot, placePoint(0, 52.53, 13.405), placePoint(10, 52.52, 13.405)); got != ".R" {
		t.Fatalf("enter: got %q, want .R", got)
	}
}

func TestRuleStepClearCondition(t *testing.T) {
	r := &qm.RuleDefinition{Kind: qm.RuleMetric,
		Condition: &qm.Comparison{Metric: "coolant_c", Op: ">", Value: qm.NumberMetric(100)},
		Clear:     &qm.Comparison{Metric: "coolant_c", Op: "<", Value: qm.NumberMetric(90)}}
	var st qm.RuleState
	got := steps(r, &st, nil,
		metricPoint(0, "coolant_c", 105), // raised at once (for_s 0)
		metricPoint(1, "coolant_c", 95),  // below the condition, above the clear: still open
		metricPoint(2, "rpm", 3000),      // says nothing of coolant
		metricPoint(3, "coolant_c", 104), // holds again while open: a repeat
		metricPoint(4, "coolant_c", 85),  // clear condition: cleared
		metricPoint(5, "coolant_c", 95),
	)
	if want := "R..PC."; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestRuleClearByHand(t *testing.T) {
	r := &qm.RuleDefinition{Kind: qm.RuleSpeed, SpeedKMH: 90}
	var st qm.RuleState
	if got := steps(r, &st, nil, speedPoint(0, 95)); got != "R" {
		t.Fatalf("got %q, want R", got)
	}
	st.ClearByHand()
	// Still speeding: not raised again until it slows and speeds anew.
	if got := steps(r, &st, nil, speedPoint(1, 96), speedPoint(2, 97), speedPoint(3, 50), speedPoint(4, 95)); got != "...R" {
		t.Fatalf("after clearing by hand: got %q, want ...R", got)
	}
}

func TestRuleStepIgnitionAndBattery(t *testing.T) {
	on := &qm.RuleDefinition{Kind: qm.RuleIgnition, Trigger: "on"}
	var st qm.RuleState
	ign := func(s int, v bool) qm.Point {
		return qm.Point{Time: at(s), Metrics: map[string]qm.Metric{"ignition": qm.BoolMetric(v)}}
	}
	if got := steps(on, &st, nil, ign(0, false), ign(1, true), ign(2, true), ign(3, false)); got != ".R.C" {
		t.Fatalf("ignition on: got %q, want .R.C", got)
	}
	low := &qm.RuleDefinition{Kind: qm.RuleBattery, BatteryPct: 20}
	st = qm.RuleState{}
	if got := steps(low, &st, nil, metricPoint(0, "battery_pct", 50), metricPoint(1, "battery_pct", 19.5), metricPoint(2, "battery_pct", 21)); got != ".RC" {
		t.Fatalf("battery: got %q, want .RC", got)
	}
}

func TestRuleOffline(t *testing.T) {
	r := &qm.RuleDefinition{Kind: qm.RuleOffline, OfflineMinutes: 15}
	var st qm.RuleState
	r.Step(&st, qm.Point{Time: at(0)}, nil)
	if tr := r.Silent(&st, at(0), at(14*60)); tr != qm.None {
		t.Fatalf("after 14 minutes: got %v, want none", tr)
	}
	if tr := r.Silent(&st, at(0), at(20*60)); tr != qm.Raised || !st.Since.Equal(at(15*60)) {
		t.Fatalf("after 20 minutes: got %v since %v, want raised since 15 minutes", tr, st.Since)
	}
	if tr := r.Silent(&st, at(0), at(30*60)); tr != qm.None {
		t.Fatalf("still silent: got %v, want none (one alarm)", tr)
	}
	// A buffered point measured while it was silent, sent late, is not the
	// device coming back.
	if tr := r.Step(&st, qm.Point{Time: at(10 * 60)}, nil); tr != qm.None {
		t.Fatalf("late point: got %v, want none", tr)
	}
	if tr := r.Step(&st, qm.Point{Time: at(31 * 60)}, nil); tr != qm.Cleared {
		t.Fatalf("back online: got %v, want cleared", tr)
	}
}

func TestRuleAssetHolds(t *testing.T) {
	now := t0
	day := func(d int) *time.Time { v := now.AddDate(0, 0, d); return &v }
	seats := func(n int64) *int64 { return &n }
	for _, tc := range []struct {
		name string
		rule qm.RuleDefinition
		f    qm.AssetFacts
		want bool
	}{
		{"WarrantyIn10Of30", qm.RuleDefinition{Kind: qm.RuleWarranty, WithinDays: 30}, qm.AssetFacts{WarrantyEnds: day(10)}, true},
		{"WarrantyIn40Of30", qm.RuleDefinition{Kind: qm.RuleWarranty, WithinDays: 30}, qm.AssetFacts{WarrantyEnds: day(40)}, false},
		{"NoWarranty", qm.RuleDefinition{Kind: qm.RuleWarranty, WithinDays: 30}, qm.AssetFacts{}, false},
		{"Overdue", qm.RuleDefinition{Kind: qm.RuleOverdue}, qm.AssetFacts{ExpectedCheckin: day(-1)}, true},
		{"NotYetDue", qm.RuleDefinition{Kind: qm.RuleOverdue}, qm.AssetFacts{ExpectedCheckin: day(1)}, false},
		{"LicenseExpiring", qm.RuleDefinition{Kind: qm.RuleLicenseExpiry, WithinDays: 7}, qm.AssetFacts{LicenseExpires: day(7)}, true},
		{"NoFreeSeat", qm.RuleDefinition{Kind: qm.RuleLicenseSeats}, qm.AssetFacts{FreeSeats: seats(0)}, true},
		{"FreeSeat", qm.RuleDefinition{Kind: qm.RuleLicenseSeats}, qm.AssetFacts{FreeSeats: seats(1)}, false},
		{"MaintenanceDue", qm.RuleDefinition{Kind: qm.RuleMaintenanceDue, WithinDays: 0}, qm.AssetFacts{MaintenanceDue: day(0)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rule.AssetHolds(tc.f, now); got != tc.want {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestQuietHours(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	night := &qm.QuietHours{From: "22:00", To: "07:00"}
	lunch := &qm.QuietHours{From: "12:00", To: "13:00"}
	for _, tc := range []struct {
		q    *qm.QuietHours
		utc  string
		want bool
	}{
		{night, "2026-11-28T21:30:00Z", true},  // 22:30 in Berlin
		{night, "2026-11-28T20:59:00Z", false}, // 21:59
		{night, "2026-11-28T05:59:00Z", true},  // 06:59
		{night, "2026-11-28T06:00:00Z", false}, // 07:00
		{lunch, "2026-11-28T11:30:00Z", true},  // 12:30
		{lunch, "2026-11-28T12:00:00Z", false}, // 13:00
	} {
		at, _ := time.Parse(time.RFC3339, tc.utc)
		if got := tc.q.Contains(at, berlin); got != tc.want {
			t.Errorf("%s–%s at %s: got %v, want %v", tc.q.From, tc.q.To, tc.utc, got, tc.want)
		}
	}
}

func TestShapeJSON(t *testing.T) {
	square := `{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[13,52],[14,52],[14,53],[13,53],[13,52]],[[13.4,52.4],[13.6,52.4],[13.6,52.6],[13.4,52.6],[13.4,52.4]]]}}`
	var s qm.Shape
	if err := json.Unmarshal([]byte(square), &s); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		lat, lon float64
		want     bool
	}{
		{52.2, 13.2, true},  // inside the outer ring
		{52.5, 13.5, false}, // in the hole
		{51.9, 13.5, false}, // south of it
		{52.5, 14.5, false}, // east of it
	} {
		if got := s.Contains(qm.Position{Lat: tc.lat, Lon: tc.lon}); got != tc.want {
			t.Errorf("polygon contains %g, %g: got %v, want %v", tc.lat, tc.lon, got, tc.want)
		}
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var again qm.Shape
	if err := json.Unmarshal(out, &again); err != nil || !again.Contains(qm.Position{Lat: 52.2, Lon: 13.2}) || again.Contains(qm.Position{Lat: 52.5, Lon: 13.5}) {
		t.Fatalf("round trip %s: %v", out, err)
	}

	circle := `{"type":"Feature","geometry":{"type":"Point","coordinates":[13.405,52.52]},"properties":{"radius_m":500}}`
	if err := json.Unmarshal([]byte(circle), &s); err != nil {
		t.Fatal(err)
	}
	if !s.Contains(qm.Position{Lat: 52.523, Lon: 13.405}) || s.Contains(qm.Position{Lat: 52.53, Lon: 13.405}) {
		t.Fatal("a 500 m circle should hold a point 330 m away and not one 1.1 km away")
	}
	if out, _ := json.Marshal(s); !strings.Contains(string(out), `"radius_m":500`) || !strings.Contains(string(out), `[13.405,52.52]`) {
		t.Fatalf("circle as GeoJSON: %s", out)
	}

	multi := `{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]]],[[[10,10],[11,10],[11,11],[10,10]]]]}`
	if err := json.Unmarshal([]byte(multi), &s); err != nil || !s.Contains(qm.Position{Lat: 10.2, Lon: 10.8}) {
		t.Fatalf("a bare MultiPolygon: %v", err)
	}
}

func TestShapeJSONErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, says string }{
		{"NotAnObject", `[1,2]`, "not GeoJSON"},
		{"LineString", `{"type":"LineString","coordinates":[[0,0],[1,1]]}`, "Feature, Point, Polygon or MultiPolygon"},
		{"FeatureWithoutGeometry", `{"type":"Feature"}`, "no geometry"},
		{"CircleWithoutRadius", `{"type":"Point","coordinates":[13,52]}`, "radius_m"},
		{"CircleTooBig", `{"type":"Feature","geometry":{"type":"Point","coordinates":[13,52]},"properties":{"radius_m":2000000}}`, "radius_m"},
		{"OffTheGlobe", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}`, "[1, 91]"},
		{"OpenRing", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}`, "not closed"},
		{"ShortRing", `{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}`, "at least 4"},
		{"NoRing", `{"type":"Polygon","coordinates":[]}`, "no ring"},
		{"AcrossTheAntimeridian", `{"type":"Polygon","coordinates":[[[-179,0],[179,0],[179,1],[-179,0]]]}`, "antimeridian"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s qm.Shape
			err := json.Unmarshal([]byte(tc.in), &s)
			var e *qm.Error
			if !asError(err, &e) || e.Code != qm.EInvalid || !strings.Contains(e.Fields["shape"], tc.says) {
				t.Fatalf("got %v, want EInvalid on shape saying %q", err, tc.says)
			}
		})
	}
}

func FuzzShapeJSON(f *testing.F) {
	for _, seed := range []string{
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[13.4,52.5]},"properties":{"radius_m":100}}`,
		`{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}`,
		`{"type":"MultiPolygon","coordinates":[[[[0,0],[1,0],[1,1],[0,0]],[[0.2,0.1],[0.8,0.1],[0.8,0.5],[0.2,0.1]]]]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s qm.Shape
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		// What was accepted writes out and reads back to a shape that
		// answers the same.
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal an accepted shape: %v", err)
		}
		var again qm.Shape
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%s was accepted, but its own output %s is refused: %v", data, out, err)
		}
		probe := qm.Position{Lat: 0.5, Lon: 0.5}
		if s.Center != nil {
			probe = *s.Center
		}
		if s.Contains(probe) != again.Contains(probe) {
			t.Fatalf("%s and its round trip %s disagree on %+v", data, out, probe)
		}
	})
}

func TestQuietHoursEnd(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	night := &qm.QuietHours{From: "22:00", To: "07:00"}
	for _, tc := range []struct{ at, want string }{
		{"2026-11-28T21:30:00Z", "2026-11-29T06:00:00Z"}, // 22:30 in Berlin: until 07:00 the next morning
		{"2026-11-29T05:00:00Z", "2026-11-29T06:00:00Z"}, // 06:00 in Berlin: until 07:00 that morning
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		if got := night.End(at, berlin).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("quiet hours from %s end %s, want %s", tc.at, got, tc.want)
		}
	}
}

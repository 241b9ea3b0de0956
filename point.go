package qm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Position is where a device was when it took a point: WGS 84 degrees and,
// when the device knows them, altitude, ground speed, heading and accuracy.
type Position struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
	// AltitudeM is metres above sea level.
	AltitudeM *float64 `json:"altitude_m,omitempty"`
	SpeedKMH  *float64 `json:"speed_kmh,omitempty"`
	// Heading is degrees clockwise from true north, in [0, 360).
	Heading *float64 `json:"heading,omitempty"`
	// AccuracyM is the horizontal accuracy radius in metres.
	AccuracyM *float64 `json:"accuracy_m,omitempty"`
}

// MetricKind says which kind of value a Metric holds.
type MetricKind uint8

// The kinds of metric value. The zero MetricKind is a Metric with no value,
// which Validate rejects.
const (
	MetricNumber MetricKind = iota + 1 // a finite float64: 12.5
	MetricBool                         // true or false
	MetricString                       // text: "P0301"
)

// Metric is one value a device reports beside its position: a number, a
// boolean or a string. In JSON it is the bare value: 12.5, true, "P0301".
// Metrics are comparable with ==.
type Metric struct {
	kind MetricKind
	b    bool
	num  float64
	str  string
}

// NumberMetric returns a Metric holding f.
func NumberMetric(f float64) Metric { return Metric{kind: MetricNumber, num: f} }

// BoolMetric returns a Metric holding b.
func BoolMetric(b bool) Metric { return Metric{kind: MetricBool, b: b} }

// StringMetric returns a Metric holding s.
func StringMetric(s string) Metric { return Metric{kind: MetricString, str: s} }

// Kind says which kind of value m holds; 0 for the zero Metric.
func (m Metric) Kind() MetricKind { return m.kind }

// Number returns m's number and whether m holds a number.
func (m Metric) Number() (float64, bool) { return m.num, m.kind == MetricNumber }

// Bool returns m's boolean and whether m holds a boolean.
func (m Metric) Bool() (bool, bool) { return m.b, m.kind == MetricBool }

// Text returns m's string and whether m holds a string.
func (m Metric) Text() (string, bool) { return m.str, m.kind == MetricString }

// String formats m as it reads in JSON, for messages and logs; the zero
// Metric is "<none>".
func (m Metric) String() string {
	switch m.kind {
	case MetricNumber:
		return strconv.FormatFloat(m.num, 'g', -1, 64)
	case MetricBool:
		return strconv.FormatBool(m.b)
	case MetricString:
		return strconv.Quote(m.str)
	default:
		return "<none>"
	}
}

var errEmptyMetric = errors.New("metric has no value")

// MarshalJSON encodes m as a bare JSON number, boolean or string. It fails
// for the zero Metric and for a number that is NaN or infinite, which JSON
// cannot carry.
func (m Metric) MarshalJSON() ([]byte, error) {
	switch m.kind {
	case MetricNumber:
		if math.IsNaN(m.num) || math.IsInf(m.num, 0) {
			return nil, fmt.Errorf("metric %v is not a finite number", m.num)
		}
		return strconv.AppendFloat(nil, m.num, 'g', -1, 64), nil
	case MetricBool:
		return strconv.AppendBool(nil, m.b), nil
	case MetricString:
		return json.Marshal(m.str)
	default:
		return nil, errEmptyMetric
	}
}

// UnmarshalJSON decodes a bare JSON number, boolean or string into m. Any
// other JSON value (null, an object, an array) and a number too large for a
// float64 are errors.
func (m *Metric) UnmarshalJSON(data []byte) error {
	if !json.Valid(data) {
		return errors.New("metric is not valid JSON")
	}
	switch c := data[firstNonSpace(data)]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*m = StringMetric(s)
	case c == 't' || c == 'f':
		var b bool
		if err := json.Unmarshal(data, &b); err != nil {
			return err
		}
		*m = BoolMetric(b)
	case c == '-' || '0' <= c && c <= '9':
		var f float64
		if err := json.Unmarshal(data, &f); err != nil {
			return errors.New("metric number is out of range")
		}
		*m = NumberMetric(f)
	default:
		return errors.New("metric must be a number, true, false or a string")
	}
	return nil
}

// firstNonSpace returns the index of the first byte of valid JSON data that
// is not white space.
func firstNonSpace(data []byte) int {
	i := 0
	for data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r' {
		i++
	}
	return i
}

// Point is one report from a device: when, where (if it knows) and any
// metrics, keyed by name.
type Point struct {
	Time     time.Time         `json:"time"`
	Position *Position         `json:"position,omitempty"`
	Metrics  map[string]Metric `json:"metrics,omitempty"`
}

// PointLimits bound what a point may hold. They guard storage and the
// health views against clock faults and runaway devices.
type PointLimits struct {
	// MaxFuture is how far ahead of the server clock a point's time may be.
	MaxFuture time.Duration
	// MaxAge is how far behind the server clock a point's time may be.
	MaxAge time.Duration
	// MaxMetrics is how many metrics one point may carry.
	MaxMetrics int
	// MaxNameLen is the longest metric name, in bytes.
	MaxNameLen int
	// MaxStringLen is the longest string metric, in characters.
	MaxStringLen int
}

// DefaultPointLimits are the limits a tenant has unless its plan says
// otherwise: five minutes of clock skew ahead, ten years of history behind
// (a tracker replaying a long-offline buffer), 100 metrics of 64-byte names
// and 256-character strings.
var DefaultPointLimits = PointLimits{
	MaxFuture:    5 * time.Minute,
	MaxAge:       10 * 365 * 24 * time.Hour,
	MaxMetrics:   100,
	MaxNameLen:   64,
	MaxStringLen: 256,
}

// The physical bounds of a position. A value beyond them is a fault (a
// sensor glitch, a unit mistake, a hostile sender), never a reading, and
// storing it would poison every chart, trip and rule that reads it. Every
// protocol's points pass through Point.Validate, so these are the only
// copy of the bounds.
const (
	// MaxSpeedKMH is faster than anything a tracker rides in, airliners
	// included.
	MaxSpeedKMH = 2000
	// MinAltitudeM lies below the lowest dry land (the Dead Sea's shore,
	// about -430 m) with room for a poor fix.
	MinAltitudeM = -1000
	// MaxAltitudeM is the edge of space.
	MaxAltitudeM = 100000
	// MaxAccuracyM is half the Earth's circumference: no place on Earth is
	// farther from any other.
	MaxAccuracyM = 20_000_000
)

// metricBounds are the physical ranges of the metrics whose meaning the
// server knows (the names the OsmAnd decoders and the simulator produce).
// Such a metric must be a number within its range; other metrics only need
// to be finite, since their meaning is the device's own.
var metricBounds = map[string]struct{ lo, hi float64 }{
	"battery_pct": {0, 100},
	"fuel_pct":    {0, 100},
	"battery_v":   {0, 1000},   // 12 V and 24 V systems, and EV packs up to 800 V
	"odometer_km": {0, 1e7},    // 25 times around the Earth a year for a decade
	"coolant_c":   {-60, 200},  // colder than any inhabited winter; hotter boils any coolant
	"rpm":         {0, 30_000}, // past any piston engine's redline
	"hdop":        {0, 100},    // 99.99 is how many receivers write "unknown"
}

// Validate checks p against lim, with now as the server clock, and against
// the physical bounds above. It returns an EInvalid *Error whose Fields
// say what is wrong, keyed "time", "lat", "lon", "altitude_m", "speed_kmh",
// "heading", "accuracy_m", "metrics" and "metrics.<name>". Metric names
// must be 1 to lim.MaxNameLen bytes of lower-case letters, digits and '_',
// starting with a letter; the decoders lower-case names, so Validate
// rejects upper case.
func (p *Point) Validate(now time.Time, lim PointLimits) error {
	fields := map[string]string{}
	switch {
	case p.Time.IsZero():
		fields["time"] = "time is required"
	case p.Time.After(now.Add(lim.MaxFuture)):
		fields["time"] = fmt.Sprintf("time %s is more than %s ahead of the server clock", p.Time.Format(time.RFC3339), lim.MaxFuture)
	case p.Time.Before(now.Add(-lim.MaxAge)):
		fields["time"] = fmt.Sprintf("time %s is older than the %s kept", p.Time.Format(time.RFC3339), lim.MaxAge)
	}
	if pos := p.Position; pos != nil {
		checkRange(fields, "lat", "latitude", &pos.Lat, -90, 90, true)
		checkRange(fields, "lon", "longitude", &pos.Lon, -180, 180, true)
		checkRange(fields, "altitude_m", "altitude", pos.AltitudeM, MinAltitudeM, MaxAltitudeM, true)
		checkRange(fields, "speed_kmh", "speed", pos.SpeedKMH, 0, MaxSpeedKMH, true)
		checkRange(fields, "heading", "heading", pos.Heading, 0, 360, false)
		checkRange(fields, "accuracy_m", "accuracy", pos.AccuracyM, 0, MaxAccuracyM, true)
	}
	if len(p.Metrics) > lim.MaxMetrics {
		fields["metrics"] = fmt.Sprintf("%d metrics, at most %d allowed", len(p.Metrics), lim.MaxMetrics)
	} else {
		// Sorted, so the one bad name reported is the same every time.
		for _, name := range slices.Sorted(maps.Keys(p.Metrics)) {
			validateMetric(fields, name, p.Metrics[name], lim)
		}
	}
	return fieldsError(fields)
}

// checkRange reports in fields when *v is not finite or lies outside
// [lo, hi] (or [lo, hi) when hiIncluded is false). A nil v is fine.
func checkRange(fields map[string]string, key, what string, v *float64, lo, hi float64, hiIncluded bool) {
	if v == nil {
		return
	}
	if msg := rangeProblem(*v, lo, hi, hiIncluded); msg != "" {
		fields[key] = what + " " + msg
	}
}

// rangeProblem says what is wrong with f for [lo, hi] (or [lo, hi) when
// hiIncluded is false), "" when nothing. It allocates only for a problem:
// every point of every batch passes through here.
func rangeProblem(f, lo, hi float64, hiIncluded bool) string {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "must be a finite number"
	case f < lo || f > hi || f == hi && !hiIncluded:
		upper := "]"
		if !hiIncluded {
			upper = ")"
		}
		return fmt.Sprintf("%g is outside [%g, %g%s", f, lo, hi, upper)
	}
	return ""
}

// validateMetric checks one metric's name and value.
func validateMetric(fields map[string]string, name string, m Metric, lim PointLimits) {
	if !validMetricName(name, lim.MaxNameLen) {
		if _, seen := fields["metrics"]; !seen {
			fields["metrics"] = fmt.Sprintf("metric name %s must be 1 to %d lower-case letters, digits or _, starting with a letter", quoteShort(name), lim.MaxNameLen)
		}
		return
	}
	key := "metrics." + name
	bound, bounded := metricBounds[name]
	if !bounded {
		bound.lo, bound.hi = math.Inf(-1), math.Inf(1)
	}
	switch {
	case m.kind == MetricNumber:
		if msg := rangeProblem(m.num, bound.lo, bound.hi, true); msg != "" {
			fields[key] = "metric " + name + " " + msg
		}
	case m.kind == 0:
		fields[key] = fmt.Sprintf("metric %s has no value", name)
	case bounded:
		fields[key] = fmt.Sprintf("metric %s must be a number", name)
	case m.kind == MetricString && TextProblem(m.str) != "":
		fields[key] = fmt.Sprintf("metric %s %s", name, TextProblem(m.str))
	case m.kind == MetricString && utf8.RuneCountInString(m.str) > lim.MaxStringLen:
		fields[key] = fmt.Sprintf("metric %s is longer than %d characters", name, lim.MaxStringLen)
	}
}

// validMetricName reports whether name matches ^[a-z][a-z0-9_]*$ and is at
// most maxLen bytes.
func validMetricName(name string, maxLen int) bool {
	if name == "" || len(name) > maxLen || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// quoteShort quotes s for a message, cut to 64 bytes so a hostile name
// cannot flood a response.
func quoteShort(s string) string {
	const max = 64
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// ValidatePoints checks every point of a batch against lim at now, and
// reports each bad one by its place ("points[3]"): a batch is taken whole
// or not at all.
func ValidatePoints(pts []Point, now time.Time, lim PointLimits) error {
	problems := map[string]string{}
	for i := range pts {
		if err := pts[i].Validate(now, lim); err != nil {
			problems[fmt.Sprintf("points[%d]", i)] = reasons(err)
		}
	}
	switch len(problems) {
	case 0:
		return nil
	case 1:
		for k, m := range problems {
			return &Error{Code: EInvalid, Message: k + ": " + m + "; none was stored", Fields: problems}
		}
	}
	return &Error{Code: EInvalid, Message: fmt.Sprintf("%d of %d points are invalid; none was stored", len(problems), len(pts)), Fields: problems}
}

// reasons joins every field message of a point's error, in field order, so
// a point wrong in two ways says both rather than "invalid input".
func reasons(err error) string {
	var e *Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return ErrorMessage(err)
	}
	msgs := make([]string, 0, len(e.Fields))
	for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
		msgs = append(msgs, e.Fields[k])
	}
	return strings.Join(msgs, "; ")
}

// PointStore keeps telemetry. Write stores the points the device deviceID
// of the tenant scoped in ctx sent, all or none, and returns once they are
// committed, with how many were new (a point already stored is skipped).
type PointStore interface {
	Write(ctx context.Context, deviceID string, points []Point) (int, error)
	// StoredPoints counts the points the tenant scoped in ctx keeps.
	StoredPoints(ctx context.Context) (int64, error)
}

// PointIngester is where every device protocol hands the points it
// decoded, for the tenant scoped in ctx: it checks them against the
// tenant's limits, stores them and counts them, and returns how many were
// new. EInvalid naming each bad point; nothing is stored unless all are
// good. The protocols only decode and answer.
type PointIngester interface {
	Ingest(ctx context.Context, protocol, deviceID string, points []Point) (int, error)
	// Refused counts a batch a protocol refused before it could hand it
	// over (malformed, too large, from an unknown device), for why.
	Refused(protocol string, err error)
	// Admit says, taking nothing, whether device deviceID of the tenant in
	// ctx may send points now at all: a protocol asks before decoding a
	// batch, so a tenant past its rate costs little (ERateLimited,
	// EFeatureDisabled).
	Admit(ctx context.Context, protocol, deviceID string) error
}

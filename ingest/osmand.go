package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
)

// OsmAndQuery is what one request of the query form carries.
type OsmAndQuery struct {
	// Ident is the device's identifier (id or deviceid).
	Ident string
	// Key is the device's credential (key), "" when not given. It is never
	// a metric.
	Key   string
	Point qm.Point
}

// DecodeOsmAndQuery reads one point in the query-string or form form of the
// OsmAnd protocol, as Traccar Client and many hardware trackers send it:
//
//	/?id=123456&key=qmd_…&timestamp=1718459112&lat=52.52&lon=13.405&speed=12.3&bearing=90&altitude=34&accuracy=5&batt=87
//
// It returns the device identifier (id or deviceid; required), the
// credential (key; checked by the caller) and the point. Parameters:
//
//   - lat and lon, or location=lat,lon. Without them the point has no
//     position, and speed, bearing, altitude and accuracy are dropped.
//   - timestamp: epoch seconds, epoch milliseconds, RFC 3339, or
//     "2006-01-02 15:04:05" (or with a T) in UTC; now when absent.
//   - speed in knots (stored in km/h), bearing or heading in degrees,
//     altitude and accuracy in metres.
//   - hdop, batt, charge, valid and driverUniqueId become the metrics named
//     in the package doc.
//   - Any other parameter becomes a metric under its lower-cased name.
//
// Names are read without regard to ASCII case (LAT is lat), so two names
// that differ only in case (lat and LAT) are an error rather than one
// silently winning; so is a parameter given twice with different values.
// Empty values count as absent, and id and deviceid may not disagree.
// Names and values must be UTF-8.
func DecodeOsmAndQuery(v url.Values, now time.Time) (OsmAndQuery, error) {
	var (
		q                           OsmAndQuery
		pos                         qm.Position
		locLat, locLon              float64
		hasLat, hasLon, hasLocation bool
		headingFrom                 string
		ms                          metricSet
		err                         error
	)
	q.Point.Time = now
	// Sorted, so the same query always gives the same point or error.
	keys := slices.Sorted(maps.Keys(v))
	if err := caseCollision(keys); err != nil {
		return OsmAndQuery{}, err
	}
	for _, key := range keys {
		name := lowerASCII(key)
		val, given, lerr := onlyValue(key, name, v[key], &q.Ident)
		if lerr != nil {
			return OsmAndQuery{}, lerr
		}
		if !given {
			continue
		}
		switch name {
		case "id", "deviceid":
		case "key":
			q.Key = val
		case "timestamp":
			q.Point.Time, err = parseTimestamp(val)
		case "lat":
			pos.Lat, err = queryNumber(key, val)
			hasLat = true
		case "lon":
			pos.Lon, err = queryNumber(key, val)
			hasLon = true
		case "location":
			la, lo, _ := strings.Cut(val, ",")
			if locLat, err = queryNumber("location latitude", la); err == nil {
				locLon, err = queryNumber("location longitude", lo)
			}
			hasLocation = true
		case "speed":
			var knots float64
			if knots, err = queryNumber(key, val); err == nil {
				kmh := convert(knots, kmhPerKnot)
				if !finite(kmh) {
					err = badRequest("speed %s is out of range", quote(val))
				}
				pos.SpeedKMH = &kmh
			}
		case "bearing", "heading":
			var h float64
			if h, err = queryNumber(key, val); err == nil {
				if pos.Heading != nil && *pos.Heading != h {
					err = badRequest("%s and %s disagree", headingFrom, key)
				}
				pos.Heading, headingFrom = &h, key
			}
		case "altitude":
			var f float64
			f, err = queryNumber(key, val)
			pos.AltitudeM = &f
		case "accuracy":
			var f float64
			f, err = queryNumber(key, val)
			pos.AccuracyM = &f
		case "hdop":
			err = ms.addNumber(key, metricHDOP, val)
		case "batt":
			err = ms.addNumber(key, metricBatteryPct, val)
		case "charge":
			err = ms.add(key, metricCharging, qm.BoolMetric(queryFlag(val)))
		case "valid":
			err = ms.add(key, metricValid, qm.BoolMetric(queryFlag(val)))
		case "driveruniqueid":
			err = ms.add(key, metricDriverUniqueID, qm.StringMetric(val))
		default:
			err = ms.add(key, name, guessMetric(val))
		}
		if err != nil {
			return OsmAndQuery{}, err
		}
	}
	switch {
	case q.Ident == "":
		return OsmAndQuery{}, badRequest("id is required: the device's unique identifier")
	case hasLocation && (hasLat || hasLon):
		return OsmAndQuery{}, badRequest("give lat and lon or location, not both")
	case hasLocation:
		pos.Lat, pos.Lon = locLat, locLon
		q.Point.Position = &pos
	case hasLat != hasLon:
		return OsmAndQuery{}, badRequest("lat and lon must be given together")
	case hasLat:
		q.Point.Position = &pos
	}
	q.Point.Metrics = ms.metrics
	return q, nil
}

// caseCollision reports two parameter names, of sorted keys, that differ
// only in ASCII case: a device sending both means one of them, and taking
// either would store a reading the device did not intend.
func caseCollision(keys []string) error {
	seen := make(map[string]string, len(keys))
	for _, key := range keys {
		name := lowerASCII(key)
		if prev, dup := seen[name]; dup {
			return badRequest("parameters %s and %s collide: names are read without regard to case", quote(prev), quote(key))
		}
		seen[name] = key
	}
	return nil
}

// onlyValue returns the non-empty value of a query parameter (named name
// once lower-cased), and checks that all are text (qm.TextProblem), that repeats agree,
// and that every id names the same device, recording it in *ident.
func onlyValue(key, name string, vals []string, ident *string) (val string, ok bool, err error) {
	if p := qm.TextProblem(key); p != "" {
		return "", false, badRequest("a parameter name %s", p)
	}
	isID := name == "id" || name == "deviceid"
	for _, s := range vals {
		switch {
		case qm.TextProblem(s) != "":
			return "", false, badRequest("parameter %s %s", quote(key), qm.TextProblem(s))
		case s == "":
			continue
		case isID && *ident != "" && s != *ident:
			return "", false, badRequest("id and deviceid name different devices")
		case ok && s != val:
			return "", false, badRequest("parameter %s is given more than once, with different values", quote(key))
		case isID:
			*ident = s
		}
		val, ok = s, true
	}
	return val, ok, nil
}

// queryNumber parses a decimal number parameter. Unlike strconv.ParseFloat
// it refuses "NaN", "Inf", hex and numbers beyond ±1.8e308.
func queryNumber(name, val string) (float64, error) {
	if isDecimal(val) {
		if f, err := strconv.ParseFloat(val, 64); err == nil {
			return f, nil
		}
		return 0, badRequest("%s %s is out of range", name, quote(val))
	}
	return 0, badRequest("%s %s is not a number", name, quote(val))
}

// queryFlag reads a boolean parameter as Traccar does: true or 1.
func queryFlag(val string) bool {
	return strings.EqualFold(val, "true") || val == "1"
}

// guessMetric turns a free-form parameter into a metric: a finite decimal
// number, true or false, else the string as sent.
func guessMetric(val string) qm.Metric {
	if isDecimal(val) {
		if f, err := strconv.ParseFloat(val, 64); err == nil {
			return qm.NumberMetric(f)
		}
	}
	switch val {
	case "true":
		return qm.BoolMetric(true)
	case "false":
		return qm.BoolMetric(false)
	}
	return qm.StringMetric(val)
}

// isDecimal reports whether s is a decimal number: an optional sign,
// digits with an optional fraction (or a fraction alone), and an optional
// exponent, as devices write them ("+1.5", ".5", "5.", "1e3").
func isDecimal(s string) bool {
	i, n := 0, len(s)
	digits := func() int {
		from := i
		for i < n && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - from
	}
	if i < n && (s[i] == '+' || s[i] == '-') {
		i++
	}
	mantissa := digits()
	if i < n && s[i] == '.' {
		i++
		mantissa += digits()
	}
	if mantissa == 0 {
		return false
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == n
}

// metricSet gathers a point's metrics and which input gave each, so two
// inputs naming the same metric are reported rather than one dropped.
type metricSet struct {
	metrics map[string]qm.Metric
	from    map[string]string
}

// addNumber adds the number parameter param=val as metric name.
func (s *metricSet) addNumber(param, name, val string) error {
	f, err := queryNumber(param, val)
	if err != nil {
		return err
	}
	return s.add(param, name, qm.NumberMetric(f))
}

// add sets metric name from input param, unless another input set it.
func (s *metricSet) add(param, name string, m qm.Metric) error {
	if prev, dup := s.from[name]; dup {
		return badRequest("%s and %s both give metric %s", quote(prev), quote(param), quote(name))
	}
	if s.metrics == nil {
		s.metrics, s.from = map[string]qm.Metric{}, map[string]string{}
	}
	s.metrics[name], s.from[name] = m, param
	return nil
}

// DecodeOsmAndJSON reads the JSON form of the OsmAnd protocol, which
// Traccar Client sends from version 9 (the location schema of its
// background-location SDK):
//
//	{"device_id": "48241179",
//	 "location": {"timestamp": "2025-06-15T13:45:12.862Z",
//	   "coords": {"latitude": 52.52, "longitude": 13.405, "accuracy": 5,
//	              "speed": 3.2, "heading": 90, "altitude": 34},
//	   "is_moving": true, "odometer": 1234.5, "event": "motionchange",
//	   "battery": {"level": 0.79, "is_charging": false},
//	   "activity": {"type": "in_vehicle"}, "extras": {"fuel": 40}}}
//
// location may also be an array of such objects (the SDK's batch sync).
// It returns the device identifier (device_id, a string or number;
// required) and one point per location, in order.
//
// The timestamp is read as in DecodeOsmAndQuery, and is now when absent.
// speed is in m/s (stored in km/h); speed, heading, accuracy and battery
// level are negative when the device does not know them, and are then left
// out. odometer is in metres. Without coords, or with coords lacking
// latitude and longitude, the point has no position. extras become metrics
// under their lower-cased names (numbers, booleans and strings; other
// values are skipped); where an extra and a named field give the same
// metric, the named field wins. Other fields, such as uuid and age, are
// ignored.
func DecodeOsmAndJSON(body []byte, now time.Time) (ident string, pts []qm.Point, err error) {
	var root struct {
		DeviceID json.RawMessage `json:"device_id"`
		Location json.RawMessage `json:"location"`
	}
	if err := json.Unmarshal(body, &root); err != nil {
		return "", nil, jsonError("body", err)
	}
	switch id := root.DeviceID; {
	case len(id) > 0 && id[0] == '"':
		if err := json.Unmarshal(id, &ident); err != nil {
			return "", nil, jsonError("device_id", err)
		}
	case len(id) > 0 && (id[0] == '-' || '0' <= id[0] && id[0] <= '9'):
		ident = string(id)
	}
	if ident == "" {
		return "", nil, badRequest("device_id is required: the device's unique identifier")
	}
	switch loc := root.Location; {
	case len(loc) > 0 && loc[0] == '{':
		p, err := decodeOsmAndLocation(loc, now, "location")
		if err != nil {
			return "", nil, err
		}
		return ident, []qm.Point{p}, nil
	case len(loc) > 0 && loc[0] == '[':
		var locs []json.RawMessage
		if err := json.Unmarshal(loc, &locs); err != nil {
			return "", nil, jsonError("location", err)
		}
		pts = make([]qm.Point, 0, len(locs))
		for i, l := range locs {
			p, err := decodeOsmAndLocation(l, now, fmt.Sprintf("location[%d]", i))
			if err != nil {
				return "", nil, err
			}
			pts = append(pts, p)
		}
		return ident, pts, nil
	default:
		return "", nil, badRequest("location is required: an object or an array of objects")
	}
}

// osmAndLocation is one location in the JSON form. Pointers tell a field
// left out from a zero.
type osmAndLocation struct {
	Timestamp *string `json:"timestamp"`
	Coords    *struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
		Speed     *float64 `json:"speed"`
		Heading   *float64 `json:"heading"`
		Altitude  *float64 `json:"altitude"`
		Accuracy  *float64 `json:"accuracy"`
	} `json:"coords"`
	IsMoving *bool    `json:"is_moving"`
	Odometer *float64 `json:"odometer"`
	Event    *string  `json:"event"`
	Mock     *bool    `json:"mock"`
	Alarm    *string  `json:"alarm"`
	Battery  *struct {
		Level      *float64 `json:"level"`
		IsCharging *bool    `json:"is_charging"`
	} `json:"battery"`
	Activity *struct {
		Type *string `json:"type"`
	} `json:"activity"`
	Extras map[string]json.RawMessage `json:"extras"`
}

// decodeOsmAndLocation turns one JSON location into a point; path names it
// in errors.
func decodeOsmAndLocation(raw json.RawMessage, now time.Time, path string) (qm.Point, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return qm.Point{}, badRequest("%s must be an object", path)
	}
	var l osmAndLocation
	if err := json.Unmarshal(raw, &l); err != nil {
		return qm.Point{}, jsonError(path, err)
	}
	p := qm.Point{Time: now}
	if l.Timestamp != nil {
		t, err := parseTimestamp(*l.Timestamp)
		if err != nil {
			return qm.Point{}, err
		}
		p.Time = t
	}
	if c := l.Coords; c != nil {
		switch {
		case c.Latitude != nil && c.Longitude != nil:
			pos := &qm.Position{Lat: *c.Latitude, Lon: *c.Longitude, AltitudeM: c.Altitude}
			if c.Speed != nil && *c.Speed >= 0 {
				kmh := convert(*c.Speed, kmhPerMPS)
				if !finite(kmh) {
					return qm.Point{}, badRequest("%s.coords.speed %g is out of range", path, *c.Speed)
				}
				pos.SpeedKMH = &kmh
			}
			if c.Heading != nil && *c.Heading >= 0 {
				pos.Heading = c.Heading
			}
			if c.Accuracy != nil && *c.Accuracy >= 0 {
				pos.AccuracyM = c.Accuracy
			}
			p.Position = pos
		case c.Latitude != nil || c.Longitude != nil:
			return qm.Point{}, badRequest("%s.coords: latitude and longitude must be given together", path)
		}
	}
	ms, err := osmAndExtras(l.Extras, path)
	if err != nil {
		return qm.Point{}, err
	}
	set := func(name string, m qm.Metric) {
		if ms == nil {
			ms = map[string]qm.Metric{}
		}
		ms[name] = m
	}
	if l.IsMoving != nil {
		set(metricMoving, qm.BoolMetric(*l.IsMoving))
	}
	if l.Odometer != nil {
		set(metricOdometerKM, qm.NumberMetric(convert(*l.Odometer, 0.001)))
	}
	if l.Event != nil && *l.Event != "" {
		set(metricEvent, qm.StringMetric(*l.Event))
	}
	if l.Alarm != nil && *l.Alarm != "" {
		set(metricAlarm, qm.StringMetric(*l.Alarm))
	}
	if l.Activity != nil && l.Activity.Type != nil && *l.Activity.Type != "" {
		set(metricActivity, qm.StringMetric(*l.Activity.Type))
	}
	if l.Mock != nil {
		set(metricMock, qm.BoolMetric(*l.Mock))
	}
	if b := l.Battery; b != nil {
		if b.Level != nil && *b.Level >= 0 {
			pct := convert(*b.Level, 100)
			if !finite(pct) {
				return qm.Point{}, badRequest("%s.battery.level %g is out of range", path, *b.Level)
			}
			set(metricBatteryPct, qm.NumberMetric(pct))
		}
		if b.IsCharging != nil {
			set(metricCharging, qm.BoolMetric(*b.IsCharging))
		}
	}
	p.Metrics = ms
	return p, nil
}

// osmAndExtras turns a location's extras into metrics.
func osmAndExtras(extras map[string]json.RawMessage, path string) (map[string]qm.Metric, error) {
	if len(extras) == 0 {
		return nil, nil
	}
	ms := make(map[string]qm.Metric, len(extras))
	from := make(map[string]string, len(extras))
	// Sorted, so a collision is reported the same way every time.
	for _, key := range slices.Sorted(maps.Keys(extras)) {
		raw := bytes.TrimSpace(extras[key])
		if len(raw) == 0 {
			continue
		}
		var m qm.Metric
		switch c := raw[0]; {
		case c == '"' || c == 't' || c == 'f':
			if err := m.UnmarshalJSON(raw); err != nil {
				return nil, badRequest("%s.extras.%s: %v", path, quote(key), err)
			}
		case c == '-' || '0' <= c && c <= '9':
			f, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return nil, badRequest("%s.extras.%s: number %s is out of range", path, quote(key), quote(string(raw)))
			}
			m = qm.NumberMetric(f)
		default:
			continue // objects, arrays and null have no metric form
		}
		name := lowerASCII(key)
		if prev, dup := from[name]; dup {
			return nil, badRequest("%s.extras: %s and %s both give metric %s", path, quote(prev), quote(key), quote(name))
		}
		ms[name], from[name] = m, key
	}
	return ms, nil
}

// jsonError turns an encoding/json error into an EBadRequest error that
// names where in the body the problem is, without Go type names.
func jsonError(path string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return badRequest("malformed JSON at offset %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := path
		if typ.Field != "" {
			field += "." + typ.Field
		}
		want := map[reflect.Kind]string{
			reflect.Float64: "a number", reflect.Bool: "true or false", reflect.String: "a string",
			reflect.Struct: "an object", reflect.Map: "an object", reflect.Slice: "an array",
		}[typ.Type.Kind()]
		if typ.Type.Kind() == reflect.Float64 && strings.HasPrefix(typ.Value, "number") {
			return badRequest("%s: %s is out of range", field, typ.Value)
		}
		return badRequest("%s: want %s, got %s", field, want, typ.Value)
	default:
		return badRequest("malformed JSON: %v", err)
	}
}

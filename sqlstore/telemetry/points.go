// Package telemetry is the tenant's telemetry on SQL: the points devices
// send and the latest state of each device (points.go), the group-commit
// writer every protocol hands points to (PointWriter), the retention that
// trims history, and the fleet a tenant sees (FleetStore). It reads the
// device inventory of package catalog and the assets of package dataplane,
// and neither of those reads it.
package telemetry

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// DevicePoints are points one device sent.
type DevicePoints struct {
	DeviceID string
	Points   []qm.Point
}

// pointColumns are the columns of a point a writer sets, in the order of
// pointValues.
var pointColumns = []string{"device_id", "t_us", "lat", "lon", "altitude_m", "speed_kmh", "heading", "accuracy_m", "metrics", "received_us"}

func pointValues(deviceID string, p *qm.Point, received int64) []any {
	var lat, lon, alt, speed, heading, accuracy, metrics any
	if pos := p.Position; pos != nil {
		lat, lon, alt, speed, heading, accuracy = pos.Lat, pos.Lon, floatOrNil(pos.AltitudeM), floatOrNil(pos.SpeedKMH),
			floatOrNil(pos.Heading), floatOrNil(pos.AccuracyM)
	}
	if len(p.Metrics) > 0 {
		metrics = encodeMetrics(p.Metrics)
	}
	return []any{deviceID, sqlstore.Micros(p.Time), lat, lon, alt, speed, heading, accuracy, metrics, received}
}

// WritePoints stores the points of batches, each the points one device
// sent, for the tenant c is bound to, inside the caller's transaction, and
// folds the new ones into their devices' latest states: a few statements
// however many batches and devices there are, so a group commit costs about
// what one request does. A point already stored (same device and time), or
// earlier in batches, is not stored again: a device may send a batch again
// before it hears that the first one was stored. received is when the
// points arrived. It returns how many points of each batch were new.
func WritePoints(ctx context.Context, c sqlstore.Conn, batches []DevicePoints, received time.Time) ([]int, error) {
	rec := sqlstore.Micros(received)
	added, err := insertPoints(ctx, c, batches, rec)
	if err != nil {
		return nil, err
	}
	points, counts := map[string][]qm.Point{}, map[string]int{}
	for i, b := range batches {
		if added[i] > 0 {
			points[b.DeviceID], counts[b.DeviceID] = append(points[b.DeviceID], b.Points...), counts[b.DeviceID]+added[i]
		}
	}
	if err := updateStates(ctx, c, points, counts, rec); err != nil {
		return nil, err
	}
	return added, nil
}

// pointKey is a point's key within its tenant.
type pointKey struct {
	device string
	t      int64
}

// insertPoints stores the points of batches in one statement where the
// engine pays for round trips, and returns how many of each batch were new:
// the database names the rows it added, and each is counted to the first
// batch that holds it.
func insertPoints(ctx context.Context, c sqlstore.Conn, batches []DevicePoints, received int64) ([]int, error) {
	total := 0
	for _, b := range batches {
		total += len(b.Points)
	}
	owner := make(map[pointKey]int, total)
	rows := make([][]any, 0, total)
	for i, b := range batches {
		for j := range b.Points {
			k := pointKey{b.DeviceID, sqlstore.Micros(b.Points[j].Time)}
			if _, ok := owner[k]; ok {
				continue
			}
			owner[k] = i
			rows = append(rows, pointValues(b.DeviceID, &b.Points[j], received))
		}
	}
	added := make([]int, len(batches))
	err := c.InsertRowsReturning(ctx, sqlstore.RowSet{Table: "points", Columns: pointColumns, Rows: rows}, `ON CONFLICT (tenant_id, device_id, t_us) DO NOTHING`,
		"device_id, t_us", func(r sqlstore.Row) error {
			var k pointKey
			if err := r.Scan(&k.device, &k.t); err != nil {
				return err
			}
			i, ok := owner[k]
			if !ok {
				return fmt.Errorf("the database added point %v, which no batch holds", k)
			}
			added[i]++
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("store points: %w", err)
	}
	return added, nil
}

func floatOrNil(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// encodeMetrics writes metrics as a JSON object.
func encodeMetrics(m map[string]qm.Metric) string {
	b := make([]byte, 0, 32*len(m))
	b = append(b, '{')
	for name, v := range m {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, name)
		b = append(b, ':')
		enc, _ := v.MarshalJSON() // decoded metrics are finite
		b = append(b, enc...)
	}
	return string(append(b, '}'))
}

// storedMetric is a metric in device_state: its value as JSON and its
// point's time. The writer carries a value it does not replace as the
// bytes it read.
type storedMetric struct {
	V json.RawMessage `json:"v"`
	T int64           `json:"t"`
}

// appendStoredMetrics appends metrics as device_state keeps them.
func appendStoredMetrics(b []byte, metrics map[string]storedMetric) []byte {
	b = append(b, '{')
	for name, m := range metrics {
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, name) // names are lower-case letters, digits and _
		b = append(append(b, `:{"v":`...), m.V...)
		b = append(strconv.AppendInt(append(b, `,"t":`...), m.T, 10), '}')
	}
	return append(b, '}')
}

// decodeStoredMetrics reads device_state's metrics. What
// appendStoredMetrics writes it reads without reflection (encoding/json
// cost the writer as much as reading the states); anything else, such as
// JSON with spaces, goes to encoding/json.
func decodeStoredMetrics(text string) (map[string]storedMetric, error) {
	if m, ok := parseStoredMetrics(text); ok {
		return m, nil
	}
	var m map[string]storedMetric
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, fmt.Errorf("device state metrics: %w", err)
	}
	return m, nil
}

// parseStoredMetrics reads {"name":{"v":VALUE,"t":TIME},…} exactly as
// appendStoredMetrics writes it; ok is false for anything else.
func parseStoredMetrics(s string) (m map[string]storedMetric, ok bool) {
	if !strings.HasPrefix(s, "{") {
		return nil, false
	}
	m = map[string]storedMetric{}
	rest := s[1:]
	if rest == "}" {
		return m, true
	}
	for {
		name, after, found := strings.Cut(strings.TrimPrefix(rest, `"`), `":{"v":`)
		if !found || len(rest) == 0 || rest[0] != '"' || strings.ContainsAny(name, `"\`) {
			return nil, false
		}
		n := valueLen(after)
		value, after := after[:n], after[n:]
		after, found = strings.CutPrefix(after, `,"t":`)
		digits, after, closed := strings.Cut(after, "}")
		t, err := strconv.ParseInt(digits, 10, 64)
		if n == 0 || !found || !closed || err != nil {
			return nil, false
		}
		m[name] = storedMetric{V: json.RawMessage(value), T: t}
		switch {
		case after == "}":
			return m, true
		case strings.HasPrefix(after, ","):
			rest = after[1:]
		default:
			return nil, false
		}
	}
}

// valueLen is the length of the JSON string, number or literal s starts
// with, 0 when it starts with none.
func valueLen(s string) int {
	if strings.HasPrefix(s, `"`) {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return 0
	}
	i := 0
	for i < len(s) && strings.IndexByte("+-.0123456789Eaeflnrstu", s[i]) >= 0 {
		i++
	}
	return i
}

// stateWritten are device_state's columns a writer sets.
var stateWritten = []string{"device_id", "last_seen_us", "t_us", "pos_t_us", "lat", "lon", "altitude_m", "speed_kmh", "heading",
	"accuracy_m", "metrics", "points"}

// stateUpsert writes a device's state over the one stored.
var stateUpsert = `ON CONFLICT (tenant_id, device_id) DO UPDATE SET ` + sqlstore.Assignments(stateWritten, "device_id")

// stateRow is a device's row of device_state as the writer reads and
// writes it: the values of stateWritten, in order, after the device id and
// last_seen_us.
type stateRow struct {
	t, posT  int64
	position [6]any // lat, lon, altitude_m, speed_kmh, heading, accuracy_m; nil without a position
	metrics  map[string]storedMetric
	points   int64
}

// stateQuery reads the stateRow of the device %[1]s names.
const stateQuery = `SELECT device_id, t_us, pos_t_us, lat, lon, altitude_m, speed_kmh, heading, accuracy_m, metrics, points
	FROM device_state WHERE tenant_id = $1 AND device_id = %[1]s`

func scanStateRow(r sqlstore.Row) (string, *stateRow, error) {
	var id, metrics string
	var posT sql.NullInt64
	var pos [6]sql.NullFloat64
	st := &stateRow{}
	if err := r.Scan(&id, &st.t, &posT, &pos[0], &pos[1], &pos[2], &pos[3], &pos[4], &pos[5], &metrics, &st.points); err != nil {
		return "", nil, err
	}
	if posT.Valid && pos[0].Valid && pos[1].Valid {
		st.posT = posT.Int64
		for i, f := range pos {
			if f.Valid {
				st.position[i] = f.Float64
			}
		}
	}
	var err error
	if st.metrics, err = decodeStoredMetrics(metrics); err != nil {
		return "", nil, err
	}
	return id, st, nil
}

// updateStates folds devices' new points into their latest state: the
// newest point's time, the newest position, each metric's newest value,
// and the count. It reads the states in one statement where the engine
// pays for round trips, and writes them in another, whatever the number of
// devices. Two nodes writing one device at the same moment may each miss
// the other's metrics until the next point.
func updateStates(ctx context.Context, c sqlstore.Conn, points map[string][]qm.Point, added map[string]int, received int64) error {
	if len(points) == 0 {
		return nil
	}
	ids := make([][]any, 0, len(points))
	for id := range points {
		ids = append(ids, []any{id})
	}
	stored := make(map[string]*stateRow, len(points))
	err := c.QueryRows(ctx, stateQuery, sqlstore.RowSet{Table: "device_state", Columns: []string{"device_id"}, Rows: ids}, func(r sqlstore.Row) error {
		id, st, err := scanStateRow(r)
		stored[id] = st
		return err
	}, c.TenantID())
	if err != nil {
		return fmt.Errorf("read device states: %w", err)
	}
	rows := make([][]any, 0, len(points))
	for id, pts := range points {
		st := stored[id]
		if st == nil {
			st = &stateRow{}
		}
		if st.metrics == nil {
			st.metrics = map[string]storedMetric{}
		}
		for i := range pts {
			p := &pts[i]
			pt := sqlstore.Micros(p.Time)
			st.t = max(st.t, pt)
			if pos := p.Position; pos != nil && (st.position[0] == nil || pt >= st.posT) {
				st.posT, st.position = pt, [6]any{pos.Lat, pos.Lon, floatOrNil(pos.AltitudeM), floatOrNil(pos.SpeedKMH),
					floatOrNil(pos.Heading), floatOrNil(pos.AccuracyM)}
			}
			for name, v := range p.Metrics {
				if old, ok := st.metrics[name]; !ok || pt >= old.T {
					enc, err := v.MarshalJSON()
					if err != nil {
						return fmt.Errorf("write device state: %w", err)
					}
					st.metrics[name] = storedMetric{V: enc, T: pt}
				}
			}
		}
		var posT any
		if st.position[0] != nil {
			posT = st.posT
		}
		rows = append(rows, append([]any{id, received, st.t, posT}, append(st.position[:],
			string(appendStoredMetrics(nil, st.metrics)), st.points+int64(added[id]))...))
	}
	if _, err := c.InsertRows(ctx, sqlstore.RowSet{Table: "device_state", Columns: stateWritten, Rows: rows}, stateUpsert); err != nil {
		return fmt.Errorf("write device states: %w", err)
	}
	return nil
}

const stateColumns = `device_id, last_seen_us, t_us, pos_t_us, lat, lon, altitude_m, speed_kmh, heading, accuracy_m, metrics, points`

func scanState(r sqlstore.Row) (*qm.DeviceState, error) {
	var s qm.DeviceState
	var seen, t int64
	var posT sql.NullInt64
	var lat, lon, alt, speed, heading, accuracy sql.NullFloat64
	var metricsJSON string
	if err := r.Scan(&s.DeviceID, &seen, &t, &posT, &lat, &lon, &alt, &speed, &heading, &accuracy, &metricsJSON, &s.Points); err != nil {
		return nil, err
	}
	s.LastSeen, s.Time = sqlstore.FromMicros(seen), sqlstore.FromMicros(t)
	if posT.Valid && lat.Valid && lon.Valid {
		pt := sqlstore.FromMicros(posT.Int64)
		s.PositionTime = &pt
		s.Position = &qm.Position{Lat: lat.Float64, Lon: lon.Float64, AltitudeM: floatPtr(alt), SpeedKMH: floatPtr(speed),
			Heading: floatPtr(heading), AccuracyM: floatPtr(accuracy)}
	}
	metrics, err := decodeStoredMetrics(metricsJSON)
	if err != nil {
		return nil, err
	}
	s.Metrics = make(map[string]qm.MetricValue, len(metrics))
	for name, m := range metrics {
		var v qm.Metric
		if err := v.UnmarshalJSON(m.V); err != nil {
			return nil, fmt.Errorf("device state metric %s: %w", name, err)
		}
		s.Metrics[name] = qm.MetricValue{Value: v, Time: sqlstore.FromMicros(m.T)}
	}
	return &s, nil
}

func floatPtr(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

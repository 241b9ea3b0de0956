package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
)

// DevicePoints are points one device sent.
type DevicePoints struct {
	DeviceID string
	Points   []qm.Point
}

// micros is t in microseconds since 1970, as points store times.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the time of a stored microsecond count, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

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
	return []any{deviceID, micros(p.Time), lat, lon, alt, speed, heading, accuracy, metrics, received}
}

// insertPoints stores a device's points for the tenant c is bound to, in
// one statement where the engine pays for round trips, inside the caller's
// transaction. A point the device already sent (same time) is ignored. It
// returns how many points were new.
func insertPoints(ctx context.Context, c Conn, b DevicePoints, received int64) (int, error) {
	rows := make([][]any, len(b.Points))
	for i := range b.Points {
		rows[i] = pointValues(b.DeviceID, &b.Points[i], received)
	}
	n, err := c.InsertRows(ctx, RowSet{Table: "points", Columns: pointColumns, Rows: rows}, `ON CONFLICT (tenant_id, device_id, t_us) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store points: %w", err)
	}
	return int(n), nil
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

// stateMetric is a metric in device_state: its value and its point's time.
type stateMetric struct {
	V qm.Metric `json:"v"`
	T int64     `json:"t"`
}

// stateWritten are device_state's columns a writer sets.
var stateWritten = []string{"device_id", "last_seen_us", "t_us", "pos_t_us", "lat", "lon", "altitude_m", "speed_kmh", "heading",
	"accuracy_m", "metrics", "points"}

// stateUpsert writes a device's state over the one stored.
var stateUpsert = `ON CONFLICT (tenant_id, device_id) DO UPDATE SET ` + assignments(stateWritten, "device_id")

// updateStates folds devices' new points into their latest state: the
// newest point's time, the newest position, each metric's newest value,
// and the count. It reads the states in one statement and writes them in
// another, whatever the number of devices. Two nodes writing one device at
// the same moment may each miss the other's metrics until the next point.
func updateStates(ctx context.Context, c Conn, points map[string][]qm.Point, added map[string]int, received int64) error {
	if len(points) == 0 {
		return nil
	}
	args := []any{c.TenantID()}
	marks := make([]string, 0, len(points))
	for id := range points {
		args = append(args, id)
		marks = append(marks, fmt.Sprintf("$%d", len(args)))
	}
	states, err := queryAll(ctx, c, scanState, `SELECT `+stateColumns+` FROM device_state WHERE tenant_id = $1 AND device_id IN (`+strings.Join(marks, ", ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("read device states: %w", err)
	}
	byID := map[string]*qm.DeviceState{}
	for _, st := range states {
		byID[st.DeviceID] = st
	}
	rows := make([][]any, 0, len(points))
	for id, pts := range points {
		st := byID[id]
		if st == nil {
			st = &qm.DeviceState{DeviceID: id, Metrics: map[string]qm.MetricValue{}}
		}
		t := micros(st.Time)
		var posT int64
		if st.PositionTime != nil {
			posT = micros(*st.PositionTime)
		}
		metrics := make(map[string]stateMetric, len(st.Metrics))
		for name, m := range st.Metrics {
			metrics[name] = stateMetric{V: m.Value, T: micros(m.Time)}
		}
		pos := st.Position
		for i := range pts {
			p := &pts[i]
			pt := micros(p.Time)
			t = max(t, pt)
			if p.Position != nil && (pos == nil || pt >= posT) {
				pos, posT = p.Position, pt
			}
			for name, v := range p.Metrics {
				if old, ok := metrics[name]; !ok || pt >= old.T {
					metrics[name] = stateMetric{V: v, T: pt}
				}
			}
		}
		enc, err := json.Marshal(metrics)
		if err != nil {
			return fmt.Errorf("write device state: %w", err)
		}
		var pt, lat, lon, alt, speed, heading, accuracy any
		if pos != nil {
			pt, lat, lon, alt, speed, heading, accuracy = posT, pos.Lat, pos.Lon, floatOrNil(pos.AltitudeM), floatOrNil(pos.SpeedKMH),
				floatOrNil(pos.Heading), floatOrNil(pos.AccuracyM)
		}
		rows = append(rows, []any{id, received, t, pt, lat, lon, alt, speed, heading, accuracy, string(enc), st.Points + int64(added[id])})
	}
	if _, err := c.InsertRows(ctx, RowSet{Table: "device_state", Columns: stateWritten, Rows: rows}, stateUpsert); err != nil {
		return fmt.Errorf("write device states: %w", err)
	}
	return nil
}

const stateColumns = `device_id, last_seen_us, t_us, pos_t_us, lat, lon, altitude_m, speed_kmh, heading, accuracy_m, metrics, points`

func scanState(r Row) (*qm.DeviceState, error) {
	var s qm.DeviceState
	var seen, t int64
	var posT sql.NullInt64
	var lat, lon, alt, speed, heading, accuracy sql.NullFloat64
	var metricsJSON string
	if err := r.Scan(&s.DeviceID, &seen, &t, &posT, &lat, &lon, &alt, &speed, &heading, &accuracy, &metricsJSON, &s.Points); err != nil {
		return nil, err
	}
	s.LastSeen, s.Time = fromMicros(seen), fromMicros(t)
	if posT.Valid && lat.Valid && lon.Valid {
		pt := fromMicros(posT.Int64)
		s.PositionTime = &pt
		s.Position = &qm.Position{Lat: lat.Float64, Lon: lon.Float64, AltitudeM: floatPtr(alt), SpeedKMH: floatPtr(speed),
			Heading: floatPtr(heading), AccuracyM: floatPtr(accuracy)}
	}
	var metrics map[string]stateMetric
	if err := json.Unmarshal([]byte(metricsJSON), &metrics); err != nil {
		return nil, fmt.Errorf("device state metrics: %w", err)
	}
	s.Metrics = make(map[string]qm.MetricValue, len(metrics))
	for name, m := range metrics {
		s.Metrics[name] = qm.MetricValue{Value: m.V, Time: fromMicros(m.T)}
	}
	return &s, nil
}

func floatPtr(f sql.NullFloat64) *float64 {
	if !f.Valid {
		return nil
	}
	return &f.Float64
}

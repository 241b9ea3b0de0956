package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

// writePoints stores the points of the tenant c is bound to, inside the
// caller's transaction. A point a device already sent (same device, same
// time) is ignored. It returns how many points were new, and keeps each
// device's latest state.
func writePoints(ctx context.Context, c Conn, batches []DevicePoints, received time.Time) (int, error) {
	stored := 0
	rec := micros(received)
	for _, b := range batches {
		n := 0
		for i := range b.Points {
			p := &b.Points[i]
			var lat, lon, alt, speed, heading, accuracy any
			if pos := p.Position; pos != nil {
				lat, lon, alt, speed, heading, accuracy = pos.Lat, pos.Lon, floatOrNil(pos.AltitudeM), floatOrNil(pos.SpeedKMH),
					floatOrNil(pos.Heading), floatOrNil(pos.AccuracyM)
			}
			var metrics any
			if len(p.Metrics) > 0 {
				metrics = encodeMetrics(p.Metrics)
			}
			added, err := c.Exec(ctx, `INSERT INTO points (tenant_id, device_id, t_us, lat, lon, altitude_m, speed_kmh, heading, accuracy_m, metrics, received_us)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (tenant_id, device_id, t_us) DO NOTHING`,
				c.TenantID(), b.DeviceID, micros(p.Time), lat, lon, alt, speed, heading, accuracy, metrics, rec)
			if err != nil {
				return 0, fmt.Errorf("store point: %w", err)
			}
			n += int(added)
		}
		if n > 0 {
			if err := updateState(ctx, c, b, n, rec); err != nil {
				return 0, err
			}
		}
		stored += n
	}
	return stored, nil
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

// updateState folds a device's new points into its latest state: the newest
// point's time, the newest position, each metric's newest value.
func updateState(ctx context.Context, c Conn, b DevicePoints, added int, received int64) error {
	var t int64
	var posT sql.NullInt64
	var metricsJSON string
	err := c.QueryRow(ctx, `SELECT t_us, pos_t_us, metrics FROM device_state WHERE tenant_id = $1 AND device_id = $2`,
		c.TenantID(), b.DeviceID).Scan(&t, &posT, &metricsJSON)
	exists := err == nil
	if err != nil && !errors.Is(err, ErrNoRows) {
		return fmt.Errorf("read device state: %w", err)
	}
	metrics := map[string]stateMetric{}
	if exists {
		if err := json.Unmarshal([]byte(metricsJSON), &metrics); err != nil {
			return fmt.Errorf("read device state: %w", err)
		}
	}
	var pos *qm.Position
	for i := range b.Points {
		p := &b.Points[i]
		pt := micros(p.Time)
		t = max(t, pt)
		if p.Position != nil && (!posT.Valid || pt >= posT.Int64) {
			pos, posT = p.Position, sql.NullInt64{Int64: pt, Valid: true}
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
	if !exists {
		_, err = c.Exec(ctx, `INSERT INTO device_state (tenant_id, device_id, last_seen_us, t_us, metrics, points) VALUES ($1, $2, $3, $4, $5, 0)`,
			c.TenantID(), b.DeviceID, received, t, string(enc))
		if err != nil {
			return fmt.Errorf("write device state: %w", err)
		}
	}
	_, err = c.Exec(ctx, `UPDATE device_state SET last_seen_us = $3, t_us = $4, metrics = $5, points = points + $6 WHERE tenant_id = $1 AND device_id = $2`,
		c.TenantID(), b.DeviceID, received, t, string(enc), added)
	if err == nil && pos != nil {
		_, err = c.Exec(ctx, `UPDATE device_state SET pos_t_us = $3, lat = $4, lon = $5, altitude_m = $6, speed_kmh = $7, heading = $8, accuracy_m = $9
			WHERE tenant_id = $1 AND device_id = $2`, c.TenantID(), b.DeviceID, posT.Int64, pos.Lat, pos.Lon,
			floatOrNil(pos.AltitudeM), floatOrNil(pos.SpeedKMH), floatOrNil(pos.Heading), floatOrNil(pos.AccuracyM))
	}
	if err != nil {
		return fmt.Errorf("write device state: %w", err)
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

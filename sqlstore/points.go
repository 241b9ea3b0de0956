package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"
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
func writePoints(ctx context.Context, c Conn, cache *stateCache, batches []DevicePoints, received time.Time) (int, error) {
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
			if err := updateState(ctx, c, cache, b, n, rec); err != nil {
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

// deviceState is what updateState needs of a device's stored state.
type deviceState struct {
	t, posT int64 // posT is 0 without a position
	metrics map[string]stateMetric
	points  int64 // the row's count: a version, for the optimistic update
}

// stateCache keeps the state each device had after the writer's last
// commit, so the next write need not read it first. Another writer (a node,
// or a rolled-back transaction) may have moved the row on since; the
// update then finds the row at another version, and reads it.
type stateCache struct {
	mu      sync.Mutex
	devices map[string]deviceState // tenant id + "/" + device id
}

func (sc *stateCache) get(key string) (deviceState, bool) {
	if sc == nil {
		return deviceState{}, false
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	st, ok := sc.devices[key]
	return st, ok
}

func (sc *stateCache) put(key string, st deviceState) {
	if sc == nil {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.devices == nil || len(sc.devices) > 1000000 {
		sc.devices = map[string]deviceState{}
	}
	sc.devices[key] = st
}

// readState reads a device's state; ok is false when it has none.
func readState(ctx context.Context, c Conn, deviceID string) (st deviceState, ok bool, err error) {
	var posT sql.NullInt64
	var metricsJSON string
	err = c.QueryRow(ctx, `SELECT t_us, pos_t_us, metrics, points FROM device_state WHERE tenant_id = $1 AND device_id = $2`,
		c.TenantID(), deviceID).Scan(&st.t, &posT, &metricsJSON, &st.points)
	if errors.Is(err, ErrNoRows) {
		return deviceState{metrics: map[string]stateMetric{}}, false, nil
	}
	if err != nil {
		return st, false, fmt.Errorf("read device state: %w", err)
	}
	st.posT = posT.Int64
	if err := json.Unmarshal([]byte(metricsJSON), &st.metrics); err != nil {
		return st, false, fmt.Errorf("read device state: %w", err)
	}
	return st, true, nil
}

// updateState folds a device's new points into its latest state: the newest
// point's time, the newest position, each metric's newest value, in one
// statement when the cache knows the state.
func updateState(ctx context.Context, c Conn, cache *stateCache, b DevicePoints, added int, received int64) error {
	key := c.TenantID() + "/" + b.DeviceID
	st, ok := cache.get(key)
	for attempt := 0; ; attempt++ {
		exists := ok
		if !ok {
			var err error
			if st, exists, err = readState(ctx, c, b.DeviceID); err != nil {
				return err
			}
		}
		next := deviceState{t: st.t, posT: st.posT, metrics: maps.Clone(st.metrics), points: st.points + int64(added)}
		var pos *qm.Position
		for i := range b.Points {
			p := &b.Points[i]
			pt := micros(p.Time)
			next.t = max(next.t, pt)
			if p.Position != nil && (next.posT == 0 || pt >= next.posT) {
				pos, next.posT = p.Position, pt
			}
			for name, v := range p.Metrics {
				if old, ok := next.metrics[name]; !ok || pt >= old.T {
					next.metrics[name] = stateMetric{V: v, T: pt}
				}
			}
		}
		enc, err := json.Marshal(next.metrics)
		if err != nil {
			return fmt.Errorf("write device state: %w", err)
		}
		var n int64
		if exists {
			args := []any{c.TenantID(), b.DeviceID, received, next.t, string(enc), next.points, st.points}
			set := ""
			if pos != nil {
				set = `, pos_t_us = $8, lat = $9, lon = $10, altitude_m = $11, speed_kmh = $12, heading = $13, accuracy_m = $14`
				args = append(args, next.posT, pos.Lat, pos.Lon, floatOrNil(pos.AltitudeM), floatOrNil(pos.SpeedKMH), floatOrNil(pos.Heading), floatOrNil(pos.AccuracyM))
			}
			n, err = c.Exec(ctx, `UPDATE device_state SET last_seen_us = $3, t_us = $4, metrics = $5, points = $6`+set+`
				WHERE tenant_id = $1 AND device_id = $2 AND points = $7`, args...)
		} else {
			var posT, lat, lon, alt, speed, heading, accuracy any
			if pos != nil {
				posT, lat, lon, alt, speed, heading, accuracy = next.posT, pos.Lat, pos.Lon, floatOrNil(pos.AltitudeM), floatOrNil(pos.SpeedKMH),
					floatOrNil(pos.Heading), floatOrNil(pos.AccuracyM)
			}
			n, err = c.Exec(ctx, `INSERT INTO device_state (tenant_id, device_id, last_seen_us, t_us, pos_t_us, lat, lon, altitude_m, speed_kmh,
				heading, accuracy_m, metrics, points) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				ON CONFLICT (tenant_id, device_id) DO NOTHING`,
				c.TenantID(), b.DeviceID, received, next.t, posT, lat, lon, alt, speed, heading, accuracy, string(enc), next.points)
		}
		if err != nil {
			return fmt.Errorf("write device state: %w", err)
		}
		if n == 1 {
			cache.put(key, next)
			return nil
		}
		if attempt > 0 {
			return fmt.Errorf("write device state of %s: the row changed twice under this write", b.DeviceID)
		}
		ok = false // the cache was behind: read the row, and try again
	}
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

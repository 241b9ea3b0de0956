// Package simulate drives simulated vehicles through the device protocols
// (HTTP batches, MQTT, OsmAnd), so a new installation shows a live fleet
// and load tests have traffic that looks like the real thing. Each vehicle
// loops around a route of its own, stops now and then with the ignition
// off, and reports position, speed, heading, battery, fuel, engine speed,
// coolant temperature and odometer.
package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/quartermaster/qm"
)

// Vehicle is one simulated vehicle and the credential it reports with.
type Vehicle struct {
	Ident, Token string
	// The route: a loop of RadiusKM around Lat, Lon, driven at SpeedKMH;
	// each lap ends with a stop of StopFor.
	Lat, Lon, RadiusKM, SpeedKMH float64
	StopFor                      time.Duration
	phase                        float64
	start                        time.Time
}

// NewVehicle places a vehicle on a route near lat, lon, chosen by seed.
func NewVehicle(ident, token string, lat, lon float64, seed uint64, start time.Time) *Vehicle {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return &Vehicle{Ident: ident, Token: token, Lat: lat + (r.Float64()-0.5)*0.1, Lon: lon + (r.Float64()-0.5)*0.15,
		RadiusKM: 1 + 4*r.Float64(), SpeedKMH: 30 + 40*r.Float64(), StopFor: time.Duration(60+r.IntN(120)) * time.Second,
		phase: 2 * math.Pi * r.Float64(), start: start}
}

// At is the point the vehicle reports at t.
func (v *Vehicle) At(t time.Time) qm.Point {
	lap := time.Duration(2 * math.Pi * v.RadiusKM / v.SpeedKMH * float64(time.Hour))
	cycle := lap + v.StopFor
	elapsed := t.Sub(v.start)
	laps := float64(elapsed / cycle)
	into := elapsed % cycle
	driving := into < lap
	frac := 1.0
	if driving {
		frac = float64(into) / float64(lap)
	}
	angle := v.phase + 2*math.Pi*frac
	// Degrees per km: 1/111 of latitude; longitude narrows with latitude.
	lat := v.Lat + v.RadiusKM/111.32*math.Sin(angle)
	lon := v.Lon + v.RadiusKM/(111.32*math.Cos(v.Lat*math.Pi/180))*math.Cos(angle)
	// The loop runs anticlockwise: the heading (clockwise from north) is
	// minus the angle.
	speed, heading := 0.0, math.Mod(-angle*180/math.Pi, 360)
	if heading < 0 {
		heading += 360
	}
	rpm, battery := 0.0, 12.4
	if driving {
		speed, rpm, battery = v.SpeedKMH, 1500+v.SpeedKMH*25, 14.1
	}
	odometer := (laps + frac) * 2 * math.Pi * v.RadiusKM
	fuel := math.Max(5, 100-math.Mod(odometer/6, 95))
	return qm.Point{
		Time:     t.UTC().Truncate(time.Millisecond),
		Position: &qm.Position{Lat: lat, Lon: lon, SpeedKMH: &speed, Heading: &heading},
		Metrics: map[string]qm.Metric{
			"ignition": qm.BoolMetric(driving), "battery_v": qm.NumberMetric(battery), "rpm": qm.NumberMetric(math.Round(rpm)),
			"fuel_pct": qm.NumberMetric(math.Round(fuel*10) / 10), "coolant_c": qm.NumberMetric(map[bool]float64{true: 90, false: 40}[driving]),
			"odometer_km": qm.NumberMetric(math.Round(odometer*1000) / 1000),
		},
	}
}

// Sender delivers a vehicle's points by one protocol.
type Sender interface {
	Send(ctx context.Context, v *Vehicle, pts []qm.Point) error
	Close()
}

// HTTP sends JSON batches to POST /ingest/v1/points.
type HTTP struct {
	BaseURL string // http://127.0.0.1:8080
	Client  *http.Client
}

// wirePoint is a point as the batch API takes it.
func wirePoint(p qm.Point) map[string]any {
	m := map[string]any{"time": p.Time.Format(time.RFC3339Nano), "metrics": p.Metrics}
	if pos := p.Position; pos != nil {
		m["lat"], m["lon"], m["speed_kmh"], m["heading"] = pos.Lat, pos.Lon, pos.SpeedKMH, pos.Heading
	}
	return m
}

// batch encodes points as a JSON array for the batch API.
func batch(pts []qm.Point) []byte {
	wire := make([]map[string]any, len(pts))
	for i, p := range pts {
		wire[i] = wirePoint(p)
	}
	b, _ := json.Marshal(wire)
	return b
}

// Send implements Sender.
func (h *HTTP) Send(ctx context.Context, v *Vehicle, pts []qm.Point) error {
	req, err := http.NewRequestWithContext(ctx, "POST", h.BaseURL+"/ingest/v1/points", bytes.NewReader(batch(pts)))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+v.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := h.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", v.Ident, res.Status)
	}
	return nil
}

// Close implements Sender.
func (h *HTTP) Close() {}

// OsmAnd sends each point as an OsmAnd query (GET) with the device's key,
// as Traccar Client does.
type OsmAnd struct {
	BaseURL string // http://127.0.0.1:5055
	Client  *http.Client
}

// Send implements Sender.
func (o *OsmAnd) Send(ctx context.Context, v *Vehicle, pts []qm.Point) error {
	for _, p := range pts {
		q := url.Values{"id": {v.Ident}, "key": {v.Token}, "timestamp": {strconv.FormatInt(p.Time.UnixMilli(), 10)}}
		if pos := p.Position; pos != nil {
			q.Set("lat", strconv.FormatFloat(pos.Lat, 'f', 6, 64))
			q.Set("lon", strconv.FormatFloat(pos.Lon, 'f', 6, 64))
			q.Set("speed", strconv.FormatFloat(*pos.SpeedKMH/1.852, 'f', 2, 64)) // knots
			q.Set("bearing", strconv.FormatFloat(*pos.Heading, 'f', 1, 64))
		}
		for name, m := range p.Metrics {
			q.Set(name, m.String())
		}
		req, err := http.NewRequestWithContext(ctx, "GET", o.BaseURL+"/?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		res, err := o.Client.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", v.Ident, res.Status)
		}
	}
	return nil
}

// Close implements Sender.
func (o *OsmAnd) Close() {}

// MQTT publishes batches at QoS 1 to devices/{ident}/telemetry, one
// connection per vehicle. A send succeeds only when the broker
// acknowledges it (PUBACK), which Quartermaster's broker does once the
// points are committed.
type MQTT struct {
	Broker string // tcp://127.0.0.1:1884
	// AckTimeout is how long a send waits for its acknowledgement before
	// it counts as failed (0: 10 seconds). A broker that takes the
	// connection but never acknowledges is not one that stores points.
	AckTimeout time.Duration
	mu         sync.Mutex
	conns      map[string]mqtt.Client
}

// Send implements Sender.
func (m *MQTT) Send(ctx context.Context, v *Vehicle, pts []qm.Point) error {
	c, err := m.conn(v)
	if err != nil {
		return err
	}
	wait := m.AckTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	tok := c.Publish("devices/"+v.Ident+"/telemetry", 1, false, batch(pts))
	select {
	case <-tok.Done():
		return tok.Error()
	case <-timer.C:
		return fmt.Errorf("%s: %s did not acknowledge a publish within %v", v.Ident, m.Broker, wait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *MQTT) conn(v *Vehicle) (mqtt.Client, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c := m.conns[v.Ident]; c != nil {
		return c, nil
	}
	opts := mqtt.NewClientOptions().AddBroker(m.Broker).SetClientID(v.Ident).
		SetUsername(v.Ident).SetPassword(v.Token).SetAutoReconnect(true).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("%s: connect: no answer from %s", v.Ident, m.Broker)
	}
	if tok.Error() != nil {
		return nil, fmt.Errorf("%s: connect: %w", v.Ident, tok.Error())
	}
	if m.conns == nil {
		m.conns = map[string]mqtt.Client{}
	}
	m.conns[v.Ident] = c
	return c, nil
}

// Close implements Sender.
func (m *MQTT) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.conns {
		c.Disconnect(250)
	}
	m.conns = nil
}

// Run has every vehicle report a point each interval, reports times each
// (0: until ctx is done). Failures are passed to onError and the vehicle
// carries on, as a device does: it keeps the points not acknowledged
// (the newest keepUnsent) and sends them again with its next report, so
// a server that answers 503 for a moment (a tenant moving) loses none. A
// report that fails counts as one of its reports. It returns how many
// points were delivered: acknowledged by the server.
// keepUnsent is how many points a simulated vehicle keeps while the server
// does not take them.
const keepUnsent = 1000

func Run(ctx context.Context, vehicles []*Vehicle, s Sender, every time.Duration, reports int, onError func(error)) int64 {
	var wg sync.WaitGroup
	var delivered atomic.Int64
	for i, v := range vehicles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the vehicles over the interval.
			select {
			case <-time.After(every * time.Duration(i) / time.Duration(len(vehicles))):
			case <-ctx.Done():
				return
			}
			tick := time.NewTicker(every)
			defer tick.Stop()
			var unsent []qm.Point
			for n := 1; ; n++ {
				unsent = append(unsent, v.At(time.Now()))
				unsent = unsent[max(0, len(unsent)-keepUnsent):]
				if err := s.Send(ctx, v, unsent); err != nil {
					if ctx.Err() != nil {
						return
					}
					onError(err)
				} else {
					delivered.Add(int64(len(unsent)))
					unsent = unsent[:0]
				}
				if n == reports {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
	return delivered.Load()
}

package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/quartermaster/qm"
)

// rawInsert writes one batch of points of a device straight through the
// driver, in one transaction, as a program without Quartermaster would.
type rawInsert func(ctx context.Context, deviceID string, pts []qm.Point) error

// pointBody encodes n points of one sender, numbered from first, as the
// batch API takes them.
func pointBody(base time.Time, first, n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		t := base.Add(time.Duration(first+i) * time.Millisecond)
		b.WriteString(`{"time":"`)
		b.WriteString(t.Format(time.RFC3339Nano))
		b.WriteString(`","lat":52.52,"lon":13.405,"speed_kmh":48.5,"heading":90,"metrics":{"battery_v":13.9,"rpm":2100,"ignition":true,"seq":`)
		b.WriteString(strconv.Itoa(first + i))
		b.WriteString(`}}`)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// samplePoints are the points pointBody encodes, for the raw baseline.
func samplePoints(base time.Time, first, n int) []qm.Point {
	pts := make([]qm.Point, n)
	for i := range pts {
		speed, heading := 48.5, 90.0
		pts[i] = qm.Point{Time: base.Add(time.Duration(first+i) * time.Millisecond),
			Position: &qm.Position{Lat: 52.52, Lon: 13.405, SpeedKMH: &speed, Heading: &heading},
			Metrics: map[string]qm.Metric{"battery_v": qm.NumberMetric(13.9), "rpm": qm.NumberMetric(2100), "ignition": qm.BoolMetric(true),
				"seq": qm.NumberMetric(float64(first + i))}}
	}
	return pts
}

// httpIngest measures HTTP batch ingest into a pool tenant: senders devices
// post batches of batch points as fast as the server acknowledges them,
// for d; then the same rows go in through the driver, in the same batches,
// from as many goroutines, for d.
func httpIngest(ctx context.Context, e engine, t *target, storage string, senders, batch int, d time.Duration) (Result, error) {
	tn, err := e.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "ingest", Name: "Ingest", Tier: qm.TierPool})
	if err != nil {
		return Result{}, err
	}
	tokens, devices, err := devicesOf(ctx, e, tn, senders)
	if err != nil {
		return Result{}, err
	}
	api, stop := apiServer(e)
	defer stop()
	root, stopServer, err := serveLoopback(api.Handler())
	if err != nil {
		return Result{}, err
	}
	defer stopServer()
	client, closeClient := newClient(senders, 30*time.Second)
	defer closeClient()
	url := root + "/ingest/v1/points"
	base := time.Now().Add(-24 * time.Hour)
	apiSample, apiRate, err := pushPoints(ctx, senders, d, func(i, first int) error {
		return call(ctx, client, "POST", url, tokens[i], pointBody(base, first, batch))
	}, batch)
	if err != nil {
		return Result{}, err
	}
	insert, closeRaw, err := t.raw(ctx, storage, tn)
	if err != nil {
		return Result{}, err
	}
	defer closeRaw()
	rawBase := base.Add(-24 * time.Hour) // other rows than the API's
	rawSample, rawRate, err := pushPoints(ctx, senders, d, func(i, first int) error {
		return insert(ctx, devices[i], samplePoints(rawBase, first, batch))
	}, batch)
	if err != nil {
		return Result{}, fmt.Errorf("raw inserts: %w", err)
	}
	r := apiSample.Compared(fmt.Sprintf("ingest HTTP, %d points a request, %d senders, %s pool", batch, senders, t.name),
		map[string]string{"sqlite": "≥ 100000 points/s, ≥ 0.5x", "postgres": "≥ 50000 points/s, ≥ 0.5x"}[t.name], "driver inserts", rawSample)
	r.Rate, r.BaselineRate, r.Ratio, r.Unit = apiRate, rawRate, apiRate/rawRate, "points/s"
	return r, nil
}

// devicesOf registers n devices to tenant tn and returns their tokens and
// ids.
func devicesOf(ctx context.Context, e engine, tn *qm.Tenant, n int) (tokens, ids []string, err error) {
	tokens, ids = make([]string, n), make([]string, n)
	for i := range n {
		dev := &qm.Device{Ident: fmt.Sprintf("bench-%s-%d", tn.Slug, i)}
		if tokens[i], err = e.Devices().RegisterDevice(ctx, dev); err == nil {
			_, _, err = e.Devices().AssignDevice(ctx, dev.ID, tn)
		}
		if err != nil {
			return nil, nil, err
		}
		ids[i] = dev.ID
	}
	return tokens, ids, nil
}

// pushPoints runs senders goroutines for d, each calling send with its
// number and the number of its next point, and returns the latency of each
// batch and the points per second.
func pushPoints(ctx context.Context, senders int, d time.Duration, send func(i, first int) error, batch int) (Sample, float64, error) {
	all, elapsed, err := drive(ctx, senders, d, 0, func(i, k int) error { return send(i, k*batch) })
	if err != nil {
		return nil, 0, err
	}
	return all, float64(len(all)*batch) / elapsed.Seconds(), nil
}

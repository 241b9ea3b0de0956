package ingest

import (
	"context"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/usage"
)

// Ingester is the one qm.PointIngester: HTTP batches, MQTT and the OsmAnd
// protocol hand it what they decoded, and it checks, stores, meters and
// counts the points the same way for all of them.
type Ingester struct {
	Config
	stored storedCounts
}

// storedCounts are the points each capped tenant keeps, as last counted,
// with what this ingester stored since: a cap on stored points is checked
// against it, and counted again every storedEvery.
type storedCounts struct {
	mu sync.Mutex
	m  map[string]storedCount
}

type storedCount struct {
	n  int64
	at time.Time
}

// storedEvery is how often a capped tenant's stored points are counted
// again (retention deletes, other nodes store).
const storedEvery = 5 * time.Second

// Config is what an Ingester needs.
type Config struct {
	// Store keeps the points.
	Store qm.PointStore
	// Rates paces each tenant and device (nil: paces of its own; share
	// the node's, so a tenant's rates hold across edges).
	Rates *rates.Buckets
	// Usage meters each tenant's points and holds it to its monthly quota
	// (nil: not metered).
	Usage *usage.Meter
	// Metrics counts for Prometheus (nil: not counted), and Load each
	// tenant's load now (nil: not followed).
	Metrics *metrics.Ingest
	Load    *metrics.Load
	// Now is the clock (time.Now).
	Now func() time.Time
}

var _ qm.PointIngester = (*Ingester)(nil)

// NewIngester returns an Ingester for c.
func NewIngester(c Config) *Ingester {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rates == nil {
		c.Rates = rates.New(c.Now)
	}
	return &Ingester{Config: c, stored: storedCounts{m: map[string]storedCount{}}}
}

// Ingest implements qm.PointIngester.
func (in *Ingester) Ingest(ctx context.Context, protocol, deviceID string, points []qm.Point) (int, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		in.Refused(protocol, err)
		return 0, err
	}
	n, err := in.ingest(ctx, t, protocol, deviceID, points)
	if err != nil {
		in.Refused(protocol, err)
		in.Usage.Add(t, qm.MeterPointsRefused+"/"+protocol+"/"+metrics.ReasonFor(err), int64(len(points)))
		in.Load.Refused(t.Slug, len(points))
		return 0, err
	}
	in.Metrics.Stored(protocol, n)
	in.Load.Points(t.Slug, n)
	in.Usage.Add(t, qm.MeterPointsStored+"/"+protocol, int64(n))
	return n, nil
}

// ingest checks points against tenant t's plan and stores them. Nothing
// over a limit is stored, so nothing over a limit is acknowledged.
func (in *Ingester) ingest(ctx context.Context, t *qm.Tenant, protocol, deviceID string, points []qm.Point) (int, error) {
	if err := t.Limits.Feature(qm.FeatureFleet); err != nil {
		return 0, err
	}
	if err := qm.ValidatePoints(points, in.Now(), qm.DefaultPointLimits); err != nil {
		return 0, err
	}
	if err := in.Usage.Allow(t, qm.PointsPerMonth, int64(len(points))); err != nil {
		return 0, err
	}
	if err := in.roomToStore(ctx, t, int64(len(points))); err != nil {
		return 0, err
	}
	if err := in.Rates.Points(t, deviceID, len(points)); err != nil {
		return 0, err
	}
	n, err := in.Store.Write(ctx, deviceID, points)
	in.storedMore(t, int64(n))
	return n, err
}

// roomToStore checks max_stored_points: that tenant t may keep n more.
func (in *Ingester) roomToStore(ctx context.Context, t *qm.Tenant, n int64) error {
	if t.Limits.MaxStoredPoints() == 0 {
		return nil
	}
	in.stored.mu.Lock()
	c, ok := in.stored.m[t.ID]
	in.stored.mu.Unlock()
	if now := in.Now(); !ok || now.Sub(c.at) > storedEvery {
		count, err := in.Store.StoredPoints(ctx)
		if err != nil {
			return err
		}
		c = storedCount{count, now}
		in.stored.mu.Lock()
		in.stored.m[t.ID] = c
		in.stored.mu.Unlock()
	}
	return t.Limits.Room(qm.MaxStoredPoints, c.n, n)
}

// storedMore counts n points stored for capped tenant t.
func (in *Ingester) storedMore(t *qm.Tenant, n int64) {
	in.stored.mu.Lock()
	defer in.stored.mu.Unlock()
	if c, ok := in.stored.m[t.ID]; ok {
		c.n += n
		in.stored.m[t.ID] = c
	}
}

// Admit implements qm.PointIngester.
func (in *Ingester) Admit(ctx context.Context, protocol, deviceID string) error {
	t, err := tenancy.FromContext(ctx)
	if err == nil {
		err = t.Limits.Feature(qm.FeatureFleet)
	}
	if err == nil {
		err = in.Rates.PointsSpent(t, deviceID)
	}
	if err != nil {
		in.Refused(protocol, err)
		if t != nil {
			in.Load.Refused(t.Slug, 1)
		}
	}
	return err
}

// Refused implements qm.PointIngester.
func (in *Ingester) Refused(protocol string, err error) {
	in.Metrics.Refuse(protocol, metrics.ReasonFor(err))
}

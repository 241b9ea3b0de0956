package ingest

import (
	"context"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/tenancy"
)

// Ingester is the one qm.PointIngester: HTTP batches, MQTT and the OsmAnd
// protocol hand it what they decoded, and it checks, stores and counts
// the points the same way for all of them.
type Ingester struct {
	store   qm.PointStore
	metrics *metrics.Ingest
	rates   *rates.Buckets
	now     func() time.Time
}

var _ qm.PointIngester = (*Ingester)(nil)

// NewIngester returns an Ingester storing points in store, at the rates
// each tenant's plan sets in paces (nil: paces of its own), and counting
// them in m (nil: not counted).
func NewIngester(store qm.PointStore, paces *rates.Buckets, m *metrics.Ingest, now func() time.Time) *Ingester {
	if paces == nil {
		paces = rates.New(now)
	}
	return &Ingester{store: store, rates: paces, metrics: m, now: now}
}

// Ingest implements qm.PointIngester.
func (in *Ingester) Ingest(ctx context.Context, protocol, deviceID string, points []qm.Point) (int, error) {
	t, err := tenancy.FromContext(ctx)
	if err == nil {
		err = t.Limits.Feature(qm.FeatureFleet)
	}
	if err != nil {
		in.Refused(protocol, err)
		return 0, err
	}
	if err := qm.ValidatePoints(points, in.now(), qm.DefaultPointLimits); err != nil {
		in.Refused(protocol, err)
		return 0, err
	}
	// Past the rate, nothing is stored, so nothing is acknowledged.
	if err := in.rates.Points(t, deviceID, len(points)); err != nil {
		in.Refused(protocol, err)
		return 0, err
	}
	n, err := in.store.Write(ctx, deviceID, points)
	if err != nil {
		in.Refused(protocol, err)
		return 0, err
	}
	in.metrics.Stored(protocol, n)
	return n, nil
}

// Refused implements qm.PointIngester.
func (in *Ingester) Refused(protocol string, err error) {
	in.metrics.Refuse(protocol, metrics.ReasonFor(err))
}

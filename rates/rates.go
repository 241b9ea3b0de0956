// Package rates paces what enters the server at the rates each tenant's
// plan sets: its API requests, the points it stores, and each of its
// devices' points and MQTT messages. Every pace is a token bucket
// (golang.org/x/time/rate) kept per tenant or per device, and made again
// when the plan's rate changes.
package rates

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/quartermaster/qm"
)

// Buckets holds the token buckets of every tenant and device that used one
// lately. The zero value is not usable: call New.
type Buckets struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
	// nodes is how many nodes share each tenant's rates: this node takes
	// its share of a tenant's rate and burst, as Mimir's global strategy
	// does. A device's rates are its own node's: a device keeps to one.
	nodes atomic.Int64
}

type bucket struct {
	limiter *rate.Limiter
	used    time.Time
}

// idle is how long a bucket may go unused before it is dropped: a bucket
// unused that long has mostly refilled, so dropping it forgives little.
const idle = time.Minute

// New returns empty buckets on clock now (time.Now when nil).
func New(now func() time.Time) *Buckets {
	if now == nil {
		now = time.Now
	}
	b := &Buckets{now: now, buckets: map[string]*bucket{}}
	b.nodes.Store(1)
	return b
}

// SetNodes says how many nodes share the tenants' rates (at least 1).
func (b *Buckets) SetNodes(n int) { b.nodes.Store(int64(max(1, n))) }

// shared is this node's share of a tenant-wide rate and burst.
func (b *Buckets) shared(perSecond float64, burst int) (float64, int) {
	n := b.nodes.Load()
	return perSecond / float64(n), max(1, burst/int(n))
}

// take takes n tokens from the bucket key, which refills at perSecond up to
// burst: nil when taken, else ERateLimited saying when to try again (or,
// for more than the burst, that it never fits). perSecond 0 is unlimited.
func (b *Buckets) take(key string, perSecond float64, burst, n int, what string) error {
	_, err := b.reserve(key, perSecond, burst, n, what)
	return err
}

// reserve is take, returning what it took (nil for nothing), for a caller
// to give back with CancelAt if another bucket refuses.
func (b *Buckets) reserve(key string, perSecond float64, burst, n int, what string) (*rate.Reservation, error) {
	if perSecond <= 0 || n <= 0 {
		return nil, nil
	}
	now := b.now()
	b.mu.Lock()
	if now.Sub(b.swept) > idle {
		for k, bk := range b.buckets {
			if now.Sub(bk.used) > idle {
				delete(b.buckets, k)
			}
		}
		b.swept = now
	}
	bk := b.buckets[key]
	if bk == nil || bk.limiter.Limit() != rate.Limit(perSecond) || bk.limiter.Burst() != burst {
		// New, or its plan changed: start full at the new pace.
		bk = &bucket{limiter: rate.NewLimiter(rate.Limit(perSecond), burst)}
		b.buckets[key] = bk
	}
	bk.used = now
	r := bk.limiter.ReserveN(now, n)
	b.mu.Unlock()
	if !r.OK() {
		return nil, &qm.Error{Code: qm.ERateLimited, Message: fmt.Sprintf("%d %s at once is more than the %d the tenant's plan allows: send fewer at a time", n, what, burst)}
	}
	wait := r.DelayFrom(now)
	if wait == 0 {
		return r, nil
	}
	r.CancelAt(now)
	return nil, &qm.Error{Code: qm.ERateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("the tenant's plan allows %s %s a second: try again in %v", formatRate(perSecond), what, wait.Round(time.Millisecond))}
}

func formatRate(r float64) string {
	if r == math.Trunc(r) {
		return fmt.Sprintf("%d", int64(r))
	}
	return fmt.Sprintf("%g", r)
}

// burstOf is a bucket's size: set, or seconds' worth of the rate (at least
// one).
func burstOf(set int, perSecond, seconds float64) int {
	if set > 0 {
		return set
	}
	return max(1, int(math.Ceil(perSecond*seconds)))
}

// API takes one request of tenant t: api_requests_per_second, in bursts of
// api_burst (one second's worth unless set).
func (b *Buckets) API(t *qm.Tenant) error {
	r, burst := b.shared(t.Limits.APIRequestsPerSecond(), burstOf(t.Limits.APIBurst(), t.Limits.APIRequestsPerSecond(), 1))
	return b.take("api:"+t.ID, r, burst, 1, "API requests")
}

// pointSeconds is how many seconds' worth of points a bucket holds unless
// the plan sets its burst: devices send batches.
const pointSeconds = 10

// Points takes n points that device deviceID of tenant t sent:
// points_per_second for the tenant (in bursts of points_burst) and
// device_points_per_second for the device. Both or neither are taken.
func (b *Buckets) Points(t *qm.Tenant, deviceID string, n int) error {
	dr := t.Limits.DevicePointsPerSecond()
	device, err := b.reserve("device-points:"+deviceID, dr, burstOf(0, dr, pointSeconds), n, "points from one device")
	if err != nil {
		return err
	}
	tr, burst := b.shared(t.Limits.PointsPerSecond(), burstOf(t.Limits.PointsBurst(), t.Limits.PointsPerSecond(), pointSeconds))
	if err := b.take("points:"+t.ID, tr, burst, n, "points"); err != nil {
		if device != nil {
			device.CancelAt(b.now())
		}
		return err
	}
	return nil
}

// PointsSpent says, taking nothing, whether tenant t's or device
// deviceID's points are spent for now: ERateLimited saying when to try
// again, so a protocol refuses a batch before the work of decoding it.
func (b *Buckets) PointsSpent(t *qm.Tenant, deviceID string) error {
	tr, _ := b.shared(t.Limits.PointsPerSecond(), 1)
	for _, k := range []struct {
		key       string
		perSecond float64
	}{{"device-points:" + deviceID, t.Limits.DevicePointsPerSecond()}, {"points:" + t.ID, tr}} {
		if err := b.spent(k.key, k.perSecond); err != nil {
			return err
		}
	}
	return nil
}

// spent is ERateLimited when the bucket key holds less than a token now.
func (b *Buckets) spent(key string, perSecond float64) error {
	if perSecond <= 0 {
		return nil
	}
	now := b.now()
	b.mu.Lock()
	bk := b.buckets[key]
	var tokens float64 = 1
	if bk != nil && bk.limiter.Limit() == rate.Limit(perSecond) {
		tokens = bk.limiter.TokensAt(now)
	}
	b.mu.Unlock()
	if tokens >= 1 {
		return nil
	}
	wait := time.Duration((1 - tokens) / perSecond * float64(time.Second))
	return &qm.Error{Code: qm.ERateLimited, RetryAfter: wait,
		Message: fmt.Sprintf("the tenant's plan allows %s points a second: try again in %v", formatRate(perSecond), wait.Round(time.Millisecond))}
}

// MQTTMessage takes one message that device deviceID of tenant t
// published: mqtt_messages_per_second, in bursts of one second's worth.
func (b *Buckets) MQTTMessage(t *qm.Tenant, deviceID string) error {
	r := t.Limits.MQTTMessagesPerSecond()
	return b.take("mqtt:"+deviceID, r, burstOf(0, r, 1), 1, "MQTT messages from one device")
}

// Nodes is where nodes say they are alive, and count those that are.
type Nodes interface {
	Heartbeat(ctx context.Context, node string) error
	LiveNodes(ctx context.Context, within time.Duration) (int, error)
}

// HeartbeatEvery is how often a node says it is alive; a node silent for
// three of them no longer takes a share of the rates.
const HeartbeatEvery = 5 * time.Second

// KeepShare says node is alive every HeartbeatEvery and sets b's share of
// the tenants' rates from the nodes alive, until ctx is done. A failure is
// logged, and the share kept, until the next beat.
func (b *Buckets) KeepShare(ctx context.Context, nodes Nodes, node string, log *slog.Logger) error {
	tick := time.NewTicker(HeartbeatEvery)
	defer tick.Stop()
	for {
		err := nodes.Heartbeat(ctx, node)
		var n int
		if err == nil {
			n, err = nodes.LiveNodes(ctx, 3*HeartbeatEvery)
		}
		if err != nil {
			log.Error("rates: heartbeat", "err", err)
		} else {
			b.SetNodes(n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

package metrics

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Load is each tenant's load on this node over the last LoadWindow: API
// requests and their latency, points stored, and refusals. It answers
// which tenant is hurting the server now, and exports the most loaded
// TopTenants as Prometheus series, so their number stays bounded however
// many tenants there are. Its methods may be called on a nil Load.
type Load struct {
	now func() time.Time
	top int

	mu      sync.Mutex
	tenants map[string]*tenantLoad
}

// LoadWindow is how far back a tenant's load reaches.
const LoadWindow = 10 * time.Second

// latencyBuckets is how many buckets a second's latencies fall in: under
// 1 ms, under 2 ms, … doubling, and a last one for the rest.
const latencyBuckets = 16

// latencyBounds are the upper bounds of every bucket but the last.
var latencyBounds = func() []time.Duration {
	b := make([]time.Duration, latencyBuckets-1)
	for i := range b {
		b[i] = time.Millisecond << i
	}
	return b
}()

// second is one second of a tenant's load.
type second struct {
	at                         int64 // Unix seconds
	requests, points, refusals int64
	latency                    [latencyBuckets]int64
}

type tenantLoad struct {
	seconds [int(LoadWindow / time.Second)]second
}

// at returns the bucket of Unix second sec, emptied if it held an older
// second.
func (t *tenantLoad) at(sec int64) *second {
	s := &t.seconds[sec%int64(len(t.seconds))]
	if s.at != sec {
		*s = second{at: sec}
	}
	return s
}

// TenantLoad is one tenant's load over the window, a second's worth.
type TenantLoad struct {
	Tenant            string        `json:"tenant"`
	RequestsPerSecond float64       `json:"requests_per_second"`
	PointsPerSecond   float64       `json:"points_per_second"`
	RefusedPerSecond  float64       `json:"refused_per_second"`
	RequestP99        time.Duration `json:"request_p99"`
}

// NewLoad returns a Load exporting the top tenants (0: none) on clock now.
func NewLoad(top int, now func() time.Time) *Load {
	if now == nil {
		now = time.Now
	}
	return &Load{now: now, top: top, tenants: map[string]*tenantLoad{}}
}

func (l *Load) add(tenant string, fn func(s *second)) {
	if l == nil || tenant == "" {
		return
	}
	sec := l.now().Unix()
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tenants[tenant]
	if t == nil {
		t = &tenantLoad{}
		l.tenants[tenant] = t
	}
	fn(t.at(sec))
}

// Request counts an API request of tenant that took d.
func (l *Load) Request(tenant string, d time.Duration) {
	l.add(tenant, func(s *second) {
		s.requests++
		i, _ := slices.BinarySearch(latencyBounds, d)
		s.latency[i]++
	})
}

// Points counts n points of tenant stored.
func (l *Load) Points(tenant string, n int) {
	l.add(tenant, func(s *second) { s.points += int64(n) })
}

// Refused counts n refusals (requests, or points) of tenant.
func (l *Load) Refused(tenant string, n int) {
	l.add(tenant, func(s *second) { s.refusals += int64(n) })
}

// Top returns the n most loaded tenants (every one for n 0), by requests
// and points a second, busiest first; a tenant idle over the window is
// forgotten.
func (l *Load) Top(n int) []TenantLoad {
	if l == nil {
		return nil
	}
	now := l.now().Unix()
	l.mu.Lock()
	out := make([]TenantLoad, 0, len(l.tenants))
	for name, t := range l.tenants {
		tl, busy := t.over(name, now)
		if !busy {
			delete(l.tenants, name)
			continue
		}
		out = append(out, tl)
	}
	l.mu.Unlock()
	SortByLoad(out)
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// SortByLoad orders ts busiest first: by requests and points a second,
// then by name.
func SortByLoad(ts []TenantLoad) {
	slices.SortFunc(ts, func(a, b TenantLoad) int {
		return cmp.Or(cmp.Compare(b.RequestsPerSecond+b.PointsPerSecond, a.RequestsPerSecond+a.PointsPerSecond), cmp.Compare(a.Tenant, b.Tenant))
	})
}

// over sums t's seconds within the window before now.
func (t *tenantLoad) over(name string, now int64) (TenantLoad, bool) {
	var requests, points, refusals int64
	var latency [latencyBuckets]int64
	for _, s := range t.seconds {
		if s.at <= now-int64(len(t.seconds)) || s.at > now {
			continue
		}
		requests, points, refusals = requests+s.requests, points+s.points, refusals+s.refusals
		for i, c := range s.latency {
			latency[i] += c
		}
	}
	window := LoadWindow.Seconds()
	tl := TenantLoad{Tenant: name, RequestsPerSecond: float64(requests) / window, PointsPerSecond: float64(points) / window,
		RefusedPerSecond: float64(refusals) / window}
	// The p99: the bound of the bucket the 99th percentile falls in.
	if requests > 0 {
		rank, seen := int64(math.Ceil(float64(requests)*0.99)), int64(0)
		for i, c := range latency {
			if seen += c; seen >= rank {
				tl.RequestP99 = 2 * latencyBounds[len(latencyBounds)-1]
				if i < len(latencyBounds) {
					tl.RequestP99 = latencyBounds[i]
				}
				break
			}
		}
	}
	return tl, requests+points+refusals > 0
}

var (
	loadDescs = []*prometheus.Desc{
		prometheus.NewDesc("qm_tenant_requests_per_second", "API requests a second of the most loaded tenants, over the last 10 s.", []string{"tenant"}, nil),
		prometheus.NewDesc("qm_tenant_points_per_second", "Points stored a second of the most loaded tenants, over the last 10 s.", []string{"tenant"}, nil),
		prometheus.NewDesc("qm_tenant_refused_per_second", "Requests and points refused a second of the most loaded tenants, over the last 10 s.", []string{"tenant"}, nil),
		prometheus.NewDesc("qm_tenant_request_p99_seconds", "The 99th percentile of API latency of the most loaded tenants, over the last 10 s.", []string{"tenant"}, nil),
	}
)

// Describe implements prometheus.Collector.
func (l *Load) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range loadDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector: the top tenants alone.
func (l *Load) Collect(ch chan<- prometheus.Metric) {
	if l.top <= 0 {
		return
	}
	for _, t := range l.Top(l.top) {
		for i, v := range []float64{t.RequestsPerSecond, t.PointsPerSecond, t.RefusedPerSecond, t.RequestP99.Seconds()} {
			ch <- prometheus.MustNewConstMetric(loadDescs[i], prometheus.GaugeValue, v, t.Tenant)
		}
	}
}

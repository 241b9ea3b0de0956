// Package metrics holds the server's Prometheus metrics: what devices send,
// what is refused and why, and how many devices are connected. They are
// served on their own listener (serve --metrics-addr).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/quartermaster/qm"
)

// Why telemetry is refused.
const (
	Malformed      = "malformed"       // not JSON, or not the protocol's form
	Invalid        = "invalid"         // a point out of range: latitude, time, NaN…
	TooLarge       = "too_large"       // too many points or bytes
	Unauthorized   = "unauthorized"    // a wrong or rotated credential
	UnknownDevice  = "unknown_device"  // no such device, or no tenant holds it
	ForbiddenTopic = "forbidden_topic" // an MQTT topic not the device's own
	StoreFailed    = "store_failed"    // the database refused the write
	RateLimited    = "rate_limited"    // past a rate of the tenant's plan
	PlanRefused    = "plan"            // past a cap, or a feature, of the tenant's plan
	// The MQTT broker refuses connections, too.
	ConnectTimeout  = "connect_timeout"          // no whole CONNECT in time
	Unauthenticated = "too_many_unauthenticated" // too many connections not yet authenticated
	ClientID        = "client_id"                // a client id that is not the device's ident
)

// Ingest counts telemetry by protocol (http, mqtt, osmand).
type Ingest struct {
	Points    *prometheus.CounterVec
	Refused   *prometheus.CounterVec
	Connected prometheus.Gauge
}

// Metrics is the server's registry and its metrics.
type Metrics struct {
	reg    *prometheus.Registry
	Ingest Ingest
	// Load is each tenant's load; the top tenants' is exported.
	Load *Load
}

// New returns a registry with the Go runtime's metrics and the server's,
// with per-tenant series for the topTenants most loaded tenants (bounded,
// so the series stay few with 100,000 tenants).
func New(topTenants int) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), Load: NewLoad(topTenants, nil)}
	m.Ingest = Ingest{
		Points: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qm_ingest_points_total",
			Help: "Points stored, by protocol (a resent point counts once)."}, []string{"protocol"}),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "qm_ingest_refused_total",
			Help: "Telemetry requests, messages or MQTT connections refused, by protocol and reason."}, []string{"protocol", "reason"}),
		Connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "qm_mqtt_connected_devices",
			Help: "Devices connected to the embedded MQTT broker."}),
	}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Ingest.Points, m.Ingest.Refused, m.Ingest.Connected, m.Load)
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Refuse counts one refusal.
func (i *Ingest) Refuse(protocol, reason string) {
	if i != nil {
		i.Refused.WithLabelValues(protocol, reason).Inc()
	}
}

// Stored counts stored points.
func (i *Ingest) Stored(protocol string, n int) {
	if i != nil {
		i.Points.WithLabelValues(protocol).Add(float64(n))
	}
}

// ReasonFor names why err refused telemetry.
func ReasonFor(err error) string {
	switch qm.ErrorCode(err) {
	case qm.EBadRequest:
		return Malformed
	case qm.EInvalid:
		return Invalid
	case qm.ETooLarge:
		return TooLarge
	case qm.EUnauthorized:
		return Unauthorized
	case qm.EForbidden, qm.ENotFound, qm.ETenantInert:
		return UnknownDevice
	case qm.ERateLimited:
		return RateLimited
	case qm.ELimitReached, qm.EFeatureDisabled:
		return PlanRefused
	}
	return StoreFailed
}

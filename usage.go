package qm

import (
	"context"
	"strings"
)

// The meters of a tenant's usage, counted per day. Points are counted by
// protocol (points_stored/mqtt) and refused points by protocol and reason
// (points_refused/http/rate_limited).
const (
	MeterAPIRequests   = "api_requests"
	MeterPointsStored  = "points_stored"
	MeterPointsRefused = "points_refused"
	MeterMQTTMessages  = "mqtt_messages"
)

// QuotaMeter is the meter family a monthly quota counts: what a meter name
// starts with.
var QuotaMeter = map[Limit]string{PointsPerMonth: MeterPointsStored, APIRequestsPerMonth: MeterAPIRequests}

// Quotas lists the monthly quotas, in the order they are shown.
var Quotas = []Limit{PointsPerMonth, APIRequestsPerMonth}

// InFamily reports whether meter belongs to family (itself, or family/…).
func InFamily(meter, family string) bool {
	return meter == family || strings.HasPrefix(meter, family+"/")
}

// The states of a monthly quota.
const (
	QuotaOK       = "ok"
	QuotaWarning  = "warning"  // 80% used
	QuotaExceeded = "exceeded" // all used: that kind of write is refused until the month turns or the limit is raised
)

// QuotaStateOf is the state of a quota of limit with used used (limit 0:
// unlimited, always ok).
func QuotaStateOf(used, limit int64) string {
	switch {
	case limit <= 0:
		return QuotaOK
	case used >= limit:
		return QuotaExceeded
	case used*5 >= limit*4:
		return QuotaWarning
	}
	return QuotaOK
}

// UsageDay is one meter's count on one day (YYYY-MM-DD, UTC).
type UsageDay struct {
	Day   string `json:"day"`
	Meter string `json:"meter"`
	Value int64  `json:"value"`
}

// Quota is a monthly quota as it stands.
type Quota struct {
	Quota Limit  `json:"quota"`
	Used  int64  `json:"used"`
	Limit int64  `json:"limit"` // 0: unlimited
	State string `json:"state"`
}

// Usage is what a tenant used between two days, with its quotas this month
// and the limits it works under beside the figures.
type Usage struct {
	From   string           `json:"from"`
	To     string           `json:"to"`
	Days   []UsageDay       `json:"days"`
	Totals map[string]int64 `json:"totals"`
	Month  string           `json:"month"`
	Quotas []Quota          `json:"quotas"`
	Limits Effective        `json:"limits"`
}

// UsageLine is one tenant's total of one meter in a month, for billing.
type UsageLine struct {
	Month  string `json:"month"`
	Tenant string `json:"tenant"` // slug
	Meter  string `json:"meter"`
	Value  int64  `json:"value"`
}

// UsageService reads what tenants used, as the nodes metered it (each node
// writes its counts at least every 10 seconds).
type UsageService interface {
	// Usage returns the usage of the tenant in scope from day from to day
	// to (YYYY-MM-DD, UTC, both included). EBadRequest for bad days.
	Usage(ctx context.Context, from, to string) (*Usage, error)
	// MonthUsage returns every tenant's totals of month (YYYY-MM), one
	// line per tenant and meter, by slug and meter. Operator only.
	MonthUsage(ctx context.Context, month string) ([]UsageLine, error)
}

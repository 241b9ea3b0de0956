package qm

import (
	"context"
	"fmt"
	"slices"
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

// Gauges are meters that tell a level each day rather than a count: what
// the tenant holds (its assets, its members, the points it keeps) and how
// many of its devices reported that day. A day's value is its last
// reading; a range's, its last day's.
var Gauges = []string{MeterAssets, MeterMembers, MeterStoredPoints, MeterDevicesReported}

// The gauge meters.
const (
	MeterAssets          = "assets"
	MeterMembers         = "members"
	MeterStoredPoints    = "stored_points"
	MeterDevicesReported = "devices_reported"
)

// IsGauge reports whether meter is one of the Gauges.
func IsGauge(meter string) bool { return slices.Contains(Gauges, meter) }

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
	// Use tells, for each of ts in order, its quotas this month and the
	// points refused today. Operator only.
	Use(ctx context.Context, ts []*Tenant) ([]TenantUse, error)
}

// TenantUse is what the operator's list tells of a tenant's use: its
// monthly quotas, and the points refused today (UTC).
type TenantUse struct {
	Quotas       []Quota `json:"quotas"`
	RefusedToday int64   `json:"refused_today"`
}

// The health of a tenant, as the operator's list tells it.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded" // served, but something holds it back: a quota or cap reached, refusals, devices gone quiet
	HealthFailing  = "failing"  // its data is not served as it should be
)

// TenantHealth is a tenant's health with the reasons for it.
type TenantHealth struct {
	State   string   `json:"state"`
	Reasons []string `json:"reasons,omitempty"`
}

// CapUse is a cap of a tenant's plan beside what the tenant holds.
type CapUse struct {
	Limit Limit `json:"limit"`
	Count int64 `json:"count"`
	Value int64 `json:"value"` // 0: unlimited
}

// Caps are t's caps the operator's list shows beside a's counts.
func Caps(t *Tenant, a TenantActivity) []CapUse {
	caps := []CapUse{{MaxMembers, int64(a.Members), t.Limits.MaxMembers()}, {MaxDevices, int64(a.Devices), t.Limits.MaxDevices()}}
	if a.Assets != nil {
		caps = append(caps, CapUse{MaxAssets, int64(*a.Assets), t.Limits.MaxAssets()})
	}
	return caps
}

// AssessHealth says how tenant t is doing, from its activity a, its use u
// and the newest schema version this build knows.
func AssessHealth(t *Tenant, a TenantActivity, u TenantUse, latest int) TenantHealth {
	var failing, degraded []string
	switch {
	case t.State == StateProvisioning:
		failing = append(failing, "its provisioning has not finished")
	case t.SchemaVersion > latest:
		failing = append(failing, fmt.Sprintf("its data is at schema version %d, newer than this build's %d: not served", t.SchemaVersion, latest))
	case t.SchemaVersion < latest:
		failing = append(failing, fmt.Sprintf("its data is at schema version %d, behind %d: run quartermaster migrate", t.SchemaVersion, latest))
	case t.State == StateSuspended:
		degraded = append(degraded, "suspended: its data is kept, not served")
	}
	for _, q := range u.Quotas {
		if q.State != QuotaOK {
			degraded = append(degraded, fmt.Sprintf("%s %s: %d of %d used", q.Quota, q.State, q.Used, q.Limit))
		}
	}
	for _, c := range Caps(t, a) {
		if c.Value > 0 && c.Count >= c.Value {
			degraded = append(degraded, fmt.Sprintf("%s reached: %d of %d", c.Limit, c.Count, c.Value))
		}
	}
	if u.RefusedToday > 0 {
		degraded = append(degraded, fmt.Sprintf("%d points refused today", u.RefusedToday))
	}
	if a.DevicesOffline != nil && *a.DevicesOffline > *a.DevicesOnline {
		degraded = append(degraded, fmt.Sprintf("%d of %d devices that reported are offline", *a.DevicesOffline, *a.DevicesOffline+*a.DevicesOnline))
	}
	switch {
	case len(failing) > 0:
		return TenantHealth{HealthFailing, append(failing, degraded...)}
	case len(degraded) > 0:
		return TenantHealth{HealthDegraded, degraded}
	}
	return TenantHealth{State: HealthOK}
}

package qm

import (
	"strings"
	"time"
)

// MetricValue is a metric's newest value and the time of the point that
// carried it.
type MetricValue struct {
	Value Metric    `json:"value"`
	Time  time.Time `json:"time"`
}

// DeviceState is the newest of everything a device reported.
type DeviceState struct {
	DeviceID string `json:"device_id"`
	// LastSeen is when the server last stored a point of the device.
	LastSeen time.Time `json:"last_seen"`
	// Time is the newest point's time, as the device gave it.
	Time time.Time `json:"time"`
	// Position is the newest position, taken at PositionTime.
	Position     *Position              `json:"position,omitempty"`
	PositionTime *time.Time             `json:"position_time,omitempty"`
	Metrics      map[string]MetricValue `json:"metrics"`
	// Points counts the points stored.
	Points int64 `json:"points"`
}

// FleetSettings are a tenant's settings for its fleet.
type FleetSettings struct {
	// RetentionDays is how long points are kept.
	RetentionDays int `json:"retention_days"`
	// OfflineMinutes: a device that sent nothing for longer is offline.
	OfflineMinutes int `json:"offline_minutes"`
	// LowBatteryPct: a device reporting battery_pct below it has a low
	// battery.
	LowBatteryPct float64 `json:"low_battery_pct"`
}

// DefaultFleetSettings are a new tenant's.
var DefaultFleetSettings = FleetSettings{RetentionDays: 90, OfflineMinutes: 10, LowBatteryPct: 20}

// Validate checks the fields.
func (s *FleetSettings) Validate() error {
	fields := map[string]string{}
	if s.RetentionDays < 1 || s.RetentionDays > 3650 {
		fields["retention_days"] = "retention must be between 1 and 3650 days"
	}
	if s.OfflineMinutes < 1 || s.OfflineMinutes > 10080 {
		fields["offline_minutes"] = "offline after between 1 minute and 7 days"
	}
	if s.LowBatteryPct < 0 || s.LowBatteryPct > 100 {
		fields["low_battery_pct"] = "low battery is a percentage, 0 to 100"
	}
	return fieldsError(fields)
}

// Health states of a device.
const (
	HealthOnline    = "online"
	HealthOffline   = "offline"
	HealthNeverSeen = "never_seen"
	// HealthTransferred is a device the tenant gave up: whatever it does
	// now, it no longer reports to this tenant.
	HealthTransferred = "transferred"
)

// DeviceHealth says how a device is doing, from its latest state.
type DeviceHealth struct {
	Status     string     `json:"status"`
	LastSeen   *time.Time `json:"last_seen,omitempty"`
	BatteryPct *float64   `json:"battery_pct,omitempty"`
	BatteryV   *float64   `json:"battery_v,omitempty"`
	LowBattery bool       `json:"low_battery"`
	Signal     *float64   `json:"signal,omitempty"`
	Firmware   string     `json:"firmware,omitempty"`
}

// Health derives a device's health from its state (nil when it never
// reported) at now, under the tenant's settings. A device the tenant gave
// up (heldUntil not nil) is HealthTransferred, and its battery, never
// charged again here, is not called low.
func Health(d *Device, st *DeviceState, s FleetSettings, now time.Time, heldUntil *time.Time) DeviceHealth {
	h := DeviceHealth{Status: HealthNeverSeen, Firmware: d.Firmware}
	if heldUntil != nil {
		h.Status = HealthTransferred
	}
	if st == nil {
		return h
	}
	seen := st.LastSeen
	h.LastSeen = &seen
	switch {
	case heldUntil != nil:
	case now.Sub(seen) <= time.Duration(s.OfflineMinutes)*time.Minute:
		h.Status = HealthOnline
	default:
		h.Status = HealthOffline
	}
	number := func(names ...string) *float64 {
		for _, n := range names {
			if v, ok := st.Metrics[n].Value.Number(); ok {
				return &v
			}
		}
		return nil
	}
	h.BatteryPct, h.BatteryV, h.Signal = number("battery_pct", "batt"), number("battery_v"), number("signal", "rssi", "gsm_signal")
	h.LowBattery = heldUntil == nil && h.BatteryPct != nil && *h.BatteryPct < s.LowBatteryPct
	if fw, ok := st.Metrics["firmware"].Value.Text(); ok {
		h.Firmware = fw
	}
	return h
}

// Custody states of a device in a tenant's list.
const (
	// CustodyHeld is a device the tenant holds.
	CustodyHeld = "held"
	// CustodyTransferred is a device the tenant held and gave up: moved to
	// another tenant, or unassigned. The history the tenant owns (points,
	// trips, latest state and aggregates, up to HeldUntil) stays readable;
	// the device cannot be changed.
	CustodyTransferred = "transferred"
)

// FleetDevice is a device as a tenant that holds or held it sees it: the
// inventory's record, the tenant's own details, its latest state and its
// health.
type FleetDevice struct {
	*Device
	// Custody is CustodyHeld or CustodyTransferred.
	Custody string `json:"custody"`
	// HeldUntil is when the tenant gave up a transferred device.
	HeldUntil    *time.Time     `json:"held_until,omitempty"`
	Name         string         `json:"name,omitempty"`
	AssetID      string         `json:"asset_id,omitempty"`
	DepartmentID string         `json:"department_id,omitempty"`
	Settings     map[string]any `json:"settings"`
	State        *DeviceState   `json:"state,omitempty"`
	Health       DeviceHealth   `json:"health"`
}

// FleetDeviceUpdate holds the tenant's changes to a device; nil leaves a
// part as it is, "" clears a link.
type FleetDeviceUpdate struct {
	Name         *string         `json:"name"`
	AssetID      *string         `json:"asset_id"`
	DepartmentID *string         `json:"department_id"`
	Settings     *map[string]any `json:"settings"`
}

// FleetSummary counts the devices a tenant holds by health; transferred
// devices are not counted.
type FleetSummary struct {
	Devices    int `json:"devices"`
	Online     int `json:"online"`
	Offline    int `json:"offline"`
	NeverSeen  int `json:"never_seen"`
	LowBattery int `json:"low_battery"`
}

// HealthLowBattery chooses, in a FleetDeviceFilter, the devices whose
// health says their battery is low, whatever their status.
const HealthLowBattery = "low_battery"

// FleetDeviceFilter chooses devices from a tenant's list; the zero value
// chooses all.
type FleetDeviceFilter struct {
	// Health is a health status (HealthOnline, HealthOffline,
	// HealthNeverSeen, HealthTransferred) or HealthLowBattery.
	Health string
	// Q searches the ident, name, serial and model, ignoring case.
	Q string
}

// Validate checks that Health names a status the list can be filtered by.
func (f FleetDeviceFilter) Validate() error {
	switch f.Health {
	case "", HealthOnline, HealthOffline, HealthNeverSeen, HealthTransferred, HealthLowBattery:
		return nil
	}
	return Errorf(EBadRequest, "health must be %s, %s, %s, %s or %s; got %q",
		HealthOnline, HealthOffline, HealthNeverSeen, HealthTransferred, HealthLowBattery, f.Health)
}

// Match says whether the filter chooses fd.
func (f FleetDeviceFilter) Match(fd *FleetDevice) bool {
	switch f.Health {
	case "":
	case HealthLowBattery:
		if !fd.Health.LowBattery {
			return false
		}
	default:
		if fd.Health.Status != f.Health {
			return false
		}
	}
	if q := strings.ToLower(strings.TrimSpace(f.Q)); q != "" {
		for _, s := range []string{fd.Ident, fd.Name, fd.Serial, fd.Model} {
			if strings.Contains(strings.ToLower(s), q) {
				return true
			}
		}
		return false
	}
	return true
}

// PointFilter chooses a device's points: From ≤ time < To, oldest first.
type PointFilter struct {
	From, To time.Time
	// After is the cursor the previous page gave.
	After string
	// Limit: 0 means 500; more than 5000 is cut to 5000.
	Limit int
}

// PointPage is a page of a device's points.
type PointPage struct {
	Points []Point `json:"points"`
	// Total counts the points From ≤ time < To, on all pages.
	Total int    `json:"total"`
	Next  string `json:"next,omitempty"`
}

// PointEvents is told, after their commit, which devices of a tenant
// stored new points, so what watches the tenant's fleet live (the
// console's map) hears of them. The point writer calls it once per
// tenant per committed transaction, never for points that were already
// stored; PointsCommitted must not block, and cannot undo the commit.
type PointEvents interface {
	PointsCommitted(tenantID string, deviceIDs []string)
}

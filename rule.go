package qm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Rule watches a tenant's devices or assets and raises an alarm for each
// one its condition holds for, and clears it when the condition stops (or,
// when the rule gives one, when its clear condition holds).
type Rule struct {
	ID string `json:"id"`
	RuleDefinition
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// RuleDefinition is what a tenant says a rule is: all of it but its id and
// times. What the condition is depends on Kind; the fields of other kinds
// stay empty.
type RuleDefinition struct {
	Name     string   `json:"name"`
	Kind     RuleKind `json:"kind"`
	Severity Severity `json:"severity"`
	Enabled  bool     `json:"enabled"`
	// DepartmentID narrows a rule to the devices or assets of one
	// department's subtree; DeviceIDs to the devices listed. Both empty:
	// every device (or asset) of the tenant.
	DepartmentID string   `json:"department_id,omitempty"`
	DeviceIDs    []string `json:"device_ids,omitempty"`

	// Condition is a metric rule's test, and Clear its optional clear
	// condition (otherwise it clears when Condition stops holding).
	Condition *Comparison `json:"condition,omitempty"`
	Clear     *Comparison `json:"clear,omitempty"`
	// ForS is how long, in seconds, a metric or speed rule's condition
	// must hold before the alarm is raised; 0 raises it at once.
	ForS int64 `json:"for_s,omitempty"`
	// SpeedKMH is a speed rule's limit: faster raises it.
	SpeedKMH float64 `json:"speed_kmh,omitempty"`
	// GeofenceID and Trigger ("enter" or "exit") make a geofence rule:
	// enter is active while the device is inside, exit while it is
	// outside. An ignition rule's Trigger is "on" or "off".
	GeofenceID string `json:"geofence_id,omitempty"`
	Trigger    string `json:"trigger,omitempty"`
	// BatteryPct is a battery rule's level: battery_pct below it raises it.
	BatteryPct float64 `json:"battery_pct,omitempty"`
	// OfflineMinutes is an offline rule's silence: a device not heard from
	// for that long raises it, and its next point clears it.
	OfflineMinutes int64 `json:"offline_minutes,omitempty"`
	// WithinDays is how far ahead a warranty, license or maintenance rule
	// looks.
	WithinDays int64 `json:"within_days,omitempty"`

	// QuietHours hold back notifications (never alarms) in the tenant's
	// time zone.
	QuietHours *QuietHours `json:"quiet_hours,omitempty"`
	// ChannelIDs are the channels the rule's events are sent to.
	ChannelIDs []string `json:"channel_ids,omitempty"`
}

// RuleKind is what a rule watches.
type RuleKind string

// The kinds of rule. Telemetry rules watch devices' points; asset rules
// watch dates and seats, evaluated by a job; so is the offline rule's
// silence, which a device's next point ends.
const (
	RuleMetric         RuleKind = "metric"          // a metric compared with a value, for at least ForS
	RuleSpeed          RuleKind = "speed"           // faster than SpeedKMH for at least ForS
	RuleGeofence       RuleKind = "geofence"        // inside (enter) or outside (exit) a geofence
	RuleIgnition       RuleKind = "ignition"        // ignition on or off
	RuleBattery        RuleKind = "battery"         // battery_pct below BatteryPct
	RuleOffline        RuleKind = "offline"         // no point for OfflineMinutes
	RuleWarranty       RuleKind = "warranty"        // an asset's warranty ends within WithinDays
	RuleLicenseExpiry  RuleKind = "license_expiry"  // a license expires within WithinDays
	RuleLicenseSeats   RuleKind = "license_seats"   // a license has no free seat
	RuleOverdue        RuleKind = "overdue"         // a checked-out asset is past its expected return
	RuleMaintenanceDue RuleKind = "maintenance_due" // an asset's maintenance starts within WithinDays
)

// RuleKinds lists every kind, in the order the API documents them.
var RuleKinds = []RuleKind{RuleMetric, RuleSpeed, RuleGeofence, RuleIgnition, RuleBattery, RuleOffline,
	RuleWarranty, RuleLicenseExpiry, RuleLicenseSeats, RuleOverdue, RuleMaintenanceDue}

// Telemetry reports whether rules of kind k watch devices (rather than
// assets or licenses).
func (k RuleKind) Telemetry() bool {
	switch k {
	case RuleMetric, RuleSpeed, RuleGeofence, RuleIgnition, RuleBattery, RuleOffline:
		return true
	}
	return false
}

// Subject is what an alarm of a rule of kind k is about: "device",
// "asset" or "license".
func (k RuleKind) Subject() string {
	switch {
	case k.Telemetry():
		return "device"
	case k == RuleLicenseExpiry || k == RuleLicenseSeats:
		return "license"
	}
	return "asset"
}

// Severity is how much an alarm matters, from critical down to info.
type Severity string

// The severities, most severe first.
const (
	SeverityCritical Severity = "critical"
	SeverityMajor    Severity = "major"
	SeverityMinor    Severity = "minor"
	SeverityWarning  Severity = "warning"
	SeverityInfo     Severity = "info"
)

// Severities lists them, most severe first.
var Severities = []Severity{SeverityCritical, SeverityMajor, SeverityMinor, SeverityWarning, SeverityInfo}

// Comparison tests a metric of a point against a value: any operator for
// numbers, == and != for booleans and strings. A point without the
// metric, or with a value of another kind, tells nothing.
type Comparison struct {
	Metric string `json:"metric"`
	Op     string `json:"op"`
	Value  Metric `json:"value"`
}

// comparisonOps are the operators, each with its test of a number's
// order against the value (-1 below, 0 equal, 1 above).
var comparisonOps = map[string]func(order int) bool{
	">":  func(o int) bool { return o > 0 },
	">=": func(o int) bool { return o >= 0 },
	"<":  func(o int) bool { return o < 0 },
	"<=": func(o int) bool { return o <= 0 },
	"==": func(o int) bool { return o == 0 },
	"!=": func(o int) bool { return o != 0 },
}

// Holds tests p: whether the comparison holds, and whether p tells at all.
func (c *Comparison) Holds(p Point) (holds, known bool) {
	m, ok := p.Metrics[c.Metric]
	if !ok || m.Kind() != c.Value.Kind() {
		return false, false
	}
	order := 1
	if m.Kind() == MetricNumber {
		a, _ := m.Number()
		b, _ := c.Value.Number()
		switch {
		case a < b:
			order = -1
		case a == b:
			order = 0
		}
	} else if m == c.Value {
		order = 0
	}
	return comparisonOps[c.Op](order), true
}

func (c *Comparison) check(fields map[string]string, key string) {
	switch {
	case !validMetricName(c.Metric, DefaultPointLimits.MaxNameLen):
		fields[key+".metric"] = "metric must be a metric's name: lower-case letters, digits and _, starting with a letter"
	case comparisonOps[c.Op] == nil:
		fields[key+".op"] = fmt.Sprintf("op %q is not one of >, >=, <, <=, ==, !=", c.Op)
	case c.Value.Kind() == 0:
		fields[key+".value"] = "value is required: a number, true or false, or a string"
	case c.Value.Kind() != MetricNumber && c.Op != "==" && c.Op != "!=":
		fields[key+".op"] = fmt.Sprintf("%s compares only numbers: use == or != for %s", c.Op, c.Value)
	}
}

// QuietHours are the hours of the day, "HH:MM" to "HH:MM" in the tenant's
// time zone, in which a rule's notifications wait. From after To spans
// midnight ("22:00" to "07:00").
type QuietHours struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Contains reports whether t falls within the quiet hours, read in loc.
func (q *QuietHours) Contains(t time.Time, loc *time.Location) bool {
	from, _ := clockMinutes(q.From)
	to, _ := clockMinutes(q.To)
	t = t.In(loc)
	now := t.Hour()*60 + t.Minute()
	if from <= to {
		return now >= from && now < to
	}
	return now >= from || now < to
}

// End returns when the quiet hours t falls in end: the next To, read in
// loc, after t.
func (q *QuietHours) End(t time.Time, loc *time.Location) time.Time {
	to, _ := clockMinutes(q.To)
	local := t.In(loc)
	end := time.Date(local.Year(), local.Month(), local.Day(), to/60, to%60, 0, 0, loc)
	if !end.After(local) {
		end = time.Date(local.Year(), local.Month(), local.Day()+1, to/60, to%60, 0, 0, loc)
	}
	return end
}

// clockMinutes reads "HH:MM" as minutes past midnight.
func clockMinutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

// Rules' bounds.
const (
	maxRuleNameLen  = 200
	maxRuleDevices  = 1000
	maxRuleChannels = 20
	maxRuleForS     = 7 * 24 * 3600
	maxWithinDays   = 3650
	// MaxOfflineMinutes is a month: a device silent longer is gone.
	MaxOfflineMinutes = 31 * 24 * 60
)

// Normalize trims the name and the trigger, and sorts and deduplicates
// the devices and the channels.
func (r *RuleDefinition) Normalize() {
	r.Name = strings.TrimSpace(r.Name)
	r.Trigger = strings.ToLower(strings.TrimSpace(r.Trigger))
	for _, ids := range []*[]string{&r.DeviceIDs, &r.ChannelIDs} {
		slices.Sort(*ids)
		*ids = slices.Compact(*ids)
	}
}

// Validate checks the rule: a name, a known kind and severity, and the
// fields its kind needs, in range, and no field of another kind. It
// returns an EInvalid *Error whose Fields say what is wrong.
func (r *RuleDefinition) Validate() error {
	fields := map[string]string{}
	switch {
	case r.Name == "":
		fields["name"] = "name is required"
	case len(r.Name) > maxRuleNameLen:
		fields["name"] = fmt.Sprintf("name is longer than %d bytes", maxRuleNameLen)
	}
	if !slices.Contains(Severities, r.Severity) {
		fields["severity"] = fmt.Sprintf("severity %q is not one of critical, major, minor, warning, info", r.Severity)
	}
	if len(r.DeviceIDs) > maxRuleDevices {
		fields["device_ids"] = fmt.Sprintf("at most %d devices", maxRuleDevices)
	}
	if len(r.ChannelIDs) > maxRuleChannels {
		fields["channel_ids"] = fmt.Sprintf("at most %d channels", maxRuleChannels)
	}
	if len(r.DeviceIDs) > 0 && !r.Kind.Telemetry() {
		fields["device_ids"] = fmt.Sprintf("a %s rule watches assets, not devices", r.Kind)
	}
	if q := r.QuietHours; q != nil {
		for key, v := range map[string]string{"quiet_hours.from": q.From, "quiet_hours.to": q.To} {
			if _, ok := clockMinutes(v); !ok {
				fields[key] = fmt.Sprintf("%q is not a time of day as HH:MM", v)
			}
		}
	}
	if !slices.Contains(RuleKinds, r.Kind) {
		fields["kind"] = fmt.Sprintf("kind %q is not one of %s", r.Kind, joinKinds())
		return fieldsError(fields)
	}
	r.checkKind(fields)
	return fieldsError(fields)
}

func joinKinds() string {
	names := make([]string, len(RuleKinds))
	for i, k := range RuleKinds {
		names[i] = string(k)
	}
	return strings.Join(names, ", ")
}

// checkKind checks the fields of r's kind, and that no other kind's are set.
func (r *RuleDefinition) checkKind(fields map[string]string) {
	uses := map[string]bool{}
	need := func(key string, ok bool, problem string) {
		uses[key] = true
		if !ok {
			fields[key] = problem
		}
	}
	switch r.Kind {
	case RuleMetric:
		need("condition", r.Condition != nil, "condition is required: {metric, op, value}")
		if r.Condition != nil {
			r.Condition.check(fields, "condition")
		}
		uses["clear"] = true
		if r.Clear != nil {
			r.Clear.check(fields, "clear")
		}
		need("for_s", r.ForS >= 0 && r.ForS <= maxRuleForS, fmt.Sprintf("for_s must be from 0 to %d seconds", maxRuleForS))
	case RuleSpeed:
		need("speed_kmh", r.SpeedKMH > 0 && r.SpeedKMH <= MaxSpeedKMH, fmt.Sprintf("speed_kmh must be above 0 and at most %d", MaxSpeedKMH))
		need("for_s", r.ForS >= 0 && r.ForS <= maxRuleForS, fmt.Sprintf("for_s must be from 0 to %d seconds", maxRuleForS))
	case RuleGeofence:
		need("geofence_id", r.GeofenceID != "", "geofence_id is required")
		need("trigger", r.Trigger == "enter" || r.Trigger == "exit", `trigger must be "enter" or "exit"`)
	case RuleIgnition:
		need("trigger", r.Trigger == "on" || r.Trigger == "off", `trigger must be "on" or "off"`)
	case RuleBattery:
		need("battery_pct", r.BatteryPct > 0 && r.BatteryPct <= 100, "battery_pct must be above 0 and at most 100")
	case RuleOffline:
		need("offline_minutes", r.OfflineMinutes >= 1 && r.OfflineMinutes <= MaxOfflineMinutes,
			fmt.Sprintf("offline_minutes must be from 1 to %d", MaxOfflineMinutes))
	case RuleWarranty, RuleLicenseExpiry, RuleMaintenanceDue:
		need("within_days", r.WithinDays >= 0 && r.WithinDays <= maxWithinDays, fmt.Sprintf("within_days must be from 0 to %d", maxWithinDays))
	}
	for key, set := range map[string]bool{
		"condition": r.Condition != nil, "clear": r.Clear != nil, "for_s": r.ForS != 0, "speed_kmh": r.SpeedKMH != 0,
		"geofence_id": r.GeofenceID != "", "trigger": r.Trigger != "", "battery_pct": r.BatteryPct != 0,
		"offline_minutes": r.OfflineMinutes != 0, "within_days": r.WithinDays != 0,
	} {
		if set && !uses[key] {
			fields[key] = fmt.Sprintf("a %s rule has no %s", r.Kind, key)
		}
	}
}

// RuleService manages a tenant's rules. The tenant is taken from the
// context (package tenancy); a rule of another tenant is ENotFound, as if
// it did not exist. A member confined to a department sees and changes only
// the rules of its department's subtree, and makes rules only there. Every
// change is audited.
type RuleService interface {
	// CreateRule validates d and stores it as a new rule. EInvalid, also
	// for a geofence, department or device the tenant does not have;
	// EConflict when the tenant has a rule of that name; ELimitReached past
	// max_rules.
	CreateRule(ctx context.Context, d RuleDefinition) (*Rule, error)
	// Rule returns one rule. ENotFound.
	Rule(ctx context.Context, id string) (*Rule, error)
	// Rules lists the tenant's rules by name.
	Rules(ctx context.Context) ([]*Rule, error)
	// ReplaceRule replaces rule id's definition with d and returns the
	// result. ENotFound; EInvalid and EConflict as for CreateRule.
	ReplaceRule(ctx context.Context, id string, d RuleDefinition) (*Rule, error)
	// DeleteRule removes a rule. ENotFound.
	DeleteRule(ctx context.Context, id string) error
}

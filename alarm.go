package qm

import (
	"context"
	"time"
)

// Alarm is the state of one rule for one subject (a device, an asset or a
// license): at most one alarm of a rule and subject is open (not cleared)
// at a time. It is raised when the rule's condition has held long enough,
// may be acknowledged by a member, and clears when the condition stops
// (or its clear condition holds); a cleared alarm may still be
// acknowledged.
type Alarm struct {
	ID       string   `json:"id"`
	RuleID   string   `json:"rule_id"`
	RuleName string   `json:"rule_name"`
	Severity Severity `json:"severity"`
	// DepartmentID is the rule's department when it raised the alarm:
	// members confined to another see neither.
	DepartmentID string `json:"department_id,omitempty"`
	SubjectType  string `json:"subject_type"`
	SubjectID    string `json:"subject_id"`
	// SubjectName is the subject's name as it is now (an asset's tag when
	// it has no name); empty for a subject deleted since.
	SubjectName string `json:"subject_name,omitempty"`
	// FirstAt is when the condition began to hold; LastAt the last time
	// it was seen holding; Repeats how many times it began to hold again
	// while the alarm was open.
	FirstAt time.Time `json:"first_at"`
	LastAt  time.Time `json:"last_at"`
	Repeats int64     `json:"repeats"`
	// AcknowledgedBy names who acknowledged it, and when.
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	ClearedAt      *time.Time `json:"cleared_at,omitempty"`
}

// Transition is what one observation did to a rule's alarm for a subject.
type Transition uint8

// The transitions. Each but None is an event, kept and notified.
const (
	None     Transition = iota
	Raised              // the condition has held for long enough: the alarm opens
	Repeated            // the condition began to hold again while the alarm was open
	Cleared             // the condition stopped, or the clear condition held
)

// String names the event a transition is.
func (t Transition) String() string {
	switch t {
	case Raised:
		return "raised"
	case Repeated:
		return "repeated"
	case Cleared:
		return "cleared"
	}
	return "none"
}

// RuleState is what evaluating a rule for one subject remembers between
// observations; it is stored, so evaluation resumes after a restart where
// it stopped.
type RuleState struct {
	// Last is the time of the last observation: one at or before it (a
	// resend, a late batch) changes nothing, so observations count in the
	// order they were measured, never in the order they arrived.
	Last time.Time `json:"last"`
	// Holding says whether the condition held at the last observation that
	// told, and Since since when.
	Holding bool      `json:"holding"`
	Since   time.Time `json:"since"`
	// Open says whether the alarm is raised and not cleared.
	Open bool `json:"open"`
	// Muted says the alarm was cleared by hand while its condition held:
	// it is not raised again until the condition stops holding.
	Muted bool `json:"muted,omitempty"`
}

// ClearByHand clears the alarm st tracks as a member does: it stays
// cleared until the condition stops holding and holds anew.
func (st *RuleState) ClearByHand() {
	st.Open, st.Muted = false, st.Holding
}

// Observe moves st on by one observation at time at: whether the rule's
// condition held (known is false when the observation tells nothing about
// it, a point without the metric, say), and whether its clear condition
// held (only read while the alarm is open and the rule has one). It
// returns the transition; the alarm's first time is st.Since.
func (r *RuleDefinition) Observe(st *RuleState, at time.Time, held, known, clear bool) Transition {
	if !at.After(st.Last) {
		return None
	}
	st.Last = at
	if !known {
		return None
	}
	if st.Open && r.Clear != nil && clear {
		st.Open, st.Holding, st.Since = false, false, time.Time{}
		return Cleared
	}
	if !held {
		st.Holding, st.Since, st.Muted = false, time.Time{}, false
		if st.Open && r.Clear == nil {
			st.Open = false
			return Cleared
		}
		return None
	}
	if !st.Holding {
		st.Holding, st.Since = true, at
		if st.Open {
			return Repeated
		}
	}
	if !st.Open && !st.Muted && at.Sub(st.Since) >= time.Duration(r.ForS)*time.Second {
		st.Open = true
		return Raised
	}
	return None
}

// Step evaluates a telemetry rule at a device's point p, given in the
// order the device measured them; fence is the rule's geofence's shape
// (nil for other kinds). An offline rule's alarm clears at any point.
func (r *RuleDefinition) Step(st *RuleState, p Point, fence *Shape) Transition {
	held, known := r.holdsAt(p, fence)
	clear := false
	if st.Open && r.Clear != nil {
		clear, _ = r.Clear.Holds(p)
	}
	return r.Observe(st, p.Time, held, known, clear)
}

// holdsAt is whether a telemetry rule's condition holds at p, and whether
// p tells at all.
func (r *RuleDefinition) holdsAt(p Point, fence *Shape) (held, known bool) {
	switch r.Kind {
	case RuleMetric:
		return r.Condition.Holds(p)
	case RuleSpeed:
		if p.Position == nil || p.Position.SpeedKMH == nil {
			return false, false
		}
		return *p.Position.SpeedKMH > r.SpeedKMH, true
	case RuleGeofence:
		if p.Position == nil || fence == nil {
			return false, false
		}
		return fence.Contains(*p.Position) == (r.Trigger == "enter"), true
	case RuleIgnition:
		on, ok := p.Metrics["ignition"].Bool()
		return ok && on == (r.Trigger == "on"), ok
	case RuleBattery:
		pct, ok := p.Metrics["battery_pct"].Number()
		return ok && pct < r.BatteryPct, ok
	case RuleOffline:
		return false, true // a point is the device heard from
	}
	return false, false
}

// Silent evaluates an offline rule for a device last heard from at
// lastSeen, as of now: the alarm opens once the device has been silent
// for the rule's minutes, dated from when the silence became too long.
func (r *RuleDefinition) Silent(st *RuleState, lastSeen, now time.Time) Transition {
	due := lastSeen.Add(time.Duration(r.OfflineMinutes) * time.Minute)
	if now.Before(due) || st.Open {
		return None
	}
	return r.Observe(st, due, true, true, false)
}

// AssetFacts are what asset and license rules read of their subject.
// A nil field is a fact the subject does not have (no warranty date, not
// checked out), which never raises an alarm.
type AssetFacts struct {
	WarrantyEnds    *time.Time // the asset's warranty's last day
	ExpectedCheckin *time.Time // when a checked-out asset is due back
	MaintenanceDue  *time.Time // the next maintenance's start
	LicenseExpires  *time.Time // the license's expiry
	FreeSeats       *int64     // the license's seats not in use
}

// AssetHolds is whether an asset or license rule's condition holds for a
// subject with facts f, as of now.
func (r *RuleDefinition) AssetHolds(f AssetFacts, now time.Time) bool {
	within := func(t *time.Time) bool {
		return t != nil && !t.After(now.AddDate(0, 0, int(r.WithinDays)))
	}
	switch r.Kind {
	case RuleWarranty:
		return within(f.WarrantyEnds)
	case RuleLicenseExpiry:
		return within(f.LicenseExpires)
	case RuleMaintenanceDue:
		return within(f.MaintenanceDue)
	case RuleOverdue:
		return f.ExpectedCheckin != nil && now.After(*f.ExpectedCheckin)
	case RuleLicenseSeats:
		return f.FreeSeats != nil && *f.FreeSeats <= 0
	}
	return false
}

// AlarmEvent is one change of an alarm: raised, repeated, acknowledged or
// cleared. Each is kept, and notified.
type AlarmEvent struct {
	ID      string    `json:"id"`
	AlarmID string    `json:"alarm_id"`
	Kind    string    `json:"kind"` // raised, repeated, acknowledged, cleared
	At      time.Time `json:"at"`
	// By names who acknowledged or cleared it by hand; empty for what the
	// rule did.
	By          string   `json:"by,omitempty"`
	RuleID      string   `json:"rule_id"`
	RuleName    string   `json:"rule_name"`
	Severity    Severity `json:"severity"`
	SubjectType string   `json:"subject_type"`
	SubjectID   string   `json:"subject_id"`
	SubjectName string   `json:"subject_name,omitempty"` // as the Alarm's
}

// The kinds of alarm event besides the transitions' own.
const (
	EventAcknowledged = "acknowledged"
	// EventTest is a test notification's, of no alarm, that a member
	// sends a channel.
	EventTest = "test"
)

// MaxAlarmList is the most alarms, or alarm events, one list holds: the
// newest.
const MaxAlarmList = 1000

// AlarmFilter narrows a list of alarms: open (not cleared) only, of a
// severity, of a subject; Limit 0 means 100, and at most MaxAlarmList.
type AlarmFilter struct {
	Open      bool
	Severity  Severity
	SubjectID string
	Limit     int
}

// AlarmService reads and handles a tenant's alarms. The tenant is taken
// from the context (package tenancy); an alarm of another tenant is
// ENotFound. A member confined to a department sees and handles only the
// alarms of its department's rules. Acknowledging and clearing are audited.
type AlarmService interface {
	// Alarms lists alarms, newest first.
	Alarms(ctx context.Context, f AlarmFilter) ([]*Alarm, error)
	// Alarm returns one alarm. ENotFound.
	Alarm(ctx context.Context, id string) (*Alarm, error)
	// AcknowledgeAlarm records that the member in ctx has seen alarm id,
	// open or cleared. ENotFound; EConflict when it is acknowledged.
	AcknowledgeAlarm(ctx context.Context, id string) (*Alarm, error)
	// ClearAlarm clears an open alarm by hand: the rule raises it again
	// only once its condition stops holding and holds anew. ENotFound;
	// EConflict when it is cleared.
	ClearAlarm(ctx context.Context, id string) (*Alarm, error)
	// Unread lists the events of the alarms the member in ctx sees that it
	// has not read, newest first, at most limit (0 means 50, and at most
	// MaxAlarmList), and how many there are. EForbidden for a principal
	// that is not a member (an API token).
	Unread(ctx context.Context, limit int) ([]*AlarmEvent, int, error)
	// MarkRead marks, for the member in ctx, every event up to eventID
	// read. ENotFound for an event it cannot see; EForbidden as for Unread.
	MarkRead(ctx context.Context, eventID string) error
	// AlarmEvents lists the events of the tenant's alarms, newest first,
	// of one alarm when alarmID is set; at most limit (0 means 100, and at
	// most MaxAlarmList). ENotFound for an alarm out of reach.
	AlarmEvents(ctx context.Context, alarmID string, limit int) ([]*AlarmEvent, error)
}

// AlarmEvaluator evaluates the rules that watch a device over the points it
// stored since they last looked, in the order the device measured them,
// and keeps what they raise and clear. The tenant is taken from the
// context.
type AlarmEvaluator interface {
	// EvaluateDevice runs the tenant's telemetry rules over device
	// deviceID's new points, and returns the events it caused.
	EvaluateDevice(ctx context.Context, deviceID string) ([]*AlarmEvent, error)
	// Behind lists the tenant's devices with points newer than the rules
	// have read: committed by a node that stopped before evaluating them.
	Behind(ctx context.Context) ([]string, error)
}

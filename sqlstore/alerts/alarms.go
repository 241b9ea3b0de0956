package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// AlarmStore is the qm.AlarmService and qm.AlarmEvaluator on any engine and
// tier.
type AlarmStore struct {
	router sqlstore.Router
	now    func() time.Time

	mu       sync.Mutex
	compiled map[string]*compiledRules // by tenant id
}

// compiledRules are a tenant's enabled rules that read points, with the
// shapes of their geofences, as of a version of its rules: read once,
// not for every device's every batch.
type compiledRules struct {
	version int64
	rules   []*qm.Rule
	fences  map[string]*qm.Shape
}

// maxCompiled bounds the tenants whose rules a node keeps compiled.
const maxCompiled = 10000

var (
	_ qm.AlarmService   = (*AlarmStore)(nil)
	_ qm.AlarmEvaluator = (*AlarmStore)(nil)
)

// NewAlarmStore returns an AlarmStore.
func NewAlarmStore(router sqlstore.Router, now func() time.Time) *AlarmStore {
	return &AlarmStore{router: router, now: now, compiled: map[string]*compiledRules{}}
}

// maxEvaluatedPoints bounds the points one evaluation reads at a time; a
// device with more new points is evaluated in several rounds, in order.
const maxEvaluatedPoints = 5000

// watch is a rule being evaluated for one subject: the rule, its state
// (and as stored, to write it only when it changes), the shape of its
// geofence, and the last time its condition held while its alarm was open.
type watch struct {
	rule   *qm.Rule
	state  qm.RuleState
	stored *qm.RuleState
	fence  *qm.Shape
	held   time.Time
}

// sameState reports whether two states differ only in how far they have
// read: the device's cursor keeps that.
func sameState(a qm.RuleState, b *qm.RuleState) bool {
	if b == nil {
		return false
	}
	c := *b
	a.Last, c.Last = time.Time{}, time.Time{}
	return a == c
}

// EvaluateDevice implements qm.AlarmEvaluator. It runs in one transaction:
// the states, alarms and events it writes commit together, or not at all,
// and evaluation resumes from the states after a restart.
func (s *AlarmStore) EvaluateDevice(ctx context.Context, deviceID string) ([]*qm.AlarmEvent, error) {
	var events []*qm.AlarmEvent
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		events = nil
		ws, err := s.watching(ctx, c, deviceID)
		if err != nil || len(ws) == 0 {
			return err
		}
		read, last := 0, time.Time{}
		for {
			from := ws[0].state.Last
			for _, w := range ws[1:] {
				from = minTime(from, w.state.Last)
			}
			var pts []qm.Point
			if err := telemetry.ReadPoints(ctx, c, deviceID, sqlstore.Micros(from)+1, maxMicros, maxEvaluatedPoints, func(p qm.Point) error {
				pts = append(pts, p)
				return nil
			}); err != nil {
				return err
			}
			read += len(pts)
			if len(pts) > 0 {
				last = pts[len(pts)-1].Time
			}
			for _, p := range pts {
				for _, w := range ws {
					if tr := w.rule.Step(&w.state, p, w.fence); tr != qm.None {
						ev, err := s.transition(ctx, c, w, deviceID, tr, p.Time)
						if err != nil {
							return err
						}
						events = append(events, ev)
					}
					if w.state.Open && w.state.Holding {
						w.held = p.Time
					}
				}
			}
			if len(pts) < maxEvaluatedPoints {
				break
			}
		}
		if read == 0 {
			return nil
		}
		if _, err := c.Exec(ctx, `INSERT INTO rule_cursors (tenant_id, device_id, t_us) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, device_id) DO UPDATE SET t_us = excluded.t_us`, c.TenantID(), deviceID, sqlstore.Micros(last)); err != nil {
			return fmt.Errorf("rule cursor: %w", err)
		}
		return s.saveWatches(ctx, c, ws, deviceID)
	})
	return events, err
}

// maxMicros is past any point's time.
const maxMicros = 1<<63 - 1

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// watching returns the tenant's enabled telemetry rules that watch device
// deviceID (all devices, the devices listed, or those of a department's
// subtree), with their states for it. Each reads on from the device's
// cursor, or from when it was last defined, whichever is later: points
// measured before it are not its business.
func (s *AlarmStore) watching(ctx context.Context, c sqlstore.Conn, deviceID string) ([]*watch, error) {
	cr, err := s.compile(ctx, c)
	if err != nil {
		return nil, err
	}
	rules := slices.DeleteFunc(slices.Clone(cr.rules), func(r *qm.Rule) bool {
		return len(r.DeviceIDs) > 0 && !slices.Contains(r.DeviceIDs, deviceID)
	})
	if len(rules) == 0 {
		return nil, nil
	}
	// The device's departments matter only to rules of a department.
	var depts map[string]bool
	if slices.ContainsFunc(rules, func(r *qm.Rule) bool { return r.DepartmentID != "" }) {
		if depts, err = deviceDepartments(ctx, c, deviceID); err != nil {
			return nil, err
		}
	}
	states, err := ruleStates(ctx, c, deviceID)
	if err != nil {
		return nil, err
	}
	var cursor time.Time
	var us int64
	switch err := c.QueryRow(ctx, `SELECT t_us FROM rule_cursors WHERE tenant_id = $1 AND device_id = $2`, c.TenantID(), deviceID).Scan(&us); {
	case err == nil:
		cursor = sqlstore.FromMicros(us)
	case !errors.Is(err, sqlstore.ErrNoRows):
		return nil, fmt.Errorf("rule cursor: %w", err)
	}
	var ws []*watch
	for _, r := range rules {
		if r.DepartmentID != "" && !depts[r.DepartmentID] {
			continue
		}
		w := &watch{rule: r}
		if st, ok := states[r.ID]; ok {
			w.state, w.stored = st, &st
		}
		for _, t := range []time.Time{cursor, r.UpdatedAt} {
			if t.After(w.state.Last) {
				w.state.Last = t
			}
		}
		w.fence = cr.fences[r.GeofenceID]
		ws = append(ws, w)
	}
	return ws, nil
}

// compile returns the tenant's compiled rules, read anew when its rules'
// version moved on since they were kept.
func (s *AlarmStore) compile(ctx context.Context, c sqlstore.Conn) (*compiledRules, error) {
	var version int64
	err := c.QueryRow(ctx, `SELECT version FROM rule_versions WHERE tenant_id = $1`, c.TenantID()).Scan(&version)
	if err != nil && !errors.Is(err, sqlstore.ErrNoRows) {
		return nil, fmt.Errorf("rules' version: %w", err)
	}
	s.mu.Lock()
	cr := s.compiled[c.TenantID()]
	s.mu.Unlock()
	if cr != nil && cr.version == version {
		return cr, nil
	}
	cr = &compiledRules{version: version, fences: map[string]*qm.Shape{}}
	if cr.rules, err = sqlstore.QueryAll(ctx, c, scanRule, `SELECT `+ruleColumns+` FROM rules WHERE tenant_id = $1 AND enabled ORDER BY id`, c.TenantID()); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	cr.rules = slices.DeleteFunc(cr.rules, func(r *qm.Rule) bool { return !r.Kind.Telemetry() })
	for _, r := range cr.rules {
		if r.GeofenceID == "" || cr.fences[r.GeofenceID] != nil {
			continue
		}
		g, err := findGeofence(ctx, c, r.GeofenceID)
		if err != nil {
			return nil, err
		}
		cr.fences[r.GeofenceID] = &g.Shape
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.compiled) >= maxCompiled {
		for id := range s.compiled { // any one: the next use reads it again
			delete(s.compiled, id)
			break
		}
	}
	s.compiled[c.TenantID()] = cr
	return cr, nil
}

// deviceDepartments is the department of device deviceID and every one
// above it: a rule of any of them watches the device.
func deviceDepartments(ctx context.Context, c sqlstore.Conn, deviceID string) (map[string]bool, error) {
	in, err := sqlstore.QueryIDs(ctx, c, `WITH RECURSIVE up(id, parent_id) AS (
			SELECT d.id, d.parent_id FROM departments d JOIN fleet_devices f ON f.tenant_id = d.tenant_id AND f.department_id = d.id
			WHERE f.tenant_id = $1 AND f.device_id = $2
			UNION
			SELECT p.id, p.parent_id FROM departments p JOIN up ON p.tenant_id = $1 AND p.id = up.parent_id
		) SELECT id FROM up`, c.TenantID(), deviceID)
	if err != nil {
		return nil, fmt.Errorf("device's departments: %w", err)
	}
	return in, nil
}

// ruleStates returns the states of the rules for one subject, by rule.
func ruleStates(ctx context.Context, c sqlstore.Conn, subjectID string) (map[string]qm.RuleState, error) {
	return readStates(ctx, c, `SELECT rule_id, state FROM rule_states WHERE tenant_id = $1 AND subject_id = $2`, subjectID)
}

// readStates runs query, which selects a key and a state for the tenant
// ($1) and arg ($2), and returns the states by key.
func readStates(ctx context.Context, c sqlstore.Conn, query, arg string) (map[string]qm.RuleState, error) {
	states := map[string]qm.RuleState{}
	err := sqlstore.Each(ctx, c, func(r sqlstore.Row) error {
		var key, text string
		if err := r.Scan(&key, &text); err != nil {
			return err
		}
		var st qm.RuleState
		if err := json.Unmarshal([]byte(text), &st); err != nil {
			return fmt.Errorf("stored rule state: %w", err)
		}
		states[key] = st
		return nil
	}, query, c.TenantID(), arg)
	if err != nil {
		return nil, fmt.Errorf("rule states: %w", err)
	}
	return states, nil
}

// saveWatches stores the states that changed (a rule that never held
// keeps none), and moves the open alarms' last time on.
func (s *AlarmStore) saveWatches(ctx context.Context, c sqlstore.Conn, ws []*watch, subjectID string) error {
	held := map[time.Time][]string{} // when the condition last held → the rules
	for _, w := range ws {
		if !sameState(w.state, w.stored) && (w.stored != nil || !sameState(w.state, &qm.RuleState{})) {
			if err := saveState(ctx, c, w.rule.ID, subjectID, w.state); err != nil {
				return err
			}
		}
		if !w.held.IsZero() {
			held[w.held] = append(held[w.held], w.rule.ID)
		}
	}
	// One statement for the open alarms whose condition last held at the
	// same point: usually all of them, at the batch's last point.
	for at, rules := range held {
		args := sqlstore.Args{c.TenantID(), subjectID, sqlstore.Timestamp(at)}
		in := make([]string, len(rules))
		for i, id := range rules {
			in[i] = args.Add(id)
		}
		if _, err := c.Exec(ctx, `UPDATE alarms SET last_at = $3 WHERE tenant_id = $1 AND subject_id = $2 AND cleared_at IS NULL AND rule_id IN (`+
			strings.Join(in, ", ")+`)`, args...); err != nil {
			return fmt.Errorf("alarms' last time: %w", err)
		}
	}
	return nil
}

func saveState(ctx context.Context, c sqlstore.Conn, ruleID, subjectID string, st qm.RuleState) error {
	text, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, `INSERT INTO rule_states (tenant_id, rule_id, subject_id, state) VALUES ($1, $2, $3, $4)
		ON CONFLICT (tenant_id, rule_id, subject_id) DO UPDATE SET state = excluded.state`, c.TenantID(), ruleID, subjectID, string(text))
	if err != nil {
		return fmt.Errorf("save rule state: %w", err)
	}
	return nil
}

// transition writes what tr does to w's alarm for the subject, at the
// measured time at, and returns its event.
func (s *AlarmStore) transition(ctx context.Context, c sqlstore.Conn, w *watch, subjectID string, tr qm.Transition, at time.Time) (*qm.AlarmEvent, error) {
	r := w.rule
	ev := &qm.AlarmEvent{ID: sqlstore.NewID(), Kind: tr.String(), At: sqlstore.Timestamp(at), RuleID: r.ID, RuleName: r.Name, Severity: r.Severity,
		SubjectType: r.Kind.Subject(), SubjectID: subjectID}
	var err error
	switch tr {
	case qm.Raised:
		ev.AlarmID = sqlstore.NewID()
		_, err = c.Exec(ctx, `INSERT INTO alarms (tenant_id, id, rule_id, rule_name, severity, department_id, subject_type, subject_id, first_at, last_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.TenantID(), ev.AlarmID, r.ID, r.Name, string(r.Severity), sqlstore.Nullable(r.DepartmentID), ev.SubjectType, subjectID, sqlstore.Timestamp(w.state.Since), ev.At)
	default:
		err = c.QueryRow(ctx, `SELECT id FROM alarms WHERE tenant_id = $1 AND rule_id = $2 AND subject_id = $3 AND cleared_at IS NULL`,
			c.TenantID(), r.ID, subjectID).Scan(&ev.AlarmID)
		if errors.Is(err, sqlstore.ErrNoRows) {
			return nil, fmt.Errorf("rule %s, subject %s: %s, but no alarm is open", r.ID, subjectID, tr)
		}
		if err == nil && tr == qm.Repeated {
			_, err = c.Exec(ctx, `UPDATE alarms SET repeats = repeats + 1, last_at = $3 WHERE tenant_id = $1 AND id = $2`, c.TenantID(), ev.AlarmID, ev.At)
		} else if err == nil {
			_, err = c.Exec(ctx, `UPDATE alarms SET cleared_at = $3 WHERE tenant_id = $1 AND id = $2`, c.TenantID(), ev.AlarmID, ev.At)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("alarm %s: %w", tr, err)
	}
	if err := addEvent(ctx, c, ev); err != nil {
		return nil, err
	}
	return ev, s.enqueue(ctx, c, ev)
}

// enqueue puts ev in the outbox, for each enabled channel of its rule, in
// the transaction that made it: it is sent if and only if it happened.
func (s *AlarmStore) enqueue(ctx context.Context, c sqlstore.Conn, ev *qm.AlarmEvent) error {
	now := sqlstore.Timestamp(s.now())
	_, err := c.Exec(ctx, `INSERT INTO outbox (tenant_id, event_id, channel_id, due_at, created_at)
		SELECT rc.tenant_id, $2, rc.channel_id, $3, $3 FROM rule_channels rc JOIN channels ch ON ch.tenant_id = rc.tenant_id AND ch.id = rc.channel_id
		WHERE rc.tenant_id = $1 AND rc.rule_id = $4 AND ch.enabled`, c.TenantID(), ev.ID, now, ev.RuleID)
	if err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

func addEvent(ctx context.Context, c sqlstore.Conn, ev *qm.AlarmEvent) error {
	_, err := c.Exec(ctx, `INSERT INTO alarm_events (tenant_id, id, alarm_id, kind, at, by_name) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.TenantID(), ev.ID, ev.AlarmID, ev.Kind, ev.At, ev.By)
	if err != nil {
		return fmt.Errorf("alarm event: %w", err)
	}
	return nil
}

// closeRule clears the open alarms of a rule whose definition ends (it is
// replaced or deleted), by the principal in ctx, and forgets its states.
func closeRule(ctx context.Context, c sqlstore.Conn, r *qm.Rule, at time.Time) error {
	open, err := sqlstore.QueryAll(ctx, c, scanAlarm, `SELECT `+alarmColumns+` FROM alarms a WHERE a.tenant_id = $1 AND a.rule_id = $2 AND a.cleared_at IS NULL`,
		c.TenantID(), r.ID)
	if err != nil {
		return fmt.Errorf("open alarms: %w", err)
	}
	for _, a := range open {
		if err := clearAlarm(ctx, c, a, at); err != nil {
			return err
		}
	}
	if _, err := c.Exec(ctx, `DELETE FROM rule_states WHERE tenant_id = $1 AND rule_id = $2`, c.TenantID(), r.ID); err != nil {
		return fmt.Errorf("forget rule states: %w", err)
	}
	return nil
}

// clearAlarm clears open alarm a at at, by the principal in ctx.
func clearAlarm(ctx context.Context, c sqlstore.Conn, a *qm.Alarm, at time.Time) error {
	if _, err := c.Exec(ctx, `UPDATE alarms SET cleared_at = $3 WHERE tenant_id = $1 AND id = $2`, c.TenantID(), a.ID, at); err != nil {
		return fmt.Errorf("clear alarm: %w", err)
	}
	a.ClearedAt = &at
	return addEvent(ctx, c, &qm.AlarmEvent{ID: sqlstore.NewID(), AlarmID: a.ID, Kind: qm.Cleared.String(), At: at, By: tenancy.PrincipalFrom(ctx).Name})
}

// alarmColumns are what scanAlarm reads, of alarms a.
const alarmColumns = `a.id, a.rule_id, a.rule_name, a.severity, a.department_id, a.subject_type, a.subject_id, a.first_at, a.last_at, a.repeats,
	a.acknowledged_by, a.acknowledged_at, a.cleared_at, ` + subjectName

// subjectName is the name of alarm a's subject as it is now: a device's,
// an asset's (its tag when it has none) or a license's; empty for a
// subject deleted since, or a device without a name. Each look-up names
// the tenant, $1 of the query, by itself: Citus routes a subquery by its
// own conditions, not by those of the query around it.
const subjectName = `COALESCE(CASE a.subject_type
	WHEN 'device' THEN (SELECT NULLIF(d.name, '') FROM fleet_devices d WHERE d.tenant_id = $1 AND d.device_id = a.subject_id)
	WHEN 'asset' THEN (SELECT COALESCE(NULLIF(x.name, ''), x.tag) FROM assets x WHERE x.tenant_id = $1 AND x.id = a.subject_id)
	WHEN 'license' THEN (SELECT l.name FROM licenses l WHERE l.tenant_id = $1 AND l.id = a.subject_id) END, '')`

var errAlarmNotFound = qm.Errorf(qm.ENotFound, "alarm not found")

func scanAlarm(r sqlstore.Row) (*qm.Alarm, error) {
	var a qm.Alarm
	var severity string
	var dept, ackBy sql.NullString
	var ackAt, cleared sql.NullTime
	if err := r.Scan(&a.ID, &a.RuleID, &a.RuleName, &severity, &dept, &a.SubjectType, &a.SubjectID, &a.FirstAt, &a.LastAt, &a.Repeats,
		&ackBy, &ackAt, &cleared, &a.SubjectName); err != nil {
		return nil, err
	}
	a.Severity, a.DepartmentID, a.AcknowledgedBy = qm.Severity(severity), dept.String, ackBy.String
	a.FirstAt, a.LastAt = a.FirstAt.UTC(), a.LastAt.UTC()
	a.AcknowledgedAt, a.ClearedAt = sqlstore.TimePtr(ackAt), sqlstore.TimePtr(cleared)
	return &a, nil
}

// Alarms implements qm.AlarmService.
func (s *AlarmStore) Alarms(ctx context.Context, f qm.AlarmFilter) ([]*qm.Alarm, error) {
	if f.Limit <= 0 || f.Limit > qm.MaxAlarmList {
		f.Limit = 100
	}
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Alarm, error) {
		args := sqlstore.Args{c.TenantID()}
		where := `a.tenant_id = $1` + sqlstore.Subtree(c, "a.department_id", &args)
		if f.Open {
			where += ` AND a.cleared_at IS NULL`
		}
		if f.Severity != "" {
			where += ` AND a.severity = ` + args.Add(string(f.Severity))
		}
		if f.SubjectID != "" {
			if !sqlstore.ValidID(f.SubjectID) {
				return []*qm.Alarm{}, nil
			}
			where += ` AND a.subject_id = ` + args.Add(f.SubjectID)
		}
		as, err := sqlstore.QueryAll(ctx, c, scanAlarm, `SELECT `+alarmColumns+` FROM alarms a WHERE `+where+` ORDER BY a.first_at DESC, a.id DESC LIMIT `+args.Add(f.Limit), args...)
		if err != nil {
			return nil, fmt.Errorf("list alarms: %w", err)
		}
		return as, nil
	})
}

// Alarm implements qm.AlarmService.
func (s *AlarmStore) Alarm(ctx context.Context, id string) (*qm.Alarm, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Alarm, error) { return findAlarm(ctx, c, id) })
}

func findAlarm(ctx context.Context, c sqlstore.Conn, id string) (*qm.Alarm, error) {
	if !sqlstore.ValidID(id) {
		return nil, errAlarmNotFound
	}
	args := sqlstore.Args{c.TenantID(), id}
	a, err := scanAlarm(c.QueryRow(ctx, `SELECT `+alarmColumns+` FROM alarms a WHERE a.tenant_id = $1 AND a.id = $2`+sqlstore.Subtree(c, "a.department_id", &args), args...))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errAlarmNotFound
	case err != nil:
		return nil, fmt.Errorf("get alarm: %w", err)
	}
	return a, nil
}

// AcknowledgeAlarm implements qm.AlarmService.
func (s *AlarmStore) AcknowledgeAlarm(ctx context.Context, id string) (*qm.Alarm, error) {
	return s.handle(ctx, id, "alarm.acknowledge", func(c sqlstore.Conn, a *qm.Alarm, at time.Time) error {
		if a.AcknowledgedAt != nil {
			return qm.Errorf(qm.EConflict, "the alarm was acknowledged by %s at %s", a.AcknowledgedBy, a.AcknowledgedAt.Format(time.RFC3339))
		}
		by := tenancy.PrincipalFrom(ctx).Name
		if _, err := c.Exec(ctx, `UPDATE alarms SET acknowledged_by = $3, acknowledged_at = $4 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), a.ID, by, at); err != nil {
			return fmt.Errorf("acknowledge alarm: %w", err)
		}
		a.AcknowledgedBy, a.AcknowledgedAt = by, &at
		return addEvent(ctx, c, &qm.AlarmEvent{ID: sqlstore.NewID(), AlarmID: a.ID, Kind: qm.EventAcknowledged, At: at, By: by})
	})
}

// ClearAlarm implements qm.AlarmService.
func (s *AlarmStore) ClearAlarm(ctx context.Context, id string) (*qm.Alarm, error) {
	return s.handle(ctx, id, "alarm.clear", func(c sqlstore.Conn, a *qm.Alarm, at time.Time) error {
		if a.ClearedAt != nil {
			return qm.Errorf(qm.EConflict, "the alarm was cleared at %s", a.ClearedAt.Format(time.RFC3339))
		}
		states, err := ruleStates(ctx, c, a.SubjectID)
		if err != nil {
			return err
		}
		if st, ok := states[a.RuleID]; ok {
			st.ClearByHand()
			if err := saveState(ctx, c, a.RuleID, a.SubjectID, st); err != nil {
				return err
			}
		}
		return clearAlarm(ctx, c, a, at)
	})
}

// handle runs do on alarm id in a transaction, and audits the change as
// action.
func (s *AlarmStore) handle(ctx context.Context, id, action string, do func(sqlstore.Conn, *qm.Alarm, time.Time) error) (*qm.Alarm, error) {
	var a *qm.Alarm
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findAlarm(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		a = &after
		at := sqlstore.Timestamp(s.now())
		if err := do(c, a, at); err != nil {
			return err
		}
		return sqlstore.Audit(ctx, c, at, action, "alarm", id, before, a)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AlarmEvents implements qm.AlarmService.
func (s *AlarmStore) AlarmEvents(ctx context.Context, alarmID string, limit int) ([]*qm.AlarmEvent, error) {
	if limit <= 0 || limit > qm.MaxAlarmList {
		limit = 100
	}
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.AlarmEvent, error) {
		args := sqlstore.Args{c.TenantID()}
		from := visibleEvents(c, &args)
		if alarmID != "" {
			if !sqlstore.ValidID(alarmID) {
				return nil, errAlarmNotFound
			}
			if _, err := findAlarm(ctx, c, alarmID); err != nil {
				return nil, err
			}
			from += ` AND e.alarm_id = ` + args.Add(alarmID)
		}
		evs, err := sqlstore.QueryAll(ctx, c, scanAlarmEvent, `SELECT `+eventColumns+` `+from+` ORDER BY e.at DESC, e.id DESC LIMIT `+args.Add(limit), args...)
		if err != nil {
			return nil, fmt.Errorf("list alarm events: %w", err)
		}
		return evs, nil
	})
}

// eventColumns are what scanAlarmEvent reads, of e (alarm_events) and a
// (alarms).
const eventColumns = `e.id, e.alarm_id, e.kind, e.at, e.by_name, a.rule_id, a.rule_name, a.severity, a.subject_type, a.subject_id, ` + subjectName

func scanAlarmEvent(r sqlstore.Row) (*qm.AlarmEvent, error) {
	var ev qm.AlarmEvent
	var severity string
	if err := r.Scan(eventDest(&ev, &severity)...); err != nil {
		return nil, err
	}
	ev.Severity, ev.At = qm.Severity(severity), ev.At.UTC()
	return &ev, nil
}

// eventDest are the destinations of eventColumns in ev, the severity's
// in severity.
func eventDest(ev *qm.AlarmEvent, severity *string) []any {
	return []any{&ev.ID, &ev.AlarmID, &ev.Kind, &ev.At, &ev.By, &ev.RuleID, &ev.RuleName, severity, &ev.SubjectType, &ev.SubjectID, &ev.SubjectName}
}

// reader is the member in ctx, whose unread list it is.
func reader(ctx context.Context) (string, error) {
	p := tenancy.PrincipalFrom(ctx)
	if p.Kind != qm.PrincipalUser {
		return "", qm.Errorf(qm.EForbidden, "only a member has an unread list, not %s", p.Name)
	}
	return p.ID, nil
}

// visibleEvents is the FROM and WHERE of the events the member c serves
// sees: of its department's alarms, when confined to one.
func visibleEvents(c sqlstore.Conn, args *sqlstore.Args) string {
	return `FROM alarm_events e JOIN alarms a ON a.tenant_id = e.tenant_id AND a.id = e.alarm_id
		WHERE e.tenant_id = $1` + sqlstore.Subtree(c, "a.department_id", args)
}

// Unread implements qm.AlarmService.
func (s *AlarmStore) Unread(ctx context.Context, limit int) ([]*qm.AlarmEvent, int, error) {
	user, err := reader(ctx)
	if err != nil {
		return nil, 0, err
	}
	if limit <= 0 || limit > qm.MaxAlarmList {
		limit = 50
	}
	var evs []*qm.AlarmEvent
	var n int
	err = s.router.View(ctx, func(c sqlstore.Conn) error {
		args := sqlstore.Args{c.TenantID()}
		from := visibleEvents(c, &args) + ` AND NOT EXISTS (SELECT 1 FROM notification_reads r WHERE r.tenant_id = $1 AND r.user_id = ` +
			args.Add(user) + ` AND r.last_event_id >= e.id)`
		if err := c.QueryRow(ctx, `SELECT count(*) `+from, args...).Scan(&n); err != nil {
			return fmt.Errorf("count unread: %w", err)
		}
		var err error
		evs, err = sqlstore.QueryAll(ctx, c, scanAlarmEvent, `SELECT `+eventColumns+` `+from+` ORDER BY e.id DESC LIMIT `+args.Add(limit), args...)
		if err != nil {
			return fmt.Errorf("unread: %w", err)
		}
		return nil
	})
	return evs, n, err
}

// MarkRead implements qm.AlarmService.
func (s *AlarmStore) MarkRead(ctx context.Context, eventID string) error {
	user, err := reader(ctx)
	if err != nil {
		return err
	}
	if !sqlstore.ValidID(eventID) {
		return errEventNotFound
	}
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		args := sqlstore.Args{c.TenantID()}
		var one int
		err := c.QueryRow(ctx, `SELECT 1 `+visibleEvents(c, &args)+` AND e.id = `+args.Add(eventID), args...).Scan(&one)
		switch {
		case errors.Is(err, sqlstore.ErrNoRows):
			return errEventNotFound
		case err != nil:
			return fmt.Errorf("mark read: %w", err)
		}
		// Never back: reading an older event leaves the newer read.
		_, err = c.Exec(ctx, `INSERT INTO notification_reads (tenant_id, user_id, last_event_id) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, user_id) DO UPDATE SET last_event_id = excluded.last_event_id
			WHERE notification_reads.last_event_id < excluded.last_event_id`, c.TenantID(), user, eventID)
		if err != nil {
			return fmt.Errorf("mark read: %w", err)
		}
		return nil
	})
}

var errEventNotFound = qm.Errorf(qm.ENotFound, "event not found")

// Behind implements qm.AlarmEvaluator. A tenant without rules has no
// cursors: its devices are listed, and their evaluation finds nothing to
// do.
func (s *AlarmStore) Behind(ctx context.Context) ([]string, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]string, error) {
		var version int64
		err := c.QueryRow(ctx, `SELECT version FROM rule_versions WHERE tenant_id = $1`, c.TenantID()).Scan(&version)
		switch {
		case errors.Is(err, sqlstore.ErrNoRows):
			return nil, nil // never had a rule
		case err != nil:
			return nil, fmt.Errorf("rules' version: %w", err)
		}
		ids, err := sqlstore.QueryIDs(ctx, c, `SELECT s.device_id FROM device_state s
			LEFT JOIN rule_cursors r ON r.tenant_id = s.tenant_id AND r.device_id = s.device_id
			WHERE s.tenant_id = $1 AND (r.t_us IS NULL OR r.t_us < s.t_us)`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("devices behind: %w", err)
		}
		return slices.Sorted(maps.Keys(ids)), nil
	})
}

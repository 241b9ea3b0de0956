// Package alerts stores what tenants watch for and what it raised:
// geofences, rules, the rules' evaluation state, alarms and their events.
// It reads the fleet's devices and points (package telemetry) to evaluate
// the rules, and the data plane's departments to scope them.
package alerts

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// GeofenceStore is the qm.GeofenceService on any engine and tier.
type GeofenceStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.GeofenceService = (*GeofenceStore)(nil)

// NewGeofenceStore returns a GeofenceStore.
func NewGeofenceStore(router sqlstore.Router, now func() time.Time) *GeofenceStore {
	return &GeofenceStore{router: router, now: now}
}

const geofenceColumns = `id, name, shape, created_at, updated_at`

var errGeofenceNotFound = qm.Errorf(qm.ENotFound, "geofence not found")

// CreateGeofence implements qm.GeofenceService.
func (s *GeofenceStore) CreateGeofence(ctx context.Context, g *qm.Geofence) error {
	g.Normalize()
	if err := g.Validate(); err != nil {
		return err
	}
	g.ID = sqlstore.NewID()
	g.CreatedAt = sqlstore.Timestamp(s.now())
	g.UpdatedAt = g.CreatedAt
	shape, err := json.Marshal(g.Shape)
	if err != nil {
		return fmt.Errorf("create geofence: %w", err)
	}
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := sqlstore.Room(ctx, c, qm.MaxGeofences, 1, sqlstore.CountRows(ctx, c, "geofences")); err != nil {
			return err
		}
		_, err := c.Exec(ctx, `INSERT INTO geofences (tenant_id, `+geofenceColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.TenantID(), g.ID, g.Name, string(shape), g.CreatedAt, g.UpdatedAt)
		if err != nil {
			return nameTaken(err, "geofence", "create geofence")
		}
		return changed(ctx, c, g.CreatedAt, "geofence.create", "geofence", g.ID, nil, g)
	})
}

// Geofence implements qm.GeofenceService.
func (s *GeofenceStore) Geofence(ctx context.Context, id string) (*qm.Geofence, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Geofence, error) { return findGeofence(ctx, c, id) })
}

// Geofences implements qm.GeofenceService.
func (s *GeofenceStore) Geofences(ctx context.Context) ([]*qm.Geofence, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Geofence, error) {
		gs, err := sqlstore.QueryAll(ctx, c, scanGeofence, `SELECT `+geofenceColumns+` FROM geofences WHERE tenant_id = $1 ORDER BY name, id`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list geofences: %w", err)
		}
		return gs, nil
	})
}

// UpdateGeofence implements qm.GeofenceService.
func (s *GeofenceStore) UpdateGeofence(ctx context.Context, id string, u qm.GeofenceUpdate) (*qm.Geofence, error) {
	var g *qm.Geofence
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findGeofence(ctx, c, id)
		if err != nil {
			return err
		}
		after := *before
		g = &after
		sqlstore.SetIf(&g.Name, u.Name)
		sqlstore.SetIf(&g.Shape, u.Shape)
		g.Normalize()
		if err := g.Validate(); err != nil {
			return err
		}
		shape, err := json.Marshal(g.Shape)
		if err != nil {
			return fmt.Errorf("update geofence: %w", err)
		}
		g.UpdatedAt = sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `UPDATE geofences SET name = $3, shape = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), id, g.Name, string(shape), g.UpdatedAt)
		if err != nil {
			return nameTaken(err, "geofence", "update geofence")
		}
		return changed(ctx, c, g.UpdatedAt, "geofence.update", "geofence", id, before, g)
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// DeleteGeofence implements qm.GeofenceService.
func (s *GeofenceStore) DeleteGeofence(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findGeofence(ctx, c, id)
		if err != nil {
			return err
		}
		var rule string
		err = c.QueryRow(ctx, `SELECT name FROM rules WHERE tenant_id = $1 AND geofence_id = $2 ORDER BY name LIMIT 1`, c.TenantID(), id).Scan(&rule)
		switch {
		case err == nil:
			return qm.Errorf(qm.EConflict, "geofence %q is watched by rule %q: change or delete the rule first", before.Name, rule)
		case !errors.Is(err, sqlstore.ErrNoRows):
			return fmt.Errorf("delete geofence: %w", err)
		}
		if _, err := c.Exec(ctx, `DELETE FROM geofences WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete geofence: %w", err)
		}
		return changed(ctx, c, s.now(), "geofence.delete", "geofence", id, before, nil)
	})
}

func findGeofence(ctx context.Context, c sqlstore.Conn, id string) (*qm.Geofence, error) {
	if !sqlstore.ValidID(id) {
		return nil, errGeofenceNotFound
	}
	g, err := scanGeofence(c.QueryRow(ctx, `SELECT `+geofenceColumns+` FROM geofences WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errGeofenceNotFound
	case err != nil:
		return nil, fmt.Errorf("get geofence: %w", err)
	}
	return g, nil
}

func scanGeofence(r sqlstore.Row) (*qm.Geofence, error) {
	var g qm.Geofence
	var shape string
	if err := r.Scan(&g.ID, &g.Name, &shape, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(shape), &g.Shape); err != nil {
		return nil, fmt.Errorf("geofence %s: stored shape: %w", g.ID, err)
	}
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	return &g, nil
}

// nameTaken turns the unique violation of a tenant's name into EConflict
// on the field name, and wraps any other error with op.
func nameTaken(err error, noun, op string) error {
	if sqlstore.IsConstraint(err, sqlstore.Unique) {
		return &qm.Error{Code: qm.EConflict, Message: "a " + noun + " with this name already exists", Fields: map[string]string{"name": "already taken"}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// RuleStore is the qm.RuleService on any engine and tier. The devices a
// rule names are checked with the fleet, so a member confined to a
// department names only devices it can see.
type RuleStore struct {
	router sqlstore.Router
	fleet  *telemetry.FleetStore
	now    func() time.Time
}

var _ qm.RuleService = (*RuleStore)(nil)

// NewRuleStore returns a RuleStore.
func NewRuleStore(router sqlstore.Router, fleet *telemetry.FleetStore, now func() time.Time) *RuleStore {
	return &RuleStore{router: router, fleet: fleet, now: now}
}

const ruleColumns = `id, name, kind, severity, enabled, department_id, geofence_id, spec, created_at, updated_at`

var errRuleNotFound = qm.Errorf(qm.ENotFound, "rule not found")

// ruleSpec is what a rule keeps in its spec column: every field that is
// not a column of its own.
type ruleSpec struct {
	DeviceIDs      []string       `json:"device_ids,omitempty"`
	Condition      *qm.Comparison `json:"condition,omitempty"`
	Clear          *qm.Comparison `json:"clear,omitempty"`
	ForS           int64          `json:"for_s,omitempty"`
	SpeedKMH       float64        `json:"speed_kmh,omitempty"`
	Trigger        string         `json:"trigger,omitempty"`
	BatteryPct     float64        `json:"battery_pct,omitempty"`
	OfflineMinutes int64          `json:"offline_minutes,omitempty"`
	WithinDays     int64          `json:"within_days,omitempty"`
	QuietHours     *qm.QuietHours `json:"quiet_hours,omitempty"`
}

func specOf(d *qm.RuleDefinition) ruleSpec {
	return ruleSpec{DeviceIDs: d.DeviceIDs, Condition: d.Condition, Clear: d.Clear, ForS: d.ForS, SpeedKMH: d.SpeedKMH, Trigger: d.Trigger,
		BatteryPct: d.BatteryPct, OfflineMinutes: d.OfflineMinutes, WithinDays: d.WithinDays, QuietHours: d.QuietHours}
}

func (sp ruleSpec) apply(d *qm.RuleDefinition) {
	d.DeviceIDs, d.Condition, d.Clear, d.ForS, d.SpeedKMH, d.Trigger = sp.DeviceIDs, sp.Condition, sp.Clear, sp.ForS, sp.SpeedKMH, sp.Trigger
	d.BatteryPct, d.OfflineMinutes, d.WithinDays, d.QuietHours = sp.BatteryPct, sp.OfflineMinutes, sp.WithinDays, sp.QuietHours
}

// CreateRule implements qm.RuleService.
func (s *RuleStore) CreateRule(ctx context.Context, d qm.RuleDefinition) (*qm.Rule, error) {
	at := sqlstore.Timestamp(s.now())
	return s.write(ctx, &qm.Rule{ID: sqlstore.NewID(), RuleDefinition: d, CreatedAt: at, UpdatedAt: at}, false)
}

// ReplaceRule implements qm.RuleService.
func (s *RuleStore) ReplaceRule(ctx context.Context, id string, d qm.RuleDefinition) (*qm.Rule, error) {
	return s.write(ctx, &qm.Rule{ID: id, RuleDefinition: d}, true)
}

// write stores r: a new rule, or (replace) the definition of the rule
// with r's id, whose creation time r takes.
func (s *RuleStore) write(ctx context.Context, r *qm.Rule, replace bool) (*qm.Rule, error) {
	r.Normalize()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Kind.Telemetry() {
		t, err := tenancy.FromContext(ctx)
		if err != nil {
			return nil, err
		}
		if err := t.Limits.Feature(qm.FeatureFleet); err != nil {
			return nil, err
		}
	}
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		var before *qm.Rule
		if replace {
			var err error
			if before, err = findRule(ctx, c, r.ID); err != nil {
				return err
			}
			r.CreatedAt, r.UpdatedAt = before.CreatedAt, sqlstore.Timestamp(s.now())
		}
		// Checked after the rule is found, so that a rule out of reach is
		// not found whatever the body names.
		if err := s.checkRefs(ctx, c, &r.RuleDefinition); err != nil {
			return err
		}
		spec, err := json.Marshal(specOf(&r.RuleDefinition))
		if err != nil {
			return fmt.Errorf("rule spec: %w", err)
		}
		if before == nil {
			if err := sqlstore.Room(ctx, c, qm.MaxRules, 1, sqlstore.CountRows(ctx, c, "rules")); err != nil {
				return err
			}
			_, err = c.Exec(ctx, `INSERT INTO rules (tenant_id, `+ruleColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				c.TenantID(), r.ID, r.Name, string(r.Kind), string(r.Severity), r.Enabled, sqlstore.Nullable(r.DepartmentID), sqlstore.Nullable(r.GeofenceID),
				string(spec), r.CreatedAt, r.UpdatedAt)
			if err != nil {
				return nameTaken(err, "rule", "create rule")
			}
			if err := setChannels(ctx, c, r); err != nil {
				return err
			}
			return changed(ctx, c, r.CreatedAt, "rule.create", "rule", r.ID, nil, r)
		}
		if err := closeRule(ctx, c, before, r.UpdatedAt); err != nil {
			return err
		}
		_, err = c.Exec(ctx, `UPDATE rules SET name = $3, kind = $4, severity = $5, enabled = $6, department_id = $7, geofence_id = $8,
			spec = $9, updated_at = $10 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), r.ID, r.Name, string(r.Kind), string(r.Severity), r.Enabled, sqlstore.Nullable(r.DepartmentID), sqlstore.Nullable(r.GeofenceID),
			string(spec), r.UpdatedAt)
		if err != nil {
			return nameTaken(err, "rule", "update rule")
		}
		if err := setChannels(ctx, c, r); err != nil {
			return err
		}
		return changed(ctx, c, r.UpdatedAt, "rule.update", "rule", r.ID, before, r)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// checkRefs checks the devices, geofence, channels and department r names, giving a
// rule of a department-confined principal that principal's department.
// The devices are the fleet's, read beside c, named by id or ident, as
// every device route takes them: the rule keeps their ids, which is what
// it is matched by.
func (s *RuleStore) checkRefs(ctx context.Context, c sqlstore.Conn, r *qm.RuleDefinition) error {
	for i, d := range r.DeviceIDs {
		fd, err := s.fleet.Device(ctx, d)
		if qm.ErrorCode(err) == qm.ENotFound {
			// Not named: the id may be of a device the caller must not
			// learn of, in another department.
			return &qm.Error{Code: qm.EInvalid, Message: "device_ids names a device that does not exist", Fields: map[string]string{"device_ids": "no such device"}}
		} else if err != nil {
			return err
		}
		r.DeviceIDs[i] = fd.ID
	}
	r.Normalize()
	if r.DepartmentID == "" {
		r.DepartmentID = c.Department()
	}
	if err := dataplane.RefExists(ctx, c, "geofences", "geofence_id", "geofence", r.GeofenceID, false); err != nil {
		return err
	}
	for _, ch := range r.ChannelIDs {
		if err := dataplane.RefExists(ctx, c, "channels", "channel_ids", "channel", ch, true); err != nil {
			return err
		}
	}
	if err := dataplane.RefExists(ctx, c, "departments", "department_id", "department", r.DepartmentID, false); err != nil {
		return err
	}
	if r.DepartmentID == "" {
		return nil
	}
	return sqlstore.InScope(ctx, c, r.DepartmentID)
}

// Rule implements qm.RuleService.
func (s *RuleStore) Rule(ctx context.Context, id string) (*qm.Rule, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Rule, error) { return findRule(ctx, c, id) })
}

// Rules implements qm.RuleService.
func (s *RuleStore) Rules(ctx context.Context) ([]*qm.Rule, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Rule, error) {
		args := sqlstore.Args{c.TenantID()}
		rs, err := sqlstore.QueryAll(ctx, c, scanRule, `SELECT `+ruleColumns+` FROM rules WHERE tenant_id = $1`+sqlstore.Subtree(c, "department_id", &args)+
			` ORDER BY name, id`, args...)
		if err != nil {
			return nil, fmt.Errorf("list rules: %w", err)
		}
		return rs, attachChannels(ctx, c, rs)
	})
}

// setChannels makes r's channels those it lists.
func setChannels(ctx context.Context, c sqlstore.Conn, r *qm.Rule) error {
	if _, err := c.Exec(ctx, `DELETE FROM rule_channels WHERE tenant_id = $1 AND rule_id = $2`, c.TenantID(), r.ID); err != nil {
		return fmt.Errorf("rule channels: %w", err)
	}
	for _, ch := range r.ChannelIDs {
		if _, err := c.Exec(ctx, `INSERT INTO rule_channels (tenant_id, rule_id, channel_id) VALUES ($1, $2, $3)`, c.TenantID(), r.ID, ch); err != nil {
			return fmt.Errorf("rule channels: %w", err)
		}
	}
	return nil
}

// attachChannels reads the channels of rules rs.
func attachChannels(ctx context.Context, c sqlstore.Conn, rs []*qm.Rule) error {
	if len(rs) == 0 {
		return nil
	}
	byID := make(map[string]*qm.Rule, len(rs))
	for _, r := range rs {
		byID[r.ID] = r
	}
	// One rule's channels, or every rule's for a list.
	args := sqlstore.Args{c.TenantID()}
	where := ``
	if len(rs) == 1 {
		where = ` AND rule_id = ` + args.Add(rs[0].ID)
	}
	err := sqlstore.Each(ctx, c, func(row sqlstore.Row) error {
		var rule, ch string
		if err := row.Scan(&rule, &ch); err != nil {
			return err
		}
		if r := byID[rule]; r != nil {
			r.ChannelIDs = append(r.ChannelIDs, ch)
		}
		return nil
	}, `SELECT rule_id, channel_id FROM rule_channels WHERE tenant_id = $1`+where+` ORDER BY channel_id`, args...)
	if err != nil {
		return fmt.Errorf("rule channels: %w", err)
	}
	return nil
}

// DeleteRule implements qm.RuleService.
func (s *RuleStore) DeleteRule(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findRule(ctx, c, id)
		if err != nil {
			return err
		}
		at := sqlstore.Timestamp(s.now())
		if err := closeRule(ctx, c, before, at); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM rules WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete rule: %w", err)
		}
		return changed(ctx, c, at, "rule.delete", "rule", id, before, nil)
	})
}

// findRule returns a rule of the tenant within c's department scope.
func findRule(ctx context.Context, c sqlstore.Conn, id string) (*qm.Rule, error) {
	if !sqlstore.ValidID(id) {
		return nil, errRuleNotFound
	}
	args := sqlstore.Args{c.TenantID(), id}
	r, err := scanRule(c.QueryRow(ctx, `SELECT `+ruleColumns+` FROM rules WHERE tenant_id = $1 AND id = $2`+sqlstore.Subtree(c, "department_id", &args), args...))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errRuleNotFound
	case err != nil:
		return nil, fmt.Errorf("get rule: %w", err)
	}
	return r, attachChannels(ctx, c, []*qm.Rule{r})
}

func scanRule(row sqlstore.Row) (*qm.Rule, error) {
	var r qm.Rule
	var dept, fence sql.NullString
	var kind, severity, spec string
	if err := row.Scan(&r.ID, &r.Name, &kind, &severity, &r.Enabled, &dept, &fence, &spec, &r.CreatedAt, &r.UpdatedAt); err != nil {
		return nil, err
	}
	var sp ruleSpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		return nil, fmt.Errorf("rule %s: stored spec: %w", r.ID, err)
	}
	sp.apply(&r.RuleDefinition)
	r.Kind, r.Severity, r.DepartmentID, r.GeofenceID = qm.RuleKind(kind), qm.Severity(severity), dept.String, fence.String
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return &r, nil
}

// changed records a change of the tenant's rules or geofences: in its
// audit log, and in its rules' version, so that every node's compiled
// rules (AlarmStore) know they are stale.
func changed(ctx context.Context, c sqlstore.Conn, at time.Time, action, resourceType, resourceID string, before, after any) error {
	_, err := c.Exec(ctx, `INSERT INTO rule_versions (tenant_id, version) VALUES ($1, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET version = rule_versions.version + 1`, c.TenantID())
	if err != nil {
		return fmt.Errorf("rules' version: %w", err)
	}
	return sqlstore.Audit(ctx, c, at, action, resourceType, resourceID, before, after)
}

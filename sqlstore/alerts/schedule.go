package alerts

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// Scheduler evaluates the rules that time decides, not points: a device's
// silence (offline), and assets' and licenses' dates and seats. A job
// holding its lease runs it for each tenant, every minute or so; each run
// is one observation, at the scheduler's now.
type Scheduler struct {
	alarms *AlarmStore
	fleet  *telemetry.FleetStore
	now    func() time.Time
}

// NewScheduler returns a Scheduler writing through alarms, reading devices
// from fleet.
func NewScheduler(alarms *AlarmStore, fleet *telemetry.FleetStore, now func() time.Time) *Scheduler {
	return &Scheduler{alarms: alarms, fleet: fleet, now: now}
}

// Evaluate runs the tenant's offline and asset rules as of now, in one
// transaction, and returns the events they caused.
func (s *Scheduler) Evaluate(ctx context.Context) ([]*qm.AlarmEvent, error) {
	var events []*qm.AlarmEvent
	now := sqlstore.Timestamp(s.now())
	err := s.alarms.router.Update(ctx, func(c sqlstore.Conn) error {
		events = nil
		rules, err := sqlstore.QueryAll(ctx, c, scanRule, `SELECT `+ruleColumns+` FROM rules WHERE tenant_id = $1 AND enabled ORDER BY id`, c.TenantID())
		if err != nil {
			return fmt.Errorf("rules: %w", err)
		}
		rules = slices.DeleteFunc(rules, func(r *qm.Rule) bool { return r.Kind.Telemetry() && r.Kind != qm.RuleOffline })
		if len(rules) == 0 {
			return nil
		}
		tree, err := departmentTree(ctx, c)
		if err != nil {
			return err
		}
		subjects, err := s.subjects(ctx, c, rules)
		if err != nil {
			return err
		}
		for _, r := range rules {
			states, err := statesOf(ctx, c, r.ID)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, sub := range subjects[r.Kind.Subject()] {
				if !watches(r, sub, tree) {
					continue
				}
				seen[sub.id] = true
				st, known := states[sub.id]
				if !known {
					st = qm.RuleState{Last: r.UpdatedAt}
				}
				var tr qm.Transition
				if r.Kind == qm.RuleOffline {
					tr = r.Silent(&st, sub.lastSeen, now)
				} else {
					held := r.AssetHolds(sub.facts, now)
					if !held && !known {
						continue // nothing to remember of a subject that never held
					}
					tr = r.Observe(&st, now, held, true, false)
				}
				prev := states[sub.id]
				ev, err := s.record(ctx, c, r, sub.id, tr, st, known && sameState(st, &prev))
				if err != nil {
					return err
				}
				events = append(events, ev...)
			}
			// A subject the rule remembers but no longer looks at (the
			// asset checked in, the device gone, the department changed)
			// no longer holds.
			for id, st := range states {
				if seen[id] {
					continue
				}
				before := st
				tr := r.Observe(&st, now, false, true, false)
				ev, err := s.record(ctx, c, r, id, tr, st, sameState(st, &before))
				if err != nil {
					return err
				}
				events = append(events, ev...)
			}
		}
		return nil
	})
	return events, err
}

// record stores the state st of rule r for a subject, unless it is
// unchanged, and what transition tr did, returning its event.
func (s *Scheduler) record(ctx context.Context, c sqlstore.Conn, r *qm.Rule, subjectID string, tr qm.Transition, st qm.RuleState, unchanged bool) ([]*qm.AlarmEvent, error) {
	if tr == qm.None && unchanged {
		return nil, nil
	}
	if err := saveState(ctx, c, r.ID, subjectID, st); err != nil {
		return nil, err
	}
	if tr == qm.None {
		return nil, nil
	}
	ev, err := s.alarms.transition(ctx, c, &watch{rule: r, state: st}, subjectID, tr, st.Last)
	if err != nil {
		return nil, err
	}
	return []*qm.AlarmEvent{ev}, nil
}

// subject is what a scheduled rule looks at: a device (its last report),
// an asset or a license (their facts), with the department it is in.
type subject struct {
	id, department string
	lastSeen       time.Time
	facts          qm.AssetFacts
}

// subjects reads what the rules need, by kind of subject: only what one
// of them looks at is read.
func (s *Scheduler) subjects(ctx context.Context, c sqlstore.Conn, rules []*qm.Rule) (map[string][]subject, error) {
	need := map[string]bool{}
	for _, r := range rules {
		need[r.Kind.Subject()] = true
	}
	out := map[string][]subject{}
	if need["device"] {
		fds, err := s.fleet.Devices(ctx)
		if err != nil {
			return nil, err
		}
		for _, fd := range fds {
			if fd.Custody == qm.CustodyHeld && fd.State != nil {
				out["device"] = append(out["device"], subject{id: fd.ID, department: fd.DepartmentID, lastSeen: fd.State.LastSeen})
			}
		}
	}
	if need["asset"] {
		assets, err := assetSubjects(ctx, c)
		if err != nil {
			return nil, err
		}
		out["asset"] = assets
	}
	if need["license"] {
		licenses, err := sqlstore.QueryAll(ctx, c, func(r sqlstore.Row) (*subject, error) {
			var sub subject
			var expires sql.NullString
			var free int64
			if err := r.Scan(&sub.id, &expires, &free); err != nil {
				return nil, err
			}
			sub.facts = qm.AssetFacts{LicenseExpires: day(expires), FreeSeats: &free}
			return &sub, nil
		}, `SELECT l.id, CAST(l.expires_on AS TEXT), l.seats - (SELECT count(*) FROM license_seats s WHERE s.tenant_id = $1 AND s.license_id = l.id)
			FROM licenses l WHERE l.tenant_id = $1`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("licenses: %w", err)
		}
		for _, l := range licenses {
			out["license"] = append(out["license"], *l)
		}
	}
	return out, nil
}

// assetSubjects reads the assets that have a date a rule may look at, with
// their next maintenance.
func assetSubjects(ctx context.Context, c sqlstore.Conn) ([]subject, error) {
	maint := map[string]*time.Time{}
	err := sqlstore.Each(ctx, c, func(r sqlstore.Row) error {
		var id string
		var on sql.NullString
		if err := r.Scan(&id, &on); err != nil {
			return err
		}
		maint[id] = day(on)
		return nil
	}, `SELECT asset_id, MIN(CAST(started_on AS TEXT)) FROM maintenances WHERE tenant_id = $1 AND completed_on IS NULL GROUP BY asset_id`, c.TenantID())
	if err != nil {
		return nil, fmt.Errorf("maintenances: %w", err)
	}
	var out []subject
	err = sqlstore.Each(ctx, c, func(r sqlstore.Row) error {
		var a qm.Asset
		var dept, bought, due sql.NullString
		var months sql.NullInt64
		if err := r.Scan(&a.ID, &dept, &bought, &months, &due); err != nil {
			return err
		}
		a.PurchaseDate = bought.String
		if months.Valid {
			m := int(months.Int64)
			a.WarrantyMonths = &m
		}
		out = append(out, subject{id: a.ID, department: dept.String, facts: qm.AssetFacts{
			WarrantyEnds: day(sql.NullString{String: a.WarrantyEnd(), Valid: true}), ExpectedCheckin: day(due), MaintenanceDue: maint[a.ID]}})
		return nil
	}, `SELECT id, department_id, CAST(purchase_date AS TEXT), warranty_months, CAST(expected_return AS TEXT) FROM assets
		WHERE tenant_id = $1 AND (warranty_months IS NOT NULL AND purchase_date IS NOT NULL OR expected_return IS NOT NULL OR id IN
			(SELECT asset_id FROM maintenances WHERE tenant_id = $1 AND completed_on IS NULL))`, c.TenantID())
	if err != nil {
		return nil, fmt.Errorf("assets: %w", err)
	}
	return out, nil
}

// day reads a YYYY-MM-DD date as its midnight (UTC), nil for none.
func day(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t, err := time.Parse(time.DateOnly, s.String[:min(len(s.String), len(time.DateOnly))])
	if err != nil {
		return nil
	}
	return &t
}

// watches says whether rule r looks at sub: its devices, if it lists
// them, and its department's subtree, if it has one.
func watches(r *qm.Rule, sub subject, tree map[string]string) bool {
	if len(r.DeviceIDs) > 0 && !slices.Contains(r.DeviceIDs, sub.id) {
		return false
	}
	if r.DepartmentID == "" {
		return true
	}
	for d := sub.department; d != ""; d = tree[d] {
		if d == r.DepartmentID {
			return true
		}
	}
	return false
}

// departmentTree is each of the tenant's departments' parent.
func departmentTree(ctx context.Context, c sqlstore.Conn) (map[string]string, error) {
	tree := map[string]string{}
	err := sqlstore.Each(ctx, c, func(r sqlstore.Row) error {
		var id string
		var parent sql.NullString
		if err := r.Scan(&id, &parent); err != nil {
			return err
		}
		tree[id] = parent.String
		return nil
	}, `SELECT id, parent_id FROM departments WHERE tenant_id = $1`, c.TenantID())
	if err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return tree, nil
}

// statesOf returns rule ruleID's states, by subject.
func statesOf(ctx context.Context, c sqlstore.Conn, ruleID string) (map[string]qm.RuleState, error) {
	return readStates(ctx, c, `SELECT subject_id, state FROM rule_states WHERE tenant_id = $1 AND rule_id = $2`, ruleID)
}

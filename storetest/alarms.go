package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// TestAlarms checks evaluation: rules raise, repeat and clear alarms over
// a device's points in the order measured, a late or resent point changes
// nothing, evaluation resumes where it stopped, and members acknowledge and
// clear alarms; with a different-tenant case for each method.
func TestAlarms(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "alarms-a")
	_, ctxB := MustTenant(t, e, h.Tier, "alarms-b")
	now, clockNow, w, fleet := fleetAtNoon(t, e)
	da := mustAssignedDevice(t, e, ta, "alarms-a-1")
	rules := alerts.NewRuleStore(e, fleet, clock())
	s := alerts.NewAlarmStore(e, clockNow)
	fences := alerts.NewGeofenceStore(e, clock())
	depot := &qm.Geofence{Name: "Depot", Shape: mustShape(t, depotJSON)} // 200 m around 52.52, 13.405
	if err := fences.CreateGeofence(ctxA, depot); err != nil {
		t.Fatal(err)
	}
	speeding := mustRule(t, rules, ctxA, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityWarning, SpeedKMH: 90, ForS: 10, Enabled: true})
	exit := mustRule(t, rules, ctxA, qm.RuleDefinition{Name: "Leaves the depot", Kind: qm.RuleGeofence, Severity: qm.SeverityMajor,
		GeofenceID: depot.ID, Trigger: "exit", Enabled: true})
	mustRule(t, rules, ctxA, qm.RuleDefinition{Name: "Off", Kind: qm.RuleIgnition, Severity: qm.SeverityInfo, Trigger: "on"}) // not enabled

	start := now.Add(-time.Hour)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	point := func(s int, lat, kmh float64) qm.Point {
		return qm.Point{Time: at(s), Position: &qm.Position{Lat: lat, Lon: 13.405, SpeedKMH: &kmh},
			Metrics: map[string]qm.Metric{"ignition": qm.BoolMetric(true)}}
	}
	write := func(pts ...qm.Point) {
		t.Helper()
		if _, err := w.Write(ctxA, da.ID, pts); err != nil {
			t.Fatal(err)
		}
	}
	evaluate := func() string {
		t.Helper()
		evs, err := s.EvaluateDevice(ctxA, da.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, ev := range evs {
			kinds = append(kinds, ev.RuleName+" "+ev.Kind)
		}
		return strings.Join(kinds, ", ")
	}

	// Sent out of order in one batch: evaluated in measured order.
	write(point(20, 52.53, 100), point(0, 52.52, 30), point(10, 52.525, 95))
	if got := evaluate(); got != "Leaves the depot raised, Speeding raised" {
		t.Fatalf("first evaluation: %q", got)
	}
	if got := evaluate(); got != "" {
		t.Fatalf("nothing new, yet: %q", got)
	}
	// A late point measured inside the depot, before the exit, is no
	// entry; a resent point is nothing.
	write(point(5, 52.52, 30), point(20, 52.53, 100))
	if got := evaluate(); got != "" {
		t.Fatalf("late and resent points: %q", got)
	}
	open, err := s.Alarms(ctxA, qm.AlarmFilter{Open: true})
	if err != nil || len(open) != 2 {
		t.Fatalf("open alarms %+v, %v; want two", open, err)
	}
	var fast *qm.Alarm
	for _, a := range open {
		if a.RuleID == speeding.ID {
			fast = a
		}
	}
	if fast == nil || fast.SubjectType != "device" || fast.SubjectID != da.ID || !fast.FirstAt.Equal(at(10)) || !fast.LastAt.Equal(at(20)) ||
		fast.Severity != qm.SeverityWarning || fast.ClearedAt != nil {
		t.Fatalf("the speeding alarm: %+v; want raised for the device, first at 10 s, last at 20 s", fast)
	}

	t.Run("OtherTenant", func(t *testing.T) {
		if as, err := s.Alarms(ctxB, qm.AlarmFilter{}); err != nil || len(as) != 0 {
			t.Fatalf("B lists %+v, %v; want none", as, err)
		}
		_, err := s.Alarm(ctxB, fast.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.AcknowledgeAlarm(ctxB, fast.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.ClearAlarm(ctxB, fast.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = s.AlarmEvents(ctxB, fast.ID, 0)
		wantCode(t, err, qm.ENotFound)
		if evs, err := s.AlarmEvents(ctxB, "", 0); err != nil || len(evs) != 0 {
			t.Fatalf("B lists events %+v, %v; want none", evs, err)
		}
		// B's evaluation of A's device finds no rule of B's, and writes
		// nothing.
		if evs, err := s.EvaluateDevice(ctxB, da.ID); err != nil || len(evs) != 0 {
			t.Fatalf("B evaluates A's device: %+v, %v", evs, err)
		}
	})

	// Acknowledged by a member, then it slows and comes back: both clear.
	member := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "dispatch@example.com", Role: qm.BuiltInRoles[0]})
	ack, err := s.AcknowledgeAlarm(member, fast.ID)
	if err != nil || ack.AcknowledgedBy != "dispatch@example.com" || ack.AcknowledgedAt == nil || !ack.AcknowledgedAt.Equal(now) {
		t.Fatalf("acknowledge: %+v, %v", ack, err)
	}
	_, err = s.AcknowledgeAlarm(member, fast.ID)
	wantCode(t, err, qm.EConflict)
	write(point(30, 52.5201, 20))
	if got := evaluate(); got != "Speeding cleared, Leaves the depot cleared" {
		t.Fatalf("back, slowly: %q", got)
	}
	if a, err := s.Alarm(ctxA, fast.ID); err != nil || a.ClearedAt == nil || !a.ClearedAt.Equal(at(30)) || a.AcknowledgedBy != "dispatch@example.com" {
		t.Fatalf("cleared alarm: %+v, %v", a, err)
	}
	evs, err := s.AlarmEvents(ctxA, fast.ID, 0)
	// Newest first, by when each happened: the clear at the point measured
	// at 30 s, the acknowledgement at noon.
	if err != nil || len(evs) != 3 || evs[0].Kind != "acknowledged" || evs[0].By != "dispatch@example.com" || evs[1].Kind != "cleared" || evs[2].Kind != "raised" {
		t.Fatalf("the alarm's events: %v, %v; want acknowledged, cleared, raised", eventKinds(evs), err)
	}

	t.Run("ClearByHand", func(t *testing.T) {
		write(point(40, 52.52, 120), point(60, 52.52, 121))
		if got := evaluate(); got != "Speeding raised" {
			t.Fatalf("speeding again: %q", got)
		}
		as, _ := s.Alarms(ctxA, qm.AlarmFilter{Open: true})
		if len(as) != 1 {
			t.Fatalf("open: %+v", as)
		}
		cleared, err := s.ClearAlarm(member, as[0].ID)
		if err != nil || cleared.ClearedAt == nil {
			t.Fatalf("clear: %+v, %v", cleared, err)
		}
		_, err = s.ClearAlarm(member, as[0].ID)
		wantCode(t, err, qm.EConflict)
		// Still speeding: not raised again until it slows and speeds anew.
		write(point(70, 52.52, 122), point(80, 52.52, 50), point(90, 52.52, 130), point(100, 52.52, 131))
		if got := evaluate(); got != "Speeding raised" {
			t.Fatalf("after clearing by hand: %q; want one raise, after it slowed", got)
		}
	})

	t.Run("ReplacedRule", func(t *testing.T) {
		// A rule replaced clears its open alarms: what it watched ends.
		as, err := s.Alarms(ctxA, qm.AlarmFilter{Open: true})
		if err != nil || len(as) != 1 {
			t.Fatalf("open before replacing the rule: %+v, %v", as, err)
		}
		if _, err := rules.ReplaceRule(member, speeding.ID, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityWarning,
			SpeedKMH: 150, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if as, err := s.Alarms(ctxA, qm.AlarmFilter{Open: true}); err != nil || len(as) != 0 {
			t.Fatalf("open after replacing the rule: %+v, %v", as, err)
		}
		evs, err := s.AlarmEvents(ctxA, as[0].ID, 0)
		if err != nil || !slices.ContainsFunc(evs, func(ev *qm.AlarmEvent) bool { return ev.Kind == "cleared" && ev.By == "dispatch@example.com" }) {
			t.Fatalf("the alarm's events: %+v, %v; want it cleared by the member who replaced the rule", evs, err)
		}
	})

	t.Run("DepartmentScope", func(t *testing.T) {
		depts := dataplane.NewDepartmentStore(e, clock())
		north := &qm.Department{Name: "North"}
		if err := depts.CreateDepartment(ctxA, north); err != nil {
			t.Fatal(err)
		}
		confined := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "north@example.com",
			Role: qm.BuiltInRoles[1], DepartmentID: north.ID})
		// The device is not North's: North's rule does not watch it, and
		// North sees none of the tenant-wide rules' alarms.
		mustRule(t, rules, confined, qm.RuleDefinition{Name: "North's batteries", Kind: qm.RuleBattery, Severity: qm.SeverityMinor, BatteryPct: 20, Enabled: true})
		low := func(s int) qm.Point {
			return qm.Point{Time: at(s), Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(10)}}
		}
		write(low(200))
		if got := evaluate(); got != "" {
			t.Fatalf("North's rule on a device outside North: %q", got)
		}
		if as, err := s.Alarms(confined, qm.AlarmFilter{}); err != nil || len(as) != 0 {
			t.Fatalf("North lists %+v, %v; want none", as, err)
		}
		_, err := s.AcknowledgeAlarm(confined, fast.ID)
		wantCode(t, err, qm.ENotFound)
		// Moved into North, the device is watched by North's rule, whose
		// alarm North sees.
		if _, err := fleet.UpdateDevice(ctxA, da.ID, qm.FleetDeviceUpdate{DepartmentID: &north.ID}); err != nil {
			t.Fatal(err)
		}
		write(low(210))
		if got := evaluate(); got != "North's batteries raised" {
			t.Fatalf("North's rule on its device: %q", got)
		}
		if as, err := s.Alarms(confined, qm.AlarmFilter{}); err != nil || len(as) != 1 || as[0].RuleName != "North's batteries" {
			t.Fatalf("North lists %+v, %v; want its battery alarm", as, err)
		}
	})

	t.Run("Unread", func(t *testing.T) {
		all, err := s.AlarmEvents(ctxA, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		evs, n, err := s.Unread(member, 2)
		if err != nil || n != len(all) || len(evs) != 2 || evs[0].ID < evs[1].ID {
			t.Fatalf("unread: %d of %d, %+v, %v; want every event unread, the newest written first", len(evs), n, eventKinds(evs), err)
		}
		// Read up to the second newest: the newest stays unread.
		if err := s.MarkRead(member, evs[1].ID); err != nil {
			t.Fatal(err)
		}
		if left, n, err := s.Unread(member, 0); err != nil || n != 1 || left[0].ID != evs[0].ID {
			t.Fatalf("after reading all but the newest: %+v, %d, %v", eventKinds(left), n, err)
		}
		// Reading an older event never marks newer ones unread again.
		if err := s.MarkRead(member, all[len(all)-1].ID); err != nil {
			t.Fatal(err)
		}
		if _, n, _ := s.Unread(member, 0); n != 1 {
			t.Fatalf("after reading an older event: %d unread, want 1", n)
		}
		// Another member has read nothing.
		other := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "other@example.com", Role: qm.BuiltInRoles[0]})
		if _, n, _ := s.Unread(other, 0); n != len(all) {
			t.Fatalf("another member: %d unread, want %d", n, len(all))
		}
		token := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalToken, ID: sqlstore.NewID(), Name: "ci token", Role: qm.BuiltInRoles[0]})
		_, _, err = s.Unread(token, 0)
		wantCode(t, err, qm.EForbidden)
		bMember := tenancy.WithPrincipal(ctxB, &qm.Principal{Kind: qm.PrincipalUser, ID: sqlstore.NewID(), Name: "b@example.com", Role: qm.BuiltInRoles[0]})
		wantCode(t, s.MarkRead(bMember, evs[0].ID), qm.ENotFound)
		if evs, n, err := s.Unread(bMember, 0); err != nil || n != 0 || len(evs) != 0 {
			t.Fatalf("B's member: %d unread, %v", n, err)
		}
	})

	t.Run("DeletedRule", func(t *testing.T) {
		// An alarm outlives its rule, cleared.
		if err := rules.DeleteRule(ctxA, exit.ID); err != nil {
			t.Fatal(err)
		}
		as, err := s.Alarms(ctxA, qm.AlarmFilter{})
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for _, a := range as {
			if a.RuleID == exit.ID {
				kept++
				if a.ClearedAt == nil || a.RuleName != "Leaves the depot" {
					t.Fatalf("the deleted rule's alarm: %+v", a)
				}
			}
		}
		if kept != 1 {
			t.Fatalf("the deleted rule's alarms: %d, want 1", kept)
		}
	})
}

func eventKinds(evs []*qm.AlarmEvent) []string {
	kinds := make([]string, len(evs))
	for i, ev := range evs {
		kinds[i] = ev.Kind + " by " + ev.By
	}
	return kinds
}

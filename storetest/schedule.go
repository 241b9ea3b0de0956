package storetest

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
)

// TestScheduledRules checks the rules time decides: a device silent too
// long, a warranty about to end, a laptop overdue, a license without a
// free seat; each raised once, and cleared when it stops holding; and a
// different-tenant case.
func TestScheduledRules(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "sched-a")
	_, ctxB := MustTenant(t, e, h.Tier, "sched-b")
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var clockNow time.Time
	tick := func() time.Time { return clockNow }
	clockNow = now
	w := telemetry.NewPointWriter(e, tick, 0)
	t.Cleanup(w.Close)
	fleet := telemetry.NewFleetStore(e, e.Devices(), tick)
	alarms := alerts.NewAlarmStore(e, tick)
	s := alerts.NewScheduler(alarms, fleet, tick)
	rules := alerts.NewRuleStore(e, fleet, func() time.Time { return now.Add(-24 * time.Hour) })

	da := mustAssignedDevice(t, e, ta, "sched-a-1")
	van := "Van 7"
	if _, err := fleet.UpdateDevice(ctxA, da.ID, qm.FleetDeviceUpdate{Name: &van}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctxA, da.ID, []qm.Point{{Time: now.Add(-time.Minute), Position: &qm.Position{Lat: 52.5, Lon: 13.4}}}); err != nil {
		t.Fatal(err)
	}
	a := mustAssetWorld(t, e, ctxA)
	assets := dataplane.NewAssetStore(e, e.Identity(), tick)
	months := 12
	laptop := &qm.Asset{ModelID: a.model.ID, PurchaseDate: "2025-12-03", WarrantyMonths: &months} // the warranty's last day: 2026-12-02
	if err := assets.CreateAsset(ctxA, laptop); err != nil {
		t.Fatal(err)
	}
	lent := &qm.Asset{ModelID: a.model.ID}
	if err := assets.CreateAsset(ctxA, lent); err != nil {
		t.Fatal(err)
	}
	depot := MustLocation(t, dataplane.NewLocationStore(e, tick), ctxA, "Depot", "")
	if _, err := assets.CheckOut(ctxA, lent.ID, qm.CheckOut{HolderType: qm.HolderLocation, HolderID: depot.ID, ExpectedReturn: "2026-11-30"}); err != nil {
		t.Fatal(err)
	}
	licenses := dataplane.NewLicenseStore(e, e.Identity(), tick)
	lic := &qm.License{Name: "CAD", Seats: 1}
	if err := licenses.CreateLicense(ctxA, lic); err != nil {
		t.Fatal(err)
	}

	for _, d := range []qm.RuleDefinition{
		{Name: "Silent", Kind: qm.RuleOffline, Severity: qm.SeverityMajor, OfflineMinutes: 15, Enabled: true},
		{Name: "Warranty", Kind: qm.RuleWarranty, Severity: qm.SeverityInfo, WithinDays: 10, Enabled: true},
		{Name: "Overdue", Kind: qm.RuleOverdue, Severity: qm.SeverityMinor, Enabled: true},
		{Name: "Seats", Kind: qm.RuleLicenseSeats, Severity: qm.SeverityWarning, Enabled: true},
	} {
		mustRule(t, rules, ctxA, d)
	}
	run := func(at time.Time) string {
		t.Helper()
		clockNow = at
		evs, err := s.Evaluate(ctxA)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range evs {
			got = append(got, ev.RuleName+" "+ev.Kind)
		}
		sort.Strings(got)
		return strings.Join(got, ", ")
	}
	// Noon: the device reported a minute ago, the warranty ends in ten
	// days (on the 2nd of December), the laptop is due on the 30th, and
	// the license has its seat.
	if got := run(now); got != "Warranty raised" {
		t.Fatalf("at noon: %q", got)
	}
	if got := run(now.Add(time.Minute)); got != "" {
		t.Fatalf("a minute on: %q; want nothing new", got)
	}
	// The device falls silent; the license's seat is taken.
	if _, err := licenses.AssignSeat(ctxA, lic.ID, qm.HolderAsset, laptop.ID); err != nil {
		t.Fatal(err)
	}
	if got := run(now.Add(20 * time.Minute)); got != "Seats raised, Silent raised" {
		t.Fatalf("twenty minutes on: %q", got)
	}
	// The device reports again (its point evaluated as it commits), then
	// falls silent once more; the laptop is past its return on the 1st of
	// December.
	if _, err := w.Write(ctxA, da.ID, []qm.Point{{Time: now.Add(21 * time.Minute), Position: &qm.Position{Lat: 52.5, Lon: 13.4}}}); err != nil {
		t.Fatal(err)
	}
	if evs, err := alarms.EvaluateDevice(ctxA, da.ID); err != nil || len(evs) != 1 || evs[0].Kind != "cleared" || evs[0].RuleName != "Silent" {
		t.Fatalf("the device back: %+v, %v; want its silence cleared", evs, err)
	}
	if got := run(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)); got != "Overdue raised, Silent raised" {
		t.Fatalf("on the 1st of December: %q", got)
	}
	// Checked in, it clears.
	if _, err := assets.CheckIn(ctxA, lent.ID, qm.CheckIn{}); err != nil {
		t.Fatal(err)
	}
	if got := run(time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)); got != "Overdue cleared" {
		t.Fatalf("the laptop back: %q", got)
	}
	open, err := alarms.Alarms(ctxA, qm.AlarmFilter{Open: true})
	if err != nil {
		t.Fatal(err)
	}
	subjects := map[string]string{}
	for _, al := range open {
		subjects[al.RuleName] = al.SubjectType + " " + al.SubjectID + " " + al.SubjectName
	}
	// Each named as it is now: the laptop, which has no name, by its tag.
	if subjects["Warranty"] != "asset "+laptop.ID+" "+laptop.Tag || subjects["Seats"] != "license "+lic.ID+" CAD" ||
		subjects["Silent"] != "device "+da.ID+" Van 7" || len(open) != 3 {
		t.Fatalf("open alarms by rule: %v", subjects)
	}

	t.Run("OtherTenant", func(t *testing.T) {
		if evs, err := s.Evaluate(ctxB); err != nil || len(evs) != 0 {
			t.Fatalf("B's run: %+v, %v; want nothing of A's", evs, err)
		}
		if as, err := alarms.Alarms(ctxB, qm.AlarmFilter{}); err != nil || len(as) != 0 {
			t.Fatalf("B's alarms: %+v, %v", as, err)
		}
	})
}

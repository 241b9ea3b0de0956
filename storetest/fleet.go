package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// mustAssignedDevice registers a device and assigns it to tn.
func mustAssignedDevice(t *testing.T, e Engine, tn *qm.Tenant, ident string) *qm.Device {
	t.Helper()
	d := &qm.Device{Ident: ident}
	if _, err := e.Devices().RegisterDevice(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Devices().AssignDevice(context.Background(), d.ID, tn); err != nil {
		t.Fatal(err)
	}
	return d
}

// track makes n points a minute apart from start, moving north, with a
// battery draining and the ignition on.
func track(start time.Time, n int) []qm.Point {
	pts := make([]qm.Point, n)
	for i := range pts {
		speed := 50.0
		pts[i] = qm.Point{Time: start.Add(time.Duration(i) * time.Minute),
			Position: &qm.Position{Lat: 52.5 + float64(i)*0.001, Lon: 13.4, SpeedKMH: &speed},
			Metrics:  map[string]qm.Metric{"battery_pct": qm.NumberMetric(90 - float64(i)), "ignition": qm.BoolMetric(true)}}
	}
	return pts
}

// fleetAtNoon returns a fixed server clock (and its time), and a point
// writer and a fleet view of e that run on it.
func fleetAtNoon(t *testing.T, e Engine) (time.Time, func() time.Time, *telemetry.PointWriter, *telemetry.FleetStore) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clockNow := func() time.Time { return now }
	w := telemetry.NewPointWriter(e, clockNow, 0)
	t.Cleanup(w.Close)
	return now, clockNow, w, telemetry.NewFleetStore(e, e.Devices(), clockNow)
}

// TestFleet checks telemetry storage through the group-commit writer, the
// tenant's view of its devices, and a different-tenant case for each.
func TestFleet(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "fleet-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "fleet-b")
	now, clockNow, w, fleet := fleetAtNoon(t, e)
	da := mustAssignedDevice(t, e, ta, "fleet-a-1")
	db := mustAssignedDevice(t, e, tb, "fleet-b-1")
	start := now.Add(-time.Hour)

	t.Run("Write", func(t *testing.T) {
		if n, err := w.Write(ctxA, da.ID, track(start, 30)); err != nil || n != 30 {
			t.Fatalf("write: %d, %v", n, err)
		}
		if n, err := w.Write(ctxA, da.ID, track(start, 40)); err != nil || n != 10 {
			t.Fatalf("a resent batch stored %d new points (want the 10 new ones), %v", n, err)
		}
		st, err := fleet.Latest(ctxA, da.Ident)
		if err != nil || st.Points != 40 || !st.Time.Equal(start.Add(39*time.Minute)) || st.Position.Lat != 52.5+39*0.001 {
			t.Fatalf("latest: %+v, %v", st, err)
		}
		if v, _ := st.Metrics["battery_pct"].Value.Number(); v != 51 {
			t.Fatalf("latest battery: %v", st.Metrics)
		}
		// An older point does not roll the latest state back.
		old := track(start.Add(-24*time.Hour), 1)
		old[0].Metrics["battery_pct"] = qm.NumberMetric(5)
		if _, err := w.Write(ctxA, da.ID, old); err != nil {
			t.Fatal(err)
		}
		if st, _ := fleet.Latest(ctxA, da.ID); st.Metrics["battery_pct"].Value != qm.NumberMetric(51) || st.Points != 41 {
			t.Fatalf("an old point changed the latest state: %+v", st)
		}
	})
	t.Run("Points", func(t *testing.T) {
		var got []qm.Point
		f := qm.PointFilter{From: start, To: start.Add(35 * time.Minute), Limit: 10}
		for {
			page, err := fleet.Points(ctxA, da.Ident, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, page.Points...)
			if page.Total != 35 {
				t.Fatalf("total %d on a page, want 35 whatever the page", page.Total)
			}
			if page.Next == "" {
				break
			}
			f.After = page.Next
		}
		if len(got) != 35 || !got[0].Time.Equal(start) || got[34].Position.Lat != 52.5+34*0.001 {
			t.Fatalf("got %d points from %v", len(got), got[0].Time)
		}
		if b, _ := got[3].Metrics["ignition"].Bool(); !b {
			t.Fatalf("metrics lost: %v", got[3].Metrics)
		}
		_, err := fleet.Points(ctxA, da.ID, qm.PointFilter{After: "garbage"})
		wantCode(t, err, qm.EBadRequest)
		trips, err := fleet.Trips(ctxA, da.Ident, start, now)
		if err != nil || len(trips) != 1 || trips[0].Points != 40 || trips[0].MaxSpeedKMH != 50 {
			t.Fatalf("trips: %+v, %v", trips, err)
		}
		buckets, err := fleet.Aggregate(ctxA, da.Ident, "battery_pct", start, now, 10*time.Minute)
		if err != nil || len(buckets) != 4 || buckets[0].Count != 10 || buckets[0].Max != 90 || buckets[0].Min != 81 {
			t.Fatalf("aggregate: %+v, %v", buckets, err)
		}
	})
	t.Run("Devices", func(t *testing.T) {
		loc := &qm.Department{Name: "Logistics"}
		if err := dataplane.NewDepartmentStore(e, clockNow).CreateDepartment(ctxA, loc); err != nil {
			t.Fatal(err)
		}
		fd, err := fleet.UpdateDevice(ctxA, da.Ident, qm.FleetDeviceUpdate{Name: ptr("Van 7"), DepartmentID: ptr(loc.ID),
			Settings: ptr(map[string]any{"interval_s": 30.0})})
		if err != nil || fd.Name != "Van 7" || fd.Settings["interval_s"] != 30.0 {
			t.Fatalf("update: %+v, %v", fd, err)
		}
		_, err = fleet.UpdateDevice(ctxA, da.Ident, qm.FleetDeviceUpdate{AssetID: ptr(sqlstore.NewID())})
		wantFields(t, err, qm.EInvalid, "asset_id")
		other := &qm.Department{Name: "Sales"}
		if err := dataplane.NewDepartmentStore(e, clockNow).CreateDepartment(ctxA, other); err != nil {
			t.Fatal(err)
		}
		in := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, Name: "in", DepartmentID: loc.ID})
		out := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, Name: "out", DepartmentID: other.ID})
		if fds, err := fleet.Devices(in); err != nil || len(fds) != 1 {
			t.Fatalf("a member of the device's department: %v, %v", fds, err)
		}
		if fds, err := fleet.Devices(out); err != nil || len(fds) != 0 {
			t.Fatalf("a member of another department sees %v, %v", fds, err)
		}
		_, err = fleet.Latest(out, da.ID)
		wantCode(t, err, qm.ENotFound)
		_, err = fleet.UpdateDevice(out, da.ID, qm.FleetDeviceUpdate{Name: ptr("mine now")})
		wantCode(t, err, qm.ENotFound)
		fds, err := fleet.Devices(ctxA)
		if err != nil || len(fds) != 1 || fds[0].Name != "Van 7" || fds[0].Health.Status != qm.HealthOnline || *fds[0].Health.BatteryPct != 51 {
			t.Fatalf("devices: %+v, %v", fds, err)
		}
		if _, err := fleet.SetSettings(ctxA, qm.FleetSettings{RetentionDays: 30, OfflineMinutes: 1, LowBatteryPct: 60}); err != nil {
			t.Fatal(err)
		}
		sum, err := fleet.Summary(ctxA)
		if err != nil || sum.Devices != 1 || sum.Online != 1 || sum.LowBattery != 1 {
			t.Fatalf("summary: %+v, %v", sum, err)
		}
		_, err = fleet.SetSettings(ctxA, qm.FleetSettings{RetentionDays: 0, OfflineMinutes: 1})
		wantFields(t, err, qm.EInvalid, "retention_days")
	})
	t.Run("OtherTenant", func(t *testing.T) {
		for _, id := range []string{da.ID, da.Ident} {
			_, err := fleet.Device(ctxB, id)
			wantCode(t, err, qm.ENotFound)
			_, err = fleet.Latest(ctxB, id)
			wantCode(t, err, qm.ENotFound)
			_, err = fleet.Points(ctxB, id, qm.PointFilter{})
			wantCode(t, err, qm.ENotFound)
			_, err = fleet.UpdateDevice(ctxB, id, qm.FleetDeviceUpdate{Name: ptr("hijacked")})
			wantCode(t, err, qm.ENotFound)
			_, err = fleet.Trips(ctxB, id, start, now)
			wantCode(t, err, qm.ENotFound)
			_, err = fleet.Aggregate(ctxB, id, "battery_pct", start, now, time.Hour)
			wantCode(t, err, qm.ENotFound)
		}
		fds, err := fleet.Devices(ctxB)
		if err != nil || len(fds) != 1 || fds[0].ID != db.ID || fds[0].Health.Status != qm.HealthNeverSeen {
			t.Fatalf("B's devices: %+v, %v", fds, err)
		}
		if s, _ := fleet.Settings(ctxB); *s != qm.DefaultFleetSettings {
			t.Fatalf("B's settings changed with A's: %+v", s)
		}
	})
	t.Run("TwoNodes", func(t *testing.T) {
		// Two writers (two nodes) take turns on one device: each one's
		// remembered state goes stale, and neither may lose the other's.
		other := telemetry.NewPointWriter(e, clockNow, 0)
		defer other.Close()
		dev := mustAssignedDevice(t, e, ta, "fleet-a-2")
		for i := range 6 {
			wr := w
			if i%2 == 1 {
				wr = other
			}
			p := qm.Point{Time: start.Add(time.Duration(i) * time.Second), Metrics: map[string]qm.Metric{fmt.Sprintf("m%d", i): qm.NumberMetric(float64(i))}}
			if _, err := wr.Write(ctxA, dev.ID, []qm.Point{p}); err != nil {
				t.Fatal(err)
			}
		}
		st, err := fleet.Latest(ctxA, dev.ID)
		if err != nil || st.Points != 6 || len(st.Metrics) != 6 {
			t.Fatalf("after two writers: %+v, %v; want 6 points and 6 metrics", st, err)
		}
	})
	t.Run("OneTransaction", func(t *testing.T) {
		// Requests that share a transaction, some sending points again
		// (a device that did not hear back in time): each point is stored
		// once and counted to the first request that holds it.
		x, y := mustAssignedDevice(t, e, ta, "fleet-a-3"), mustAssignedDevice(t, e, ta, "fleet-a-4")
		day := start.Add(-48 * time.Hour)
		if n, err := w.Write(ctxA, x.ID, track(day, 2)); err != nil || n != 2 {
			t.Fatalf("first write: %d, %v", n, err)
		}
		batches := []telemetry.DevicePoints{
			{DeviceID: x.ID, Points: track(day, 5)},                           // 2 stored before, 3 new
			{DeviceID: y.ID, Points: track(day, 3)},                           // another device, the same times: 3 new
			{DeviceID: x.ID, Points: track(day.Add(3*time.Minute), 4)},        // 2 resent in this transaction, 2 new
			{DeviceID: x.ID, Points: track(day, 1)},                           // all stored before
			{DeviceID: y.ID, Points: track(day.Add(10*time.Minute), 1)},       // new
			{DeviceID: x.ID, Points: append(track(day, 1), track(day, 1)...)}, // one point twice, stored before
		}
		var added []int
		err := e.UpdateEach(context.Background(), []context.Context{ctxA}, func(scope context.Context, c sqlstore.Conn) (err error) {
			added, err = telemetry.WritePoints(scope, c, batches, now)
			return err
		})
		if want := []int{3, 3, 2, 0, 1, 0}; err != nil || fmt.Sprint(added) != fmt.Sprint(want) {
			t.Fatalf("new points of each batch: got %v, %v; want %v", added, err, want)
		}
		for _, c := range []struct {
			dev   *qm.Device
			count int64
			last  time.Time
		}{{x, 7, day.Add(6 * time.Minute)}, {y, 4, day.Add(10 * time.Minute)}} {
			st, err := fleet.Latest(ctxA, c.dev.ID)
			if err != nil || st.Points != c.count || !st.Time.Equal(c.last) {
				t.Errorf("%s: got %+v, %v; want %d points, the last at %v", c.dev.Ident, st, err, c.count, c.last)
			}
			page, err := fleet.Points(ctxA, c.dev.ID, qm.PointFilter{From: day, To: day.Add(time.Hour), Limit: 100})
			if err != nil || int64(len(page.Points)) != c.count {
				t.Errorf("%s: got %d points stored, %v; want %d", c.dev.Ident, len(page.Points), err, c.count)
			}
		}
	})
	t.Run("ManyDevices", func(t *testing.T) {
		// More devices in one transaction than an engine may put in one
		// statement: each device's state is read and written, none lost
		// between two statements.
		devices := make([]*qm.Device, 120)
		batches := make([]telemetry.DevicePoints, len(devices))
		for i := range devices {
			devices[i] = mustAssignedDevice(t, e, ta, fmt.Sprintf("fleet-many-%d", i))
			batches[i].DeviceID = devices[i].ID
		}
		for round := range 2 {
			for i := range batches {
				batches[i].Points = track(start.Add(time.Duration(round)*time.Minute), 1)
			}
			err := e.UpdateEach(context.Background(), []context.Context{ctxA}, func(scope context.Context, c sqlstore.Conn) error {
				_, err := telemetry.WritePoints(scope, c, batches, now)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range devices {
			if st, err := fleet.Latest(ctxA, d.ID); err != nil || st.Points != 2 || !st.Time.Equal(start.Add(time.Minute)) {
				t.Fatalf("%s: got %+v, %v; want 2 points, the last at %v", d.Ident, st, err, start.Add(time.Minute))
			}
		}
	})
	t.Run("GroupCommit", func(t *testing.T) {
		// Many writers of two tenants at once: every point stored once, in
		// its own tenant.
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			ctx, dev := ctxA, da.ID
			if i%2 == 1 {
				ctx, dev = ctxB, db.ID
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := w.Write(ctx, dev, track(now.Add(time.Duration(i)*time.Hour), 50))
				if err == nil && n != 50 {
					err = fmt.Errorf("writer %d stored %d of 50", i, n)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		a, _ := fleet.Latest(ctxA, da.ID)
		b, _ := fleet.Latest(ctxB, db.ID)
		if a.Points != 41+20*50 || b.Points != 20*50 {
			t.Fatalf("got %d points for A and %d for B, want %d and %d", a.Points, b.Points, 41+20*50, 20*50)
		}
	})
}

// TestRetention checks that old points go, per each tenant's retention, and
// that one node at a time holds a job's lease.
func TestRetention(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "keep-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "keep-b")
	now, clockNow, w, fleet := fleetAtNoon(t, e)
	da, db := mustAssignedDevice(t, e, ta, "keep-a-1"), mustAssignedDevice(t, e, tb, "keep-b-1")
	for _, c := range []struct {
		ctx context.Context
		id  string
	}{{ctxA, da.ID}, {ctxB, db.ID}} {
		// One point a day for 40 days.
		pts := make([]qm.Point, 40)
		for i := range pts {
			pts[i] = qm.Point{Time: now.AddDate(0, 0, -i).Add(-time.Minute), Metrics: map[string]qm.Metric{"n": qm.NumberMetric(float64(i))}}
		}
		if _, err := w.Write(c.ctx, c.id, pts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fleet.SetSettings(ctxA, qm.FleetSettings{RetentionDays: 7, OfflineMinutes: 10, LowBatteryPct: 20}); err != nil {
		t.Fatal(err)
	}
	// A rule, defined two months ago, held for A's points of 35 to 39 days
	// ago: its alarm cleared 34 days ago, past A's retention.
	alarms := alerts.NewAlarmStore(e, clockNow)
	mustRule(t, alerts.NewRuleStore(e, fleet, func() time.Time { return now.AddDate(0, -2, 0) }), ctxA, qm.RuleDefinition{Name: "Old", Kind: qm.RuleMetric,
		Severity: qm.SeverityInfo, Enabled: true, Condition: &qm.Comparison{Metric: "n", Op: ">=", Value: qm.NumberMetric(35)}})
	if evs, err := alarms.EvaluateDevice(ctxA, da.ID); err != nil || len(evs) != 2 {
		t.Fatalf("evaluate: %d events, %v; want a raise and a clear", len(evs), err)
	}
	r := &telemetry.Retention{Tenants: e.Tenants(), Router: e, Holder: "node-1", Now: clockNow}
	n, err := r.RunOnce(context.Background())
	if err != nil || n != 40-7 {
		t.Fatalf("deleted %d, %v; want %d (B keeps 90 days)", n, err, 40-7)
	}
	if as, err := alarms.Alarms(ctxA, qm.AlarmFilter{}); err != nil || len(as) != 0 {
		t.Fatalf("alarms kept: %+v, %v; want the one cleared 34 days ago gone", as, err)
	}
	if evs, err := alarms.AlarmEvents(ctxA, "", 0); err != nil || len(evs) != 0 {
		t.Fatalf("events kept: %d, %v; want none", len(evs), err)
	}
	for _, c := range []struct {
		ctx  context.Context
		id   string
		want int
	}{{ctxA, da.ID, 7}, {ctxB, db.ID, 40}} {
		page, err := fleet.Points(c.ctx, c.id, qm.PointFilter{Limit: 100})
		if err != nil || len(page.Points) != c.want {
			t.Fatalf("kept %d points, %v; want %d", len(page.Points), err, c.want)
		}
	}
	t.Run("PlanShortensIt", func(t *testing.T) {
		// B's setting keeps 90 days; its plan, changed since, keeps 20,
		// and no setting may ask for more.
		var short qm.LimitSet
		short.Set("max_retention_days", "20")
		if _, err := catalog.NewPlanStore(e.Tenants()).SetTenantOverrides(context.Background(), tb.Slug, short, nil); err != nil {
			t.Fatal(err)
		}
		n, err := r.RunOnce(context.Background())
		if err != nil || n != 40-20 {
			t.Fatalf("deleted %d, %v; want %d of B's", n, err, 40-20)
		}
		b, _ := e.Tenants().Tenant(context.Background(), tb.Slug)
		ctxB := tenancy.WithTenant(context.Background(), b)
		_, err = fleet.SetSettings(ctxB, qm.FleetSettings{RetentionDays: 21, OfflineMinutes: 10, LowBatteryPct: 20})
		wantCode(t, err, qm.ELimitReached)
		if _, err := fleet.SetSettings(ctxB, qm.FleetSettings{RetentionDays: 20, OfflineMinutes: 10, LowBatteryPct: 20}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Nodes", func(t *testing.T) {
		ctx := context.Background()
		for _, node := range []string{"node-a", "node-b", "node-a"} {
			if err := e.Tenants().Heartbeat(ctx, node); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := e.Tenants().LiveNodes(ctx, time.Hour); err != nil || n != 2 {
			t.Fatalf("live nodes: %d, %v; want 2", n, err)
		}
		if n, err := e.Tenants().LiveNodes(ctx, -time.Hour); err != nil || n != 0 {
			t.Fatalf("nodes alive an hour from now: %d, %v; want 0", n, err)
		}
		if names, err := e.Tenants().SilentNodes(ctx, time.Hour); err != nil || len(names) != 0 {
			t.Fatalf("nodes silent for an hour: %q, %v; want none", names, err)
		}
		if names, err := e.Tenants().SilentNodes(ctx, -time.Hour); err != nil || !slices.Equal(names, []string{"node-a", "node-b"}) {
			t.Fatalf("nodes silent an hour from now: %q, %v; want node-a and node-b", names, err)
		}
	})
	t.Run("Lease", func(t *testing.T) {
		for _, c := range []struct {
			holder string
			want   bool
		}{{"node-1", true}, {"node-2", false}, {"node-1", true}} {
			if ok, err := e.Tenants().TakeLease(context.Background(), "test-job", c.holder, time.Hour); err != nil || ok != c.want {
				t.Fatalf("%s takes the lease: %v, %v; want %v", c.holder, ok, err, c.want)
			}
		}
	})
}

// TestFleetTransfer checks that a tenant keeps reading the history it owns
// of a device it gave up (moved to another tenant, or unassigned), read-
// only and within its members' department scope; that the tenant that
// receives the device sees only its own points; and that a third tenant
// sees nothing of it.
func TestFleetTransfer(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "move-a")
	tb, ctxB := MustTenant(t, e, h.Tier, "move-b")
	_, ctxC := MustTenant(t, e, h.Tier, "move-c")
	now, clockNow, w, fleet := fleetAtNoon(t, e)
	d := mustAssignedDevice(t, e, ta, "move-1")
	start := now.Add(-3 * time.Hour)
	depts := dataplane.NewDepartmentStore(e, clockNow)
	logistics, sales := &qm.Department{Name: "Logistics"}, &qm.Department{Name: "Sales"}
	for _, dep := range []*qm.Department{logistics, sales} {
		if err := depts.CreateDepartment(ctxA, dep); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fleet.UpdateDevice(ctxA, d.ID, qm.FleetDeviceUpdate{Name: ptr("Van 7"), DepartmentID: ptr(logistics.ID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctxA, d.ID, track(start, 30)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Devices().AssignDevice(context.Background(), d.ID, tb); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(ctxB, d.ID, track(start.Add(2*time.Hour), 10)); err != nil {
		t.Fatal(err)
	}
	countPoints := func(t *testing.T, ctx context.Context) int {
		t.Helper()
		page, err := fleet.Points(ctx, d.Ident, qm.PointFilter{Limit: 1000})
		if err != nil {
			t.Fatalf("points: %v", err)
		}
		return len(page.Points)
	}
	// mustTransferred checks that ctx's tenant lists the device as one it
	// gave up, knowing nothing of who holds it now.
	mustTransferred := func(t *testing.T, ctx context.Context) *qm.FleetDevice {
		t.Helper()
		fds, err := fleet.Devices(ctx)
		if err != nil || len(fds) != 1 {
			t.Fatalf("devices: %+v, %v; want the one it gave up", fds, err)
		}
		fd := fds[0]
		if fd.ID != d.ID || fd.Custody != qm.CustodyTransferred || fd.HeldUntil == nil || fd.TenantID != "" || fd.AssignedAt != nil ||
			fd.Health.Status != qm.HealthTransferred {
			t.Fatalf("got %+v (custody %q, health %+v), want it transferred, without its holder", fd.Device, fd.Custody, fd.Health)
		}
		return fd
	}

	t.Run("OldTenantReads", func(t *testing.T) {
		fd := mustTransferred(t, ctxA)
		if fd.Name != "Van 7" || fd.DepartmentID != logistics.ID || fd.State == nil || fd.State.Points != 30 {
			t.Fatalf("A's details and state of the device: %+v, state %+v", fd, fd.State)
		}
		if got, err := fleet.Device(ctxA, d.Ident); err != nil || got.Custody != qm.CustodyTransferred {
			t.Fatalf("device: %+v, %v", got, err)
		}
		if n := countPoints(t, ctxA); n != 30 {
			t.Fatalf("A reads %d points, want its own 30", n)
		}
		st, err := fleet.Latest(ctxA, d.ID)
		if err != nil || st.Points != 30 || !st.Time.Equal(start.Add(29*time.Minute)) {
			t.Fatalf("latest: %+v, %v", st, err)
		}
		trips, err := fleet.Trips(ctxA, d.ID, start, now)
		if err != nil || len(trips) != 1 || trips[0].Points != 30 {
			t.Fatalf("trips: %+v, %v", trips, err)
		}
		buckets, err := fleet.Aggregate(ctxA, d.ID, "battery_pct", start, now, time.Hour)
		if err != nil || len(buckets) != 1 || buckets[0].Count != 30 {
			t.Fatalf("aggregate: %+v, %v", buckets, err)
		}
		if sum, err := fleet.Summary(ctxA); err != nil || sum.Devices != 0 {
			t.Fatalf("summary counts a device A gave up: %+v, %v", sum, err)
		}
	})
	t.Run("OldTenantCannotChange", func(t *testing.T) {
		_, err := fleet.UpdateDevice(ctxA, d.ID, qm.FleetDeviceUpdate{Name: ptr("still mine")})
		wantCode(t, err, qm.EConflict)
		if fd, _ := fleet.Device(ctxA, d.ID); fd.Name != "Van 7" {
			t.Fatalf("a refused change renamed the device: %q", fd.Name)
		}
	})
	t.Run("DepartmentScope", func(t *testing.T) {
		in := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, Name: "in", DepartmentID: logistics.ID})
		out := tenancy.WithPrincipal(ctxA, &qm.Principal{Kind: qm.PrincipalUser, Name: "out", DepartmentID: sales.ID})
		if n := countPoints(t, in); n != 30 {
			t.Fatalf("a member of the device's department reads %d points", n)
		}
		if fds, err := fleet.Devices(out); err != nil || len(fds) != 0 {
			t.Fatalf("a member of another department lists %+v, %v", fds, err)
		}
		_, err := fleet.Points(out, d.ID, qm.PointFilter{})
		wantCode(t, err, qm.ENotFound)
		_, err = fleet.UpdateDevice(out, d.ID, qm.FleetDeviceUpdate{Name: ptr("x")})
		wantCode(t, err, qm.ENotFound)
	})
	t.Run("NewTenantSeesItsOwn", func(t *testing.T) {
		fds, err := fleet.Devices(ctxB)
		if err != nil || len(fds) != 1 || fds[0].Custody != qm.CustodyHeld || fds[0].TenantID != tb.ID || fds[0].Name != "" || fds[0].DepartmentID != "" {
			t.Fatalf("B's devices: %+v, %v", fds, err)
		}
		if n := countPoints(t, ctxB); n != 10 {
			t.Fatalf("B reads %d points, want its own 10", n)
		}
		if st, err := fleet.Latest(ctxB, d.ID); err != nil || st.Points != 10 {
			t.Fatalf("B's latest: %+v, %v", st, err)
		}
		if _, err := fleet.UpdateDevice(ctxB, d.ID, qm.FleetDeviceUpdate{Name: ptr("B's van")}); err != nil {
			t.Fatal(err)
		}
		if fd, _ := fleet.Device(ctxA, d.ID); fd.Name != "Van 7" {
			t.Fatalf("B's change reached A's details: %q", fd.Name)
		}
	})
	t.Run("OtherTenantSeesNothing", func(t *testing.T) {
		if fds, err := fleet.Devices(ctxC); err != nil || len(fds) != 0 {
			t.Fatalf("C's devices: %+v, %v", fds, err)
		}
		for _, id := range []string{d.ID, d.Ident} {
			_, err := fleet.Device(ctxC, id)
			wantCode(t, err, qm.ENotFound)
			_, err = fleet.Points(ctxC, id, qm.PointFilter{})
			wantCode(t, err, qm.ENotFound)
			_, err = fleet.Latest(ctxC, id)
			wantCode(t, err, qm.ENotFound)
		}
	})
	t.Run("UnassignAndReturn", func(t *testing.T) {
		heldUntil := *mustTransferred(t, ctxA).HeldUntil
		if _, err := e.Devices().UnassignDevice(context.Background(), d.ID); err != nil {
			t.Fatal(err)
		}
		mustTransferred(t, ctxB)
		if n := countPoints(t, ctxB); n != 10 {
			t.Fatalf("after unassign B reads %d points", n)
		}
		if got := *mustTransferred(t, ctxA).HeldUntil; !got.Equal(heldUntil) {
			t.Fatalf("A's held_until moved from %v to %v", heldUntil, got)
		}
		// Back to A: A holds it again, with all of its history.
		if _, _, err := e.Devices().AssignDevice(context.Background(), d.ID, ta); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(ctxA, d.ID, track(now.Add(-time.Minute), 1)); err != nil {
			t.Fatal(err)
		}
		fds, err := fleet.Devices(ctxA)
		if err != nil || len(fds) != 1 || fds[0].Custody != qm.CustodyHeld || fds[0].HeldUntil != nil || fds[0].TenantID != ta.ID {
			t.Fatalf("A's devices after the return: %+v, %v", fds, err)
		}
		if n := countPoints(t, ctxA); n != 31 {
			t.Fatalf("A reads %d points after the return, want 31", n)
		}
		mustTransferred(t, ctxB)
	})
}

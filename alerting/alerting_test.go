package alerting_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/alerting"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// world is what the tests evaluate in: SQLite with tenant acme, which
// holds one device.
type world struct {
	db    *sqlite.DB
	tn    *qm.Tenant
	scope context.Context // scoped to acme
	d     *qm.Device
}

func newWorld(t testing.TB) world {
	t.Helper()
	db, err := sqlite.Open(sqlite.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	if err := db.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	tn, err := db.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "acme", Name: "Acme", Tier: qm.TierPool})
	if err != nil {
		t.Fatal(err)
	}
	d := &qm.Device{Ident: "truck-1"}
	if _, err := db.Devices().RegisterDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Devices().AssignDevice(ctx, d.ID, tn); err != nil {
		t.Fatal(err)
	}
	return world{db: db, tn: tn, scope: tenancy.WithTenant(ctx, tn), d: d}
}

// raisedEvent is what an evaluation told.
type raisedEvent struct {
	tenantID string
	events   []*qm.AlarmEvent
}

// TestEvaluatorAfterCommit: points committed through the writer are
// evaluated in the background, and their alarm's event is told, with the
// tenant it belongs to.
func TestEvaluatorAfterCommit(t *testing.T) {
	w0 := newWorld(t)
	db, tn, scope, d, ctx := w0.db, w0.tn, w0.scope, w0.d, t.Context()
	start := time.Now().UTC().Truncate(time.Second)
	fleet := telemetry.NewFleetStore(db, db.Devices(), time.Now)
	rules := alerts.NewRuleStore(db, fleet, func() time.Time { return start.Add(-time.Hour) })
	if _, err := rules.CreateRule(scope, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityWarning, SpeedKMH: 90, Enabled: true}); err != nil {
		t.Fatal(err)
	}

	told := make(chan raisedEvent, 10)
	ev := alerting.New(alerts.NewAlarmStore(db, time.Now), db.Tenants(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(tenantID string, events []*qm.AlarmEvent) { told <- raisedEvent{tenantID, events} })
	w := telemetry.NewPointWriter(db, time.Now, 0)
	t.Cleanup(w.Close)
	w.Notify(ev)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ev.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	speed := func(s int, kmh float64) qm.Point {
		return qm.Point{Time: start.Add(time.Duration(s) * time.Second), Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &kmh}}
	}
	if _, err := w.Write(scope, d.ID, []qm.Point{speed(0, 50), speed(1, 120)}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-told:
		if got.tenantID != tn.ID || len(got.events) != 1 || got.events[0].Kind != "raised" || got.events[0].RuleName != "Speeding" ||
			got.events[0].SubjectID != d.ID || !got.events[0].At.Equal(start.Add(time.Second)) {
			t.Fatalf("told %+v", got)
		}
	case <-poll.After(t):
		t.Fatal("gave up waiting for the alarm to be raised")
	}
	if _, err := w.Write(scope, d.ID, []qm.Point{speed(2, 40)}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-told:
		if len(got.events) != 1 || got.events[0].Kind != "cleared" {
			t.Fatalf("told %+v", got)
		}
	case <-poll.After(t):
		t.Fatal("gave up waiting for the alarm to clear")
	}
}

// countingAlarms counts evaluations per device and says when they begin.
type countingAlarms struct {
	began chan string
	gate  chan struct{}
	count map[string]int
}

func (c *countingAlarms) EvaluateDevice(ctx context.Context, deviceID string) ([]*qm.AlarmEvent, error) {
	c.count[deviceID]++
	c.began <- deviceID
	<-c.gate
	return nil, nil
}

func (c *countingAlarms) Behind(context.Context) ([]string, error) { return nil, nil }

type oneTenant struct{ t *qm.Tenant }

func (o oneTenant) TenantByID(context.Context, string) (*qm.Tenant, error) { return o.t, nil }

// TestEvaluatorCoalesces: news of a device that waits its turn is merged,
// so a device reporting often is evaluated once per turn, and devices are
// taken in the order their news came.
func TestEvaluatorCoalesces(t *testing.T) {
	alarms := &countingAlarms{began: make(chan string), gate: make(chan struct{}), count: map[string]int{}}
	ev := alerting.New(alarms, oneTenant{&qm.Tenant{ID: "t", Slug: "t"}}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ev.Run(ctx) }()

	ev.PointsCommitted("t", []string{"a"})
	if got := <-alarms.began; got != "a" { // a is being evaluated, and waits at the gate
		t.Fatalf("first: %s", got)
	}
	for range 5 {
		ev.PointsCommitted("t", []string{"b", "a"})
	}
	alarms.gate <- struct{}{}
	for _, want := range []string{"b", "a"} {
		if got := <-alarms.began; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
		alarms.gate <- struct{}{}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if alarms.count["a"] != 2 || alarms.count["b"] != 1 {
		t.Fatalf("evaluations %v: want a twice (before and after its news), b once", alarms.count)
	}
}

// TestEvaluatorCatchesUp: points a node committed and did not evaluate
// before it stopped are evaluated when an evaluator starts.
func TestEvaluatorCatchesUp(t *testing.T) {
	w0 := newWorld(t)
	db, scope, d, ctx := w0.db, w0.scope, w0.d, t.Context()
	start := time.Now().UTC()
	rules := alerts.NewRuleStore(db, telemetry.NewFleetStore(db, db.Devices(), time.Now), func() time.Time { return start.Add(-time.Hour) })
	if _, err := rules.CreateRule(scope, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityWarning, SpeedKMH: 90, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	// The writer of a node that stops before its evaluator hears of it.
	w := telemetry.NewPointWriter(db, time.Now, 0)
	kmh := 120.0
	if _, err := w.Write(scope, d.ID, []qm.Point{{Time: start, Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &kmh}}}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	told := make(chan raisedEvent, 1)
	ev := alerting.New(alerts.NewAlarmStore(db, time.Now), db.Tenants(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		func(tenantID string, events []*qm.AlarmEvent) { told <- raisedEvent{tenantID, events} })
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- ev.Run(runCtx) }()
	defer func() { stop(); <-done }()
	select {
	case got := <-told:
		if len(got.events) != 1 || got.events[0].Kind != "raised" || got.events[0].SubjectID != d.ID {
			t.Fatalf("told %+v", got)
		}
	case <-poll.After(t):
		t.Fatal("gave up waiting for the missed point's alarm")
	}
	if behind, err := alerts.NewAlarmStore(db, time.Now).Behind(scope); err != nil || len(behind) != 0 {
		t.Fatalf("behind after catching up: %v, %v", behind, err)
	}
}

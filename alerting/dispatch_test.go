package alerting_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/alerting"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/internal/smtptest"
	qmmail "github.com/quartermaster/qm/mail"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/webhook"
)

// receiver is a tenant's webhook endpoint: it verifies each delivery's
// signature, keeps the payloads, and fails the first delivery of each
// event kind listed in failFirst.
type receiver struct {
	t      *testing.T
	secret []byte

	mu        sync.Mutex
	failFirst map[string]bool
	got       []alerting.Payload
	refused   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := webhook.Verify(rc.secret, r.Header.Get(webhook.HeaderSignature), body, time.Now(), 0); err != nil {
		rc.t.Errorf("a delivery with a bad signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p alerting.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.ID != r.Header.Get(webhook.HeaderEvent) {
		rc.t.Errorf("payload %s (%v), event header %q", body, err, r.Header.Get(webhook.HeaderEvent))
	}
	if rc.failFirst[p.Event.Kind] {
		rc.failFirst[p.Event.Kind] = false
		rc.refused++
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	rc.got = append(rc.got, p)
}

func (rc *receiver) payloads() []alerting.Payload {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]alerting.Payload(nil), rc.got...)
}

// TestDispatch: an alarm's events reach the rule's webhook, signed, once
// each (a refused delivery is retried with the same event id), and its
// e-mail channel, through a real SMTP server; the delivery log says so.
func TestDispatch(t *testing.T) {
	w0 := newWorld(t)
	db, scope, d, ctx := w0.db, w0.scope, w0.d, t.Context()

	rc := &receiver{t: t, failFirst: map[string]bool{"cleared": true}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	be := &smtptest.Backend{}
	port := smtptest.Start(t, be, smtptest.Options{})
	smtp, err := qmmail.ParseURL("smtp://127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}

	// The receiver listens on loopback: this server's operator allows it.
	channels := alerts.NewChannelStore(db, func(ctx context.Context, u string) error { return webhook.CheckTarget(ctx, u, true) }, time.Now)
	hook, secret, err := channels.CreateChannel(scope, qm.ChannelDefinition{Name: "Dispatch desk", Kind: qm.ChannelWebhook, Enabled: true, URL: srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	rc.secret = []byte(secret)
	inbox, _, err := channels.CreateChannel(scope, qm.ChannelDefinition{Name: "Fleet manager", Kind: qm.ChannelEmail, Enabled: true, Emails: []string{"fleet@acme.example"}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC().Truncate(time.Second)
	fleet := telemetry.NewFleetStore(db, db.Devices(), time.Now)
	truck := "Truck 1"
	if _, err := fleet.UpdateDevice(scope, d.ID, qm.FleetDeviceUpdate{Name: &truck}); err != nil {
		t.Fatal(err)
	}
	rules := alerts.NewRuleStore(db, fleet, func() time.Time { return start.Add(-time.Hour) })
	if _, err := rules.CreateRule(scope, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityMajor, SpeedKMH: 90, Enabled: true,
		ChannelIDs: []string{hook.ID, inbox.ID}}); err != nil {
		t.Fatal(err)
	}

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dispatcher := alerting.NewDispatcher(alerting.DispatchConfig{
		Outbox: alerts.NewOutboxStore(db), Tenants: db.Tenants(), Lease: db.Tenants().TakeLease, Holder: "test",
		Webhooks: webhook.NewClient(webhook.Options{AllowPrivate: true}), Mail: &qmmail.Sender{Config: smtp}, From: "alerts@qm.example",
		Backoff: func(int, string) time.Duration { return 0 }, Now: time.Now, Log: quiet,
	})
	evaluator := alerting.New(alerts.NewAlarmStore(db, time.Now), db.Tenants(), quiet, dispatcher.Raised)
	w := telemetry.NewPointWriter(db, time.Now, 0)
	t.Cleanup(w.Close)
	w.Notify(evaluator)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, run := range []func(context.Context) error{evaluator.Run, dispatcher.Run} {
		wg.Go(func() {
			if err := run(runCtx); err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	speed := func(s int, kmh float64) qm.Point {
		return qm.Point{Time: start.Add(time.Duration(s) * time.Second), Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &kmh}}
	}
	if _, err := w.Write(scope, d.ID, []qm.Point{speed(0, 120), speed(1, 40)}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the webhook has the raise and the clear", func() (bool, error) { return len(rc.payloads()) == 2, nil })
	got := rc.payloads()
	if got[0].Type != "alarm.raised" || got[1].Type != "alarm.cleared" || got[0].Tenant != "acme" || got[0].Event.SubjectID != d.ID ||
		got[0].Event.SubjectName != "Truck 1" || got[0].Event.RuleName != "Speeding" || got[0].Event.AlarmID != got[1].Event.AlarmID {
		t.Fatalf("webhook payloads %+v", got)
	}
	poll.Until(t, "the mail has both", func() (bool, error) { return len(be.Delivered()) == 2, nil })
	for _, m := range be.Delivered() {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatal(err)
		}
		subject := msg.Header.Get("Subject")
		if m.From != "alerts@qm.example" || len(m.To) != 1 || m.To[0] != "fleet@acme.example" || !strings.Contains(subject, "Speeding, Truck 1") || !strings.HasPrefix(subject, "[acme] major") {
			t.Fatalf("mail from %s to %v, subject %q", m.From, m.To, subject)
		}
	}

	// The refused clear was tried again: the log holds the 503, then the
	// 200, for the same event; nothing more waits. The dispatcher logs an
	// attempt once the webhook has answered it.
	var log []*qm.DeliveryAttempt
	poll.Until(t, "the delivery log has every attempt", func() (bool, error) {
		var err error
		log, err = channels.Deliveries(scope, hook.ID, 0)
		return len(log) >= 3, err
	})
	statuses := map[string][]int{}
	for i := len(log) - 1; i >= 0; i-- {
		statuses[log[i].EventID] = append(statuses[log[i].EventID], log[i].Status)
	}
	if len(log) != 3 || len(statuses[got[1].ID]) != 2 || statuses[got[1].ID][0] != 503 || statuses[got[1].ID][1] != 200 || rc.refused != 1 {
		t.Fatalf("delivery log %+v: want the raise's 200, and the clear's 503 then 200", log)
	}
	poll.Until(t, "the outbox is empty", func() (bool, error) {
		_, waiting, err := alerts.NewOutboxStore(db).Pending(scope)
		return !waiting, err
	})
	if ch, err := channels.Channel(scope, hook.ID); err != nil || ch.FailingSince != nil {
		t.Fatalf("the webhook, delivered to last: %+v, %v; want it not failing", ch, err)
	}
}

// TestDispatchQuietHours: in its rule's quiet hours, read in the tenant's
// time zone, a notification waits for their end, unsent.
func TestDispatchQuietHours(t *testing.T) {
	w0 := newWorld(t)
	db, scope, d := w0.db, w0.scope, w0.d
	// 22:30 in Berlin.
	now := time.Date(2026, 11, 28, 21, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	if _, err := dataplane.NewSettingsStore(db, clock).SetSettings(scope, qm.GeneralSettings{TimeZone: "Europe/Berlin"}); err != nil {
		t.Fatal(err)
	}
	rc := &receiver{t: t, failFirst: map[string]bool{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	channels := alerts.NewChannelStore(db, func(ctx context.Context, u string) error { return webhook.CheckTarget(ctx, u, true) }, clock)
	hook, secret, err := channels.CreateChannel(scope, qm.ChannelDefinition{Name: "Night desk", Kind: qm.ChannelWebhook, Enabled: true, URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rc.secret = []byte(secret)
	rules := alerts.NewRuleStore(db, telemetry.NewFleetStore(db, db.Devices(), clock), func() time.Time { return now.Add(-time.Hour) })
	if _, err := rules.CreateRule(scope, qm.RuleDefinition{Name: "Flat", Kind: qm.RuleBattery, Severity: qm.SeverityMinor, BatteryPct: 20, Enabled: true,
		ChannelIDs: []string{hook.ID}, QuietHours: &qm.QuietHours{From: "22:00", To: "07:00"}}); err != nil {
		t.Fatal(err)
	}
	w := telemetry.NewPointWriter(db, clock, 0)
	t.Cleanup(w.Close)
	if _, err := w.Write(scope, d.ID, []qm.Point{{Time: now.Add(-time.Minute), Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(3)}}}); err != nil {
		t.Fatal(err)
	}
	if evs, err := alerts.NewAlarmStore(db, clock).EvaluateDevice(scope, d.ID); err != nil || len(evs) != 1 {
		t.Fatalf("evaluate: %+v, %v", evs, err)
	}
	outbox := alerts.NewOutboxStore(db)
	dispatcher := alerting.NewDispatcher(alerting.DispatchConfig{
		Outbox: outbox, Tenants: db.Tenants(), Lease: db.Tenants().TakeLease, Holder: "test",
		Webhooks: webhook.NewClient(webhook.Options{AllowPrivate: true}), Now: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- dispatcher.Run(runCtx) }()
	defer func() { stop(); <-done }()
	dispatcher.Poke(w0.tn.ID)
	morning := time.Date(2026, 11, 29, 6, 0, 0, 0, time.UTC) // 07:00 in Berlin
	poll.Until(t, "the notification waits for 07:00 in Berlin", func() (bool, error) {
		at, ok, err := outbox.Pending(scope)
		return ok && at.Equal(morning), err
	})
	if got := rc.payloads(); len(got) != 0 {
		t.Fatalf("sent in the quiet hours: %+v", got)
	}
}

// TestDispatchTurnsOff: a webhook failing for a day is turned off, once,
// whatever else waits for it, and the tenant's members who manage its
// settings (an admin, a custom role with settings:manage; not a viewer,
// nor a disabled admin) are told by e-mail, through a real SMTP server.
func TestDispatchTurnsOff(t *testing.T) {
	w0 := newWorld(t)
	db, scope, d := w0.db, w0.scope, w0.d
	start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	now := start
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	roles := dataplane.NewRoleStore(db.Identity(), db, clock)
	if err := roles.CreateRole(scope, qm.Role{Name: "desk", Permissions: []qm.Permission{qm.PermDevicesRead, qm.PermSettingsManage}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		email, role string
		disabled    bool
	}{{"boss@acme.example", "admin", false}, {"desk@acme.example", "desk", false}, {"eve@acme.example", "viewer", false}, {"gone@acme.example", "admin", true}} {
		u := &qm.User{Email: m.email, Name: m.email, Disabled: m.disabled}
		if err := db.Identity().CreateUser(scope, u, "h", start); err != nil {
			t.Fatal(err)
		}
		if err := db.Identity().SetMembership(scope, &qm.Membership{TenantID: w0.tn.ID, UserID: u.ID, Role: m.role}, start); err != nil {
			t.Fatal(err)
		}
	}
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	channels := alerts.NewChannelStore(db, func(ctx context.Context, u string) error { return webhook.CheckTarget(ctx, u, true) }, clock)
	hook, _, err := channels.CreateChannel(scope, qm.ChannelDefinition{Name: "Desk hook", Kind: qm.ChannelWebhook, Enabled: true, URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	rules := alerts.NewRuleStore(db, telemetry.NewFleetStore(db, db.Devices(), clock), func() time.Time { return start.Add(-time.Hour) })
	if _, err := rules.CreateRule(scope, qm.RuleDefinition{Name: "Flat", Kind: qm.RuleBattery, Severity: qm.SeverityMinor, BatteryPct: 20, Enabled: true,
		ChannelIDs: []string{hook.ID}}); err != nil {
		t.Fatal(err)
	}
	w := telemetry.NewPointWriter(db, clock, 0)
	t.Cleanup(w.Close)
	battery := func(at time.Time, pct float64) {
		t.Helper()
		if _, err := w.Write(scope, d.ID, []qm.Point{{Time: at, Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(pct)}}}); err != nil {
			t.Fatal(err)
		}
		if evs, err := alerts.NewAlarmStore(db, clock).EvaluateDevice(scope, d.ID); err != nil || len(evs) != 1 {
			t.Fatalf("evaluate: %+v, %v", evs, err)
		}
	}
	battery(start.Add(-time.Minute), 3)
	be := &smtptest.Backend{}
	smtp, err := qmmail.ParseURL("smtp://127.0.0.1:" + strconv.Itoa(smtptest.Start(t, be, smtptest.Options{})))
	if err != nil {
		t.Fatal(err)
	}
	dispatcher := alerting.NewDispatcher(alerting.DispatchConfig{
		Outbox: alerts.NewOutboxStore(db), Tenants: db.Tenants(), Lease: db.Tenants().TakeLease, Holder: "test",
		Webhooks: webhook.NewClient(webhook.Options{AllowPrivate: true, Now: clock}), Mail: &qmmail.Sender{Config: smtp}, From: "alerts@qm.example",
		Managers: alerting.SettingsManagers(dataplane.NewMemberStore(db.Identity(), db, clock), roles),
		Backoff:  func(int, string) time.Duration { return time.Hour }, Now: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- dispatcher.Run(runCtx) }()
	defer func() { stop(); <-done }()
	dispatcher.Poke(w0.tn.ID)
	poll.Until(t, "the first delivery fails", func() (bool, error) {
		ch, err := channels.Channel(scope, hook.ID)
		return err == nil && ch.FailingSince != nil, err
	})

	// A day on, the battery is charged: the raise's retry and the clear
	// wait for the channel; the first to fail turns it off.
	mu.Lock()
	now = start.Add(25 * time.Hour)
	mu.Unlock()
	battery(now.Add(-time.Minute), 90)
	dispatcher.Poke(w0.tn.ID)
	poll.Until(t, "the managers are told", func() (bool, error) { return len(be.Delivered()) > 0, nil })
	ch, err := channels.Channel(scope, hook.ID)
	if err != nil || ch.Enabled || !strings.Contains(ch.DisabledReason, "500") {
		t.Fatalf("the channel: %+v, %v; want it off, saying why", ch, err)
	}
	ms := be.Delivered()
	to := append([]string(nil), ms[0].To...)
	slices.Sort(to)
	if len(ms) != 1 || !slices.Equal(to, []string{"boss@acme.example", "desk@acme.example"}) || !strings.Contains(string(ms[0].Data), "Desk hook") {
		t.Fatalf("%d mails, the first to %v:\n%s", len(ms), to, ms[0].Data)
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("%d deliveries tried; want 2, the raise's and its retry, none to the channel once off", n)
	}
	if log, err := dataplane.NewAuditStore(db).AuditLog(scope, qm.AuditFilter{Action: "channel.disable"}); err != nil || len(log) != 1 {
		t.Fatalf("audit of the channel turned off: %+v, %v; want one entry", log, err)
	}
}

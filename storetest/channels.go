package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// TestChannels checks notification channels and the outbox: an alarm's
// event is queued for each enabled channel of its rule, in the transaction
// that made it; the dispatcher's records of each attempt; and a
// different-tenant case for each method.
func TestChannels(t *testing.T, h Harness) {
	e := MustOpen(t, h)
	ta, ctxA := MustTenant(t, e, h.Tier, "chan-a")
	_, ctxB := MustTenant(t, e, h.Tier, "chan-b")
	now, clockNow, w, fleet := fleetAtNoon(t, e)
	da := mustAssignedDevice(t, e, ta, "chan-a-1")
	// The operator's policy, as webhook.CheckURL would say it for private
	// addresses.
	policy := func(_ context.Context, u string) error {
		if strings.Contains(u, "10.0.0.1") {
			return errors.New("the address 10.0.0.1 is private")
		}
		return nil
	}
	s := alerts.NewChannelStore(e, policy, clockNow)
	hook, secret, err := s.CreateChannel(ctxA, qm.ChannelDefinition{Name: "Desk", Kind: qm.ChannelWebhook, Enabled: true, URL: "https://hooks.example.com/a"})
	if err != nil || !strings.HasPrefix(secret, alerts.WebhookSecretPrefix) || hook.ID == "" {
		t.Fatalf("create webhook: %+v, %q, %v", hook, secret, err)
	}
	inbox, none, err := s.CreateChannel(ctxA, qm.ChannelDefinition{Name: "Inbox", Kind: qm.ChannelEmail, Enabled: true, Emails: []string{" Fleet@Acme.example ", "fleet@acme.example"}})
	if err != nil || none != "" || len(inbox.Emails) != 1 || inbox.Emails[0] != "fleet@acme.example" {
		t.Fatalf("create e-mail channel: %+v, %q, %v; want one address, no secret", inbox, none, err)
	}
	for name, bad := range map[string]qm.ChannelDefinition{
		"private url":  {Name: "x", Kind: qm.ChannelWebhook, URL: "http://10.0.0.1/hook"},
		"no url":       {Name: "x", Kind: qm.ChannelWebhook},
		"bad address":  {Name: "x", Kind: qm.ChannelEmail, Emails: []string{"Fleet <fleet@acme.example>"}},
		"unknown kind": {Name: "x", Kind: "pager"},
	} {
		if _, _, err := s.CreateChannel(ctxA, bad); qm.ErrorCode(err) != qm.EInvalid {
			t.Errorf("%s: got %v, want EInvalid", name, err)
		}
	}
	_, _, err = s.CreateChannel(ctxA, qm.ChannelDefinition{Name: "Desk", Kind: qm.ChannelEmail, Emails: []string{"a@b.example"}})
	wantCode(t, err, qm.EConflict)
	_, err = s.ReplaceChannel(ctxA, hook.ID, qm.ChannelDefinition{Name: "Desk", Kind: qm.ChannelEmail, Emails: []string{"a@b.example"}})
	wantCode(t, err, qm.EInvalid)

	t.Run("OtherTenant", func(t *testing.T) {
		_, err := s.Channel(ctxB, hook.ID)
		wantCode(t, err, qm.ENotFound)
		if chs, err := s.Channels(ctxB); err != nil || len(chs) != 0 {
			t.Fatalf("B lists %+v, %v", chs, err)
		}
		_, err = s.ReplaceChannel(ctxB, hook.ID, qm.ChannelDefinition{Name: "Hijacked", Kind: qm.ChannelWebhook, Enabled: true, URL: "https://evil.example.com/"})
		wantCode(t, err, qm.ENotFound)
		wantCode(t, s.DeleteChannel(ctxB, hook.ID), qm.ENotFound)
		_, err = s.Deliveries(ctxB, hook.ID, 0)
		wantCode(t, err, qm.ENotFound)
		// Nor may B's rule send to A's channel.
		rulesB := alerts.NewRuleStore(e, fleet, clock())
		wantCode(t, ruleErr(rulesB.CreateRule(ctxB, qm.RuleDefinition{Name: "x", Kind: qm.RuleOverdue, Severity: qm.SeverityInfo, ChannelIDs: []string{hook.ID}})), qm.EInvalid)
	})

	rules := alerts.NewRuleStore(e, fleet, clock())
	fast := mustRule(t, rules, ctxA, qm.RuleDefinition{Name: "Speeding", Kind: qm.RuleSpeed, Severity: qm.SeverityMajor, SpeedKMH: 90, Enabled: true,
		ChannelIDs: []string{inbox.ID, hook.ID}})
	if got, err := rules.Rule(ctxA, fast.ID); err != nil || len(got.ChannelIDs) != 2 {
		t.Fatalf("the rule's channels: %+v, %v", got, err)
	}
	kmh := 120.0
	if _, err := w.Write(ctxA, da.ID, []qm.Point{{Time: now.Add(-time.Minute), Position: &qm.Position{Lat: 52.5, Lon: 13.4, SpeedKMH: &kmh}}}); err != nil {
		t.Fatal(err)
	}
	evs, err := alerts.NewAlarmStore(e, clockNow).EvaluateDevice(ctxA, da.ID)
	if err != nil || len(evs) != 1 {
		t.Fatalf("evaluate: %+v, %v", evs, err)
	}
	outbox := alerts.NewOutboxStore(e)
	due, err := outbox.DueNotifications(ctxA, now, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due: %+v, %v; want the event for each channel", due, err)
	}
	var toHook *qm.Notification
	for _, n := range due {
		if n.Event.ID != evs[0].ID || n.Event.Kind != "raised" || n.Event.RuleName != "Speeding" || n.Event.SubjectID != da.ID || n.Attempts != 0 {
			t.Fatalf("notification %+v of %+v", n, n.Event)
		}
		if n.Channel.ID == hook.ID {
			toHook = n
		}
	}
	if toHook == nil || toHook.Secret != secret || toHook.Channel.URL != "https://hooks.example.com/a" {
		t.Fatalf("the webhook's notification: %+v; want its URL and secret", toHook)
	}
	if due, err := outbox.DueNotifications(ctxB, now, 10); err != nil || len(due) != 0 {
		t.Fatalf("B's outbox: %+v, %v", due, err)
	}

	// A failure waits for its retry; a success leaves nothing waiting.
	retry := now.Add(time.Minute)
	if err := outbox.Failed(ctxA, toHook, qm.DeliveryAttempt{EventID: toHook.Event.ID, At: now, Status: 503, Error: "503 Service Unavailable"}, retry, false, ""); err != nil {
		t.Fatal(err)
	}
	if due, _ := outbox.DueNotifications(ctxA, now, 10); len(due) != 1 || due[0].Channel.ID != inbox.ID {
		t.Fatalf("due after the webhook failed: %+v; want only the e-mail", due)
	}
	for _, n := range due {
		if n.Channel.ID == inbox.ID {
			if err := outbox.Delivered(ctxA, n, qm.DeliveryAttempt{EventID: n.Event.ID, At: now, Status: 250}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if at, ok, err := outbox.Pending(ctxA); err != nil || !ok || !at.Equal(retry) {
		t.Fatalf("pending: %v, %v, %v; want the webhook's retry at %v", at, ok, err, retry)
	}
	again, _ := outbox.DueNotifications(ctxA, retry, 10)
	if len(again) != 1 || again[0].Attempts != 1 || again[0].Channel.FailingSince == nil {
		t.Fatalf("due at the retry: %+v; want the webhook's, tried once, its channel failing", again)
	}
	// Failing for too long turns the channel off, audited, and stops it.
	if err := outbox.Failed(ctxA, again[0], qm.DeliveryAttempt{EventID: toHook.Event.ID, At: retry, Error: "refused"}, retry.Add(time.Hour), false, "failing for a day"); err != nil {
		t.Fatal(err)
	}
	if ch, err := s.Channel(ctxA, hook.ID); err != nil || ch.Enabled || ch.DisabledReason != "failing for a day" {
		t.Fatalf("the failing webhook: %+v, %v; want it disabled, saying why", ch, err)
	}
	if _, ok, _ := outbox.Pending(ctxA); ok {
		t.Fatal("a disabled channel's notification is still pending")
	}
	log, err := s.Deliveries(ctxA, hook.ID, 0)
	if err != nil || len(log) != 2 || log[0].Error != "refused" || log[1].Status != 503 {
		t.Fatalf("the webhook's delivery log: %+v, %v", log, err)
	}
	// Enabled again, it starts afresh.
	on, err := s.ReplaceChannel(ctxA, hook.ID, qm.ChannelDefinition{Name: "Desk", Kind: qm.ChannelWebhook, Enabled: true, URL: "https://hooks.example.com/a"})
	if err != nil || on.DisabledReason != "" || on.FailingSince != nil {
		t.Fatalf("enabled again: %+v, %v", on, err)
	}

	t.Run("QuietHours", func(t *testing.T) {
		settings := dataplane.NewSettingsStore(e, clockNow)
		if gs, err := settings.Settings(ctxA); err != nil || gs.TimeZone != "UTC" {
			t.Fatalf("default settings: %+v, %v", gs, err)
		}
		_, err := settings.SetSettings(ctxA, qm.GeneralSettings{TimeZone: "Mars/Olympus"})
		wantCode(t, err, qm.EInvalid)
		if _, err := settings.SetSettings(ctxA, qm.GeneralSettings{TimeZone: "Europe/Berlin"}); err != nil {
			t.Fatal(err)
		}
		if gs, err := settings.Settings(ctxB); err != nil || gs.TimeZone != "UTC" {
			t.Fatalf("B's settings: %+v, %v; want its own default", gs, err)
		}
		quiet := mustRule(t, rules, ctxA, qm.RuleDefinition{Name: "Quiet", Kind: qm.RuleBattery, Severity: qm.SeverityMinor, BatteryPct: 20, Enabled: true,
			ChannelIDs: []string{hook.ID}, QuietHours: &qm.QuietHours{From: "22:00", To: "07:00"}})
		if _, err := w.Write(ctxA, da.ID, []qm.Point{{Time: now.Add(time.Second), Metrics: map[string]qm.Metric{"battery_pct": qm.NumberMetric(5)}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := alerts.NewAlarmStore(e, clockNow).EvaluateDevice(ctxA, da.ID); err != nil {
			t.Fatal(err)
		}
		due, err := outbox.DueNotifications(ctxA, now, 10)
		if err != nil {
			t.Fatal(err)
		}
		var n *qm.Notification
		for _, d := range due {
			if d.Event.RuleID == quiet.ID {
				n = d
			}
		}
		if n == nil || n.QuietHours == nil || n.QuietHours.From != "22:00" || n.Location.String() != "Europe/Berlin" {
			t.Fatalf("the quiet rule's notification: %+v", n)
		}
		until := now.Add(19 * time.Hour)
		if err := outbox.Defer(ctxA, n, until); err != nil {
			t.Fatal(err)
		}
		if later, _ := outbox.DueNotifications(ctxA, now, 10); slices.ContainsFunc(later, func(d *qm.Notification) bool { return d.Event.ID == n.Event.ID }) {
			t.Fatal("a deferred notification is still due")
		}
		if then, _ := outbox.DueNotifications(ctxA, until, 10); !slices.ContainsFunc(then, func(d *qm.Notification) bool { return d.Event.ID == n.Event.ID }) {
			t.Fatal("the deferred notification is not due when the quiet hours end")
		}
	})

	// A deleted channel leaves its rules.
	if err := s.DeleteChannel(ctxA, inbox.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := rules.Rule(ctxA, fast.ID); err != nil || len(got.ChannelIDs) != 1 || got.ChannelIDs[0] != hook.ID {
		t.Fatalf("the rule's channels after a delete: %+v, %v", got, err)
	}
}

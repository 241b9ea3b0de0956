package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// TestServeRaisesAlarms: serve evaluates the tenants' rules over the points
// its protocols commit, with no other part asking it to.
func TestServeRaisesAlarms(t *testing.T) {
	dir := t.TempDir()
	flags := []string{"--data-dir", dir}
	mustRun(t, append([]string{"tenant", "create", "--slug", "fleet", "--name", "Fleet"}, flags...)...)
	db, err := sqlite.Open(sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	tn, err := db.Tenants().Tenant(ctx, "fleet")
	if err != nil {
		t.Fatal(err)
	}
	scope := tenancy.WithTenant(ctx, tn)
	// Every simulated report has a battery voltage above zero.
	rule, err := alerts.NewRuleStore(db, telemetry.NewFleetStore(db, db.Devices(), time.Now), time.Now).CreateRule(scope, qm.RuleDefinition{
		Name: "Reporting", Kind: qm.RuleMetric, Severity: qm.SeverityInfo, Enabled: true,
		Condition: &qm.Comparison{Metric: "battery_v", Op: ">", Value: qm.NumberMetric(0)}})
	if err != nil {
		t.Fatal(err)
	}
	addr := mqtttest.FreeAddr(t)
	serveForTest(t, append([]string{"--addr", addr, "--osmand-addr", "", "--mqtt-addr", ""}, flags...), addr)
	mustRun(t, append([]string{"simulate", "--tenant", "fleet", "--devices", "2", "--reports", "1", "--rate", "100", "--server", "http://" + addr}, flags...)...)
	alarms := alerts.NewAlarmStore(db, time.Now)
	poll.Until(t, "both simulated vehicles have the rule's alarm", func() (bool, error) {
		as, err := alarms.Alarms(scope, qm.AlarmFilter{Open: true})
		if err != nil {
			return false, err
		}
		for _, a := range as {
			if a.RuleID != rule.ID || a.SubjectType != "device" {
				t.Fatalf("an alarm of another rule: %+v", a)
			}
		}
		return len(as) == 2, nil
	})
}

// TestServeMailFlags: a mail server or sender that cannot be used stops
// serve at once, saying which flag is wrong.
func TestServeMailFlags(t *testing.T) {
	flags := []string{"--data-dir", t.TempDir(), "--addr", mqtttest.FreeAddr(t), "--osmand-addr", "", "--mqtt-addr", ""}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-url", "ftp://mail.example.com"}, "--smtp-url"},
		{[]string{"--smtp-url", "smtp://mail.example.com", "--smtp-from", "not an address"}, "--smtp-from"},
	} {
		_, _, err := runCLI(t, append(append([]string{"serve"}, tc.args...), flags...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: got %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}

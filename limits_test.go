package qm_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/quartermaster/qm"
)

func TestLimitCount(t *testing.T) {
	// Effective keeps the limits in an array of limitCount; a limit added
	// to Limits without it would have no room.
	var e qm.Effective
	var every qm.LimitSet
	for i, d := range qm.Limits {
		if err := every.Set(string(d.Key), fmt.Sprint(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	e = qm.EffectiveLimits(every, qm.LimitSet{})
	for i, d := range qm.Limits {
		if e.Value(d.Key) != float64(i+1) {
			t.Fatalf("%s reads %v, want %d", d.Key, e.Value(d.Key), i+1)
		}
	}
}

func TestLimitSetJSON(t *testing.T) {
	var s qm.LimitSet
	if err := json.Unmarshal([]byte(`{"max_assets":5,"points_per_second":0.5,"features":["import","fleet","import"]}`), &s); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if got, want := string(b), `{"max_assets":5,"points_per_second":0.5,"features":["fleet","import"]}`; got != want {
		t.Fatalf("round trip: got %s, want %s", got, want)
	}
	for body, want := range map[string]string{
		`{"max_asets":5}`:           `unknown limit "max_asets"`,
		`{"max_assets":2.5}`:        "max_assets must be a whole number",
		`{"max_assets":-1}`:         "max_assets must be from 0 (unlimited)",
		`{"max_assets":"five"}`:     "max_assets must be a number",
		`{"features":["teleport"]}`: `unknown feature "teleport"`,
		`{"features":"fleet"}`:      "features must be a list",
		`[1]`:                       "limits must be an object",
	} {
		var s qm.LimitSet
		if err := json.Unmarshal([]byte(body), &s); qm.ErrorCode(err) != qm.EInvalid || !strings.Contains(qm.ErrorMessage(err), want) {
			t.Errorf("%s: got %v, want EInvalid saying %q", body, err, want)
		}
	}
}

func TestLimitSetSetUnset(t *testing.T) {
	var s qm.LimitSet
	for k, v := range map[string]string{"max_assets": "10", "api_requests_per_second": "2.5", "features": "fleet, labels"} {
		if err := s.Set(k, v); err != nil {
			t.Fatalf("set %s=%s: %v", k, v, err)
		}
	}
	if err := s.Set("max_assets", "ten"); qm.ErrorCode(err) != qm.EInvalid {
		t.Fatalf("a word for a number: %v", err)
	}
	if err := s.Unset("max_asset"); qm.ErrorCode(err) != qm.EInvalid {
		t.Fatalf("unset an unknown limit: %v", err)
	}
	if err := s.Unset("api_requests_per_second"); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if got, want := string(b), `{"max_assets":10,"features":["fleet","labels"]}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestEffectiveLimits(t *testing.T) {
	var plan, over qm.LimitSet
	plan.Set("max_assets", "5")
	plan.Set("max_devices", "3")
	plan.Set("features", "fleet,import")
	over.Set("max_assets", "8")
	e := qm.EffectiveLimits(plan, over)
	if e.MaxAssets() != 8 || e.MaxDevices() != 3 || e.MaxMembers() != 0 {
		t.Fatalf("assets %d, devices %d, members %d; want 8 (overridden), 3 (the plan's), 0 (unlimited)", e.MaxAssets(), e.MaxDevices(), e.MaxMembers())
	}
	if !e.Has(qm.FeatureFleet) || e.Has(qm.FeatureLabels) {
		t.Fatal("features: want fleet on, labels off")
	}
	if err := e.Room(qm.MaxAssets, 7, 1); err != nil {
		t.Fatalf("the 8th asset of 8: %v", err)
	}
	err := e.Room(qm.MaxAssets, 8, 1)
	var qe *qm.Error
	if qm.ErrorCode(err) != qm.ELimitReached || !strings.Contains(qm.ErrorMessage(err), "allows 8 assets (max_assets), and it has 8") {
		t.Fatalf("the 9th asset of 8: %v", err)
	} else if qe, _ = err.(*qm.Error); qe.Limit == nil || qe.Limit.Limit != qm.MaxAssets || qe.Limit.Value != 8 || qe.Limit.Count != 8 {
		t.Fatalf("the refusal names %+v", qe.Limit)
	}
	if err := e.Room(qm.MaxMembers, 1e6, 1); err != nil {
		t.Fatalf("an unlimited cap refused: %v", err)
	}
	if err := e.Feature(qm.FeatureLabels); qm.ErrorCode(err) != qm.EFeatureDisabled || !strings.Contains(qm.ErrorMessage(err), "labels") {
		t.Fatalf("labels off: %v", err)
	}
	if err := qm.EffectiveLimits(qm.LimitSet{}, qm.LimitSet{}).Feature(qm.FeatureLabels); err != nil {
		t.Fatalf("the default plan turns every feature on: %v", err)
	}
	b, _ := json.Marshal(e)
	var back qm.Effective
	if err := json.Unmarshal(b, &back); err != nil || back != e {
		t.Fatalf("effective limits read back from %s: %v", b, err)
	}
	if !strings.Contains(string(b), `"max_assets":8`) || !strings.Contains(string(b), `"max_members":0`) || !strings.Contains(string(b), `"features":["fleet","import"]`) {
		t.Fatalf("effective limits in JSON: %s", b)
	}
}

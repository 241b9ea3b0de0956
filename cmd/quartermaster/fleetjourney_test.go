package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/internal/smtptest"
)

// TestFleetManagerJourney is the journey, through serve's API as
// a fleet manager's tools would call it: a depot geofence; "exit depot"
// and "speed over 90 km/h for 10 s" rules sending to a webhook and an
// e-mail address; a vehicle drives out of the depot and over the limit.
// The receiver gets each event once, signed; the mail arrives; the alarms
// are open, are acknowledged, and clear when the vehicle slows and comes
// back.
func TestFleetManagerJourney(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data-dir", dir}
	mustRun(t, append([]string{"tenant", "create", "--slug", "fleet", "--name", "Fleet"}, storage...)...)
	out := mustRun(t, append([]string{"device", "register", "--ident", "van-1", "--json"}, storage...)...)
	var van struct {
		Device struct{ ID string }
		Token  string
	}
	if err := json.Unmarshal([]byte(out), &van); err != nil {
		t.Fatal(err)
	}
	mustRun(t, append([]string{"device", "assign", "van-1", "--tenant", "fleet"}, storage...)...)
	manager := strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", "fleet", "--role", "admin", "--name", "manager"}, storage...)...))

	rc := &deliveries{t: t, seen: map[string]int{}}
	var kinds []string // the events' kinds and rules, as they arrive
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Event qm.AlarmEvent `json:"event"`
		}
		json.Unmarshal(body, &p)
		rc.mu.Lock()
		kinds = append(kinds, p.Event.RuleName+" "+p.Event.Kind)
		rc.mu.Unlock()
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		rc.ServeHTTP(w, r)
	}))
	t.Cleanup(hook.Close)
	mailbox := &smtptest.Backend{}
	smtpPort := smtptest.Start(t, mailbox, smtptest.Options{})

	addr := mqtttest.FreeAddr(t)
	serveForTest(t, append([]string{"--addr", addr, "--osmand-addr", "", "--mqtt-addr", "", "--webhook-allow-private",
		"--smtp-url", "smtp://127.0.0.1:" + strconv.Itoa(smtpPort), "--smtp-from", "alerts@fleet.example"}, storage...), addr)
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/v1/t/fleet"

	var depot struct{ ID string }
	mustPost(t, client, api+"/geofences", manager,
		`{"name":"Depot","shape":{"type":"Feature","geometry":{"type":"Point","coordinates":[13.405,52.52]},"properties":{"radius_m":300}}}`, &depot)
	var webhookCh, mailCh struct {
		Channel struct{ ID string }
		Secret  string
	}
	mustPost(t, client, api+"/notification-channels", manager, `{"name":"Dispatch","kind":"webhook","enabled":true,"url":"`+hook.URL+`/qm"}`, &webhookCh)
	rc.secret.Store([]byte(webhookCh.Secret))
	mustPost(t, client, api+"/notification-channels", manager, `{"name":"Manager","kind":"email","enabled":true,"emails":["manager@fleet.example"]}`, &mailCh)
	channels := fmt.Sprintf(`"channel_ids":[%q,%q]`, webhookCh.Channel.ID, mailCh.Channel.ID)
	mustPost(t, client, api+"/rules", manager, `{"name":"Exit depot","kind":"geofence","severity":"major","enabled":true,"geofence_id":"`+depot.ID+`","trigger":"exit",`+channels+`}`, nil)
	mustPost(t, client, api+"/rules", manager, `{"name":"Speeding","kind":"speed","severity":"critical","enabled":true,"speed_kmh":90,"for_s":10,`+channels+`}`, nil)

	// The van's drive: in the depot, out of it (about 1.1 km north), over
	// 90 km/h for 12 s, then slowing and back.
	start := time.Now().UTC().Truncate(time.Second)
	send := func(s int, lat, kmh float64) {
		t.Helper()
		body := fmt.Sprintf(`[{"time":"%s","lat":%g,"lon":13.405,"speed_kmh":%g}]`, start.Add(time.Duration(s)*time.Second).Format(time.RFC3339Nano), lat, kmh)
		req, _ := http.NewRequest("POST", "http://"+addr+"/ingest/v1/points", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+van.Token)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("ingest: %s", res.Status)
		}
	}
	send(1, 52.520, 20)
	send(20, 52.530, 95)
	send(26, 52.535, 110)
	send(32, 52.540, 105)
	open := func() []qm.Alarm {
		var list struct{ Alarms []qm.Alarm }
		if err := getJSON(client, api+"/alarms?open=true", manager, &list); err != nil {
			t.Fatal(err)
		}
		return list.Alarms
	}
	poll.Until(t, "both alarms are open", func() (bool, error) { return len(open()) == 2, nil })
	for _, a := range open() {
		if a.SubjectID != van.Device.ID || a.SubjectType != "device" {
			t.Fatalf("an alarm of %s %s, want the van's", a.SubjectType, a.SubjectID)
		}
		req, _ := http.NewRequest("POST", api+"/alarms/"+a.ID+"/acknowledge", nil)
		req.Header.Set("Authorization", "Bearer "+manager)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var acked qm.Alarm
		json.NewDecoder(res.Body).Decode(&acked)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || acked.AcknowledgedBy == "" || acked.ClearedAt != nil {
			t.Fatalf("acknowledge %s: %s %+v", a.RuleName, res.Status, acked)
		}
	}
	send(40, 52.525, 40)
	send(60, 52.520, 10)
	poll.Until(t, "both alarms clear", func() (bool, error) { return len(open()) == 0, nil })
	poll.Until(t, "the receiver has the four events", func() (bool, error) { return rc.total.Load() >= 4, nil })
	poll.Until(t, "the mail has the four events", func() (bool, error) { return len(mailbox.Delivered()) >= 4, nil })

	rc.mu.Lock()
	got := strings.Join(kinds, ", ")
	for id, n := range rc.seen {
		if n != 1 {
			t.Errorf("event %s delivered %d times, want once", id, n)
		}
	}
	rc.mu.Unlock()
	want := "Exit depot raised, Speeding raised, Speeding cleared, Exit depot cleared"
	if got != want || rc.total.Load() != 4 {
		t.Fatalf("the webhook got %q (%d deliveries), want %q", got, rc.total.Load(), want)
	}
	for _, m := range mailbox.Delivered() {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil || len(m.To) != 1 || m.To[0] != "manager@fleet.example" || !strings.HasPrefix(msg.Header.Get("Subject"), "[fleet] ") {
			t.Fatalf("mail to %v: %v %v", m.To, msg, err)
		}
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/poll"
)

// TestAssetJourney is the second journey, through serve's API: an
// IT team's rules for a laptop whose warranty ends in ten days and one
// checked out and overdue raise their alarms (sent to a webhook); the
// overdue one clears when the laptop is checked in.
func TestAssetJourney(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data-dir", dir}
	mustRun(t, append([]string{"tenant", "create", "--slug", "itdept", "--name", "IT"}, storage...)...)
	it := strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", "itdept", "--role", "admin", "--name", "it"}, storage...)...))

	var mu sync.Mutex
	var told []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Event qm.AlarmEvent }
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &p)
		mu.Lock()
		told = append(told, p.Event.RuleName+" "+p.Event.Kind)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	addr := mqtttest.FreeAddr(t)
	serveForTest(t, append([]string{"--addr", addr, "--osmand-addr", "", "--mqtt-addr", "", "--webhook-allow-private", "--rules-every", "100ms"}, storage...), addr)
	client := &http.Client{Timeout: 10 * time.Second}
	api := "http://" + addr + "/api/v1/t/itdept"

	var category, model, room, soon, lent struct{ ID string }
	mustPost(t, client, api+"/categories", it, `{"name":"Laptops","kind":"asset"}`, &category)
	mustPost(t, client, api+"/models", it, `{"name":"ThinkPad","category_id":"`+category.ID+`"}`, &model)
	mustPost(t, client, api+"/locations", it, `{"name":"Lab"}`, &room)
	today := time.Now().UTC()
	// Bought a year ago less ten days, under a year's warranty: it ends in
	// nine days.
	bought := today.AddDate(-1, 0, 10).Format(time.DateOnly)
	mustPost(t, client, api+"/assets", it, `{"model_id":"`+model.ID+`","purchase_date":"`+bought+`","warranty_months":12}`, &soon)
	mustPost(t, client, api+"/assets", it, `{"model_id":"`+model.ID+`"}`, &lent)
	post := func(path, body string) {
		t.Helper()
		req, _ := http.NewRequest("POST", api+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+it)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s %s", path, res.Status, data)
		}
	}
	post("/assets/"+lent.ID+"/checkout", fmt.Sprintf(`{"holder_type":"location","holder_id":%q,"expected_return":%q}`, room.ID, today.AddDate(0, 0, -1).Format(time.DateOnly)))

	var ch struct{ Channel struct{ ID string } }
	mustPost(t, client, api+"/notification-channels", it, `{"name":"Helpdesk","kind":"webhook","enabled":true,"url":"`+hook.URL+`"}`, &ch)
	to := `"channel_ids":["` + ch.Channel.ID + `"]`
	mustPost(t, client, api+"/rules", it, `{"name":"Warranty","kind":"warranty","severity":"warning","enabled":true,"within_days":10,`+to+`}`, nil)
	mustPost(t, client, api+"/rules", it, `{"name":"Overdue","kind":"overdue","severity":"minor","enabled":true,`+to+`}`, nil)

	open := func() map[string]string {
		var list struct{ Alarms []qm.Alarm }
		if err := getJSON(client, api+"/alarms?open=true", it, &list); err != nil {
			t.Fatal(err)
		}
		by := map[string]string{}
		for _, a := range list.Alarms {
			by[a.RuleName] = a.SubjectType + " " + a.SubjectID
		}
		return by
	}
	poll.Until(t, "both alarms are open", func() (bool, error) { return len(open()) == 2, nil })
	if got := open(); got["Warranty"] != "asset "+soon.ID || got["Overdue"] != "asset "+lent.ID {
		t.Fatalf("open alarms: %v", got)
	}
	post("/assets/"+lent.ID+"/checkin", `{}`)
	poll.Until(t, "the overdue alarm clears", func() (bool, error) { return len(open()) == 1, nil })
	poll.Until(t, "the webhook has three events", func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		return len(told) == 3, nil
	})
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(told[:2], ",") != "Warranty raised,Overdue raised" && strings.Join(told[:2], ",") != "Overdue raised,Warranty raised" || told[2] != "Overdue cleared" {
		t.Fatalf("the webhook got %v", told)
	}
}

package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestWebhookTargetsInside: a webhook to the server's own network (a
// loopback, metadata, private address, or a name resolving to one) is
// refused as the tenant saves it, with a message (the operator's
// --webhook-allow-private is webhook.CheckTarget's, tested there).
func TestWebhookTargetsInside(t *testing.T) {
	inside := []string{"http://127.0.0.1/hook", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook", "http://[::1]/hook", "http://localhost:9/hook"}
	f := newFixture(t, backends[0])
	for _, u := range inside {
		res := f.do(t, f.a.admin, "POST", tenantPath("/notification-channels")(f.a), `{"name":"Inside","kind":"webhook","enabled":true,"url":"`+u+`"}`)
		var body struct {
			Error struct {
				Fields map[string]string `json:"fields"`
			} `json:"error"`
		}
		json.Unmarshal(res.Body.Bytes(), &body)
		if res.Code != http.StatusUnprocessableEntity || body.Error.Fields["url"] == "" {
			t.Errorf("POST a webhook to %s: got %d %s, want 422 naming the url", u, res.Code, res.Body)
		}
	}
	res := f.do(t, f.a.admin, "POST", tenantPath("/notification-channels")(f.a), `{"name":"Outside","kind":"webhook","enabled":true,"url":"https://93.184.215.14/hook"}`)
	if res.Code != http.StatusCreated || !strings.Contains(res.Body.String(), `"secret":"qmw_`) {
		t.Fatalf("a public webhook: got %d %s, want 201 with its secret", res.Code, res.Body)
	}
}

// TestAlarmFilters: the alarm list narrows to open alarms, a severity, a
// subject; a filter it cannot read is refused, saying why.
func TestAlarmFilters(t *testing.T) {
	f := newFixture(t, backends[0])
	a := f.a
	for _, tc := range []struct {
		query string
		code  int
		finds bool
	}{
		{"", 200, true},
		{"?open=true", 200, true},
		{"?severity=major", 200, true},
		{"?severity=info", 200, false},
		{"?subject_id=" + a.alarmDevice.ID, 200, true},
		{"?subject_id=" + a.device.ID, 200, false},
		{"?open=maybe", 400, false},
		{"?severity=urgent", 400, false},
		{"?colour=red", 400, false},
	} {
		res := f.do(t, a.admin, "GET", tenantPath("/alarms"+tc.query)(a), "")
		if res.Code != tc.code || strings.Contains(res.Body.String(), a.alarm.ID) != tc.finds {
			t.Errorf("GET /alarms%s: got %d %s, want %d, the fixture's alarm listed %v", tc.query, res.Code, res.Body, tc.code, tc.finds)
		}
	}
}

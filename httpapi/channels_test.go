package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/alerting"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/internal/smtptest"
	qmmail "github.com/quartermaster/qm/mail"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/webhook"
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

// channelTester is a qm.ChannelTester by a function, for a dispatcher made
// after the server.
type channelTester func(ctx context.Context, id string) (*qm.DeliveryAttempt, error)

func (f channelTester) TestChannel(ctx context.Context, id string) (*qm.DeliveryAttempt, error) {
	return f(ctx, id)
}

// TestChannelTest: a test delivery reaches a webhook signed, typed
// channel.test, and a mailbox through a real SMTP server; the answer and
// the delivery log say how it went, a failure included, the test marked;
// a test counts toward the plan's notifications an hour.
func TestChannelTest(t *testing.T) {
	var tester qm.ChannelTester
	f := newFixtureWith(t, backends[0], func(cfg *httpapi.Config) {
		cfg.Services.ChannelTests = channelTester(func(ctx context.Context, id string) (*qm.DeliveryAttempt, error) { return tester.TestChannel(ctx, id) })
	})
	be := &smtptest.Backend{}
	smtp, err := qmmail.ParseURL("smtp://127.0.0.1:" + strconv.Itoa(smtptest.Start(t, be, smtptest.Options{})))
	if err != nil {
		t.Fatal(err)
	}
	// The receiver is on loopback, which this test's operator allows.
	tester = f.dispatcher(webhook.NewClient(webhook.Options{AllowPrivate: true}), &qmmail.Sender{Config: smtp})
	var got []alerting.Payload
	var mu sync.Mutex
	var secret string
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.HeaderSignature), body, time.Now(), 0); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var p alerting.Payload
		json.Unmarshal(body, &p)
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	t.Cleanup(hooks.Close)
	a := f.a
	allowAll := alerts.NewChannelStore(f.e, func(context.Context, string) error { return nil }, time.Now)
	hook, secret, err := allowAll.CreateChannel(a.ctx, qm.ChannelDefinition{Name: "Desk", Kind: qm.ChannelWebhook, URL: hooks.URL + "/qm"}) // off: a test still goes
	if err != nil {
		t.Fatal(err)
	}
	inbox, _, err := allowAll.CreateChannel(a.ctx, qm.ChannelDefinition{Name: "Fleet inbox", Kind: qm.ChannelEmail, Enabled: true, Emails: []string{"fleet@a.example"}})
	if err != nil {
		t.Fatal(err)
	}
	gone, _, err := allowAll.CreateChannel(a.ctx, qm.ChannelDefinition{Name: "Gone", Kind: qm.ChannelWebhook, Enabled: true, URL: hooks.URL + "/qm"})
	if err != nil {
		t.Fatal(err)
	}

	// Three notifications an hour, the tests' included.
	mustStatus(t, f.do(t, f.operator, "PATCH", "/api/v1/operator/tenants/"+a.t.Slug+"/limits", `{"set":{"notifications_per_hour":3}}`), http.StatusOK, "limit")
	test := func(ch *qm.Channel) qm.DeliveryAttempt {
		t.Helper()
		res := f.do(t, a.admin, "POST", tenantPath("/notification-channels/"+ch.ID+"/test")(a), "")
		mustStatus(t, res, http.StatusOK, "test "+ch.Name)
		var at qm.DeliveryAttempt
		if err := json.Unmarshal(res.Body.Bytes(), &at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	if at := test(hook); at.Status != 200 || at.Error != "" || !at.Test || at.EventID == "" {
		t.Fatalf("the webhook's test: %+v; want 200", at)
	}
	mu.Lock()
	if len(got) != 1 || got[0].Type != "channel.test" || got[0].Tenant != a.t.Slug || got[0].Event == nil || got[0].Event.Kind != "test" {
		t.Fatalf("the receiver got %+v", got)
	}
	mu.Unlock()
	if at := test(inbox); at.Status != 250 || at.Error != "" {
		t.Fatalf("the mailbox's test: %+v; want 250", at)
	}
	if ms := be.Delivered(); len(ms) != 1 || ms[0].To[0] != "fleet@a.example" || !strings.Contains(string(ms[0].Data), "test of Fleet inbox") {
		t.Fatalf("mail delivered %+v", ms)
	}
	// A receiver gone: the answer says why, and the channel is not thereby
	// failing.
	hooksURL := hooks.URL
	hooks.Close()
	if at := test(gone); at.Status != 0 || !strings.Contains(at.Error, strings.TrimPrefix(hooksURL, "http://")) {
		t.Fatalf("the test of a receiver gone: %+v; want its error", at)
	}
	res := f.do(t, a.admin, "GET", tenantPath("/notification-channels/"+gone.ID+"/deliveries")(a), "")
	if !strings.Contains(res.Body.String(), `"test":true`) || !strings.Contains(res.Body.String(), `"status":0`) {
		t.Fatalf("the delivery log: %s", res.Body)
	}
	if ch, err := allowAll.Channel(a.ctx, gone.ID); err != nil || ch.FailingSince != nil {
		t.Fatalf("the channel after a failed test: %+v, %v; want not failing", ch, err)
	}

	// Only those who manage settings test; another tenant's channel is
	// not found; the hour's three notifications are spent.
	mustStatus(t, f.do(t, a.viewer, "POST", tenantPath("/notification-channels/"+hook.ID+"/test")(a), ""), http.StatusForbidden, "a viewer tests")
	mustStatus(t, f.do(t, f.b.admin, "POST", tenantPath("/notification-channels/"+hook.ID+"/test")(f.b), ""), http.StatusNotFound, "B tests A's channel")
	res = f.do(t, a.admin, "POST", tenantPath("/notification-channels/"+inbox.ID+"/test")(a), "")
	if res.Code != http.StatusTooManyRequests || res.Header().Get("Retry-After") == "" || !strings.Contains(res.Body.String(), "3 notifications an hour") {
		t.Fatalf("a fourth test in the hour: %d %s %v; want 429 with Retry-After", res.Code, res.Body, res.Header())
	}
	if ms := be.Delivered(); len(ms) != 1 {
		t.Fatalf("mail past the limit: %d messages", len(ms))
	}
}

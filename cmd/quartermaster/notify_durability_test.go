package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/webhook"
)

// deliveries is a tenant's webhook receiver: it checks each delivery's
// signature and counts the deliveries of each event.
type deliveries struct {
	t      *testing.T
	secret atomic.Value // []byte, once the channel is made
	total  atomic.Int64

	mu   sync.Mutex
	seen map[string]int
}

func (d *deliveries) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	secret, _ := d.secret.Load().([]byte)
	if err := webhook.Verify(secret, r.Header.Get(webhook.HeaderSignature), body, time.Now(), time.Hour); err != nil {
		d.t.Errorf("a delivery with a bad signature: %v", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	d.mu.Lock()
	d.seen[r.Header.Get(webhook.HeaderEvent)]++
	d.mu.Unlock()
	d.total.Add(1)
}

// TestNotifyDurability: the server is killed with SIGKILL while it
// dispatches, ten times; every notification an alarm's change caused is
// delivered at least once after the last restart, each time with its
// event's id.
func TestNotifyDurability(t *testing.T) {
	dir := t.TempDir()
	storage := []string{"--data-dir", dir}
	mustRun(t, append([]string{"tenant", "create", "--slug", "alerts", "--name", "Alerts"}, storage...)...)
	out := mustRun(t, append([]string{"device", "register", "--ident", "unit-0", "--json"}, storage...)...)
	var reg struct{ Token string }
	if err := json.Unmarshal([]byte(out), &reg); err != nil {
		t.Fatal(err)
	}
	mustRun(t, append([]string{"device", "assign", "unit-0", "--tenant", "alerts"}, storage...)...)
	admin := strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", "alerts", "--role", "admin", "--name", "setup"}, storage...)...))

	rc := &deliveries{t: t, seen: map[string]int{}}
	receiver := httptest.NewServer(rc)
	t.Cleanup(receiver.Close)
	addr := mqtttest.FreeAddr(t)
	start := childServer(t, append([]string{"serve", "--addr", addr, "--osmand-addr", "", "--mqtt-addr", "", "--webhook-allow-private"}, storage...))
	client := &http.Client{Timeout: 5 * time.Second}
	api := "http://" + addr + "/api/v1/t/alerts"

	// The channel and the rule, made through the API: each point alternates
	// the metric phase, so each raises or clears the alarm.
	cmd := start()
	waitServing(t, client, "http://"+addr+"/readyz")
	var made struct {
		Channel struct{ ID string }
		Secret  string
	}
	mustPost(t, client, api+"/notification-channels", admin, `{"name":"Receiver","kind":"webhook","enabled":true,"url":"`+receiver.URL+`/hook"}`, &made)
	rc.secret.Store([]byte(made.Secret))
	mustPost(t, client, api+"/rules", admin, `{"name":"Phase","kind":"metric","severity":"info","enabled":true,
		"condition":{"metric":"phase","op":"==","value":1},"channel_ids":["`+made.Channel.ID+`"]}`, nil)

	ctx, stopSending := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for seq := 0; ctx.Err() == nil; {
			body := fmt.Sprintf(`[{"time":"%s","metrics":{"phase":%d}}]`, time.Now().UTC().Format(time.RFC3339Nano), seq%2)
			if post(ctx, client, "http://"+addr+"/ingest/v1/points", reg.Token, strings.NewReader(body)) == http.StatusOK {
				seq++
			}
		}
	})
	// Each run is killed once the receiver has had some deliveries of it
	// (a different number each time, so kills land at different points of
	// evaluation and dispatch).
	for kill := range 10 {
		if kill > 0 {
			cmd = start()
		}
		before := rc.total.Load()
		poll.Until(t, "the receiver has deliveries of this run", func() (bool, error) {
			return rc.total.Load() >= before+int64(1+kill*7%5), nil
		})
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
	}
	stopSending()
	wg.Wait()

	// A last run sends what is left; then every event was delivered.
	cmd = start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	db, err := sqlite.Open(sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tn, err := db.Tenants().Tenant(context.Background(), "alerts")
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	err = db.View(tenancy.WithTenant(context.Background(), tn), func(c sqlstore.Conn) error {
		return sqlstore.Each(context.Background(), c, func(r sqlstore.Row) error {
			var id string
			events = append(events, id)
			return r.Scan(&events[len(events)-1])
		}, `SELECT id FROM alarm_events WHERE tenant_id = $1`, c.TenantID())
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Fatal("no alarm changed: the test proved nothing")
	}
	poll.Until(t, "every event is delivered", func() (bool, error) {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		for _, id := range events {
			if rc.seen[id] == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	rc.mu.Lock()
	twice := 0
	for _, n := range rc.seen {
		if n > 1 {
			twice++
		}
	}
	rc.mu.Unlock()
	t.Logf("10 kills: %d events, each delivered; %d more than once, with the same id", len(events), twice)
}

// mustPost POSTs body as JSON with a bearer token, wants 201, and reads
// the answer into v (nil: ignore it).
func mustPost(t *testing.T, client *http.Client, url, token, body string, v any) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %s %s", url, res.Status, data)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
}

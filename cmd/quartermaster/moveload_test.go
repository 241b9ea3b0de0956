package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/poll"
)

// TestMoveUnderLoad moves a tenant from the pool to a silo while devices
// send it points over HTTP and MQTT and an API client writes to it, and
// kills the server with SIGKILL in the middle of the move and again after
// it: every point and change the server acknowledged is then stored
// exactly once, in the new place, and the tenant is served from there.
func TestMoveUnderLoad(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testMoveUnderLoad(t, storageFlags(t, engine)) })
	}
}

func testMoveUnderLoad(t *testing.T, storage []string) {
	with := func(args ...string) []string { return append(args, storage...) }
	mustRun(t, with("tenant", "create", "--slug", "busy", "--name", "Busy", "--tier", "pool")...)
	senders := []*pointSender{}
	var batches atomic.Int64
	for i := range 2 {
		senders = append(senders, &pointSender{token: deviceOf(t, storage, fmt.Sprintf("http-%d", i), "busy"), acked: map[int64]bool{}, batches: &batches})
	}
	mq := &mqttSender{ident: "mqtt-0", token: deviceOf(t, storage, "mqtt-0", "busy"), acked: map[int64]bool{}, pub: mqtttest.Client(t, "mosquitto_pub")}
	writer := &apiWriter{token: strings.TrimSpace(mustRun(t, with("token", "create", "--tenant", "busy", "--role", "admin", "--name", "writer")...)), acked: map[string]bool{}}

	addr, mqttAddr := mqtttest.FreeAddr(t), mqtttest.FreeAddr(t)
	start := childServer(t, with("serve", "--addr", addr, "--osmand-addr", "", "--mqtt-addr", mqttAddr))
	server := start()
	kill := func() {
		server.Process.Signal(syscall.SIGKILL)
		server.Wait()
	}
	defer func() { kill() }()

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, s := range senders {
		wg.Go(func() { s.run(ctx, client, addr, base) })
	}
	wg.Go(func() { mq.run(ctx, mqttAddr, base) })
	wg.Go(func() { writer.run(ctx, client, addr) })
	// Every kind of sender is heard, by this server and by each after it.
	heard := func(what string) {
		t.Helper()
		b, m, w := batches.Load(), mq.count.Load(), writer.count.Load()
		poll.Until(t, "every sender acknowledged "+what, func() (bool, error) {
			return batches.Load() >= b+2 && mq.count.Load() > m && writer.count.Load() > w, nil
		})
	}
	heard("before the move")

	// The mover holds once it has copied the points, until released.
	release := filepath.Join(t.TempDir(), "release")
	args, _ := json.Marshal(with("tenant", "move", "busy", "--tier", "silo"))
	mover := exec.Command(os.Args[0], "-test.run", "^TestDurabilityServer$", "-test.count=1")
	mover.Env = append(os.Environ(), durabilityChild+"="+string(args), moveHoldEnv+"=points:"+release)
	var moved, progress lockedBuffer
	mover.Stdout, mover.Stderr = &moved, &progress
	if err := mover.Start(); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the move has copied the points", func() (bool, error) { return strings.Contains(progress.String(), " points "), nil })

	// Killed in the middle of the move, the server starts again while the
	// tenant is moving.
	kill()
	server = start()
	waitServing(t, client, "http://"+addr+"/readyz")
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := mover.Wait(); err != nil || !strings.Contains(moved.String(), "to silo") {
		t.Fatalf("the move: %v\n%s\n%s", err, moved.String(), progress.String())
	}
	heard("after the move")
	// Killed again, the server serves the tenant from its new place.
	kill()
	server = start()
	heard("from the silo, after a restart")
	stop()
	wg.Wait()

	var tn qm.Tenant
	if err := json.Unmarshal([]byte(mustRun(t, with("tenant", "show", "busy", "--json")...)), &tn); err != nil || tn.Tier != qm.TierSilo || tn.State != qm.StateActive {
		t.Fatalf("after the move: %+v, %v", tn, err)
	}
	for i, s := range senders {
		mustBeOnce(t, fmt.Sprintf("http-%d: acknowledged point", i), s.acked, storedPoints(t, client, addr, "busy", fmt.Sprintf("http-%d", i), writer.token))
	}
	mustBeOnce(t, "mqtt-0: acknowledged point", mq.acked, storedPoints(t, client, addr, "busy", "mqtt-0", writer.token))
	mustBeOnce(t, "acknowledged location", writer.acked, storedLocations(t, client, addr, "busy", writer.token))
	t.Logf("acknowledged: %d HTTP batches, %d MQTT points, %d locations", batches.Load(), mq.count.Load(), writer.count.Load())
}

// mqttSender publishes one device's points with QoS 1 through Mosquitto's
// client, one connection a point, each numbered by its metric "seq", and
// remembers those the broker acknowledged (mosquitto_pub ends well only
// after the PUBACK, which the server sends once the point is committed).
type mqttSender struct {
	ident, token, pub string
	acked             map[int64]bool
	count             atomic.Int64
}

func (s *mqttSender) run(ctx context.Context, addr string, base time.Time) {
	host, port, _ := strings.Cut(addr, ":")
	for seq := int64(0); ctx.Err() == nil; seq++ {
		msg := fmt.Sprintf(`{"time":"%s","metrics":{"seq":%d}}`, base.Add(time.Duration(seq)*time.Millisecond).Format(time.RFC3339Nano), seq)
		err := exec.CommandContext(ctx, s.pub, "-h", host, "-p", port, "-V", "mqttv311", "-q", "1", "-i", s.ident,
			"-u", s.ident, "-P", s.token, "-t", "devices/"+s.ident+"/telemetry", "-m", msg).Run()
		if err == nil && ctx.Err() == nil {
			s.acked[seq] = true
			s.count.Add(1)
		}
	}
}

// apiWriter makes locations through the API, each with a name of its
// own, and remembers those the server acknowledged (201).
type apiWriter struct {
	token string
	acked map[string]bool
	count atomic.Int64
}

func (w *apiWriter) run(ctx context.Context, client *http.Client, addr string) {
	for n := 0; ctx.Err() == nil; n++ {
		name := fmt.Sprintf("written-%d", n)
		if post(ctx, client, "http://"+addr+"/api/v1/t/busy/locations", w.token, strings.NewReader(`{"name":"`+name+`"}`)) == http.StatusCreated {
			w.acked[name] = true
			w.count.Add(1)
		}
	}
}

// storedLocations reads back every location of a tenant through the API,
// counting each name.
func storedLocations(t *testing.T, client *http.Client, addr, tenant, secret string) map[string]int {
	t.Helper()
	stored := map[string]int{}
	after := ""
	for {
		var page struct {
			Locations []qm.Location `json:"locations"`
			Next      string        `json:"next"`
		}
		if err := getJSON(client, fmt.Sprintf("http://%s/api/v1/t/%s/locations?limit=500&after=%s", addr, tenant, after), secret, &page); err != nil {
			t.Fatal(err)
		}
		for _, l := range page.Locations {
			stored[l.Name]++
		}
		if page.Next == "" {
			return stored
		}
		after = page.Next
	}
}

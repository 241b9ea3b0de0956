package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/internal/poll"
)

// durabilityChild, set in a child process's environment, makes
// TestDurabilityServer run the server with the arguments it holds.
const durabilityChild = "QM_DURABILITY_SERVE"

// TestDurabilityServer is the server the durability test kills: it runs
// only in a child process.
func TestDurabilityServer(t *testing.T) {
	args := os.Getenv(durabilityChild)
	if args == "" {
		t.Skip("runs only as the durability test's child process")
	}
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), argv, nil, os.Stdout, os.Stderr); err != nil {
		t.Fatal(err)
	}
}

// TestDurability sends points as fast as it can while the server is killed
// with SIGKILL and started again, ten times; then every point the server
// acknowledged must be stored, exactly once.
func TestDurability(t *testing.T) {
	engines := map[string]func(t *testing.T) []string{
		"sqlite":   func(t *testing.T) []string { return []string{"--data-dir", t.TempDir()} },
		"postgres": func(t *testing.T) []string { return []string{"--database-url", pgtest.NewDatabase(t)} },
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { testDurability(t, engines[name](t)) })
	}
}

func testDurability(t *testing.T, storage []string) {
	mustRun(t, append([]string{"tenant", "create", "--slug", "durable", "--name", "Durable"}, storage...)...)
	const senders = 8
	tokens := make([]string, senders)
	for i := range tokens {
		tokens[i] = deviceOf(t, storage, fmt.Sprintf("unit-%d", i), "durable")
	}
	addr := mqtttest.FreeAddr(t)
	start := childServer(t, append([]string{"serve", "--addr", addr, "--osmand-addr", "", "--mqtt-addr", ""}, storage...))

	// Each sender sends batches of points a millisecond apart, from its own
	// clock, and remembers the batches the server acknowledged.
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var batches atomic.Int64 // acknowledged, by every run
	ctx, stopSending := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	sent := make([]*pointSender, senders)
	for i := range sent {
		sent[i] = &pointSender{token: tokens[i], acked: map[int64]bool{}, batches: &batches}
		wg.Go(func() { sent[i].run(ctx, client, addr, base) })
	}
	// Each run of the server is killed once it has acknowledged some
	// batches of its own (a different number each time, so kills land at
	// different points of the write path), not after a while: on a loaded
	// machine a run may take long to start.
	for kill := range 10 {
		cmd := start()
		before := batches.Load()
		poll.Until(t, "the server acknowledges batches", func() (bool, error) {
			return batches.Load() >= before+int64(2+kill*7%10), nil
		})
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
	}
	stopSending()
	wg.Wait()

	// Read back what is stored, through the API of a fresh server.
	cmd := start()
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	secret := strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", "durable", "--role", "viewer", "--name", "check"}, storage...)...))
	total, totalAcked := 0, 0
	waitServing(t, client, "http://"+addr+"/readyz")
	for i, p := range sent {
		stored := storedPoints(t, client, addr, "durable", fmt.Sprintf("unit-%d", i), secret)
		mustBeOnce(t, fmt.Sprintf("unit-%d: acknowledged point", i), p.acked, stored)
		total += len(stored)
		totalAcked += len(p.acked)
	}
	if totalAcked == 0 {
		t.Fatal("the server acknowledged nothing: the test proved nothing")
	}
	t.Logf("10 kills: %d points acknowledged, %d stored (the rest were never acknowledged)", totalAcked, total)
}

// deviceOf registers a device, assigns it to tenant, and returns its
// credential.
func deviceOf(t testing.TB, storage []string, ident, tenant string) string {
	t.Helper()
	out := mustRun(t, append([]string{"device", "register", "--ident", ident, "--json"}, storage...)...)
	var reg struct{ Token string }
	if err := json.Unmarshal([]byte(out), &reg); err != nil {
		t.Fatal(err)
	}
	mustRun(t, append([]string{"device", "assign", ident, "--tenant", tenant}, storage...)...)
	return reg.Token
}

// pointSender sends one device's points over HTTP, in batches of 50 a
// millisecond apart from base, each numbered by its metric "seq", and
// remembers the numbers the server acknowledged (200), until ctx ends.
type pointSender struct {
	token   string
	acked   map[int64]bool
	batches *atomic.Int64 // acknowledged batches, counted with other senders
	// retry sends a batch that was not acknowledged again, as a device
	// does, until it is; otherwise the sender goes on to the next.
	retry  bool
	failed int // sends not acknowledged before ctx ended
}

func (s *pointSender) run(ctx context.Context, client *http.Client, addr string, base time.Time) {
	next := int64(0)
	for ctx.Err() == nil {
		var body bytes.Buffer
		batch := make([]int64, 50)
		body.WriteByte('[')
		for j := range batch {
			batch[j] = next
			next++
			if j > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"time":"%s","metrics":{"seq":%d}}`, base.Add(time.Duration(batch[j])*time.Millisecond).Format(time.RFC3339Nano), batch[j])
		}
		body.WriteByte(']')
		for {
			status := post(ctx, client, "http://"+addr+"/ingest/v1/points", s.token, bytes.NewReader(body.Bytes()))
			if status == http.StatusOK {
				for _, seq := range batch {
					s.acked[seq] = true
				}
				s.batches.Add(1)
			}
			if status == http.StatusOK || ctx.Err() != nil {
				break
			}
			if s.failed++; !s.retry {
				break
			}
		}
	}
}

// post POSTs a JSON body with a bearer token and returns the status, or
// 0, after a pause, when the server could not be reached (it is down).
func post(ctx context.Context, client *http.Client, url, token string, body io.Reader) int {
	req, _ := http.NewRequestWithContext(ctx, "POST", url, body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		time.Sleep(20 * time.Millisecond)
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// storedPoints reads back every point of a device through the API of the
// server at addr, counting each "seq".
func storedPoints(t *testing.T, client *http.Client, addr, tenant, device, secret string) map[int64]int {
	t.Helper()
	stored := map[int64]int{}
	after := ""
	for {
		url := fmt.Sprintf("http://%s/api/v1/t/%s/devices/%s/points?limit=5000&after=%s", addr, tenant, device, after)
		var page qm.PointPage
		if err := getJSON(client, url, secret, &page); err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Points {
			seq, _ := p.Metrics["seq"].Number()
			stored[int64(seq)]++
		}
		if page.Next == "" {
			return stored
		}
		after = page.Next
	}
}

// mustBeOnce fails the test unless every acknowledged key is stored
// exactly once.
func mustBeOnce[K comparable](t *testing.T, what string, acked map[K]bool, stored map[K]int) {
	t.Helper()
	for k := range acked {
		if stored[k] != 1 {
			t.Errorf("%s %v is stored %d times", what, k, stored[k])
		}
	}
}

// getJSON GETs url with a bearer token.
func getJSON(client *http.Client, url, token string, v any) error {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// waitServing waits until the server answers url with 200: it needs a
// moment to open storage and listen.
func waitServing(t testing.TB, client *http.Client, url string) {
	t.Helper()
	poll.Until(t, "the server answers "+url, func() (bool, error) {
		res, err := client.Get(url)
		if err != nil {
			return false, nil
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK, nil
	})
}

// childServer returns a function that starts quartermaster with argv in a
// child process (TestDurabilityServer), to be killed.
func childServer(t testing.TB, argv []string) func() *exec.Cmd {
	args, _ := json.Marshal(argv)
	return func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestDurabilityServer$", "-test.count=1")
		cmd.Env = append(os.Environ(), durabilityChild+"="+string(args))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
}

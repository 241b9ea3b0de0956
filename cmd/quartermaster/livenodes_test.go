package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/internal/poll"
)

// liveNode is a serve node of TestLiveAcrossNodes.
type liveNode struct{ api, mqtt string }

// TestLiveAcrossNodes starts two nodes serving one PostgreSQL database,
// as behind a load balancer: what one node commits reaches the clients
// connected to the other. A device connected over MQTT to node B
// receives the settings changed through node A's API; the console's
// stream of a tenant's fleet on node B hears of the points node A
// committed, and the other tenant's stream does not.
func TestLiveAcrossNodes(t *testing.T) {
	sub := mqtttest.Client(t, "mosquitto_sub")
	storage := []string{"--database-url", pgtest.NewDatabase(t)}
	admins := map[string]string{}
	for _, slug := range []string{"fleet", "others"} {
		mustRun(t, append([]string{"tenant", "create", "--slug", slug, "--name", slug}, storage...)...)
		admins[slug] = strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", slug, "--role", "admin", "--name", "setup"}, storage...)...))
	}
	device := deviceOf(t, storage, "unit-1", "fleet")
	other := deviceOf(t, storage, "other-1", "others")
	var a, b liveNode
	for _, n := range []*liveNode{&a, &b} {
		n.api, n.mqtt = mqtttest.FreeAddr(t), mqtttest.FreeAddr(t)
		serveForTest(t, append([]string{"--addr", n.api, "--osmand-addr", "", "--mqtt-addr", n.mqtt}, storage...), n.api, n.mqtt)
	}
	client := &http.Client{Timeout: 10 * time.Second}

	t.Run("Settings", func(t *testing.T) {
		// The device, connected to node B, waits for its settings.
		received := awaitConfig(t, sub, b.mqtt, "unit-1", device)
		// Node B passes on what it hears of once its watcher has begun,
		// a moment after it serves: the settings are set again until the
		// device has them.
		got := untilReceived(t, "the device on node B receives the settings changed on node A", received, func() error {
			req, _ := http.NewRequest("PATCH", "http://"+a.api+"/api/v1/t/fleet/devices/unit-1", strings.NewReader(`{"settings":{"interval_s":15}}`))
			req.Header.Set("Authorization", "Bearer "+admins["fleet"])
			req.Header.Set("Content-Type", "application/json")
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("PATCH the settings on node A: %s %s", res.Status, body)
			}
			return nil
		})
		if got != `{"interval_s":15}` {
			t.Fatalf("the device on node B received %q, want its settings {\"interval_s\":15}", got)
		}
	})

	// A node started after the change has not heard of it: it reads the
	// settings as the device subscribes.
	t.Run("SettingsOnConnect", func(t *testing.T) {
		c := liveNode{api: mqtttest.FreeAddr(t), mqtt: mqtttest.FreeAddr(t)}
		serveForTest(t, append([]string{"--addr", c.api, "--osmand-addr", "", "--mqtt-addr", c.mqtt}, storage...), c.api, c.mqtt)
		if got := <-awaitConfig(t, sub, c.mqtt, "unit-1", device); got != `{"interval_s":15}` {
			t.Fatalf("the device on node C received %q, want its settings {\"interval_s\":15}", got)
		}
	})

	t.Run("Stream", func(t *testing.T) {
		streams := map[string]<-chan string{}
		for _, slug := range []string{"fleet", "others"} {
			streams[slug] = openEvents(t, client, b.api, slug, admins[slug])
		}
		seq := 0
		// heard posts points of the device with token to node A until the
		// stream on node B has an event (node B hears only once it
		// listens: until then each post's news is lost), and returns it.
		heard := func(stream <-chan string, token string) string {
			t.Helper()
			return untilReceived(t, "the stream on node B has an event of the points posted to node A", stream, func() error {
				body := fmt.Sprintf(`[{"time":"%s","lat":52.5,"lon":13.4,"metrics":{"seq":%d}}]`, time.Now().UTC().Format(time.RFC3339Nano), seq)
				seq++
				if status := post(t.Context(), client, "http://"+a.api+"/ingest/v1/points", token, strings.NewReader(body)); status != http.StatusOK {
					return fmt.Errorf("POST points to node A: status %d", status)
				}
				return nil
			})
		}
		if got := heard(streams["fleet"], device); !strings.Contains(got, `"ident":"unit-1"`) {
			t.Fatalf("the fleet stream on node B had %s, want an event of unit-1", got)
		}
		// The news goes out and comes in in order: once the other tenant
		// hears of its own device, it has heard all that came before.
		if got := heard(streams["others"], other); !strings.Contains(got, `"ident":"other-1"`) {
			t.Fatalf("the other tenant's stream on node B had %s, want an event of other-1 only", got)
		}
		own := map[string]string{"fleet": `"ident":"unit-1"`, "others": `"ident":"other-1"`}
		for slug, stream := range streams {
			for len(stream) > 0 {
				if got := <-stream; !strings.Contains(got, own[slug]) {
					t.Fatalf("the stream of %s on node B had %s: another tenant's device", slug, got)
				}
			}
		}
	})
}

// awaitConfig connects device ident with token to the MQTT broker at
// addr with the client sub (mosquitto_sub), and returns a channel that
// receives the first settings it receives on its config topic, or
// "nothing" at the test's deadline.
func awaitConfig(t *testing.T, sub, addr, ident, token string) <-chan string {
	ctx, cancel := context.WithDeadline(t.Context(), poll.Deadline(t))
	t.Cleanup(cancel)
	host, port, _ := net.SplitHostPort(addr)
	received := make(chan string, 1)
	go func() {
		out, err := exec.CommandContext(ctx, sub, "-h", host, "-p", port, "-V", "mqttv311", "-q", "1",
			"-u", ident, "-P", token, "-i", ident, "-t", "devices/"+ident+"/config", "-C", "1").CombinedOutput()
		switch {
		case ctx.Err() != nil:
			out = []byte("nothing, by the test's deadline")
		case err != nil:
			out = fmt.Appendf(out, " (%v)", err)
		}
		received <- strings.TrimSpace(string(out))
	}()
	return received
}

// untilReceived calls act until ch has received, and returns what it
// received; what names the wait.
func untilReceived(t *testing.T, what string, ch <-chan string, act func() error) string {
	t.Helper()
	var got string
	poll.Until(t, what, func() (bool, error) {
		select {
		case got = <-ch:
			return true, nil
		default:
			return false, act()
		}
	})
	return got
}

// openEvents opens the fleet event stream of tenant on the node at addr,
// and returns the data of its position events.
func openEvents(t *testing.T, client *http.Client, addr, tenant, token string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/v1/t/"+tenant+"/fleet/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	// The stream outlives the client's timeout.
	res, err := (&http.Client{Transport: client.Transport}).Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		res.Body.Close()
	})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET the events of %s: %s", tenant, res.Status)
	}
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if data, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: ")); ok {
				select {
				case events <- string(data):
				default:
				}
			}
		}
	}()
	return events
}

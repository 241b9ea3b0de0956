package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/broker/mqttclient"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/internal/poll"
)

// TestExternalBrokerKill: two nodes consume from a Mosquitto 2 of the
// test's own while devices publish to it at QoS 1; one node is killed
// with SIGKILL, its session adopted by the other, and started again.
// Every message the broker acknowledged to a device is stored, exactly
// once.
func TestExternalBrokerKill(t *testing.T) {
	mosq := mqtttest.Mosquitto(t)
	storage := []string{"--database-url", pgtest.NewDatabase(t)}
	// The CLI below keeps the device accounts at the broker, as the nodes
	// do; the children inherit the environment.
	t.Setenv("QM_MQTT_BROKER", "mqtt://"+mosq.Addr)
	t.Setenv("QM_MQTT_BROKER_USER", mosq.AdminUser)
	t.Setenv("QM_MQTT_BROKER_PASSWORD", mosq.AdminPassword)
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(mosq.Log)
			t.Logf("Mosquitto's log (last 8 KiB):\n%s", log[max(0, len(log)-8192):])
		}
	})
	mustRun(t, append([]string{"tenant", "create", "--slug", "brokered", "--name", "Brokered"}, storage...)...)
	// Each device sends its messages as fast as the broker takes them,
	// far faster than two nodes store them on this machine: the broker
	// holds the rest for the nodes.
	const senders, perSender = 6, 200
	tokens := make([]string, senders)
	for i := range tokens {
		tokens[i] = deviceOf(t, storage, fmt.Sprintf("unit-%d", i), "brokered")
	}
	addrs := []string{mqtttest.FreeAddr(t), mqtttest.FreeAddr(t)}
	starts := make([]func() *exec.Cmd, len(addrs))
	nodes := make([]*exec.Cmd, len(addrs))
	for i, addr := range addrs {
		starts[i] = childServer(t, append([]string{"serve", "--addr", addr, "--osmand-addr", "", "--mqtt-addr", "", "--log-level", "warn"}, storage...))
		nodes[i] = starts[i]()
	}
	defer func() {
		for _, cmd := range nodes {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	}()
	// Until a node has subscribed, the broker keeps nothing for it.
	host, _ := os.Hostname()
	session := broker.SessionOf(host + "/" + addrs[0])
	logged := func(line string) int {
		log, err := os.ReadFile(mosq.Log)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(log, []byte(line))
	}
	subscribes := func(addr string, times int) {
		subscribed := broker.SessionOf(host+"/"+addr) + " 1 " + broker.SharedTelemetry
		poll.Until(t, fmt.Sprintf("node %s subscribes (%d)", addr, times), func() (bool, error) { return logged(subscribed) >= times, nil })
	}
	for _, addr := range addrs {
		subscribes(addr, 1)
	}

	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var messages atomic.Int64 // acknowledged by the broker
	sent := make([]*brokerSender, senders)
	for i := range sent {
		sent[i] = &brokerSender{ident: fmt.Sprintf("unit-%d", i), token: tokens[i], addr: mosq.Addr, acked: map[int64]bool{}, messages: &messages}
	}
	began := time.Now()
	publish := func(messages int) *sync.WaitGroup {
		var wg sync.WaitGroup
		for _, s := range sent {
			wg.Go(func() { s.run(t, base, messages) })
		}
		return &wg
	}
	first := publish(perSender / 2)
	client := &http.Client{Timeout: 5 * time.Second}
	waitServing(t, client, "http://"+addrs[1]+"/readyz")
	secret := strings.TrimSpace(mustRun(t, append([]string{"token", "create", "--tenant", "brokered", "--role", "viewer", "--name", "check"}, storage...)...))
	stored := func() int {
		n := 0
		for _, s := range sent {
			n += len(storedPoints(t, client, addrs[1], "brokered", s.ident, secret))
		}
		return n
	}
	totalAcked, last := 0, 0
	allStored := func(what string) {
		totalAcked = 0
		for _, s := range sent {
			totalAcked += len(s.acked)
		}
		poll.Until(t, what, func() (bool, error) {
			last = stored()
			return last >= totalAcked, nil
		})
	}
	defer func() {
		if t.Failed() {
			t.Logf("%d points acknowledged by the broker, %d stored", totalAcked, last)
		}
	}()
	// Killed while points flow through it: the nodes have stored some of
	// the first half, and hold more; a quarter more is published while
	// the node is dead. It stays dead: the other node adopts its session
	// once it has been silent for three heartbeats, and stores what the
	// broker held for it.
	poll.Until(t, "points are stored", func() (bool, error) { return stored() >= 200, nil })
	if err := nodes[0].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	nodes[0].Wait()
	connected := logged("as " + session + " ")
	first.Wait()
	publish(perSender / 4).Wait()
	allStored("every acknowledged point is stored while a node is dead")
	if n := logged("as " + session + " "); n <= connected {
		t.Errorf("nothing connected under the dead node's client id (%d connections before, %d after)", connected, n)
	}
	// It comes back, takes its session back, and takes its share again.
	nodes[0] = starts[0]()
	subscribes(addrs[0], 2)
	publish(perSender / 4).Wait()
	allStored("every acknowledged point is stored once the node is back")
	elapsed := time.Since(began)
	for _, s := range sent {
		mustBeOnce(t, s.ident+": acknowledged point", s.acked, storedPoints(t, client, addrs[1], "brokered", s.ident, secret))
	}
	t.Logf("%d messages (%d points) acknowledged by the broker in %v, a node killed, its session adopted, and started again; every point stored once",
		messages.Load(), totalAcked, elapsed.Round(time.Millisecond))
}

// brokerSender publishes one device's points to the broker at QoS 1, 5
// to a message, a millisecond apart from base and numbered by their
// metric "seq", and remembers those of the messages the broker
// acknowledged.
type brokerSender struct {
	ident, token, addr string
	acked              map[int64]bool
	next               int64 // the next point's seq
	messages           *atomic.Int64
}

func (s *brokerSender) run(t *testing.T, base time.Time, messages int) {
	c, _, err := mqttclient.Dial(t.Context(), mqttclient.Options{Addr: s.addr, ClientID: s.ident, Username: s.ident, Password: s.token, CleanSession: true})
	if err != nil {
		t.Errorf("%s: %v", s.ident, err)
		return
	}
	defer c.Close()
	for range messages {
		var body bytes.Buffer
		batch := make([]int64, 5)
		body.WriteByte('[')
		for j := range batch {
			batch[j] = s.next
			s.next++
			if j > 0 {
				body.WriteByte(',')
			}
			fmt.Fprintf(&body, `{"time":"%s","metrics":{"seq":%d}}`, base.Add(time.Duration(batch[j])*time.Millisecond).Format(time.RFC3339Nano), batch[j])
		}
		body.WriteByte(']')
		if err := c.Publish(t.Context(), broker.TelemetryTopic(s.ident), body.Bytes(), 1, false); err != nil {
			t.Errorf("%s: %v", s.ident, err)
			return
		}
		for _, seq := range batch {
			s.acked[seq] = true
		}
		s.messages.Add(1)
	}
}

package broker_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/metrics"
)

// logSink collects the broker's log lines and lets a test wait for one.
type logSink struct {
	mu      sync.Mutex
	lines   []string
	partial bytes.Buffer
	changed chan struct{} // closed, and replaced, at every write
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial.Write(p)
	for {
		line, err := s.partial.ReadString('\n')
		if err != nil {
			s.partial.WriteString(line)
			break
		}
		s.lines = append(s.lines, line)
	}
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

// waitFor blocks until a line containing each of subs is logged, and
// returns it.
func (s *logSink) waitFor(t *testing.T, subs ...string) string {
	t.Helper()
	timeout := poll.After(t)
	for seen := 0; ; {
		s.mu.Lock()
		lines, changed := s.lines, s.changed
		s.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if containsAll(lines[seen], subs) {
				return lines[seen]
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no log line with %q", subs)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// refused is how many MQTT refusals for reason were counted.
func (w *world) refused(reason string) float64 {
	return testutil.ToFloat64(w.m.Ingest.Refused.WithLabelValues("mqtt", reason))
}

// device is a connected MQTT 3.1.1 client of the Go library.
type device struct {
	paho.Client
	// lost is closed when the broker ends the connection.
	lost chan struct{}
	// config receives what arrives on the device's config topic.
	config chan string
}

// connect connects as user with password and client id; clean false keeps
// a session. It returns the CONNACK's session present flag.
func (w *world) connect(t *testing.T, clientID, user, password string, clean bool) (*device, bool, error) {
	t.Helper()
	d := &device{lost: make(chan struct{}), config: make(chan string, 16)}
	opts := paho.NewClientOptions().AddBroker("tcp://" + net.JoinHostPort(w.host, w.port)).SetProtocolVersion(4).
		SetClientID(clientID).SetUsername(user).SetPassword(password).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectionLostHandler(func(paho.Client, error) { close(d.lost) })
	d.Client = paho.NewClient(opts)
	tok := d.Connect()
	tok.Wait()
	if err := tok.Error(); err != nil {
		return nil, false, err
	}
	t.Cleanup(func() { d.Disconnect(0) })
	return d, tok.(*paho.ConnectToken).SessionPresent(), nil
}

// mustConnect is connect that fails the test on an error.
func (w *world) mustConnect(t *testing.T, ident, token string, clean bool) (*device, bool) {
	t.Helper()
	d, present, err := w.connect(t, ident, ident, token, clean)
	if err != nil {
		t.Fatalf("%s connects: %v", ident, err)
	}
	return d, present
}

// subscribeConfig subscribes to the device's config topic.
func (d *device) subscribeConfig(t *testing.T, ident string) {
	t.Helper()
	tok := d.Subscribe(broker.ConfigTopic(ident), 1, func(_ paho.Client, m paho.Message) { d.config <- string(m.Payload()) })
	if tok.Wait(); tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
}

// mustLose waits for the broker to close the device's connection.
func (d *device) mustLose(t *testing.T) {
	t.Helper()
	select {
	case <-d.lost:
	case <-poll.After(t):
		t.Fatal("the broker kept the connection open")
	}
}

// configUntil returns what the device reads on its config topic up to and
// including the first message containing last: a retained message is
// delivered at subscription, so before anything published after it.
func (d *device) configUntil(t *testing.T, last string) []string {
	t.Helper()
	var got []string
	for {
		var m string
		select {
		case m = <-d.config:
		case <-poll.After(t):
			t.Fatalf("no config with %q; read %q", last, got)
		}
		got = append(got, m)
		if strings.Contains(m, last) {
			return got
		}
	}
}

// TestDeviceTracesCleared: after a device moves, is unassigned or has its
// credential rotated, nothing the old custody left in the broker reaches
// the device's new holder, and the old holder's connection is closed.
func TestDeviceTracesCleared(t *testing.T) {
	for _, c := range []struct {
		name string
		// change changes the custody of truck-1 and returns its token.
		change func(t *testing.T, w *world) string
	}{
		{"Transfer", func(t *testing.T, w *world) string {
			_, token, err := w.db.Devices().AssignDevice(context.Background(), "truck-1", w.tenantB)
			if err != nil || token == "" {
				t.Fatalf("transfer: %q, %v", token, err)
			}
			return token
		}},
		{"UnassignThenAssign", func(t *testing.T, w *world) string {
			if _, err := w.db.Devices().UnassignDevice(context.Background(), "truck-1"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := w.db.Devices().AssignDevice(context.Background(), "truck-1", w.tenantB); err != nil {
				t.Fatal(err)
			}
			return w.token
		}},
		{"TransferByAnotherProcess", func(t *testing.T, w *world) string {
			// As the CLI does it: another inventory on the same catalog,
			// which the broker does not hear from.
			cli := mustOpenSQLite(t, w.dir)
			_, token, err := cli.Devices().AssignDevice(context.Background(), "truck-1", w.tenantB)
			if err != nil {
				t.Fatal(err)
			}
			return token
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, broker.Limits{})
			if err := w.b.PublishConfig(w.ctxA, "truck-1", map[string]any{"apn_password": "secret-of-a"}); err != nil {
				t.Fatal(err)
			}
			old, _ := w.mustConnect(t, "truck-1", w.token, false)
			old.subscribeConfig(t, "truck-1")
			if got := old.configUntil(t, "secret-of-a"); len(got) != 1 {
				t.Fatalf("before the change the device reads %q, want A's config", got)
			}
			token := c.change(t, w)
			if err := w.b.PublishConfig(w.ctxA, "truck-1", map[string]any{"apn_password": "late-of-a"}); err == nil {
				t.Errorf("tenant A published settings to a device it no longer holds")
			}

			// The new holder keeps no session of the old and reads no
			// retained message of it.
			dev, present := w.mustConnect(t, "truck-1", token, false)
			if present {
				t.Errorf("the new holder inherited the old session")
			}
			old.mustLose(t)
			dev.subscribeConfig(t, "truck-1")
			// The old credential, which this node may still hold in its
			// cache after a change made elsewhere, neither connects nor
			// disturbs the new holder.
			if token != w.token {
				if _, _, err := w.connect(t, "truck-1", "truck-1", w.token, true); err == nil {
					t.Errorf("the old credential connects after the change")
				}
			}
			if err := w.b.PublishConfig(w.ctxB, "truck-1", map[string]any{"apn_password": "secret-of-b"}); err != nil {
				t.Fatal(err)
			}
			if got := dev.configUntil(t, "secret-of-b"); len(got) != 1 {
				t.Errorf("after the change the device read %q, want B's config only", got)
			}
			select {
			case <-dev.lost:
				t.Fatal("the new holder was disconnected")
			default:
			}
			// And so does a command-line client with the new credential.
			out, err := exec.Command(mqtttest.Client(t, "mosquitto_sub"), "-h", w.host, "-p", w.port, "-V", "mqttv311", "-q", "1",
				"-u", "truck-1", "-P", token, "-i", "truck-1", "-t", broker.ConfigTopic("truck-1"), "-C", "1").CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != `{"apn_password":"secret-of-b"}` {
				t.Errorf("mosquitto_sub with the new token: %q, %v", out, err)
			}
		})
	}

	t.Run("Rotate", func(t *testing.T) {
		w := newWorld(t, broker.Limits{})
		old, _ := w.mustConnect(t, "truck-1", w.token, false)
		old.subscribeConfig(t, "truck-1")
		token, err := w.db.Devices().RotateToken(context.Background(), "truck-1")
		if err != nil {
			t.Fatal(err)
		}
		old.mustLose(t)
		if _, _, err := w.connect(t, "truck-1", "truck-1", w.token, true); err == nil {
			t.Errorf("the old credential connects after the rotation")
		}
		if _, present := w.mustConnect(t, "truck-1", token, false); present {
			t.Errorf("the new credential inherited the old credential's session")
		}
	})
}

// TestChangeHeardLate: a change made by another process (the CLI, another
// node) that this broker hears of after the device connected with its new
// credential leaves that connection, and what it was sent, alone.
func TestChangeHeardLate(t *testing.T) {
	w := newWorld(t, broker.Limits{})
	cli := mustOpenSQLite(t, w.dir)
	old, _ := w.mustConnect(t, "truck-1", w.token, false)
	token, err := cli.Devices().RotateToken(context.Background(), "truck-1")
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := w.mustConnect(t, "truck-1", token, false)
	old.mustLose(t)
	dev.subscribeConfig(t, "truck-1")
	if err := w.b.PublishConfig(w.ctxA, "truck-1", map[string]any{"apn": "before"}); err != nil {
		t.Fatal(err)
	}
	if got := dev.configUntil(t, "before"); len(got) != 1 {
		t.Fatalf("read %q", got)
	}
	d, err := cli.Devices().Device(context.Background(), "truck-1")
	if err != nil {
		t.Fatal(err)
	}
	w.b.DeviceChanged(context.Background(), qm.DeviceChange{Device: d, Action: qm.DeviceRotated})
	if err := w.b.PublishConfig(w.ctxA, "truck-1", map[string]any{"apn": "after"}); err != nil {
		t.Fatal(err)
	}
	// (The retained "before" may come again: the broker sends what is
	// retained for a new subscription beside what is published live.)
	for {
		select {
		case <-dev.lost:
			t.Fatal("the device connected with its new credential was cut off by the news of that credential")
		case m := <-dev.config:
			if strings.Contains(m, "after") {
				return
			}
		case <-poll.After(t):
			t.Fatal("the settings published after the news never came")
		}
	}
}

// TestClientIDIsTheIdent: a device of tenant B using the client id of a
// device of tenant A is refused, and A's device stays connected.
func TestClientIDIsTheIdent(t *testing.T) {
	w := newWorld(t, broker.Limits{})
	a, _ := w.mustConnect(t, "truck-1", w.token, true)
	_, _, err := w.connect(t, "truck-1", "truck-2", w.otherToken, true)
	if err == nil || !strings.Contains(err.Error(), "identifier rejected") {
		t.Fatalf("B connecting with A's client id: %v, want identifier rejected", err)
	}
	if got := w.refused(metrics.ClientID); got != 1 {
		t.Errorf("client id refusals: got %v, want 1", got)
	}
	tok := a.Publish("devices/truck-1/telemetry", 1, false, point(time.Now().Add(-time.Minute), 52))
	if tok.Wait(); tok.Error() != nil {
		t.Fatalf("A's device after B's attempt: %v", tok.Error())
	}
	select {
	case <-a.lost:
		t.Fatal("A's device was disconnected")
	default:
	}
	// An empty client id is given the ident.
	if _, _, err := w.connect(t, "", "truck-2", w.otherToken, true); err != nil {
		t.Errorf("an empty client id: %v", err)
	}
}

// TestQoS2 is answered PUBREC after commit, and the point is stored.
func TestQoS2(t *testing.T) {
	w := newWorld(t, broker.Limits{})
	// The test's deadline bounds the old failure: a client waiting for
	// PUBREC forever.
	ctx := t.Context()
	if dl := poll.Deadline(t); !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	for i, version := range []string{"mqttv311", "mqttv5"} {
		out, err := exec.CommandContext(ctx, mqtttest.Client(t, "mosquitto_pub"), "-h", w.host, "-p", w.port, "-V", version, "-q", "2",
			"-u", "truck-1", "-P", w.token, "-i", "truck-1", "-t", "devices/truck-1/telemetry",
			"-m", point(time.Now().Add(-time.Hour+time.Duration(i)*time.Minute), 50)).CombinedOutput()
		if err != nil {
			t.Fatalf("%s QoS 2 publish: %v: %s", version, err, out)
		}
		if st, err := w.fleet.Latest(w.ctxA, "truck-1"); err != nil || st.Points != int64(i+1) {
			t.Fatalf("%s: after PUBCOMP: %+v, %v; want %d points", version, st, err, i+1)
		}
	}
}

// rawDial opens a TCP connection to the broker.
func (w *world) rawDial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", net.JoinHostPort(w.host, w.port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// Only bounds a failure: a broker that keeps the connection open.
	c.SetReadDeadline(poll.Deadline(t))
	return c
}

// closedByServer reads c until the server closes it, and reports whether
// it did so without sending anything.
func closedByServer(c net.Conn) bool {
	n, err := bufio.NewReader(c).Read(make([]byte, 1))
	return n == 0 && err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

func TestConnectLimits(t *testing.T) {
	t.Run("HugeConnect", func(t *testing.T) {
		w := newWorld(t, broker.Limits{})
		c := w.rawDial(t)
		// A CONNECT declaring 64 MiB, then its first bytes.
		if _, err := c.Write(append([]byte{0x10, 0x80, 0x80, 0x80, 0x20}, bytes.Repeat([]byte{0}, 4096)...)); err != nil {
			t.Fatal(err)
		}
		if !closedByServer(c) {
			t.Fatal("the server answered a 64 MiB CONNECT")
		}
		if got := w.refused(metrics.TooLarge); got != 1 {
			t.Errorf("too large refusals: got %v, want 1", got)
		}
		w.logs.waitFor(t, "connection refused", "CONNECT of 67108864 bytes")
	})

	t.Run("StalledConnect", func(t *testing.T) {
		w := newWorld(t, broker.Limits{ConnectTimeout: time.Millisecond})
		c := w.rawDial(t)
		if _, err := c.Write([]byte{0x10}); err != nil && !errors.Is(err, net.ErrClosed) {
			t.Logf("write: %v", err) // the server may have closed it already
		}
		if !closedByServer(c) {
			t.Fatal("the server answered a stalled CONNECT")
		}
		if got := w.refused(metrics.ConnectTimeout); got != 1 {
			t.Errorf("connect timeouts: got %v, want 1", got)
		}
	})

	t.Run("TooManyUnauthenticated", func(t *testing.T) {
		w := newWorld(t, broker.Limits{MaxUnauthenticated: 2, ConnectTimeout: time.Hour})
		// Authenticated devices do not count.
		w.mustConnect(t, "truck-1", w.token, true)
		w.mustConnect(t, "truck-2", w.otherToken, true)
		w.rawDial(t)
		w.rawDial(t)
		if !closedByServer(w.rawDial(t)) {
			t.Fatal("a third unauthenticated connection was served")
		}
		if got := w.refused(metrics.Unauthenticated); got != 1 {
			t.Errorf("unauthenticated refusals: got %v, want 1", got)
		}
	})

	t.Run("PacketOverMax", func(t *testing.T) {
		w := newWorld(t, broker.Limits{MaxPacket: 1024})
		d, _ := w.mustConnect(t, "truck-1", w.token, true)
		d.Publish("devices/truck-1/telemetry", 1, false, strings.Repeat("x", 2048))
		d.mustLose(t)
		w.logs.waitFor(t, "packet refused")
		if got := w.refused(metrics.TooLarge); got != 1 {
			t.Errorf("too large refusals: got %v, want 1", got)
		}
	})
}

// TestWillIsDropped: a device cannot leave a retained will on another
// device's topic.
func TestWillIsDropped(t *testing.T) {
	w := newWorld(t, broker.Limits{})
	c := w.rawDial(t)
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "truck-2",
			UsernameFlag: true, Username: []byte("truck-2"), PasswordFlag: true, Password: []byte(w.otherToken),
			WillFlag: true, WillRetain: true, WillQos: 1, WillTopic: broker.ConfigTopic("truck-1"), WillPayload: []byte(`{"apn":"evil"}`)}}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := c.Read(ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("CONNACK: %x, %v", ack, err)
	}
	c.Close() // without DISCONNECT: the will would be sent
	w.logs.waitFor(t, "client disconnected", "truck-2")

	a, _ := w.mustConnect(t, "truck-1", w.token, true)
	a.subscribeConfig(t, "truck-1")
	if err := w.b.PublishConfig(w.ctxA, "truck-1", map[string]any{"apn": "a"}); err != nil {
		t.Fatal(err)
	}
	if got := a.configUntil(t, `"a"`); len(got) != 1 {
		t.Errorf("truck-1 read %q, want its own config only", got)
	}
}

// TestRefusalLogsAreBounded: a refused 1 MiB publish writes a short line.
func TestRefusalLogsAreBounded(t *testing.T) {
	w := newWorld(t, broker.Limits{})
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("A"), 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"devices/truck-2/telemetry", "devices/truck-1/telemetry"} {
		exec.Command(mqtttest.Client(t, "mosquitto_pub"), "-h", w.host, "-p", w.port, "-V", "mqttv311", "-q", "1",
			"-u", "truck-1", "-P", w.token, "-i", "truck-1", "-t", topic, "-f", big).Run()
	}
	w.logs.waitFor(t, "error processing packet", "devices/truck-2/telemetry")
	w.logs.waitFor(t, "telemetry refused", "truck-1")
	w.logs.mu.Lock()
	defer w.logs.mu.Unlock()
	for _, line := range w.logs.lines {
		if len(line) > 2048 {
			t.Errorf("a log line of %d bytes: %.200s…", len(line), line)
		}
	}
}

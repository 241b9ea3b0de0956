package broker_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// world is a running broker on SQLite with one device of tenant A and one
// of tenant B; the broker hears of device changes as in serve, and logs to
// logs.
type world struct {
	b                 *broker.Broker
	m                 *metrics.Metrics
	host, port        string
	db                *sqlite.DB
	dir               string // db's data directory
	fleet             *telemetry.FleetStore
	ctxA, ctxB        context.Context
	tenantB           *qm.Tenant
	dev, other        *qm.Device
	token, otherToken string
	logs              *logSink
}

// mustOpenSQLite opens, and sets up, the SQLite catalog in dir.
func mustOpenSQLite(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(sqlite.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Setup(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newWorld(t *testing.T, limits broker.Limits) *world {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenSQLite(t, dir)
	w := &world{db: db, dir: dir, fleet: telemetry.NewFleetStore(db, db.Devices(), time.Now), logs: newLogSink()}
	var tenants []*qm.Tenant
	for _, slug := range []string{"mqtt-a", "mqtt-b"} {
		tn, err := db.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: slug, Name: slug, Tier: qm.TierPool})
		if err != nil {
			t.Fatal(err)
		}
		tenants = append(tenants, tn)
	}
	w.ctxA, w.ctxB, w.tenantB = tenancy.WithTenant(ctx, tenants[0]), tenancy.WithTenant(ctx, tenants[1]), tenants[1]
	register := func(ident string, tn *qm.Tenant) (*qm.Device, string) {
		d := &qm.Device{Ident: ident}
		token, err := db.Devices().RegisterDevice(ctx, d)
		if err == nil {
			_, _, err = db.Devices().AssignDevice(ctx, d.ID, tn)
		}
		if err != nil {
			t.Fatal(err)
		}
		return d, token
	}
	w.dev, w.token = register("truck-1", tenants[0])
	w.other, w.otherToken = register("truck-2", tenants[1])
	points := telemetry.NewPointWriter(db, time.Now, 0)
	t.Cleanup(points.Close)
	w.m = metrics.New(0)
	w.b = broker.New(broker.Config{Addr: "127.0.0.1:0", Points: ingest.NewIngester(ingest.Config{Store: points, Metrics: &w.m.Ingest, Now: time.Now}), Metrics: &w.m.Ingest, Devices: db.Devices(), Limits: limits,
		Logger: slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Auth:   auth.New(auth.Config{Identity: db.Identity(), Tenants: db.Tenants(), Devices: db.Devices()})})
	db.Devices().Notify(w.b)
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- w.b.Run(runCtx, ready) }()
	select {
	case addr := <-ready:
		w.host, w.port, _ = net.SplitHostPort(addr.String())
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop()
		<-done
	})
	return w
}

// pub publishes with mosquitto_pub and returns its combined output and
// whether it succeeded.
func (w *world) pub(t *testing.T, version, user, password, topic, message string) (string, bool) {
	t.Helper()
	out, err := exec.Command(mqtttest.Client(t, "mosquitto_pub"), "-h", w.host, "-p", w.port, "-V", version, "-q", "1",
		"-u", user, "-P", password, "-t", topic, "-m", message, "-i", user).CombinedOutput()
	return string(out), err == nil
}

func point(at time.Time, lat float64) string {
	return fmt.Sprintf(`{"time":"%s","lat":%v,"lon":13.4,"metrics":{"battery_v":12.4}}`, at.UTC().Format(time.RFC3339), lat)
}

func TestMQTTWithMosquittoClients(t *testing.T) {
	w := newWorld(t, broker.Limits{})
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	topic := "devices/truck-1/telemetry"
	for i, version := range []string{"mqttv311", "mqttv5"} {
		if out, ok := w.pub(t, version, "truck-1", w.token, topic, point(at.Add(time.Duration(i)*time.Minute), 52.5+float64(i))); !ok {
			t.Fatalf("%s publish: %s", version, out)
		}
		// QoS 1 was acknowledged: the point is committed already.
		st, err := w.fleet.Latest(w.ctxA, "truck-1")
		if err != nil || st.Points != int64(i+1) || st.Position.Lat != 52.5+float64(i) {
			t.Fatalf("%s: after the PUBACK the point is not stored: %+v, %v", version, st, err)
		}
	}
	batch := "[" + point(at.Add(2*time.Minute), 50) + "," + point(at.Add(3*time.Minute), 51) + "]"
	if out, ok := w.pub(t, "mqttv311", "truck-1", w.token, topic, batch); !ok {
		t.Fatalf("batch: %s", out)
	}

	t.Run("Refused", func(t *testing.T) {
		for _, c := range []struct{ name, version, user, password, topic, message string }{
			{"WrongPassword", "mqttv311", "truck-1", "qmd_wrong", topic, point(at.Add(time.Hour), 1)},
			{"AnotherDevicesCredential", "mqttv311", "truck-1", w.otherToken, topic, point(at.Add(time.Hour), 1)},
			{"AnotherDevicesTopic", "mqttv311", "truck-1", w.token, "devices/truck-2/telemetry", point(at.Add(time.Hour), 1)},
			{"AnotherDevicesTopicV5", "mqttv5", "truck-1", w.token, "devices/truck-2/telemetry", point(at.Add(time.Hour), 1)},
			{"BadPayloadV5", "mqttv5", "truck-1", w.token, topic, `{"time":"` + at.Format(time.RFC3339) + `","lat":91,"lon":1}`},
		} {
			out, ok := w.pub(t, c.version, c.user, c.password, c.topic, c.message)
			if ok && !strings.Contains(out, "failed") {
				t.Errorf("%s: the publish succeeded: %s", c.name, out)
			}
		}
		// A bad payload over 3.1.1 is acknowledged (3.1.1 has no negative
		// acknowledgement) but not stored.
		w.pub(t, "mqttv311", "truck-1", w.token, topic, `not json`)
		st, _ := w.fleet.Latest(w.ctxA, "truck-1")
		if st.Points != 4 {
			t.Fatalf("refused publishes stored points: %d, want 4", st.Points)
		}
		for reason, want := range map[string]float64{metrics.Unauthorized: 2, metrics.ForbiddenTopic: 2, metrics.Invalid: 1, metrics.Malformed: 1} {
			if got := testutil.ToFloat64(w.m.Ingest.Refused.WithLabelValues("mqtt", reason)); got < want {
				t.Errorf("refusals for %s: got %v, want at least %v", reason, got, want)
			}
		}
		if got := testutil.ToFloat64(w.m.Ingest.Points.WithLabelValues("mqtt")); got != 4 {
			t.Errorf("points counted: %v, want 4", got)
		}
	})

	t.Run("Config", func(t *testing.T) {
		if err := w.b.PublishConfig(w.ctxA, "truck-1", map[string]any{"interval_s": 30}); err != nil {
			t.Fatal(err)
		}
		sub := func(user, password, topic string) (string, error) {
			out, err := exec.Command(mqtttest.Client(t, "mosquitto_sub"), "-h", w.host, "-p", w.port, "-V", "mqttv311", "-q", "1",
				"-u", user, "-P", password, "-i", user, "-t", topic, "-C", "1", "-W", "2").CombinedOutput()
			return strings.TrimSpace(string(out)), err
		}
		if out, err := sub("truck-1", w.token, "devices/truck-1/config"); err != nil || out != `{"interval_s":30}` {
			t.Fatalf("own config: %q, %v", out, err)
		}
		for _, topic := range []string{"devices/+/config", "devices/truck-2/config", "#"} {
			if out, err := sub("truck-1", w.token, topic); err == nil && strings.Contains(out, "interval_s") {
				t.Errorf("subscribing to %s read another's config: %s", topic, out)
			}
		}
	})
}

// TestMQTTPaced: past its tenant's rate, a device over MQTT 5 is told its
// quota is exceeded, and the message is not stored; one over MQTT 3.1.1,
// which cannot be told, is slowed, and every message is stored.
func TestMQTTPaced(t *testing.T) {
	w := newWorld(t, broker.Limits{})
	tn, _ := tenancy.FromContext(w.ctxA)
	limit := func(value string) {
		t.Helper()
		var s qm.LimitSet
		if err := s.Set("mqtt_messages_per_second", value); err != nil {
			t.Fatal(err)
		}
		if _, err := catalog.NewPlanStore(w.db.Tenants()).SetTenantOverrides(context.Background(), tn.Slug, s, nil); err != nil {
			t.Fatal(err)
		}
	}
	topic := "devices/truck-1/telemetry"
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	stored := func() int64 {
		st, err := w.fleet.Latest(w.ctxA, "truck-1")
		if err != nil {
			return 0
		}
		return st.Points
	}
	// So slow that a second message never comes in time.
	limit("0.001")
	if out, ok := w.pub(t, "mqttv5", "truck-1", w.token, topic, point(at, 50)); !ok {
		t.Fatalf("the first message: %s", out)
	}
	if out, ok := w.pub(t, "mqttv5", "truck-1", w.token, topic, point(at.Add(time.Second), 51)); ok && !strings.Contains(out, "failed") {
		t.Fatalf("a message past the rate was acknowledged: %s", out)
	}
	if n := stored(); n != 1 {
		t.Fatalf("%d points stored, want the first only", n)
	}
	// Over 3.1.1, eight messages on one connection at five a second: the
	// last three wait for their turn, and none is lost.
	limit("5")
	var lines strings.Builder
	for i := range 8 {
		lines.WriteString(point(at.Add(time.Duration(i+2)*time.Second), 52) + "\n")
	}
	cmd := exec.Command(mqtttest.Client(t, "mosquitto_pub"), "-h", w.host, "-p", w.port, "-V", "mqttv311", "-q", "1",
		"-u", "truck-1", "-P", w.token, "-t", topic, "-l", "-i", "truck-1")
	cmd.Stdin = strings.NewReader(lines.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("publish eight: %v %s", err, out)
	}
	poll.Until(t, "every message slowed, none lost", func() (bool, error) { return stored() == 9, nil })
	if got := testutil.ToFloat64(w.m.Ingest.Refused.WithLabelValues("mqtt", metrics.RateLimited)); got < 1 {
		t.Errorf("refusals for the rate: %v, want at least the MQTT 5 one", got)
	}
}

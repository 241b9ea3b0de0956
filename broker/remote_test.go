package broker_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/broker/mqttclient"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/internal/mqtttest"
	"github.com/quartermaster/qm/internal/pgtest"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/postgres"
	"github.com/quartermaster/qm/sqlite"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/tenancy"
)

// remoteWorld is a node on SQLite consuming from a Mosquitto of its own,
// whose device accounts the inventory keeps: tenant A holds truck-1,
// tenant B truck-2.
type remoteWorld struct {
	mosq       *mqtttest.Broker
	db         *sqlite.DB
	dynsec     *broker.DynSec
	remote     *broker.Remote
	node       broker.RemoteConfig // the remote's, for another node
	fleet      *telemetry.FleetStore
	ctxA, ctxB context.Context
	a, b       *qm.Tenant
	tokens     map[string]string
}

func newRemoteWorld(t *testing.T) *remoteWorld {
	ctx := context.Background()
	w := &remoteWorld{mosq: mqtttest.Mosquitto(t), db: mustOpenSQLite(t, t.TempDir()), tokens: map[string]string{}}
	t.Cleanup(func() {
		if t.Failed() {
			log, _ := os.ReadFile(w.mosq.Log)
			t.Logf("Mosquitto's log:\n%s", log)
		}
	})
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	w.dynsec = broker.NewDynSec(broker.DynSecConfig{Addr: w.mosq.Addr, Username: w.mosq.AdminUser, Password: w.mosq.AdminPassword,
		ClientID: "quartermaster/test/control", Logger: log})
	t.Cleanup(func() { w.dynsec.Close() })
	w.db.Devices().KeepAccounts(w.dynsec)
	w.fleet = telemetry.NewFleetStore(w.db, w.db.Devices(), time.Now)
	for i, slug := range []string{"ext-a", "ext-b"} {
		tn, err := w.db.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: slug, Name: slug, Tier: qm.TierPool})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			w.a, w.ctxA = tn, tenancy.WithTenant(ctx, tn)
		} else {
			w.b, w.ctxB = tn, tenancy.WithTenant(ctx, tn)
		}
	}
	w.register(t, "truck-1", w.a)
	w.register(t, "truck-2", w.b)
	points := telemetry.NewPointWriter(w.db, time.Now, 0)
	t.Cleanup(points.Close)
	w.node = broker.RemoteConfig{Addr: w.mosq.Addr, Username: w.mosq.AdminUser, Password: w.mosq.AdminPassword,
		Node: "test/node", DynSec: w.dynsec, Devices: w.db.Devices(), Logger: log,
		Auth:   auth.New(auth.Config{Identity: w.db.Identity(), Tenants: w.db.Tenants(), Devices: w.db.Devices()}),
		Points: ingest.NewIngester(ingest.Config{Store: points, Now: time.Now})}
	var stop func()
	w.remote, stop = w.run(t, w.node)
	t.Cleanup(stop)
	w.db.Devices().Notify(w.remote)
	return w
}

// run starts a node of cfg and waits until it has subscribed; stop stops
// it and waits until it has.
func (w *remoteWorld) run(t *testing.T, cfg broker.RemoteConfig) (node *broker.Remote, stop func()) {
	t.Helper()
	node = broker.NewRemote(cfg)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(runCtx) }()
	stop = func() {
		cancel()
		<-done
	}
	select {
	case <-node.Subscribed():
	case err := <-done:
		t.Fatalf("the node stopped: %v", err)
	case <-poll.After(t):
		t.Fatal("gave up waiting for the node to subscribe")
	}
	return node, stop
}

// register registers ident and assigns it to tn.
func (w *remoteWorld) register(t *testing.T, ident string, tn *qm.Tenant) {
	t.Helper()
	d := &qm.Device{Ident: ident}
	token, err := w.db.Devices().RegisterDevice(context.Background(), d)
	if err == nil && tn != nil {
		_, _, err = w.db.Devices().AssignDevice(context.Background(), d.ID, tn)
	}
	if err != nil {
		t.Fatal(err)
	}
	w.tokens[ident] = token
}

// dial connects as a device.
func (w *remoteWorld) dial(ident, clientID, token string, onMessage func(*mqttclient.Message)) (*mqttclient.Client, error) {
	c, _, err := mqttclient.Dial(context.Background(), mqttclient.Options{Addr: w.mosq.Addr, ClientID: clientID, Username: ident, Password: token,
		CleanSession: true, OnMessage: onMessage})
	return c, err
}

func (w *remoteWorld) mustDial(t *testing.T, ident string) *mqttclient.Client {
	t.Helper()
	c, err := w.dial(ident, ident, w.tokens[ident], nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// stored is how many points ctx's tenant holds of ident.
func (w *remoteWorld) stored(ctx context.Context, ident string) int64 {
	st, err := w.fleet.Latest(ctx, ident)
	if err != nil {
		return 0
	}
	return st.Points
}

// mustEnd waits until c's connection ends; what names the wait.
func mustEnd(t *testing.T, c *mqttclient.Client, what string) {
	t.Helper()
	select {
	case <-c.Done():
	case <-poll.After(t):
		t.Fatalf("gave up waiting until %s", what)
	}
}

func refused(err error) bool {
	var r *mqttclient.RefusedError
	return errors.As(err, &r)
}

// TestExternalBroker: a device's telemetry published at the external
// broker is stored; the broker lets each device reach only its own
// topics; a credential rotated, a device transferred or taken back is
// cut off at once, and what the old tenant left at the broker is gone.
func TestExternalBroker(t *testing.T) {
	w := newRemoteWorld(t)
	ctx := t.Context()
	truck1 := w.mustDial(t, "truck-1")
	at := time.Now().Add(-time.Minute)
	if err := truck1.Publish(ctx, broker.TelemetryTopic("truck-1"), []byte("["+point(at, 52.5)+"]"), 1, false); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "truck-1's point is stored", func() (bool, error) { return w.stored(w.ctxA, "truck-1") == 1, nil })

	t.Run("OnlyItsOwnTopics", func(t *testing.T) {
		// Accepted by the broker (MQTT 3.1.1 cannot refuse a publish) but
		// never delivered: a point of truck-1's on truck-2's topic, then
		// one on its own, which proves the first had its chance.
		if err := truck1.Publish(ctx, broker.TelemetryTopic("truck-2"), []byte("["+point(at.Add(time.Second), 1)+"]"), 1, false); err != nil {
			t.Fatal(err)
		}
		if err := truck1.Publish(ctx, broker.TelemetryTopic("truck-1"), []byte("["+point(at.Add(2*time.Second), 52.5)+"]"), 1, false); err != nil {
			t.Fatal(err)
		}
		poll.Until(t, "truck-1's second point is stored", func() (bool, error) { return w.stored(w.ctxA, "truck-1") == 2, nil })
		if n := w.stored(w.ctxB, "truck-2"); n != 0 {
			t.Errorf("truck-1 stored %d points as truck-2, want 0", n)
		}
		// Nor may it join the nodes' share of telemetry, to take messages
		// and never acknowledge them.
		for _, filter := range []string{broker.ConfigTopic("truck-2"), "devices/+/config", "#", broker.TelemetryTopic("truck-1"), broker.SharedTelemetry,
			"$share/quartermaster/" + broker.TelemetryTopic("truck-1"), "$CONTROL/dynamic-security/#"} {
			if err := truck1.Subscribe(ctx, filter, 1); err == nil {
				t.Errorf("truck-1 subscribed to %s, want refused", filter)
			}
		}
		if err := truck1.Subscribe(ctx, broker.ConfigTopic("truck-1"), 1); err != nil {
			t.Errorf("truck-1 cannot subscribe to its config: %v", err)
		}
		if _, err := w.dial("truck-1", "truck-2", w.tokens["truck-1"], nil); !refused(err) {
			t.Errorf("truck-1 connecting as client truck-2: got %v, want refused", err)
		}
		if _, err := w.dial("truck-2", "truck-2", w.tokens["truck-1"], nil); !refused(err) {
			t.Errorf("truck-1's credential as truck-2: got %v, want refused", err)
		}
	})

	t.Run("Rotated", func(t *testing.T) {
		old := w.tokens["truck-1"]
		token, err := w.db.Devices().RotateToken(ctx, "truck-1")
		if err != nil {
			t.Fatal(err)
		}
		w.tokens["truck-1"] = token
		mustEnd(t, truck1, "truck-1's connection with its old credential ends")
		if _, err := w.dial("truck-1", "truck-1", old, nil); !refused(err) {
			t.Errorf("the old credential: got %v, want refused", err)
		}
		w.mustDial(t, "truck-1")
	})

	t.Run("Suspended", func(t *testing.T) {
		// A suspended tenant's devices are refused, as the embedded
		// broker refuses them, and connect again once it is resumed.
		c := w.mustDial(t, "truck-1")
		if _, err := w.db.Tenants().SetState(ctx, w.a.Slug, qm.StateSuspended); err != nil {
			t.Fatal(err)
		}
		mustEnd(t, c, "truck-1's connection ends as its tenant is suspended")
		if _, err := w.dial("truck-1", "truck-1", w.tokens["truck-1"], nil); !refused(err) {
			t.Errorf("truck-1 of a suspended tenant: got %v, want refused", err)
		}
		if _, err := w.db.Tenants().SetState(ctx, w.a.Slug, qm.StateActive); err != nil {
			t.Fatal(err)
		}
		w.mustDial(t, "truck-1")
	})

	t.Run("Transferred", func(t *testing.T) {
		truck2 := w.mustDial(t, "truck-2")
		if err := w.remote.PublishConfig(w.ctxB, "truck-2", map[string]any{"secret_of_b": 1}); err != nil {
			t.Fatal(err)
		}
		old := w.tokens["truck-2"]
		_, token, err := w.db.Devices().AssignDevice(ctx, "truck-2", w.a)
		if err != nil {
			t.Fatal(err)
		}
		mustEnd(t, truck2, "truck-2's connection under tenant B ends")
		if _, err := w.dial("truck-2", "truck-2", old, nil); !refused(err) {
			t.Errorf("the credential tenant B knew: got %v, want refused", err)
		}
		// What truck-2 receives when it subscribes under tenant A: the
		// broker sends what is retained before the marker published after.
		got := make(chan *mqttclient.Message, 10)
		c, err := w.dial("truck-2", "truck-2", token, func(m *mqttclient.Message) { got <- m; m.Ack() })
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, topic := range []string{broker.ConfigTopic("truck-2"), broker.CommandsTopic("truck-2")} {
			if err := c.Subscribe(ctx, topic, 1); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.dynsec.Publish(ctx, broker.CommandsTopic("truck-2"), []byte("marker"), false); err != nil {
			t.Fatal(err)
		}
		for m := range got {
			if string(m.Payload) == "marker" {
				break
			}
			t.Errorf("truck-2 received %q on %s, left by tenant B", m.Payload, m.Topic)
		}
	})

	t.Run("TakenBack", func(t *testing.T) {
		truck1 := w.mustDial(t, "truck-1")
		if _, err := w.db.Devices().UnassignDevice(ctx, "truck-1"); err != nil {
			t.Fatal(err)
		}
		mustEnd(t, truck1, "truck-1's connection ends")
		if _, err := w.dial("truck-1", "truck-1", w.tokens["truck-1"], nil); !refused(err) {
			t.Errorf("truck-1, held by none: got %v, want refused", err)
		}
	})

	t.Run("Reconciled", func(t *testing.T) {
		// An account left by a registration never committed, and a
		// device registered while the broker was not kept.
		if err := w.dynsec.SetDeviceAccount(ctx, "ghost", "qmd_ghost", true); err != nil {
			t.Fatal(err)
		}
		if _, err := w.dial("ghost", "ghost", "qmd_ghost", nil); err != nil {
			t.Fatalf("the ghost account does not work before it is reconciled: %v", err)
		}
		// And a tenant suspended while the broker was not kept.
		w.register(t, "truck-4", w.b)
		w.db.Devices().KeepAccounts(nil)
		w.register(t, "truck-3", w.a)
		if _, err := w.db.Tenants().SetState(ctx, w.b.Slug, qm.StateSuspended); err != nil {
			t.Fatal(err)
		}
		w.db.Devices().KeepAccounts(w.dynsec)
		missing, err := w.dynsec.Reconcile(ctx, w.db.Devices())
		if err != nil {
			t.Fatal(err)
		}
		if missing != 1 {
			t.Errorf("got %d devices without an account, want 1 (truck-3)", missing)
		}
		if _, err := w.dial("ghost", "ghost", "qmd_ghost", nil); !refused(err) {
			t.Errorf("the ghost account after reconciling: got %v, want refused", err)
		}
		if _, err := w.dial("truck-4", "truck-4", w.tokens["truck-4"], nil); !refused(err) {
			t.Errorf("truck-4, of a tenant suspended, after reconciling: got %v, want refused", err)
		}
		token, err := w.db.Devices().RotateToken(ctx, "truck-3")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.dial("truck-3", "truck-3", token, nil); err != nil {
			t.Errorf("truck-3 after its credential was rotated: %v", err)
		}
	})
}

// TestNodeLeaves: a node stopped leaves its share of the telemetry to the
// others at once: the broker queues nothing more for its session.
func TestNodeLeaves(t *testing.T) {
	w := newRemoteWorld(t)
	other := w.node
	other.Node = "test/other"
	_, stop := w.run(t, other)
	stop()
	truck1 := w.mustDial(t, "truck-1")
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	const messages = 20
	for i := range messages {
		if err := truck1.Publish(t.Context(), broker.TelemetryTopic("truck-1"), []byte("["+point(at.Add(time.Duration(i)*time.Second), 52.5)+"]"), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	poll.Until(t, "every message is stored by the node still running", func() (bool, error) { return w.stored(w.ctxA, "truck-1") == messages, nil })
}

// pausing keeps accounts at the broker as DynSec does, and holds the
// transaction that writes ident's account there, until release is closed,
// once it has said so on inside.
type pausing struct {
	*broker.DynSec
	ident           string
	inside, release chan struct{}
}

func (p pausing) SetDeviceAccount(ctx context.Context, ident, token string, enabled bool) error {
	err := p.DynSec.SetDeviceAccount(ctx, ident, token, enabled)
	if ident == p.ident {
		close(p.inside)
		<-p.release
	}
	return err
}

// TestReconcileWaitsForAccountChanges: a node reconciling the broker's
// accounts while another registers a device, whose account is written
// before the device is committed, waits for the registration rather than
// take the account for a stray and delete it.
func TestReconcileWaitsForAccountChanges(t *testing.T) {
	ctx := context.Background()
	mosq := mqtttest.Mosquitto(t)
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	dynsec := broker.NewDynSec(broker.DynSecConfig{Addr: mosq.Addr, Username: mosq.AdminUser, Password: mosq.AdminPassword,
		ClientID: "quartermaster/test/control", Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
	t.Cleanup(func() { dynsec.Close() })
	p := pausing{DynSec: dynsec, ident: "late-1", inside: make(chan struct{}), release: make(chan struct{})}
	db.Devices().KeepAccounts(p)

	type registered struct {
		token string
		err   error
	}
	registering := make(chan registered, 1)
	go func() {
		token, err := db.Devices().RegisterDevice(ctx, &qm.Device{Ident: "late-1"})
		registering <- registered{token, err}
	}()
	select {
	case <-p.inside:
	case <-poll.After(t):
		t.Fatal("the registration never wrote the account")
	}
	reconciling := make(chan error, 1)
	go func() {
		_, err := dynsec.Reconcile(ctx, db.Devices())
		reconciling <- err
	}()
	// The reconciliation waits behind the registration's transaction.
	admin := pgtest.MustConnect(t, url)
	poll.Until(t, "the reconciliation waits for the registration", func() (bool, error) {
		var waiting int
		err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return waiting > 0, err
	})
	close(p.release)
	reg := <-registering
	if reg.err != nil {
		t.Fatal(reg.err)
	}
	if err := <-reconciling; err != nil {
		t.Fatal(err)
	}
	// Its account is still there: assigned, the device connects.
	db.Devices().KeepAccounts(dynsec)
	tn, err := db.Tenants().CreateTenant(ctx, qm.NewTenant{Slug: "late", Name: "Late", Tier: qm.TierPool})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Devices().AssignDevice(ctx, "late-1", tn); err != nil {
		t.Fatal(err)
	}
	c, _, err := mqttclient.Dial(ctx, mqttclient.Options{Addr: mosq.Addr, ClientID: "late-1", Username: "late-1", Password: reg.token, CleanSession: true})
	if err != nil {
		t.Fatalf("the device registered while the accounts were reconciled cannot connect: %v", err)
	}
	c.Close()
}

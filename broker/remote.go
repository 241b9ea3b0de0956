package broker

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/broker/mqttclient"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/usage"
)

// SharedTelemetry is the shared subscription the nodes read telemetry
// with: the broker gives each message to one of them.
const SharedTelemetry = "$share/quartermaster/devices/+/telemetry"

// RemoteConfig configures a Remote.
type RemoteConfig struct {
	// Addr is the external broker, host:port.
	Addr string
	// Username and Password are the nodes' account.
	Username, Password string
	// Node names this node, as in its heartbeats (Peers). Its session at
	// the broker, kept while the node is away, is SessionOf(Node): the
	// same after a restart, so the node receives again what it had not
	// acknowledged.
	Node string
	// Peers, when set, tells of the other nodes: while this node holds
	// the lease AdoptLease, it adopts the session of each node silent for
	// Silence (0: three heartbeats), so that what the broker holds for a
	// dead node is stored by a live one (see adopt).
	Peers   Peers
	Silence time.Duration
	// DynSec keeps the accounts and retained messages.
	DynSec *DynSec
	// Auth finds the device and tenant of a topic's ident.
	Auth *auth.Authenticator
	// Devices is the inventory, read before publishing to a device, and
	// which the broker's device accounts are reconciled with at start.
	Devices Inventory
	// Points takes the telemetry.
	Points qm.PointIngester
	// Rates paces each device's messages at its tenant plan's rate.
	Rates *rates.Buckets
	// Usage meters each tenant's messages (nil: not metered).
	Usage *usage.Meter
	// Metrics counts what is refused (nil: not counted).
	Metrics *metrics.Ingest
	// Workers is how many messages are stored at once, each device's in
	// order (0: 128): devices are spread over them by a hash of their
	// topic, so there are more than the devices expected to report at
	// once; fewer cut throughput (32 stored half as many messages a
	// second as 128 with 20 devices reporting at once).
	Workers int
	Logger  *slog.Logger
}

// Peers is what a node knows of the others (catalog.TenantService).
type Peers interface {
	// TakeLease takes or renews a lease for holder until ttl from now.
	TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// SilentNodes names the nodes whose heartbeat is older than within.
	SilentNodes(ctx context.Context, within time.Duration) ([]string, error)
}

// AdoptLease is the lease of the node that adopts silent nodes' sessions.
const AdoptLease = "mqtt-adopt"

// SessionOf is the client id of node's session at the broker. It holds a
// character no device ident has ("/"), so that no device can take the
// session over.
func SessionOf(node string) string { return "quartermaster/" + node }

// Remote is the nodes' side of an external MQTT broker: it stores the
// telemetry devices publish there, acknowledging each message to the
// broker only once its points are committed, and publishes devices'
// settings there.
type Remote struct {
	cfg        RemoteConfig
	work       []chan delivery
	subscribed chan struct{}
	once       sync.Once
}

// delivery is a message and the connection it came on.
type delivery struct {
	m *mqttclient.Message
	c *mqttclient.Client
}

var (
	_ qm.DeviceEvents = (*Remote)(nil)
)

// NewRemote returns a Remote for cfg; Run starts it.
func NewRemote(cfg RemoteConfig) *Remote {
	if cfg.Workers <= 0 {
		cfg.Workers = 128
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Rates == nil {
		cfg.Rates = rates.New(nil)
	}
	if cfg.Silence <= 0 {
		cfg.Silence = 3 * rates.HeartbeatEvery
	}
	r := &Remote{cfg: cfg, work: make([]chan delivery, cfg.Workers), subscribed: make(chan struct{})}
	for i := range r.work {
		// Room for the broker's whole window of messages not yet
		// acknowledged (max_inflight_messages, 100 in the README's
		// setup): a full queue would hold up every device's messages
		// behind one device's.
		r.work[i] = make(chan delivery, 128)
	}
	return r
}

// Run consumes telemetry until ctx is done, connecting again whenever the
// connection is lost.
func (r *Remote) Run(ctx context.Context) error {
	for _, ch := range r.work {
		go r.store(ctx, ch)
	}
	if r.cfg.Peers != nil {
		adopting := make(chan struct{})
		defer func() { <-adopting }()
		go func() {
			defer close(adopting)
			r.adopt(ctx)
		}()
	}
	pause := 100 * time.Millisecond
	setUp := false
	for {
		var err error
		if !setUp {
			err = r.setUp(ctx)
			setUp = err == nil
		}
		if setUp {
			err = r.consume(ctx, r.cfg.Node, false)
		}
		if ctx.Err() != nil {
			return nil
		}
		r.cfg.Logger.Warn("mqtt broker: connection lost; connecting again", "addr", r.cfg.Addr, "err", err, "in", pause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// setUp gives the nodes' account its role, and brings the broker's device
// accounts in line with the inventory.
func (r *Remote) setUp(ctx context.Context) error {
	if err := r.cfg.DynSec.SetupNode(ctx); err != nil {
		return err
	}
	missing, err := r.cfg.DynSec.Reconcile(ctx, r.cfg.Devices)
	if err != nil {
		return fmt.Errorf("reconcile device accounts: %w", err)
	}
	r.cfg.Logger.Info("mqtt broker: device accounts reconciled with the inventory", "addr", r.cfg.Addr, "without_account", missing)
	return nil
}

// Subscribed is closed once the node has subscribed to telemetry: from
// then on the broker keeps every message for it, or another node.
func (r *Remote) Subscribed() <-chan struct{} { return r.subscribed }

// consume reads telemetry on one connection to node's session until it
// ends: this node's own session, subscribed to the telemetry, or another's
// adopted, unsubscribed from it (see adopt).
func (r *Remote) consume(ctx context.Context, node string, adopted bool) error {
	var c *mqttclient.Client
	ready := make(chan struct{})
	c, present, err := mqttclient.Dial(ctx, mqttclient.Options{Addr: r.cfg.Addr, ClientID: SessionOf(node), Username: r.cfg.Username, Password: r.cfg.Password,
		OnMessage: func(m *mqttclient.Message) {
			<-ready
			// A device's messages go to one worker, so they are stored in
			// the order they came.
			ch := r.work[maphash.String(topicSeed, m.Topic)%uint64(len(r.work))]
			select {
			case ch <- delivery{m, c}:
			case <-ctx.Done():
			}
		}})
	if err != nil {
		return err
	}
	close(ready)
	defer c.Close()
	if adopted {
		if err := c.Unsubscribe(ctx, SharedTelemetry); err != nil {
			return err
		}
		r.cfg.Logger.Info("mqtt broker: storing what the broker held for a silent node", "addr", r.cfg.Addr, "client_id", SessionOf(node), "session_present", present)
	} else {
		if err := c.Subscribe(ctx, SharedTelemetry, 1); err != nil {
			return err
		}
		r.once.Do(func() { close(r.subscribed) })
		r.cfg.Logger.Info("mqtt broker: consuming telemetry", "addr", r.cfg.Addr, "client_id", SessionOf(node), "session_present", present)
	}
	select {
	case <-c.Done():
		return c.Err()
	case <-ctx.Done():
	}
	if !adopted {
		// Leaving: the broker gives this node's share to the others from
		// now on, rather than queue it for a node that is gone. What the
		// node took and did not acknowledge stays with its session, for
		// it when it is back, or for the node that adopts the session.
		leave, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
		defer cancel()
		if err := c.Unsubscribe(leave, SharedTelemetry); err != nil {
			r.cfg.Logger.Warn("mqtt broker: leave the shared subscription", "client_id", SessionOf(node), "err", err)
		}
	}
	return nil
}

// leaveTimeout bounds how long a node stopping waits for the broker to
// confirm that it left the shared subscription; past it, the session is
// adopted once the node is silent (adopt).
const leaveTimeout = 2 * time.Second

var topicSeed = maphash.MakeSeed()

// adopt stores what the broker holds for nodes that went silent, while
// this node holds AdoptLease, until ctx is done. The broker gives each
// node of the shared subscription its share of the telemetry whether it
// is connected or not, and keeps a dead node's share (and what it had
// not acknowledged) in its session until a client connects under its
// client id. So this node connects under the client id of each node
// silent for Silence, unsubscribes that session from the telemetry (the
// broker then gives the dead node no more), and stores and acknowledges
// what the broker sends, until the node speaks again. A node that comes
// back connects under its own client id, which ends the adopted
// connection (the broker keeps one per client id), and subscribes again;
// it is not adopted again until it has been silent for Silence since.
func (r *Remote) adopt(ctx context.Context) {
	every := r.cfg.Silence / 3
	type adoption struct {
		stop  context.CancelFunc
		ended chan struct{}
		at    time.Time // when it ended, once ended is closed
	}
	adopted := map[string]*adoption{}
	var wg sync.WaitGroup
	defer func() {
		for _, a := range adopted {
			a.stop()
		}
		wg.Wait()
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ok, err := r.cfg.Peers.TakeLease(ctx, AdoptLease, r.cfg.Node, 2*every)
		var silent []string
		if err == nil && ok {
			silent, err = r.cfg.Peers.SilentNodes(ctx, r.cfg.Silence)
		}
		if err != nil {
			// The catalog is out of reach: keep what is adopted.
			r.cfg.Logger.Error("mqtt broker: find silent nodes", "err", err)
		} else {
			now := time.Now()
			for node, a := range adopted {
				select {
				case <-a.ended:
					if !slices.Contains(silent, node) || now.Sub(a.at) >= r.cfg.Silence {
						delete(adopted, node)
					}
					continue
				default:
				}
				if !slices.Contains(silent, node) {
					a.stop()
				}
			}
			for _, node := range silent {
				if _, ok := adopted[node]; ok || node == r.cfg.Node {
					continue
				}
				actx, stop := context.WithCancel(ctx)
				a := &adoption{stop: stop, ended: make(chan struct{})}
				adopted[node] = a
				wg.Go(func() {
					err := r.consume(actx, node, true)
					if actx.Err() == nil {
						// Taken back by its node, most likely.
						r.cfg.Logger.Info("mqtt broker: adopted session ended", "client_id", SessionOf(node), "err", err)
					}
					a.at = time.Now()
					close(a.ended)
				})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// store stores the messages of ch until ctx is done.
func (r *Remote) store(ctx context.Context, ch <-chan delivery) {
	for {
		select {
		case d := <-ch:
			if r.handle(d.m) {
				d.m.Ack()
			} else {
				// Not acknowledged, it stays with this node's session;
				// the broker sends it again on the next connection.
				d.c.Close()
			}
		case <-ctx.Done():
			return
		}
	}
}

// handle stores one telemetry message and reports whether it is done
// with: stored, or refused for good (an unknown device, a bad payload, a
// limit: MQTT 3.1.1 cannot tell the device, and sent again it would be
// refused again). false: storage failed for now, so it must come again.
func (r *Remote) handle(m *mqttclient.Message) bool {
	ident, ok := strings.CutPrefix(m.Topic, "devices/")
	ident, ok2 := strings.CutSuffix(ident, "/telemetry")
	if !ok || !ok2 || !qm.ValidIdent(ident) {
		return true
	}
	d, t, p, err := r.cfg.Auth.DeviceIdent(context.Background(), ident)
	if err == nil {
		err = storeTelemetry(r.cfg.Points, r.cfg.Rates, r.cfg.Usage, t, p, d, m.Payload, false)
	}
	switch code := qm.ErrorCode(err); code {
	case "":
		return true
	case qm.EUnavailable:
		r.cfg.Logger.Info("mqtt broker: telemetry not stored, for now", "ident", ident, "reason", qm.ErrorMessage(err))
		return false
	case qm.ENotFound, qm.EForbidden, qm.ETenantInert, qm.EBadRequest, qm.EInvalid, qm.ETooLarge, qm.EFeatureDisabled, qm.ELimitReached, qm.ERateLimited:
		if code == qm.ENotFound || code == qm.EForbidden || code == qm.ETenantInert {
			r.cfg.Metrics.Refuse("mqtt", metrics.Unauthorized)
		}
		r.cfg.Logger.Info("mqtt broker: telemetry dropped", "ident", ident, "reason", qm.ErrorMessage(err))
		return true
	default:
		r.cfg.Logger.Error("mqtt broker: store telemetry", "ident", ident, "err", err)
		return false
	}
}

// PublishConfig sends a device its settings on its config topic at the
// broker, retained, as the embedded broker's PublishConfig does: only
// while the tenant ctx names holds the device.
func (r *Remote) PublishConfig(ctx context.Context, ident string, settings map[string]any) error {
	payload, err := settingsPayload(ctx, r.cfg.Devices, ident, settings, nil)
	if err != nil {
		return err
	}
	return r.cfg.DynSec.Publish(ctx, ConfigTopic(ident), payload, true)
}

// DeviceChanged implements qm.DeviceEvents: a device moved or taken back
// leaves nothing at the broker for whoever holds it next: its retained
// settings and commands are deleted, and its session (subscriptions,
// queued messages) is ended by connecting under its client id with a
// clean session. Its account was changed (disabled, or given a new
// credential, which closed its connections) before the change was
// committed.
func (r *Remote) DeviceChanged(ctx context.Context, c qm.DeviceChange) {
	if c.Action != qm.DeviceTransferred && c.Action != qm.DeviceUnassigned {
		return
	}
	ident := c.Device.Ident
	ctx = context.WithoutCancel(ctx)
	for _, topic := range []string{ConfigTopic(ident), CommandsTopic(ident)} {
		if err := r.cfg.DynSec.Publish(ctx, topic, nil, true); err != nil {
			r.cfg.Logger.Error("mqtt broker: clear retained", "ident", ident, "topic", topic, "err", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DynSec.cfg.Timeout)
	defer cancel()
	cl, _, err := mqttclient.Dial(ctx, mqttclient.Options{Addr: r.cfg.Addr, ClientID: ident, Username: r.cfg.Username, Password: r.cfg.Password, CleanSession: true})
	if err != nil {
		r.cfg.Logger.Error("mqtt broker: end the device's session", "ident", ident, "err", err)
		return
	}
	cl.Close()
	r.cfg.Logger.Info("mqtt broker: device traces cleared", "ident", ident, "change", c.Action)
}

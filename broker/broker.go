// Package broker is the MQTT broker embedded in the server (MQTT 3.1.1 and
// 5, on mochi-mqtt). Devices connect with their identifier as the user
// name and their credential as the password; each may publish telemetry
// only to devices/{ident}/telemetry and subscribe only to its own
// devices/{ident}/config and devices/{ident}/commands, with its ident as
// its client id. A QoS 1 or 2 publish is acknowledged (PUBACK, PUBREC)
// only after its points are committed. Connections are bounded before they
// authenticate (limits.go), and what a device leaves in the broker is
// dropped when it changes hands (traces.go).
package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/usage"
)

// Config configures a Broker.
type Config struct {
	// Addr is where devices connect, host:port.
	Addr string
	// TLS, when set, makes the listener speak TLS.
	TLS *tls.Config
	// Auth checks device credentials.
	Auth *auth.Authenticator
	// Devices is the inventory, read before publishing to a device.
	Devices qm.DeviceInventory
	// Fleet, when set, is where the broker reads a device's settings to
	// pass them on when another node changed them, or when the device
	// subscribes to them here and this node holds none (settings.go).
	Fleet qm.FleetService
	// Limits bound connections and packets (zero values: the defaults).
	Limits Limits
	// Points takes the telemetry devices publish.
	Points qm.PointIngester
	// Rates paces each device's messages at its tenant plan's rate (nil:
	// paces of the broker's own).
	Rates *rates.Buckets
	// Usage meters each tenant's messages (nil: not metered).
	Usage *usage.Meter
	// Metrics counts what devices send and what is refused (nil: not
	// counted).
	Metrics *metrics.Ingest
	// Logger receives the broker's log.
	Logger *slog.Logger
}

// maxPointsPerMessage bounds the points of one publish.
const maxPointsPerMessage = 10000

// Broker is the embedded MQTT broker.
type Broker struct {
	cfg Config
	srv *mqtt.Server
	// sessions maps a connected client to the device it authenticated as.
	sessions sync.Map // *mqtt.Client → *session
	// custody holds, by ident, whose traces the broker keeps for a device
	// (see traces.go).
	custodyMu sync.Mutex
	custody   map[string]custody
	// settingsMu orders the settings the broker reads and publishes for a
	// device (settings.go): one lock of these for each device.
	settingsMu [64]sync.Mutex
}

// session is a connected device: what the broker needs of it, not the
// whole record, since it is held for as long as the device stays
// connected.
type session struct {
	deviceID, ident, token string
	// The custody the device connected under: its holder, and when it was
	// assigned and its credential last rotated (Unix ns; 0 for never).
	tenantID              string
	assignedAt, rotatedAt int64
}

func newSession(d *qm.Device, token string) *session {
	s := &session{deviceID: d.ID, ident: d.Ident, token: token, tenantID: d.TenantID, rotatedAt: d.TokenRotatedAt.UnixNano()}
	if d.AssignedAt != nil {
		s.assignedAt = d.AssignedAt.UnixNano()
	}
	return s
}

// holds reports whether d is the session's device in the custody it
// connected under.
func (s *session) holds(d *qm.Device) bool {
	assigned := int64(0)
	if d.AssignedAt != nil {
		assigned = d.AssignedAt.UnixNano()
	}
	return d.ID == s.deviceID && d.TenantID == s.tenantID && d.TokenRotatedAt.UnixNano() == s.rotatedAt && assigned == s.assignedAt
}

// New returns a broker for cfg; Run starts it.
func New(cfg Config) *Broker {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = boundLogger(cfg.Logger)
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.Rates == nil {
		cfg.Rates = rates.New(nil)
	}
	b := &Broker{cfg: cfg, custody: map[string]custody{}}
	b.srv = mqtt.New(&mqtt.Options{
		InlineClient:             true,
		Logger:                   cfg.Logger.With("component", "mqtt"),
		ClientNetReadBufferSize:  512,
		ClientNetWriteBufferSize: 512,
	})
	// Devices mostly send: a small queue towards each (its config and
	// commands; acknowledgements do not queue) keeps an idle connection
	// cheap; mochi's default queue of 8,192 messages costs 64 KiB per
	// client, one of 64 half a KiB.
	caps := b.srv.Options.Capabilities
	// QoS 2 is answered with PUBREC once OnPublish has committed, and a
	// point sent twice is stored once, so exactly once holds.
	caps.MaximumQos = 2
	caps.MaximumPacketSize = uint32(cfg.Limits.MaxPacket)
	caps.MaximumClientWritesPending = 16
	caps.ReceiveMaximum = 64
	caps.MaximumInflight = 64
	caps.TopicAliasMaximum = 16
	b.srv.AddHook(&hook{b: b}, nil)
	return b
}

// Run listens and serves until ctx is done. ready, if not nil, receives the
// address listened on.
func (b *Broker) Run(ctx context.Context, ready chan<- net.Addr) error {
	ln, err := net.Listen("tcp", b.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (mqtt): %w", b.cfg.Addr, err)
	}
	if b.cfg.TLS != nil {
		ln = tls.NewListener(ln, b.cfg.TLS)
	}
	ln = &gate{Listener: ln, limits: b.cfg.Limits, refuse: b.refuseConnection}
	if err := b.srv.AddListener(listeners.NewNet("devices", ln)); err != nil {
		ln.Close()
		return fmt.Errorf("mqtt listener: %w", err)
	}
	b.cfg.Logger.Info("listening", "listener", "mqtt", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr()
	}
	if err := b.srv.Serve(); err != nil {
		return fmt.Errorf("mqtt: %w", err)
	}
	<-ctx.Done()
	b.drain(ln)
	return b.srv.Close()
}

// drainTimeout bounds how long Run waits for devices to leave.
const drainTimeout = 10 * time.Second

// drain stops taking connections and disconnects every device, and waits
// until all have left (or drainTimeout has passed). mochi's Close (v2.7.9)
// takes its clients' read lock twice over (Clients.GetByListener calls
// Len); a device leaving between the two waits for the write lock, and
// the second read lock waits behind it for ever. A server with many
// devices, some leaving as it stopped, hung that way.
func (b *Broker) drain(ln net.Listener) {
	ln.Close()
	timeout := time.NewTimer(drainTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	// ClientsConnected counts devices until mochi has forgotten them.
	for atomic.LoadInt64(&b.srv.Info.ClientsConnected) > 0 {
		for _, cl := range b.srv.Clients.GetAll() {
			if !cl.Net.Inline && !cl.Closed() {
				b.srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
			}
		}
		select {
		case <-tick.C:
		case <-timeout.C:
			return
		}
	}
}

// ConfigTopic is where a device finds its settings, retained.
func ConfigTopic(ident string) string { return "devices/" + ident + "/config" }

// PublishConfig sends a device its settings on its config topic, retained,
// so it receives them whenever it subscribes. ctx names the tenant whose
// settings they are: they are published only while that tenant holds the
// device, and only after what an earlier custody left is gone.
func (b *Broker) PublishConfig(ctx context.Context, ident string, settings map[string]any) error {
	payload, err := settingsPayload(ctx, b.cfg.Devices, ident, settings, b.admitCustody)
	if err != nil {
		return err
	}
	return b.srv.Publish(ConfigTopic(ident), payload, true, 1)
}

// settingsPayload is the message that carries settings to the device
// named ident, as long as the tenant ctx names holds it and admit (nil:
// any) admits it; EConflict otherwise.
func settingsPayload(ctx context.Context, devices qm.DeviceInventory, ident string, settings map[string]any, admit func(*qm.Device) bool) ([]byte, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	d, err := devices.Device(ctx, ident)
	if err != nil {
		return nil, fmt.Errorf("publish config: %w", err)
	}
	if d.TenantID != t.ID || admit != nil && !admit(d) {
		return nil, qm.Errorf(qm.EConflict, "device %s moved: its settings were not published", ident)
	}
	return json.Marshal(settings)
}

// hook is the broker's policy: who may connect, publish and subscribe,
// and what a telemetry publish does.
type hook struct {
	mqtt.HookBase
	b *Broker
}

func (h *hook) ID() string { return "quartermaster" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnSubscribe, mqtt.OnPublish, mqtt.OnDisconnect}, []byte{b})
}

// OnConnectAuthenticate admits a device whose user name is its identifier
// and whose password is its current credential, held by an active tenant.
// Its will is dropped: it could name any topic, retained, and what a
// device sends goes to storage, not to other clients.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	ident, token := string(pk.Connect.Username), string(pk.Connect.Password)
	d, _, _, err := h.b.cfg.Auth.DeviceToken(context.Background(), token)
	if err == nil && d.Ident == ident && !h.b.admitCustody(d) {
		err = qm.Errorf(qm.EUnauthorized, "the credential was rotated")
	}
	if err != nil || d.Ident != ident {
		h.b.cfg.Metrics.Refuse("mqtt", metrics.Unauthorized)
		h.b.cfg.Logger.Info("mqtt: connection refused", "ident", ident, "remote", cl.Net.Remote, "reason", reason(err, "the credential is not this device's"))
		return false
	}
	if c, ok := cl.Net.Conn.(*gatedConn); ok {
		c.admit()
	}
	cl.Properties.Will = mqtt.Will{}
	h.b.sessions.Store(cl, newSession(d, token))
	if h.b.cfg.Metrics != nil {
		h.b.cfg.Metrics.Connected.Inc()
	}
	return true
}

func reason(err error, otherwise string) string {
	if err != nil {
		return qm.ErrorMessage(err)
	}
	return otherwise
}

// OnACLCheck lets a device publish to its own telemetry topic and read its
// own config and commands topics; nothing else, and no wildcards.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if cl.Net.Inline {
		return true
	}
	s, ok := h.b.sessions.Load(cl)
	if !ok {
		return false
	}
	rest, ok := strings.CutPrefix(topic, "devices/"+s.(*session).ident+"/")
	allowed := ok && (write && rest == "telemetry" || !write && (rest == "config" || rest == "commands"))
	if !allowed {
		h.b.cfg.Metrics.Refuse("mqtt", metrics.ForbiddenTopic)
	}
	return allowed
}

// OnPublish stores a telemetry publish before it is acknowledged. A bad
// payload is refused (MQTT 5: PUBACK 0x99 payload format invalid; 3.1.1,
// which has no negative acknowledgement: acknowledged and dropped, and
// counted); a failure to store (a tenant moving, storage down) leaves it
// unacknowledged and ends the connection (server busy), so the device
// connects again and sends it again.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	v, ok := h.b.sessions.Load(cl)
	if !ok {
		return pk, packets.ErrRejectPacket
	}
	s := v.(*session)
	// A credential rotated, or a device moved, since the device connected
	// ends the connection; it starts afresh under its new custody.
	d, t, p, err := h.b.cfg.Auth.DeviceToken(context.Background(), s.token)
	if err != nil || !s.holds(d) {
		h.b.cfg.Metrics.Refuse("mqtt", metrics.Unauthorized)
		h.b.cfg.Logger.Info("mqtt: publish refused", "ident", s.ident, "reason", reason(err, "the device moved"))
		h.b.srv.DisconnectClient(cl, packets.ErrNotAuthorized)
		return pk, packets.ErrRejectPacket
	}
	// Past a rate, an MQTT 5 client is told its quota is exceeded; an MQTT
	// 3.1.1 one, which cannot be told, is slowed: the broker stops reading
	// its connection until the rate allows the message. Either way nothing
	// is acknowledged that is not stored.
	err = storeTelemetry(h.b.cfg.Points, h.b.cfg.Rates, h.b.cfg.Usage, t, p, d, pk.Payload, cl.Properties.ProtocolVersion == 5)
	switch qm.ErrorCode(err) {
	case "":
	case qm.EBadRequest, qm.EInvalid, qm.ETooLarge:
		h.b.cfg.Logger.Info("mqtt: telemetry refused", "ident", d.Ident, "reason", qm.ErrorMessage(err))
		if cl.Properties.ProtocolVersion == 5 {
			return pk, packets.ErrPayloadFormatInvalid
		}
		return pk, packets.CodeSuccessIgnore
	case qm.EFeatureDisabled, qm.ELimitReached, qm.ERateLimited:
		// Not stored, so never acknowledged as stored.
		h.b.cfg.Logger.Info("mqtt: telemetry refused", "ident", d.Ident, "reason", qm.ErrorMessage(err))
		if cl.Properties.ProtocolVersion == 5 {
			return pk, packets.ErrQuotaExceeded
		}
		return pk, packets.ErrRejectPacket
	default:
		// Not stored: the connection ends, for a device sends what was
		// not acknowledged again when it connects again (MQTT 3.1.1
		// §4.4), and only then; left connected, it would wait on it.
		if qm.ErrorCode(err) == qm.EUnavailable {
			h.b.cfg.Logger.Info("mqtt: telemetry not stored, for now", "ident", d.Ident, "reason", qm.ErrorMessage(err))
		} else {
			h.b.cfg.Logger.Error("mqtt: store telemetry", "ident", d.Ident, "err", err)
		}
		h.b.srv.DisconnectClient(cl, packets.ErrServerBusy)
		return pk, packets.ErrRejectPacket
	}
	// Telemetry goes to storage, not to other clients.
	return pk, packets.CodeSuccessIgnore
}

func (h *hook) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	if errors.Is(err, packets.ErrPacketTooLarge) {
		h.b.cfg.Metrics.Refuse("mqtt", metrics.TooLarge)
		h.b.cfg.Logger.Info("mqtt: packet refused", "ident", cl.ID, "reason", fmt.Sprintf("a packet over the limit of %d bytes", h.b.cfg.Limits.MaxPacket))
	}
	if _, ok := h.b.sessions.LoadAndDelete(cl); ok && h.b.cfg.Metrics != nil {
		h.b.cfg.Metrics.Connected.Dec()
	}
}

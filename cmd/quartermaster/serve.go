package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm/alerting"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/broker"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/live"
	"github.com/quartermaster/qm/mail"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/simulate"
	"github.com/quartermaster/qm/sqlstore/alerts"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/sqlstore/engines"
	"github.com/quartermaster/qm/sqlstore/lifecycle"
	"github.com/quartermaster/qm/sqlstore/telemetry"
	"github.com/quartermaster/qm/ui"
	"github.com/quartermaster/qm/usage"
	"github.com/quartermaster/qm/webhook"
	"golang.org/x/sync/errgroup"
)

// Where serve listens unless told otherwise, and so where simulate sends
// by default. MQTT is not on 1883, which a local Mosquitto often holds:
// pointed at another broker, simulated vehicles would report to it.
const (
	defaultAddr       = "127.0.0.1:8080"
	defaultOsmAndAddr = "127.0.0.1:5055"
	defaultMQTTAddr   = "127.0.0.1:1884"
)

func cmdServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs, c := newFlagSet("serve", stderr)
	addr := fs.String("addr", envOr("QM_ADDR", defaultAddr), "address to listen on (QM_ADDR)")
	osmand := fs.String("osmand-addr", envOr("QM_OSMAND_ADDR", defaultOsmAndAddr), `address for devices speaking the OsmAnd protocol; "" for none (QM_OSMAND_ADDR)`)
	mqttAddr := fs.String("mqtt-addr", envOr("QM_MQTT_ADDR", defaultMQTTAddr), `address of the embedded MQTT broker; "" for none; not started with --mqtt-broker (QM_MQTT_ADDR)`)
	mqttCert := fs.String("mqtt-tls-cert", envOr("QM_MQTT_TLS_CERT", ""), "certificate file (PEM) to make the MQTT listener speak TLS (QM_MQTT_TLS_CERT)")
	mqttKey := fs.String("mqtt-tls-key", envOr("QM_MQTT_TLS_KEY", ""), "its private key file (PEM) (QM_MQTT_TLS_KEY)")
	mqttMaxPacket := fs.Int("mqtt-max-packet", broker.DefaultMaxPacket, "largest MQTT packet in bytes a connected device may send, such as a telemetry batch (QM_MQTT_MAX_PACKET)")
	mqttMaxConnect := fs.Int("mqtt-max-connect-packet", broker.DefaultMaxConnectPacket, "largest MQTT CONNECT in bytes, refused from its declared length before it is read (QM_MQTT_MAX_CONNECT_PACKET)")
	mqttConnectTimeout := fs.Duration("mqtt-connect-timeout", broker.DefaultConnectTimeout, "time a new MQTT connection has to complete its CONNECT (QM_MQTT_CONNECT_TIMEOUT)")
	mqttMaxPending := fs.Int("mqtt-max-unauthenticated", broker.DefaultMaxUnauthenticated, "MQTT connections that may wait to authenticate at once; more are closed on arrival (QM_MQTT_MAX_UNAUTHENTICATED)")
	err := flagsFromEnv(fs, map[string]string{"mqtt-max-packet": "QM_MQTT_MAX_PACKET", "mqtt-max-connect-packet": "QM_MQTT_MAX_CONNECT_PACKET",
		"mqtt-connect-timeout": "QM_MQTT_CONNECT_TIMEOUT", "mqtt-max-unauthenticated": "QM_MQTT_MAX_UNAUTHENTICATED"})
	if err != nil {
		return err
	}
	metricsAddr := fs.String("metrics-addr", envOr("QM_METRICS_ADDR", ""), "address to serve Prometheus metrics on, at /metrics; \"\" for none (QM_METRICS_ADDR)")
	metricsTop := fs.Int("metrics-top-tenants", 20, "export per-tenant series for this many of the most loaded tenants (quartermaster top reads them)")
	sim := fs.String("simulate", envOr("QM_SIMULATE", ""), "TENANT:N keeps N simulated vehicles of a tenant reporting over HTTP, for demos (QM_SIMULATE)")
	public := fs.String("public-url", envOr("QM_PUBLIC_URL", ""), "where users reach the server, for links such as label QR codes (QM_PUBLIC_URL; default http://ADDR)")
	mapStyle := fs.String("map-style", envOr("QM_MAP_STYLE", ""), "URL (http or https) of a MapLibre style JSON the console's maps use instead of their bundled outline (QM_MAP_STYLE)")
	mapPMTiles := fs.String("map-pmtiles", envOr("QM_MAP_PMTILES", ""), "PMTiles file of map tiles the server serves to the console, at /api/v1/map/tiles.pmtiles (QM_MAP_PMTILES)")
	smtpURL := fs.String("smtp-url", envOr("QM_SMTP_URL", ""), "mail server for e-mail notifications: smtp://user:pass@host:port (STARTTLS when offered) or smtps://… (QM_SMTP_URL)")
	smtpFrom := fs.String("smtp-from", envOr("QM_SMTP_FROM", ""), "sender address of e-mail notifications (QM_SMTP_FROM; default quartermaster@ the mail server's host)")
	purgeEvery := fs.Duration("purge-every", time.Hour, "how often tenants deleted and past their grace are purged, by one node")
	scheduleEvery := fs.Duration("rules-every", time.Minute, "how often the rules that time decides (offline, warranty, license, overdue, maintenance) are looked at, by one node")
	allowPrivate := fs.Bool("webhook-allow-private", false, "let tenants' webhooks reach loopback, private, link-local and metadata addresses: only where every tenant is trusted")
	if err := parseNone(fs, args); err != nil {
		return err
	}
	if *scheduleEvery <= 0 {
		return fmt.Errorf("--rules-every must be more than 0, got %v", *scheduleEvery)
	}
	sender, from, err := mailSender(*smtpURL, *smtpFrom)
	if err != nil {
		return err
	}
	mapOrigins, err := mapStyleOrigins(*mapStyle)
	if err != nil {
		return err
	}
	if err := checkPMTiles(*mapPMTiles); err != nil {
		return err
	}
	for name, v := range map[string]int{"--mqtt-max-packet": *mqttMaxPacket, "--mqtt-max-connect-packet": *mqttMaxConnect, "--mqtt-max-unauthenticated": *mqttMaxPending} {
		// 256 MiB: no MQTT packet can be longer.
		if v < 1 || v > 1<<28 {
			return fmt.Errorf("%s must be from 1 to %d, got %d", name, 1<<28, v)
		}
	}
	if *mqttConnectTimeout <= 0 {
		return fmt.Errorf("--mqtt-connect-timeout must be positive, got %s", *mqttConnectTimeout)
	}
	log, err := c.logger()
	if err != nil {
		return err
	}
	var mqttTLS *tls.Config
	if *mqttCert != "" || *mqttKey != "" {
		cert, err := tls.LoadX509KeyPair(*mqttCert, *mqttKey)
		if err != nil {
			return fmt.Errorf("MQTT TLS: %w", err)
		}
		mqttTLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	e, err := c.openReady(ctx)
	if err != nil {
		return err
	}
	defer e.Close()
	// Bring every tenant up to date before serving; a tenant that fails is
	// reported by /readyz and by `quartermaster migrate --status`.
	if err := migrateTenants(ctx, e, 8, stdout); err != nil {
		log.Error("some tenants could not be migrated", "err", err)
	}
	a := auth.New(auth.Config{Identity: e.Identity(), Tenants: e.Tenants(), Devices: e.Devices()})
	// The point writer and the live hub serve the parts below, so they
	// close after every part has drained: a point a part still commits
	// while it drains is acknowledged only once stored.
	points := telemetry.NewPointWriter(e, time.Now, 0)
	defer points.Close()
	// Every protocol's points pass the writer, which tells the console's
	// live map of them.
	hub := live.NewHub()
	defer hub.Close()
	points.Notify(hub)
	// Other nodes' clients hear of them too, and this node's of theirs.
	news := catalog.NewPointNews(e.Tenants(), hub)
	points.Notify(news)
	node := nodeName(*addr)
	// And the tenants' rules, evaluated over them in the background; the
	// events they cause leave through the outbox, sent by the node
	// holding the lease.
	dispatcher := alerting.NewDispatcher(alerting.DispatchConfig{
		Outbox: alerts.NewOutboxStore(e), Tenants: e.Tenants(), Lease: e.Tenants().TakeLease, Holder: node,
		Webhooks: webhook.NewClient(webhook.Options{AllowPrivate: *allowPrivate}), Mail: sender, From: from, Now: time.Now, Log: log,
		Managers: alerting.SettingsManagers(dataplane.NewMemberStore(e.Identity(), e, time.Now), dataplane.NewRoleStore(e.Identity(), e, time.Now)),
	})
	evaluator := alerting.New(alerts.NewAlarmStore(e, time.Now), e.Tenants(), log, dispatcher.Raised)
	points.Notify(evaluator)
	retention := &telemetry.Retention{Tenants: e.Tenants(), Router: e, Holder: node, Logger: log, Now: time.Now}
	// The meter's node is this run of this process: its counts are its own.
	usageStore := catalog.NewUsageStore(e.Tenants())
	meter := usage.New(fmt.Sprintf("%s/%d", node, time.Now().UnixNano()), usageStore, time.Now, log)
	m := metrics.New(*metricsTop)
	// One set of paces for every edge, so a tenant's rates hold across
	// protocols.
	paces := rates.New(time.Now)
	ingester := ingest.NewIngester(ingest.Config{Store: points, Rates: paces, Usage: meter, Metrics: &m.Ingest, Load: m.Load, Now: time.Now})
	url := publicURL(*public, *addr)
	exportDir, removeExports, err := c.exportDir()
	if err != nil {
		return err
	}
	defer removeExports()
	archiver := lifecycle.NewArchiver(e)
	cfg := httpapi.Config{
		Addr: *addr, OsmAndAddr: *osmand, Ready: e.Ready, Logger: log, PublicURL: url, Auth: a, Rates: paces, Usage: meter, Load: m.Load,
		Services: engines.Services(e, engines.ServiceOptions{HashPassword: a.HashPassword, PublicURL: url, Points: ingester, ChannelTests: dispatcher, Mail: sender, MailFrom: from,
			WebhookAllowPrivate: *allowPrivate, Now: time.Now}),
		Live: hub, MapStyleURL: *mapStyle, MapPMTiles: *mapPMTiles,
		LatestSchemaVersion: e.LatestVersion(),
		Console:             ui.Handler(ui.Options{MapOrigins: mapOrigins}),
		Archives:            archiver, ExportDir: exportDir, Moves: archiver, Node: node, Jobs: e.Tenants(),
	}
	var vehicles []*simulate.Vehicle
	if *sim != "" {
		slug, count, _ := strings.Cut(*sim, ":")
		n, err := strconv.Atoi(count)
		if err != nil || n < 1 {
			return fmt.Errorf("--simulate wants TENANT:N, such as acme:3; got %q", *sim)
		}
		// Its own names, so `quartermaster simulate` (sim-…) beside it does
		// not take these vehicles' credentials.
		if vehicles, err = simVehicles(ctx, e, "demo", slug, n); err != nil {
			return fmt.Errorf("--simulate: %w", err)
		}
	}
	// Every long-running part runs until ctx is done, then drains and
	// returns; the first to fail ends them all.
	g, ctx := errgroup.WithContext(ctx)
	if c.dynsec != nil {
		// Devices connect to the external broker; this node stores what
		// they publish there and publishes their settings there.
		remote := broker.NewRemote(broker.RemoteConfig{Addr: c.dynsec.Addr(), Username: c.mqttUser, Password: os.Getenv("QM_MQTT_BROKER_PASSWORD"),
			Node: node, Peers: e.Tenants(), DynSec: c.dynsec, Auth: a, Devices: e.Devices(), Points: ingester, Rates: paces, Usage: meter, Metrics: &m.Ingest, Logger: log})
		cfg.DeviceSettings = remote.PublishConfig
		e.Devices().Notify(remote)
		g.Go(func() error { return remote.Run(ctx) })
	} else if *mqttAddr != "" {
		b := broker.New(broker.Config{Addr: *mqttAddr, TLS: mqttTLS, Auth: a, Devices: e.Devices(), Fleet: cfg.Services.Fleet, Points: ingester, Rates: paces, Usage: meter, Logger: log, Metrics: &m.Ingest,
			Limits: broker.Limits{MaxPacket: *mqttMaxPacket, MaxConnectPacket: *mqttMaxConnect, ConnectTimeout: *mqttConnectTimeout, MaxUnauthenticated: *mqttMaxPending}})
		cfg.DeviceSettings = b.PublishConfig
		// The inventory tells the broker of every move and rotation made
		// in this process; the broker catches those made elsewhere itself.
		// It tells it too of the settings other nodes change, which the
		// broker publishes as if they were changed here.
		e.Devices().Notify(b)
		g.Go(func() error { return b.Run(ctx, nil) })
	}
	api, ready := httpapi.New(cfg), make(chan net.Addr, 1)
	g.Go(func() error { return api.Run(ctx, ready) })
	g.Go(func() error { return retention.Run(ctx, time.Hour) })
	g.Go(func() error { return evaluator.Run(ctx) })
	g.Go(func() error { return dispatcher.Run(ctx) })
	// Silences, dates and seats are looked at every --rules-every, by one
	// node.
	scheduler := alerts.NewScheduler(alerts.NewAlarmStore(e, time.Now), telemetry.NewFleetStore(e, e.Devices(), time.Now), time.Now)
	g.Go(func() error {
		return e.Tenants().Every(ctx, "alert-schedule", node, *scheduleEvery, log, alerting.ScheduledJob(scheduler, e.Tenants(), log, dispatcher.Raised))
	})
	// A move whose mover died is rolled back (or, once switched, its old
	// copy removed) when its lease runs out: this node's own at once.
	g.Go(func() error {
		return e.Tenants().Every(ctx, "move-recovery", node, time.Minute, log, func(ctx context.Context) error {
			done, err := e.Tenants().RecoverMoves(ctx, node)
			if len(done) > 0 {
				log.Warn("moves left by a process that died were ended", "tenants", done)
			}
			return err
		})
	})
	// Tenants deleted and past their grace are purged, by one node.
	g.Go(func() error {
		return e.Tenants().Every(ctx, "tenant-purge", node, *purgeEvery, log, func(ctx context.Context) error { return e.Tenants().PurgeDue(ctx, log) })
	})
	g.Go(func() error { return meter.Run(ctx) })
	// Each tenant's gauges (assets, members, stored points, devices that
	// reported) are read hourly, by one node.
	g.Go(func() error {
		return e.Tenants().Every(ctx, "usage-gauges", node, time.Hour, log, usageStore.SnapshotGauges)
	})
	g.Go(func() error { return paces.KeepShare(ctx, e.Tenants(), node, log) })
	// A node that beats counts as serving: a move waits until it has
	// paused the tenant's writes here too.
	g.Go(func() error { return e.Tenants().WatchMoves(ctx, node, log) })
	// What other nodes change of tenants, tokens and devices is forgotten
	// here within a moment, not only as the caches expire.
	g.Go(func() error { return e.Tenants().WatchChanges(ctx, log) })
	g.Go(func() error { return news.Run(ctx, log) })
	if *metricsAddr != "" {
		g.Go(func() error { return serveMetrics(ctx, *metricsAddr, m) })
	}
	if len(vehicles) > 0 {
		g.Go(func() error {
			select {
			case addr := <-ready:
				log.Info("simulating vehicles", "vehicles", len(vehicles))
				simulate.Run(ctx, vehicles, &simulate.HTTP{BaseURL: "http://" + addr.String(), Client: &http.Client{Timeout: 10 * time.Second}},
					5*time.Second, 0, func(err error) { log.Warn("simulated vehicle", "err", err) })
			case <-ctx.Done():
			}
			return nil
		})
	}
	return g.Wait()
}

// exportDir is the directory, created 0700, where the server keeps the
// tenant exports the operator downloads: <data-dir>/exports on SQLite, a
// temporary directory of this process on PostgreSQL (whose data dir is
// not the server's), removed by remove. The server removes whatever in it
// is not a current export's.
func (c *config) exportDir() (dir string, remove func(), err error) {
	if c.databaseURL != "" {
		if dir, err = os.MkdirTemp("", "qm-exports-*"); err != nil {
			return "", nil, fmt.Errorf("the export directory: %w", err)
		}
		return dir, func() { os.RemoveAll(dir) }, nil
	}
	dir = filepath.Join(c.dataDir, "exports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("the export directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return "", nil, fmt.Errorf("the export directory: %w", err)
	}
	return dir, func() {}, nil
}

// flagsFromEnv sets flags from the environment variables named beside
// them, before the command line, which wins, is parsed.
func flagsFromEnv(fs *flag.FlagSet, vars map[string]string) error {
	for name, key := range vars {
		if v := os.Getenv(key); v != "" {
			if err := fs.Set(name, v); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return nil
}

// mapStyleOrigins checks a --map-style URL and returns its origin, which
// the console's Content-Security-Policy must let the browser fetch from
// (nothing for none).
func mapStyleOrigins(style string) ([]string, error) {
	if style == "" {
		return nil, nil
	}
	u, err := url.Parse(style)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("--map-style must be an http or https URL of a MapLibre style JSON, such as https://tiles.example.com/style.json; got %q", style)
	}
	return []string{u.Scheme + "://" + u.Host}, nil
}

// pmtilesMagic opens every PMTiles archive.
const pmtilesMagic = "PMTiles"

// checkPMTiles checks that a --map-pmtiles file exists and is a PMTiles
// archive, so a wrong path fails at startup, not in a user's browser.
func checkPMTiles(name string) error {
	if name == "" {
		return nil
	}
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("--map-pmtiles: %w", err)
	}
	defer f.Close()
	head := make([]byte, len(pmtilesMagic))
	if _, err := io.ReadFull(f, head); err != nil || string(head) != pmtilesMagic {
		return fmt.Errorf("--map-pmtiles: %s is not a PMTiles file (it does not start with %q)", name, pmtilesMagic)
	}
	return nil
}

// publicURL is the configured public URL, or the listen address as one.
func publicURL(configured, addr string) string {
	if configured != "" {
		return configured
	}
	return "http://" + addr
}

// serveMetrics serves Prometheus metrics at /metrics until ctx is done.
func serveMetrics(ctx context.Context, addr string, m *metrics.Metrics) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (metrics): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mailSender is the sender of e-mail notifications the flags name: nil,
// and e-mail channels fail saying so, when no mail server is set.
func mailSender(rawURL, from string) (*mail.Sender, string, error) {
	if rawURL == "" {
		return nil, "", nil
	}
	cfg, err := mail.ParseURL(rawURL)
	if err != nil {
		return nil, "", fmt.Errorf("--smtp-url: %w", err)
	}
	if from == "" {
		from = "quartermaster@" + cfg.Host
	}
	if a, err := netmail.ParseAddress(from); err != nil || a.Address != from {
		return nil, "", fmt.Errorf("--smtp-from: %q is not an e-mail address", from)
	}
	return &mail.Sender{Config: cfg}, from, nil
}

// nodeName names this node in leases and heartbeats: its host and the
// address it serves, the same after a restart, so a node killed and
// started again takes its leases back at once instead of waiting for them
// to expire. A node on a port the kernel picks is named by its process.
func nodeName(addr string) string {
	host, _ := os.Hostname()
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
		return fmt.Sprintf("%s/pid-%d", host, os.Getpid())
	}
	return host + "/" + addr
}

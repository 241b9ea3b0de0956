// Package httpapi is Quartermaster's HTTP server: the JSON API under
// /api/v1 and the health endpoints. Every route is declared in one table
// (Routes), with who may call it, so the cross-tenant suite can enumerate
// them.
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/auth"
	"github.com/quartermaster/qm/live"
	"github.com/quartermaster/qm/metrics"
	"github.com/quartermaster/qm/rates"
	"github.com/quartermaster/qm/usage"
)

// Config configures the server.
type Config struct {
	// Addr is the address to listen on, host:port.
	Addr string
	// OsmAndAddr, when set, is where devices speaking the OsmAnd protocol
	// connect (Traccar Client's default port is 5055).
	OsmAndAddr string
	// Ready reports whether storage answers and is migrated.
	Ready func(ctx context.Context) error
	// Logger receives access and error logs.
	Logger *slog.Logger
	// Auth checks credentials; Services are what the handlers call.
	Auth     *auth.Authenticator
	Services qm.Services
	// Rates paces each tenant's requests at its plan's rate (nil: paces
	// of the server's own; pass the ingester's to share them).
	Rates *rates.Buckets
	// Usage meters each tenant's requests and holds it to its monthly
	// quota of them (nil: not metered).
	Usage *usage.Meter
	// Load follows each tenant's requests and their latency, for the
	// operator's view of who loads the server now (nil: not followed).
	Load *metrics.Load
	// LatestSchemaVersion is the newest tenant schema version this build
	// knows, shown to the operator beside each tenant's.
	LatestSchemaVersion int
	// PublicURL is where users reach the server, for links such as the QR
	// codes on asset labels (http://127.0.0.1:8080).
	PublicURL string
	// Live tells the fleet's event streams of committed points (what
	// stores them tells it); when nil, New makes one, which hears of none.
	Live *live.Hub
	// EventKeepalive is how often an idle event stream sends a comment
	// and checks its caller's access again (15 s).
	EventKeepalive time.Duration
	// MapStyleURL, when set, is a MapLibre style the console's maps use
	// instead of their bundled outline.
	MapStyleURL string
	// MapPMTiles, when set, is a PMTiles file served to signed-in users at
	// /api/v1/map/tiles.pmtiles, for the console's maps. cmd/quartermaster
	// checks that it is one.
	MapPMTiles string
	// DeviceSettings, when set, is told a device's new settings, to pass
	// them on to the device (the MQTT broker's retained config topic).
	DeviceSettings func(ctx context.Context, ident string, settings map[string]any) error
	// Console, when set, serves every path outside the API (/api/,
	// /ingest/, /healthz, /readyz): the web console.
	Console http.Handler
	// Archives exports and imports whole tenants, for the operator (nil:
	// the server does neither).
	Archives qm.TenantArchiver
	// ExportDir is the directory, the server's own, where tenant exports
	// are kept until they expire; anything else in it is removed.
	ExportDir string
	// Moves moves tenants between tiers and servers, for the operator
	// (nil: the server does not).
	Moves qm.TenantMover
	// Node names this node in leases, as its other background jobs do.
	Node string
	// Jobs, when set, keeps the operator's exports and moves where every
	// node reads them (the catalog); without it they live in this
	// process's memory alone.
	Jobs qm.OperatorJobs
	// MaxBody is the largest request body accepted (1 MiB).
	MaxBody int64
	// Now is the clock (time.Now).
	Now func() time.Time
}

// Server serves the HTTP API.
type Server struct {
	cfg     Config
	handler http.Handler
	svc     qm.Services
	imports *importJobs
	exports *exports
	moves   *moves
	live    *live.Hub
	// streams is closed when the server shuts down, to end the event
	// streams, which would otherwise hold the shutdown until its timeout.
	streams     chan struct{}
	streamsOnce sync.Once
	openAPI     map[string]any
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EventKeepalive <= 0 {
		cfg.EventKeepalive = 15 * time.Second
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1:8080"
	}
	if cfg.Rates == nil {
		cfg.Rates = rates.New(cfg.Now)
	}
	s := &Server{cfg: cfg, svc: cfg.Services, openAPI: OpenAPI(), live: cfg.Live, streams: make(chan struct{})}
	if s.live == nil {
		s.live = live.NewHub()
	}
	s.imports = newImportJobs(s.svc.ImportJobs, s.svc.Assets, cfg.Node, cfg.Jobs, cfg.Logger)
	s.exports = newExports(cfg.ExportDir, cfg.Archives, cfg.Jobs, cfg.Node, cfg.Now, cfg.Logger)
	s.moves = newMoves(cfg.Moves, cfg.Jobs, cfg.Node, cfg.Now, cfg.Logger)
	mux := http.NewServeMux()
	for _, rt := range Routes {
		mux.HandleFunc(rt.Method+" "+rt.Path, s.route(rt))
	}
	s.handler = s.logged(s.console(s.canonical(s.routed(mux))))
	return s
}

// console sends what is not the API's to the console, before paths are
// made canonical: the console's file names are case-sensitive.
func (s *Server) console(api http.Handler) http.Handler {
	if s.cfg.Console == nil {
		return api
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Judged on the canonical spelling, so no spelling of an API path
		// reaches the console.
		p := strings.ToLower(path.Clean("/" + r.URL.Path))
		if qm.TextProblem(r.URL.Path) != "" || p == "/api" || p == "/ingest" || p == "/healthz" || p == "/readyz" ||
			strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/ingest/") {
			api.ServeHTTP(w, r)
			return
		}
		s.cfg.Console.ServeHTTP(w, r)
	})
}

// Close stops the server's background work: it ends the event streams,
// stops running imports (which roll back), running exports (whose
// partial archives are removed) and running moves (rolled back).
func (s *Server) Close() {
	s.endStreams()
	s.imports.shutdown()
	s.exports.shutdown()
	s.moves.jobs.shutdown()
}

// endStreams ends the event streams open now and those opened later.
func (s *Server) endStreams() { s.streamsOnce.Do(func() { close(s.streams) }) }

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on the configured addresses (the API's, and the OsmAnd
// protocol's when OsmAndAddr is set) and serves until ctx is done, then
// drains requests in flight for up to ten seconds. ready, if not nil,
// receives the API's address actually listened on.
func (s *Server) Run(ctx context.Context, ready chan<- net.Addr) error {
	type listener struct {
		name, addr string
		handler    http.Handler
	}
	listeners := []listener{{"api", s.cfg.Addr, s.handler}}
	if s.cfg.OsmAndAddr != "" {
		listeners = append(listeners, listener{"osmand", s.cfg.OsmAndAddr, s.OsmAndHandler()})
	}
	defer s.Close()
	errc := make(chan error, len(listeners))
	var servers []*http.Server
	for i, l := range listeners {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, srv := range servers {
				srv.Close()
			}
			return fmt.Errorf("listen on %s (%s): %w", l.addr, l.name, err)
		}
		srv := &http.Server{
			Handler:           l.handler,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
		}
		srv.RegisterOnShutdown(s.endStreams)
		servers = append(servers, srv)
		s.cfg.Logger.Info("listening", "listener", l.name, "addr", ln.Addr().String())
		if i == 0 && ready != nil {
			ready <- ln.Addr()
		}
		go func() { errc <- srv.Serve(ln) }()
	}
	var first error
	select {
	case first = <-errc:
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdown); err != nil && first == nil {
			first = fmt.Errorf("shutdown: %w", err)
		}
	}
	if first != nil && !errors.Is(first, http.ErrServerClosed) {
		return first
	}
	return nil
}

// canonical rewrites the path to its one canonical form before routing, so
// every spelling of a path (doubled slashes, dot segments, percent-encoded
// dots, a trailing slash, upper case) gets exactly the decision the
// canonical path gets. Every path the API serves is lower case. A path
// that is not valid text is refused first: lower-casing would turn its
// invalid bytes into U+FFFD.
func (s *Server) canonical(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := qm.TextProblem(r.URL.Path); p != "" {
			s.writeError(w, r, qm.Errorf(qm.EBadRequest, "the path %s", p))
			return
		}
		p := strings.ToLower(path.Clean("/" + r.URL.Path))
		if p != r.URL.Path || r.URL.RawPath != "" {
			r2 := r.Clone(r.Context())
			r2.URL.Path, r2.URL.RawPath = p, ""
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// routed answers a path no route serves, or a method the path does not
// take, in the one error shape (ServeMux would answer in plain text); 405
// names the methods the path takes in Allow.
func (s *Server) routed(mux *http.ServeMux) http.Handler {
	methods := map[string]bool{}
	for _, rt := range Routes {
		methods[rt.Method] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var allow []string
		for m := range methods {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			s.writeError(w, r, qm.Errorf(qm.ENotFound, "no route serves %s", r.URL.Path))
			return
		}
		slices.Sort(allow)
		if slices.Contains(allow, http.MethodGet) {
			allow = append(allow, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, qm.Errorf(eMethodNotAllowed, "%s does not take %s; it takes %s", r.URL.Path, r.Method, strings.Join(allow, ", ")))
	})
}

type requestKey struct{}

// requestInfo is what the access log says of a request; the route fills in
// the tenant and principal once it knows them.
type requestInfo struct {
	id        string
	tenant    string
	principal string
}

// info returns the request's log record.
func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(requestKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (to flush a
// stream of events, and to extend its write deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// logged gives each request an id, recovers from panics and writes one
// access log line.
func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: randomHex(8)}
		w.Header().Set("X-Request-Id", ri.id)
		r = r.WithContext(context.WithValue(r.Context(), requestKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				s.cfg.Logger.Error("panic", "request_id", ri.id, "panic", v)
				if sw.status == 0 {
					s.writeError(sw, r, fmt.Errorf("panic: %v", v))
				}
			}
			took := time.Since(start)
			// A flood past its rate is counted (metrics, load, usage), not
			// logged line by line: writing its lines would cost the server
			// more than refusing it.
			level := slog.LevelInfo
			if sw.status == http.StatusTooManyRequests {
				level = slog.LevelDebug
			}
			s.cfg.Logger.Log(r.Context(), level, "request", "request_id", ri.id, "method", r.Method, "path", r.URL.Path,
				"status", sw.status, "duration", took.Round(time.Microsecond), "remote", r.RemoteAddr,
				"tenant", ri.tenant, "principal", ri.principal)
			s.cfg.Load.Request(ri.tenant, took)
			if sw.status == http.StatusTooManyRequests {
				s.cfg.Load.Refused(ri.tenant, 1)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

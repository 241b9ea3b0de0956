// Package httpapi is Quartermaster's HTTP server. Every route is declared in
// one table (Routes), so tests can enumerate them.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config configures the server.
type Config struct {
	// Addr is the address to listen on, host:port.
	Addr string
	// Ready reports whether storage answers and is migrated.
	Ready func(ctx context.Context) error
	// Logger receives access and error logs.
	Logger *slog.Logger
}

// Server serves the HTTP API.
type Server struct {
	cfg     Config
	handler http.Handler
}

// Route is one entry of the route table.
type Route struct {
	Pattern string // a net/http ServeMux pattern, method included
	Handler func(s *Server, w http.ResponseWriter, r *http.Request)
}

// Routes is every route the server answers.
var Routes = []Route{
	{"GET /healthz", (*Server).healthz},
	{"GET /readyz", (*Server).readyz},
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg}
	mux := http.NewServeMux()
	for _, r := range Routes {
		mux.HandleFunc(r.Pattern, func(w http.ResponseWriter, req *http.Request) { r.Handler(s, w, req) })
	}
	s.handler = mux
	return s
}

// Handler returns the server's root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Run listens on the configured address and serves until ctx is done, then
// drains requests in flight for up to ten seconds. ready, if not nil,
// receives the address actually listened on.
func (s *Server) Run(ctx context.Context, ready chan<- net.Addr) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	s.cfg.Logger.Info("listening", "addr", ln.Addr().String())
	if ready != nil {
		ready <- ln.Addr()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// healthz answers while the process is up.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when storage is reachable and migrated, 503 otherwise.
// The reason is logged, not shown: it may name hosts and databases.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.cfg.Ready(ctx); err != nil {
		s.cfg.Logger.Warn("not ready", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

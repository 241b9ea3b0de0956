package httpapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/quartermaster/qm/httpapi"
)

func TestHealthAndReadiness(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ready  error
		path   string
		status int
	}{
		{"HealthzOK", nil, "/healthz", http.StatusOK},
		{"HealthzWhileNotReady", errors.New("db down"), "/healthz", http.StatusOK},
		{"ReadyzOK", nil, "/readyz", http.StatusOK},
		{"ReadyzNotReady", errors.New("db down"), "/readyz", http.StatusServiceUnavailable},
		{"Unknown", nil, "/nope", http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httpapi.New(httpapi.Config{Addr: "127.0.0.1:0", Logger: quiet, Ready: func(context.Context) error { return tc.ready }})
			ctx, cancel := context.WithCancel(t.Context())
			addr := make(chan net.Addr, 1)
			done := make(chan error, 1)
			go func() { done <- srv.Run(ctx, addr) }()
			res, err := http.Get("http://" + (<-addr).String() + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("got status %d, want %d", res.StatusCode, tc.status)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("shutdown: %v", err)
			}
		})
	}
}

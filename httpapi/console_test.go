package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/quartermaster/qm/httpapi"
)

// TestConsoleDispatch: with a console, every spelling of an API path
// reaches the API and every other path the console; without one, every
// path reaches the API, as before there was a console.
func TestConsoleDispatch(t *testing.T) {
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("console")) })
	for _, c := range []struct {
		method, path string
		console      bool // reaches the console, when there is one
	}{
		{"GET", "/api/v1/openapi.json", false},
		{"GET", "/API/V1/openapi.json", false},
		{"GET", "//api/v1/x", false},
		{"GET", "/api/v1/t/acme/assets", false},
		{"GET", "/api", false},
		{"GET", "/healthz", false},
		{"GET", "/readyz", false},
		{"POST", "/ingest/v1/points", false},
		{"GET", "/", true},
		{"GET", "/t/acme", true},
		{"GET", "/t/acme/assets/123", true},
		{"GET", "/Assets/X.js", true},
		{"GET", "/apiary", true},
	} {
		for _, withConsole := range []bool{true, false} {
			var h http.Handler
			if withConsole {
				h = console
			}
			srv := httpapi.New(httpapi.Config{Logger: quiet, Console: h, Ready: func(context.Context) error { return nil }})
			r := httptest.NewRequest(c.method, "http://qm.test/", nil)
			r.URL.Path = c.path
			w := httptest.NewRecorder()
			srv.Handler().ServeHTTP(w, r)
			srv.Close()
			got, want := w.Body.String() == "console", c.console && withConsole
			if got != want {
				t.Errorf("%s %s (console: %t): reached the console: %t, want %t (%d %s)", c.method, c.path, withConsole, got, want, w.Code, w.Body)
			}
		}
	}
}

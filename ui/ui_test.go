package ui_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/quartermaster/qm/ui"
)

// built is a console as npm run build writes it.
var built = fstest.MapFS{
	"index.html":                {Data: []byte("<!doctype html><title>Quartermaster</title>")},
	"favicon.svg":               {Data: []byte("<svg></svg>")},
	"assets/index-Ab12Cd34.js":  {Data: []byte("console.log(1)")},
	"assets/index-Ef56Gh78.css": {Data: []byte("body{}")},
}

func serve(t *testing.T, files fstest.MapFS, o ui.Options, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, "http://qm.test/", nil)
	r.URL.Path = path
	w := httptest.NewRecorder()
	ui.NewHandler(files, o).ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	const index = "<!doctype html><title>Quartermaster</title>"
	for _, c := range []struct {
		name, method, path string
		status             int
		cache              string
		body               string // "" for any
	}{
		{"HashedAsset", "GET", "/assets/index-Ab12Cd34.js", 200, "public, max-age=31536000, immutable", "console.log(1)"},
		{"HashedStyles", "GET", "/assets/index-Ef56Gh78.css", 200, "public, max-age=31536000, immutable", "body{}"},
		{"OtherFile", "GET", "/favicon.svg", 200, "no-cache", "<svg></svg>"},
		{"Root", "GET", "/", 200, "no-store", index},
		{"Index", "GET", "/index.html", 200, "no-store", index},
		{"ClientRoute", "GET", "/t/acme/assets/123", 200, "no-store", index},
		{"Invitation", "GET", "/invite/x", 200, "no-store", index},
		{"Head", "HEAD", "/t/acme", 200, "no-store", ""},
		{"MissingAsset", "GET", "/assets/x.js", 404, "no-store", ""},
		{"MissingAssetWithoutExtension", "GET", "/assets/x", 404, "no-store", ""},
		{"MissingFileWithExtension", "GET", "/robots.txt", 404, "no-store", ""},
		{"Post", "POST", "/", 405, "", ""},
		{"Delete", "DELETE", "/assets/index-Ab12Cd34.js", 405, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := serve(t, built, ui.Options{}, c.method, c.path)
			if w.Code != c.status {
				t.Fatalf("got %d %q, want %d", w.Code, w.Body, c.status)
			}
			if got := w.Header().Get("Cache-Control"); got != c.cache {
				t.Errorf("Cache-Control: got %q, want %q", got, c.cache)
			}
			if c.body != "" && w.Body.String() != c.body {
				t.Errorf("got body %q, want %q", w.Body, c.body)
			}
			if c.status == 404 && strings.Contains(w.Body.String(), "Quartermaster</title>") {
				t.Error("a missing file answered index.html")
			}
			if c.status == 405 && w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow: got %q, want GET, HEAD", w.Header().Get("Allow"))
			}
			csp := w.Header().Get("Content-Security-Policy")
			for _, want := range []string{"frame-ancestors 'none'", "script-src 'self'", "style-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") {
				t.Errorf("Content-Security-Policy %q allows inline code", csp)
			}
		})
	}
}

// TestMapOrigins: the operator's map style's origin may be fetched from
// and drawn, and nothing else is opened.
func TestMapOrigins(t *testing.T) {
	csp := serve(t, built, ui.Options{MapOrigins: []string{"https://tiles.example.com"}}, "GET", "/").Header().Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for _, name := range []string{"connect-src", "img-src"} {
		if !strings.Contains(directives[name], "https://tiles.example.com") {
			t.Errorf("%s %q lacks the map's origin", name, directives[name])
		}
	}
	for _, name := range []string{"script-src", "default-src", "style-src"} {
		if strings.Contains(directives[name], "tiles.example.com") {
			t.Errorf("%s %q names the map's origin", name, directives[name])
		}
	}
	if plain := serve(t, built, ui.Options{}, "GET", "/").Header().Get("Content-Security-Policy"); strings.Contains(plain, "example.com") {
		t.Errorf("without map origins: %q", plain)
	}
}

// TestNotBuilt: a binary built before the console says how to build it.
func TestNotBuilt(t *testing.T) {
	for _, path := range []string{"/", "/t/acme", "/assets/index-Ab12Cd34.js"} {
		w := serve(t, fstest.MapFS{"assets/index-Ab12Cd34.js": {Data: []byte("x")}}, ui.Options{}, "GET", path)
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "make build") || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: got %d %q, want 503 naming make build", path, w.Code, w.Body)
		}
		if !strings.Contains(w.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: no Content-Security-Policy", path)
		}
	}
}

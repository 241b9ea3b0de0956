package ui_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/quartermaster/qm/ui"
)

// TestGzip: text assets go gzipped to clients that take gzip, whole to
// those that do not; small files and images go as they are.
func TestGzip(t *testing.T) {
	script := strings.Repeat("console.log('quartermaster');\n", 200)
	files := fstest.MapFS{
		"index.html":        {Data: []byte("<!doctype html><title>QM</title>")},
		"assets/app-1a.js":  {Data: []byte(script)},
		"assets/tiny-2b.js": {Data: []byte("x()")},
		"assets/pic-3c.png": {Data: bytes.Repeat([]byte{0x89}, 4096)},
	}
	h := ui.NewHandler(files, ui.Options{})
	get := func(path, encoding string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if encoding != "" {
			req.Header.Set("Accept-Encoding", encoding)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Result()
	}
	for _, tc := range []struct {
		name, path, encoding string
		gzipped              bool
	}{
		{"GzipAccepted", "/assets/app-1a.js", "br, gzip", true},
		{"GzipRefused", "/assets/app-1a.js", "gzip;q=0", false},
		{"NoEncoding", "/assets/app-1a.js", "", false},
		{"TooSmall", "/assets/tiny-2b.js", "gzip", false},
		{"Image", "/assets/pic-3c.png", "gzip", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := get(tc.path, tc.encoding)
			body, _ := io.ReadAll(res.Body)
			if got := res.Header.Get("Content-Encoding") == "gzip"; got != tc.gzipped {
				t.Fatalf("gzipped: got %v, want %v", got, tc.gzipped)
			}
			if !tc.gzipped {
				return
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
				t.Errorf("Content-Type: got %q, want text/javascript", ct)
			}
			if v := res.Header.Get("Vary"); v != "Accept-Encoding" {
				t.Errorf("Vary: got %q, want Accept-Encoding", v)
			}
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if string(plain) != script {
				t.Fatalf("gunzipped body differs from the file (%d bytes, want %d)", len(plain), len(script))
			}
			if len(body) >= len(script)/4 {
				t.Errorf("gzipped %d bytes to %d: too little gain for repetitive text", len(script), len(body))
			}
		})
	}
}

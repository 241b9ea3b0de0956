package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/quartermaster/qm/httpapi"
)

// TestMap: GET /api/v1/map tells the console which map to draw, and the
// configured PMTiles file is served to signed-in users with ranges.
func TestMap(t *testing.T) {
	f := newFixture(t, backends[0])
	get := func(t *testing.T, f *fixture, p principal, path, rangeHeader string) *httptest.ResponseRecorder {
		t.Helper()
		r := httptest.NewRequest("GET", "http://qm.test"+path, nil)
		if p.cookie != "" {
			r.AddCookie(&http.Cookie{Name: "qm_session", Value: p.cookie})
		}
		if rangeHeader != "" {
			r.Header.Set("Range", rangeHeader)
		}
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		checkResponse(t, r, w)
		return w
	}
	t.Run("Config", func(t *testing.T) {
		res := get(t, f, f.a.viewer, "/api/v1/map", "")
		var c struct {
			StyleURL   string `json:"style_url"`
			PMTilesURL string `json:"pmtiles_url"`
		}
		if err := json.Unmarshal(res.Body.Bytes(), &c); res.Code != http.StatusOK || err != nil ||
			c.StyleURL != "https://tiles.example.com/style.json" || c.PMTilesURL != "/api/v1/map/tiles.pmtiles" {
			t.Fatalf("got %d %s, want the style and the tiles' URL", res.Code, res.Body)
		}
	})
	t.Run("Range", func(t *testing.T) {
		res := get(t, f, f.a.viewer, "/api/v1/map/tiles.pmtiles", "bytes=0-6")
		if res.Code != http.StatusPartialContent || res.Body.String() != "PMTiles" || res.Header().Get("Content-Range") != "bytes 0-6/"+strconv.Itoa(len(f.pmtiles)) {
			t.Fatalf("got %d %q %q, want 206 PMTiles", res.Code, res.Body, res.Header().Get("Content-Range"))
		}
		res = get(t, f, f.a.viewer, "/api/v1/map/tiles.pmtiles", "bytes=10-19")
		if res.Code != http.StatusPartialContent || res.Body.String() != string(f.pmtiles[10:20]) {
			t.Fatalf("got %d %q, want 206 %q", res.Code, res.Body, f.pmtiles[10:20])
		}
	})
	t.Run("Whole", func(t *testing.T) {
		res := get(t, f, f.a.viewer, "/api/v1/map/tiles.pmtiles", "")
		if res.Code != http.StatusOK || res.Body.String() != string(f.pmtiles) || res.Header().Get("Accept-Ranges") != "bytes" {
			t.Fatalf("got %d %q, want 200 and the file", res.Code, res.Body)
		}
	})
	t.Run("SignedOut", func(t *testing.T) {
		for _, path := range []string{"/api/v1/map", "/api/v1/map/tiles.pmtiles"} {
			if res := get(t, f, principal{}, path, "bytes=0-6"); res.Code != http.StatusUnauthorized {
				t.Errorf("%s signed out: got %d, want 401", path, res.Code)
			}
		}
	})
	t.Run("NotConfigured", func(t *testing.T) {
		bare := newFixtureWith(t, backends[0], func(c *httpapi.Config) { c.MapStyleURL, c.MapPMTiles = "", "" })
		if res := get(t, bare, bare.a.viewer, "/api/v1/map", ""); res.Code != http.StatusOK || strings.TrimSpace(res.Body.String()) != `{"style_url":"","pmtiles_url":""}` {
			t.Errorf("got %d %s, want empty strings", res.Code, res.Body)
		}
		res := get(t, bare, bare.a.viewer, "/api/v1/map/tiles.pmtiles", "bytes=0-6")
		if res.Code != http.StatusNotFound || !strings.Contains(res.Body.String(), `"code":"not_found"`) {
			t.Errorf("got %d %s, want 404 in the error shape", res.Code, res.Body)
		}
	})
}

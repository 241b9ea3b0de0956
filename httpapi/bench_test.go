package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkTokenGET reads one location with an API token through the whole
// handler, without the network.
func BenchmarkTokenGET(b *testing.B) {
	f := newFixture(b, backends[0])
	path := "/api/v1/t/tenant-a/locations/" + f.a.location.ID
	b.ResetTimer()
	for b.Loop() {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+f.a.viewerToken.bearer)
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

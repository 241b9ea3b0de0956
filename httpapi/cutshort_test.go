package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
)

// goneWriter is a response writer whose client went away: every write
// fails. It records the statuses written.
type goneWriter struct {
	header   http.Header
	statuses []int
}

func (w *goneWriter) Header() http.Header { return w.header }

func (w *goneWriter) WriteHeader(code int) { w.statuses = append(w.statuses, code) }

func (w *goneWriter) Write([]byte) (int, error) {
	if len(w.statuses) == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return 0, syscall.EPIPE
}

// TestResponseCutShort: a response that fails once its status is out (a
// download the client abandoned) ends there: no error is written after
// the status sent.
func TestResponseCutShort(t *testing.T) {
	f := newFixture(t, backends[0])
	r := httptest.NewRequest("GET", "http://qm.test/api/v1/t/"+f.a.t.Slug+"/assets/export", nil)
	r.RemoteAddr = "192.0.2.1:4242"
	r.Header.Set("Authorization", "Bearer "+f.a.adminToken.bearer)
	w := &goneWriter{header: http.Header{}}
	f.handler.ServeHTTP(w, r)
	if len(w.statuses) != 1 || w.statuses[0] != http.StatusOK {
		t.Fatalf("statuses written: %v, want 200 alone", w.statuses)
	}
}

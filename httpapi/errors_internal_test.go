package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInternalErrorsShowNothing checks that an error that is not an
// application error reaches the client as "internal error" with the request
// id, and its detail reaches only the log.
func TestInternalErrorsShowNothing(t *testing.T) {
	var log bytes.Buffer
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(&log, nil))}}
	r := httptest.NewRequest("GET", "/api/v1/t/acme/locations", nil)
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, &requestInfo{id: "req-123"}))
	w := httptest.NewRecorder()
	s.writeError(w, r, errors.New(`pq: relation "pool.locations" does not exist`))
	var body errorBody
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusInternalServerError || body.Error.Code != "internal" || body.Error.Message != "internal error" || body.Error.RequestID != "req-123" {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if strings.Contains(w.Body.String(), "pool.locations") {
		t.Fatal("internal detail reached the client")
	}
	if !strings.Contains(log.String(), "pool.locations") || !strings.Contains(log.String(), "req-123") {
		t.Fatalf("internal detail missing from the log: %s", log.String())
	}
}

// TestPanicIsInternalError checks that a panicking handler answers 500
// without its panic text, and the server goes on.
func TestPanicIsInternalError(t *testing.T) {
	var log bytes.Buffer
	s := &Server{cfg: Config{Logger: slog.New(slog.NewTextHandler(&log, nil)), MaxBody: 1 << 20}}
	h := s.logged(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("secret detail") }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "secret detail") {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
}

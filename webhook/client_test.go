package webhook

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quartermaster/qm"
)

// receiver is a webhook endpoint on loopback that verifies what it gets as a
// tenant's receiver would, with its own secret and clock.
type receiver struct {
	*httptest.Server
	secret []byte
	now    time.Time

	mu       sync.Mutex
	requests []received
}

type received struct {
	header http.Header
	body   []byte
	err    error // Verify's verdict
}

func newReceiver(t *testing.T, secret []byte, now time.Time) *receiver {
	t.Helper()
	r := &receiver{secret: secret, now: now}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := Verify(r.secret, req.Header.Get(HeaderSignature), body, r.now, 0)
		r.mu.Lock()
		r.requests = append(r.requests, received{header: req.Header.Clone(), body: body, err: err})
		r.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.requests...)
}

func TestDeliver(t *testing.T) {
	secret := []byte("whsec_tenant")
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"event":"alarm.raised","id":"evt_42"}`)
	for _, tc := range []struct {
		name         string
		serverSecret []byte
		serverNow    time.Time
		wantStatus   int
		wantVerify   error
	}{
		{name: "OK", serverSecret: secret, serverNow: at, wantStatus: http.StatusNoContent},
		{name: "ErrWrongSecret", serverSecret: []byte("whsec_other"), serverNow: at, wantStatus: http.StatusUnauthorized, wantVerify: ErrBadSignature},
		{name: "ErrStale", serverSecret: secret, serverNow: at.Add(10 * time.Minute), wantStatus: http.StatusUnauthorized, wantVerify: ErrStaleSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver(t, tc.serverSecret, tc.serverNow)
			c := NewClient(Options{AllowPrivate: true, Now: func() time.Time { return at }})
			defer c.CloseIdleConnections()

			a := c.Deliver(context.Background(), r.URL+"/hook", secret, "evt_42", body)
			if a.Status != tc.wantStatus {
				t.Errorf("got status %d, want %d", a.Status, tc.wantStatus)
			}
			if a.OK() != (tc.wantVerify == nil) {
				t.Errorf("got OK %v (err %v), want %v", a.OK(), a.Err, tc.wantVerify == nil)
			}
			if !a.At.Equal(at) {
				t.Errorf("got At %v, want %v", a.At, at)
			}
			if a.Latency <= 0 {
				t.Errorf("got latency %v, want it measured", a.Latency)
			}
			got := r.got()
			if len(got) != 1 {
				t.Fatalf("got %d requests, want 1", len(got))
			}
			if !errors.Is(got[0].err, tc.wantVerify) || (got[0].err == nil) != (tc.wantVerify == nil) {
				t.Errorf("receiver's Verify: got %v, want %v", got[0].err, tc.wantVerify)
			}
			if string(got[0].body) != string(body) {
				t.Errorf("got body %s, want %s", got[0].body, body)
			}
			for h, want := range map[string]string{
				"Content-Type":  "application/json",
				"User-Agent":    DefaultUserAgent,
				HeaderEvent:     "evt_42",
				HeaderTimestamp: "1795867200",
			} {
				if v := got[0].header.Get(h); v != want {
					t.Errorf("got %s %q, want %q", h, v, want)
				}
			}
		})
	}
}

func TestDeliverStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		ok     bool
	}{
		{name: "OK200", status: 200, ok: true},
		{name: "OK202", status: 202, ok: true},
		{name: "Err404", status: 404},
		{name: "Err500", status: 500},
		{name: "ErrRedirectNotFollowed", status: 304},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				// More than the client reads, to show a long answer does
				// not hold the attempt up or fail it.
				_, _ = w.Write([]byte(strings.Repeat("x", 2*maxResponse)))
			}))
			defer srv.Close()
			c := NewClient(Options{AllowPrivate: true})
			defer c.CloseIdleConnections()
			a := c.Deliver(context.Background(), srv.URL, []byte("s"), "evt_1", []byte(`{}`))
			if a.Status != tc.status || a.OK() != tc.ok {
				t.Errorf("got status %d OK %v (%v), want %d OK %v", a.Status, a.OK(), a.Err, tc.status, tc.ok)
			}
			if !tc.ok && (a.Err == nil || !strings.Contains(a.Err.Error(), http.StatusText(tc.status))) {
				t.Errorf("got %v, want an error naming %q", a.Err, http.StatusText(tc.status))
			}
		})
	}
}

func TestDeliverCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	c := NewClient(Options{AllowPrivate: true})
	defer c.CloseIdleConnections()
	done := make(chan Attempt)
	go func() { done <- c.Deliver(ctx, srv.URL, []byte("s"), "evt_1", []byte(`{}`)) }()
	cancel()
	if a := <-done; !errors.Is(a.Err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", a.Err)
	}
}

// TestDeliverRefused shows the done-when of the issue: with AllowPrivate
// off, loopback, the metadata service, a private address and a name that
// resolves to loopback are all refused, and no request reaches anything.
func TestDeliverRefused(t *testing.T) {
	r := newReceiver(t, []byte("s"), time.Now())
	port := listenPort(r.Server)
	c := NewClient(Options{})
	defer c.CloseIdleConnections()
	for _, tc := range []struct {
		name    string
		url     string
		atCheck bool // refused by CheckURL before any dial, else by the guard
	}{
		{name: "Loopback", url: r.URL, atCheck: true},
		{name: "LoopbackNoPort", url: "http://127.0.0.1/", atCheck: true},
		{name: "Metadata", url: "http://169.254.169.254/latest/meta-data/", atCheck: true},
		{name: "Private", url: "http://10.0.0.1/hook", atCheck: true},
		{name: "NameResolvingToLoopback", url: "http://localhost:" + port + "/hook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.Deliver(context.Background(), tc.url, []byte("s"), "evt_1", []byte(`{}`))
			if a.OK() || a.Status != 0 {
				t.Fatalf("got status %d err %v, want refused", a.Status, a.Err)
			}
			if tc.atCheck {
				if qm.ErrorCode(a.Err) != qm.EInvalid {
					t.Errorf("got %v, want CheckURL's refusal", a.Err)
				}
			} else if !errors.Is(a.Err, ErrForbiddenAddress) {
				t.Errorf("got %v, want the dial guard's refusal", a.Err)
			}
		})
	}
	if n := len(r.got()); n != 0 {
		t.Errorf("receiver got %d requests, want 0", n)
	}
}

// TestDeliverRedirect follows redirects from an endpoint that stands in for
// a public server (the one loopback address the guard is told to let by) to
// places the policy must stop: each hop is checked again, literally by
// CheckURL and after resolution by the guard.
func TestDeliverRedirect(t *testing.T) {
	inside := newReceiver(t, []byte("s"), time.Now())
	insidePort := listenPort(inside.Server)
	var hops sync.Map
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Store(r.URL.Path, true)
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusTemporaryRedirect)
	}))
	defer public.Close()
	publicAddr := public.Listener.Addr().(*net.TCPAddr).AddrPort()
	// The first hop is by name: CheckURL refuses 127.0.0.1 written out, and
	// the guard lets this one address and port by.
	start := "http://localhost:" + strconv.Itoa(int(publicAddr.Port()))

	for _, tc := range []struct {
		name    string
		to      string
		atCheck bool
		want    string
	}{
		{name: "ToNameResolvingToLoopback", to: "http://localhost:" + insidePort + "/hook", want: "loopback"},
		{name: "ToLoopback", to: "http://127.0.0.1:" + insidePort + "/hook", atCheck: true, want: "loopback"},
		{name: "ToMetadata", to: "http://169.254.169.254/latest/meta-data/", atCheck: true, want: "metadata"},
		{name: "ToPrivate", to: "http://192.168.1.1/", atCheck: true, want: "private"},
		{name: "ToOtherScheme", to: "gopher://localhost:" + insidePort + "/", atCheck: true, want: "http://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(Options{}, guard{exempt: publicAddr})
			defer c.CloseIdleConnections()
			path := "/" + tc.name
			a := c.Deliver(context.Background(), start+path+"?to="+url.QueryEscape(tc.to), []byte("s"), "evt_1", []byte(`{}`))
			if _, ok := hops.Load(path); !ok {
				t.Fatalf("the first hop was not made: %v", a.Err)
			}
			if a.OK() || a.Status != 0 {
				t.Fatalf("got status %d err %v, want refused", a.Status, a.Err)
			}
			if tc.atCheck != (qm.ErrorCode(a.Err) == qm.EInvalid) || tc.atCheck == errors.Is(a.Err, ErrForbiddenAddress) {
				t.Errorf("got %v, want refused by CheckURL %v, by the guard %v", a.Err, tc.atCheck, !tc.atCheck)
			}
			if !strings.Contains(a.Err.Error(), tc.want) {
				t.Errorf("got %q, want it to mention %q", a.Err, tc.want)
			}
		})
	}
	if n := len(inside.got()); n != 0 {
		t.Errorf("inside server got %d requests, want 0", n)
	}
}

func TestDeliverRedirectPolicy(t *testing.T) {
	r := newReceiver(t, []byte("s"), time.Now())
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/moved":
			// 308 keeps the method and body, as a receiver that moved
			// means; the signature travels with them.
			http.Redirect(w, req, r.URL+"/hook", http.StatusPermanentRedirect)
		case "/loop":
			http.Redirect(w, req, srv.URL+"/loop", http.StatusTemporaryRedirect)
		}
	}))
	defer srv.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, r.URL+"/hook", http.StatusTemporaryRedirect)
	}))
	defer tlsSrv.Close()

	c := NewClient(Options{AllowPrivate: true})
	c.transport.TLSClientConfig = tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig
	defer c.CloseIdleConnections()
	for _, tc := range []struct {
		name string
		url  string
		want string // "" for OK
	}{
		{name: "OKFollowed", url: srv.URL + "/moved"},
		{name: "ErrLoop", url: srv.URL + "/loop", want: "redirects"},
		{name: "ErrDowngrade", url: tlsSrv.URL, want: "https to http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := c.Deliver(context.Background(), tc.url, []byte("s"), "evt_1", []byte(`{"n":1}`))
			if tc.want == "" {
				if !a.OK() {
					t.Fatalf("got %v, want delivered", a.Err)
				}
				return
			}
			if a.Err == nil || !strings.Contains(a.Err.Error(), tc.want) {
				t.Errorf("got %v, want an error mentioning %q", a.Err, tc.want)
			}
		})
	}
	got := r.got()
	if len(got) != 1 || got[0].err != nil || string(got[0].body) != `{"n":1}` {
		t.Errorf("got %+v, want one verified delivery of the body", got)
	}
}

// listenPort is the port srv listens on, for URLs that name it by another
// host than httptest's 127.0.0.1.
func listenPort(srv *httptest.Server) string {
	return strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
}

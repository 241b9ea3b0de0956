package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/httpapi"
	"github.com/quartermaster/qm/internal/poll"
	"github.com/quartermaster/qm/sqlstore/dataplane"
)

// serve returns the fixture's handler on a real listener (streams need a
// connection to flush to and to close), started on first use.
func (f *fixture) serve(t testing.TB) *httptest.Server {
	f.serveOnce.Do(func() {
		f.server = httptest.NewServer(f.handler)
		t.Cleanup(func() {
			f.server.CloseClientConnections()
			f.server.Close()
		})
	})
	return f.server
}

// sseEvent is one event of a stream; comment is set for a comment line.
type sseEvent struct {
	name, id, data, comment string
}

// stream is an open event stream, read as it comes.
type stream struct {
	res    *http.Response
	events chan sseEvent // closed when the stream ends
	cancel context.CancelFunc
}

// openStream GETs path as p on the fixture's listener and, for a 200,
// reads its events until the test ends or the stream does.
func (f *fixture) openStream(t testing.TB, p principal, path string) *stream {
	t.Helper()
	srv := f.serve(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.cookie != "" {
		req.AddCookie(&http.Cookie{Name: "qm_session", Value: p.cookie})
	}
	if p.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+p.bearer)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s as %s: %v", path, p.name, err)
	}
	s := &stream{res: res, events: make(chan sseEvent, 1000), cancel: cancel}
	t.Cleanup(func() {
		cancel()
		res.Body.Close()
	})
	if res.StatusCode != http.StatusOK {
		close(s.events)
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev != (sseEvent{}) {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.comment = strings.TrimSpace(line[1:])
			default:
				field, value, _ := strings.Cut(line, ":")
				value = strings.TrimPrefix(value, " ")
				switch field {
				case "event":
					ev.name = value
				case "id":
					ev.id = value
				case "data":
					ev.data += value
				}
			}
		}
	}()
	return s
}

// next returns the stream's next event that is not a comment, and the
// comments before it; false when the stream ended first.
func (s *stream) next(t testing.TB) (sseEvent, bool) {
	t.Helper()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return ev, false
			}
			if ev.comment == "" {
				return ev, true
			}
		case <-poll.After(t):
			t.Fatal("gave up waiting for an event: the test's deadline is near")
		}
	}
}

// position is a position event's data, as the console reads it.
type position struct {
	DeviceID string         `json:"device_id"`
	Ident    string         `json:"ident"`
	Name     string         `json:"name"`
	Status   string         `json:"status"`
	Position *qm.Position   `json:"position"`
	Time     time.Time      `json:"time"`
	Metrics  map[string]any `json:"metrics"`
}

// until reads position events until the one of device deviceID at
// latitude lat, and returns it and the device ids of the events before it.
func (s *stream) until(t testing.TB, deviceID string, lat float64) (position, []string) {
	t.Helper()
	var before []string
	for {
		ev, ok := s.next(t)
		if !ok {
			t.Fatalf("the stream ended before an event of device %s at %g (after %v)", deviceID, lat, before)
		}
		if ev.name != "position" {
			t.Fatalf("got event %q, want position", ev.name)
		}
		var p position
		if err := json.Unmarshal([]byte(ev.data), &p); err != nil {
			t.Fatalf("event data %s: %v", ev.data, err)
		}
		if p.DeviceID == deviceID && p.Position != nil && p.Position.Lat == lat {
			return p, before
		}
		before = append(before, p.DeviceID)
	}
}

// ended waits until the stream ends, failing on any event but comments.
func (s *stream) ended(t testing.TB) {
	t.Helper()
	if ev, ok := s.next(t); ok {
		t.Fatalf("got event %+v, want the stream to end", ev)
	}
}

// reporter sends points for devices, each newer than the last.
type reporter struct {
	f    *fixture
	base time.Time
	n    int
}

func newReporter(f *fixture) *reporter {
	return &reporter{f: f, base: time.Now().UTC().Add(-time.Hour).Truncate(time.Second)}
}

// send stores a point at lat, lon for the device token names, and returns
// its time.
func (r *reporter) send(t testing.TB, token string, lat, lon float64) time.Time {
	t.Helper()
	r.n++
	at := r.base.Add(time.Duration(r.n) * time.Second)
	body := fmt.Sprintf(`{"time":"%s","lat":%g,"lon":%g,"metrics":{"battery_pct":%d}}`, at.Format(time.RFC3339), lat, lon, r.n)
	if res := r.f.do(t, principal{name: "device", bearer: token}, "POST", "/ingest/v1/points", body); res.Code != http.StatusOK {
		t.Fatalf("ingest: %d %s", res.Code, res.Body)
	}
	return at
}

// TestFleetEvents: a point committed for a device reaches the streams of
// the tenant's members who may see the device, and no one else's: not
// another tenant's, not a member's confined to another department, not
// the old tenant's once the device moved.
func TestFleetEvents(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, be)
			a, b := f.a, f.b
			events := "/api/v1/t/" + a.t.Slug + "/fleet/events"
			r := newReporter(f)

			// A's device in A's department, another in a second one, and a
			// member confined to the first.
			other := &qm.Department{Name: "Workshop"}
			if err := dataplane.NewDepartmentStore(f.e, time.Now).CreateDepartment(a.ctx, other); err != nil {
				t.Fatal(err)
			}
			outside, outsideToken := f.mustDevice(t, a.t)
			for dev, dept := range map[string]string{a.device.Ident: a.department.ID, outside.Ident: other.ID} {
				if res := f.do(t, a.admin, "PATCH", "/api/v1/t/tenant-a/devices/"+dev, `{"department_id":"`+dept+`","name":"Van `+dev+`"}`); res.Code != http.StatusOK {
					t.Fatalf("place %s: %d %s", dev, res.Code, res.Body)
				}
			}
			confinedUser := f.mustUser(t, "confined@tenant-a.example", false)
			if err := f.e.Identity().SetMembership(context.Background(), &qm.Membership{TenantID: a.t.ID, UserID: confinedUser.ID, Role: "viewer", DepartmentID: a.department.ID}, time.Now()); err != nil {
				t.Fatal(err)
			}
			confined := f.login(t, "confined@tenant-a.example")

			admin := f.openStream(t, a.admin, events)
			if admin.res.StatusCode != http.StatusOK || admin.res.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("got %d %q, want 200 text/event-stream", admin.res.StatusCode, admin.res.Header.Get("Content-Type"))
			}
			if ev := <-admin.events; ev.comment == "" {
				t.Fatalf("the stream opened with %+v, want a comment", ev)
			}
			viewerToken := f.openStream(t, a.viewerToken, events)
			confinedStream := f.openStream(t, confined, events)
			bStream := f.openStream(t, b.admin, "/api/v1/t/"+b.t.Slug+"/fleet/events")
			for _, who := range []principal{b.admin, b.adminToken, f.operator} {
				if s := f.openStream(t, who, events); s.res.StatusCode != http.StatusNotFound {
					t.Errorf("A's stream as %s: got %d, want 404", who.name, s.res.StatusCode)
				}
			}

			t.Run("PointReachesMembers", func(t *testing.T) {
				at := r.send(t, a.deviceToken.bearer, 52.52, 13.405)
				for name, s := range map[string]*stream{"admin": admin, "viewer's token": viewerToken, "confined member": confinedStream} {
					p, _ := s.until(t, a.device.ID, 52.52)
					if p.Ident != a.device.Ident || p.Name != "Van "+a.device.Ident || p.Position == nil || p.Position.Lat != 52.52 ||
						!p.Time.Equal(at) || p.Status == "" || p.Metrics["battery_pct"] != float64(r.n) {
						t.Errorf("%s got %+v, want the point at 52.52 of %s", name, p, at)
					}
				}
			})
			t.Run("OsmAndPoint", func(t *testing.T) {
				r.n++
				at := r.base.Add(time.Duration(r.n) * time.Second)
				if res := f.sendOsmAnd("GET", fmt.Sprintf("/?id=%s&key=%s&lat=50.1&lon=8.7&timestamp=%d", a.device.Ident, a.deviceToken.bearer, at.Unix()), "", ""); res.Code != http.StatusOK {
					t.Fatalf("OsmAnd: %d %s", res.Code, res.Body)
				}
				if p, _ := admin.until(t, a.device.ID, 50.1); p.Time.Unix() != at.Unix() {
					t.Errorf("got %+v, want the OsmAnd point at 50.1", p)
				}
			})
			t.Run("EventIDsIncrease", func(t *testing.T) {
				r.send(t, a.deviceToken.bearer, 1, 1)
				r.send(t, outsideToken, 2, 2)
				var last int64
				for range 2 {
					ev, ok := admin.next(t)
					id, err := strconv.ParseInt(ev.id, 10, 64)
					if !ok || err != nil || id <= last {
						t.Fatalf("got event %+v after id %d, want a larger id", ev, last)
					}
					last = id
				}
			})
			t.Run("OtherDepartment", func(t *testing.T) {
				r.send(t, outsideToken, 48.1, 11.6)
				if p, _ := admin.until(t, outside.ID, 48.1); p.Metrics["battery_pct"] != float64(r.n) {
					t.Errorf("admin got %+v, want 48.1", p)
				}
				// A point of the member's own device after it: everything
				// before reached the stream first.
				r.send(t, a.deviceToken.bearer, 52.6, 13.5)
				_, before := confinedStream.until(t, a.device.ID, 52.6)
				if strings.Contains(strings.Join(before, " "), outside.ID) {
					t.Errorf("the member confined to %s got an event of a device in %s", a.department.Name, other.Name)
				}
			})
			t.Run("OtherTenant", func(t *testing.T) {
				r.send(t, b.deviceToken.bearer, 40.4, -3.7)
				_, before := bStream.until(t, b.device.ID, 40.4)
				if len(before) > 0 {
					t.Errorf("B's stream got events of devices %v, want none of A's", before)
				}
			})
			t.Run("DeviceMovedToAnotherTenant", func(t *testing.T) {
				res := f.do(t, f.operator, "POST", "/api/v1/operator/devices/"+outside.Ident+"/assign", `{"tenant":"`+b.t.Slug+`"}`)
				var moved struct{ Token string }
				if err := json.Unmarshal(res.Body.Bytes(), &moved); res.Code != http.StatusOK || err != nil {
					t.Fatalf("move: %d %s", res.Code, res.Body)
				}
				r.send(t, moved.Token, 41.4, 2.2)
				if p, _ := bStream.until(t, outside.ID, 41.4); p.Ident != outside.Ident {
					t.Errorf("B got %+v, want 41.4", p)
				}
				r.send(t, a.deviceToken.bearer, 52.7, 13.6)
				if _, before := admin.until(t, a.device.ID, 52.7); strings.Contains(strings.Join(before, " "), outside.ID) {
					t.Error("A's stream got an event of the device it gave up")
				}
			})
		})
	}
}

// TestFleetEventsEnd: a stream sends keepalive comments, ends when its
// caller loses access, and ends at shutdown without holding it up.
func TestFleetEventsEnd(t *testing.T) {
	be := backends[0]
	t.Run("Keepalive", func(t *testing.T) {
		f := newFixtureWith(t, be, func(c *httpapi.Config) { c.EventKeepalive = time.Millisecond })
		s := f.openStream(t, f.a.viewer, "/api/v1/t/tenant-a/fleet/events")
		for {
			ev, ok := <-s.events
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.comment == "keepalive" {
				break
			}
		}
	})
	t.Run("AccessLost", func(t *testing.T) {
		f := newFixtureWith(t, be, func(c *httpapi.Config) { c.EventKeepalive = time.Millisecond })
		s := f.openStream(t, f.a.viewer, "/api/v1/t/tenant-a/fleet/events")
		if res := f.do(t, f.a.admin, "DELETE", "/api/v1/t/tenant-a/members/"+f.a.viewerID, ""); res.Code != http.StatusNoContent {
			t.Fatalf("remove the viewer: %d %s", res.Code, res.Body)
		}
		s.ended(t)
	})
	t.Run("Shutdown", func(t *testing.T) {
		f := newFixtureWith(t, be, func(c *httpapi.Config) { c.Addr = "127.0.0.1:0" })
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		addr := make(chan net.Addr, 1)
		done := make(chan error, 1)
		go func() { done <- f.srv.Run(ctx, addr) }()
		req, err := http.NewRequest("GET", "http://"+(<-addr).String()+"/api/v1/t/tenant-a/fleet/events", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: "qm_session", Value: f.a.viewer.cookie})
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if res.StatusCode != http.StatusOK || err != nil || !strings.HasPrefix(line, ":") {
			t.Fatalf("got %d %q %v, want 200 and a comment", res.StatusCode, line, err)
		}
		cancel()
		// Shutdown waits for requests in flight up to a timeout, and says
		// so if they outlast it: a stream it had to wait out fails here.
		if err := <-done; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		if _, err := io.ReadAll(res.Body); err != nil {
			t.Fatalf("the stream ended with %v, want its end", err)
		}
	})
}

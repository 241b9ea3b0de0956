package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/tenancy"
)

// eventStream is an answer of Server-Sent Events.
const eventStream = mediaFile("text/event-stream")

// manyDevices is the news beyond which a stream reads the whole fleet
// once rather than each device on its own.
const manyDevices = 16

// fleetEvents streams the positions of the tenant's devices as they
// report (Server-Sent Events): after each commit of new points of a
// device the caller may see, an event "position" whose data is the
// device's fleetPosition, as GET /fleet/positions lists it. The caller
// sees exactly the devices /fleet/positions shows it: the stream reads
// each device through the same store, under the caller's scope. A comment
// opens the stream and one follows every 15 s (Config.EventKeepalive), so
// proxies keep it open. The stream ends when the client goes away, when
// the server shuts down, and when the caller loses access (checked at
// each keepalive), so a client reconnects to go on.
func (s *Server) fleetEvents(w http.ResponseWriter, r *http.Request) error {
	t, err := tenancy.FromContext(r.Context())
	if err != nil {
		return err
	}
	sub := s.live.Subscribe(t.ID)
	defer sub.Close()
	rc := http.NewResponseController(w)
	// The server's write timeout would cut the stream; without a deadline
	// to clear (a test's recorder), there is nothing to cut it.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", string(eventStream))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on at once
	w.WriteHeader(http.StatusOK)
	ctx := r.Context()
	send := func(b []byte) bool {
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send([]byte(": open\n\n")) {
		return nil
	}
	keepalive := time.NewTicker(s.cfg.EventKeepalive)
	defer keepalive.Stop()
	var id int64
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-s.streams:
			return nil
		case <-sub.Done():
			return nil
		case <-keepalive.C:
			scoped, ok := s.stillAllowed(r, t)
			if !ok {
				return nil
			}
			ctx = scoped
			if !send([]byte(": keepalive\n\n")) {
				return nil
			}
		case <-sub.Ready():
			ids, dropped := sub.Take()
			if len(ids) == 0 && dropped == 0 {
				continue
			}
			if dropped > 0 {
				ids = nil // news was lost: send every device's position
			}
			var buf bytes.Buffer
			for _, p := range s.positions(ctx, ids) {
				data, err := json.Marshal(p)
				if err != nil {
					s.cfg.Logger.Error("encode a position event", "request_id", info(r).id, "err", err)
					continue
				}
				id++
				buf.WriteString("event: position\nid: " + strconv.FormatInt(id, 10) + "\ndata: ")
				buf.Write(data)
				buf.WriteString("\n\n")
			}
			if buf.Len() > 0 && !send(buf.Bytes()) {
				return nil
			}
		}
	}
}

// stillAllowed checks the stream's caller again, as when it connected:
// the session or token still valid, still a member of tenant t with the
// permission, in the same department scope or a new one. It returns the
// context to read with from now on.
func (s *Server) stillAllowed(r *http.Request, t *qm.Tenant) (context.Context, bool) {
	rt, ok := r.Context().Value(routeKey{}).(Route)
	if !ok {
		return nil, false
	}
	ctx, err := s.scope(r, rt)
	if err != nil {
		return nil, false
	}
	now, err := tenancy.FromContext(ctx)
	if err != nil || now.ID != t.ID {
		return nil, false
	}
	return ctx, true
}

// positions returns the positions of the devices ids the caller may see,
// in the order of ids, read as /fleet/positions reads them; nil ids means
// every device.
func (s *Server) positions(ctx context.Context, ids []string) []fleetPosition {
	var out []fleetPosition
	if ids == nil || len(ids) > manyDevices {
		fds, err := s.svc.Fleet.Devices(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.Error("read the fleet for its events", "err", err)
			}
			return nil
		}
		byID := make(map[string]*qm.FleetDevice, len(fds))
		for _, fd := range fds {
			byID[fd.ID] = fd
			if ids == nil {
				if p, ok := positionOf(fd); ok {
					out = append(out, p)
				}
			}
		}
		for _, id := range ids {
			if fd := byID[id]; fd != nil {
				if p, ok := positionOf(fd); ok {
					out = append(out, p)
				}
			}
		}
		return out
	}
	for _, id := range ids {
		fd, err := s.svc.Fleet.Device(ctx, id)
		if qm.ErrorCode(err) == qm.ENotFound {
			continue // outside the caller's department, or no longer the tenant's
		} else if err != nil {
			if ctx.Err() == nil {
				s.cfg.Logger.Error("read a device for its events", "device", id, "err", err)
			}
			continue
		}
		if p, ok := positionOf(fd); ok {
			out = append(out, p)
		}
	}
	return out
}

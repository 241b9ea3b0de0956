package httpapi

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/tenancy"
)

// maxOsmAndBody bounds an OsmAnd request's body.
const maxOsmAndBody = 1 << 20

// OsmAndHandler serves the OsmAnd protocol of Traccar Client and many
// hardware trackers, on its own listener: a point in the query string (GET
// or POST, also as a form body), or Traccar Client's JSON body. The device
// names itself and proves it with its token, as the key parameter or as
// the password of HTTP Basic authentication (user: the ident); a device
// the operator marked ident-only may leave the key out. An unknown device,
// an unassigned one and a wrong or missing key all get the same 401, so
// the answer does not tell which idents exist; nothing is stored. The
// answer is 200 only once the points are committed.
func (s *Server) OsmAndHandler() http.Handler {
	return s.logged(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			w.Header().Set("Allow", "GET, POST")
			http.Error(w, "use GET or POST", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxOsmAndBody)
		ctx, deviceID, pts, err := s.osmand(r)
		if err != nil {
			s.svc.Points.Refused("osmand", err)
		} else {
			_, err = s.svc.Points.Ingest(ctx, "osmand", deviceID, pts)
		}
		switch qm.ErrorCode(err) {
		case "":
			w.WriteHeader(http.StatusOK)
		case qm.EUnauthorized, qm.ENotFound, qm.EForbidden, qm.ETenantInert:
			// Whatever was wrong with the device's credentials, the
			// answer does not tell which idents exist.
			w.Header().Set("WWW-Authenticate", `Basic realm="quartermaster devices"`)
			http.Error(w, osmAndRefused, http.StatusUnauthorized)
		case qm.ETooLarge:
			http.Error(w, qm.ErrorMessage(err), http.StatusRequestEntityTooLarge)
		case qm.EBadRequest, qm.EInvalid:
			http.Error(w, qm.ErrorMessage(err), http.StatusBadRequest)
		case qm.EFeatureDisabled, qm.ELimitReached:
			http.Error(w, qm.ErrorMessage(err), http.StatusForbidden)
		case qm.ERateLimited:
			var e *qm.Error
			if errors.As(err, &e) && e.RetryAfter > 0 {
				w.Header().Set("Retry-After", retryAfter(e.RetryAfter))
			}
			http.Error(w, qm.ErrorMessage(err), http.StatusTooManyRequests)
		default:
			s.cfg.Logger.Error("osmand: store points", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}))
}

// osmAndRefused is the one answer to every device the server will not take
// points from, whatever the reason.
const osmAndRefused = "unknown device, or its key is missing or wrong"

// osmand decodes and authenticates one request: the points, the device
// that sent them and the scope of its tenant, to hand to the ingester.
func (s *Server) osmand(r *http.Request) (context.Context, string, []qm.Point, error) {
	now := s.cfg.Now()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var ident, key string
	var pts []qm.Point
	if r.Method == http.MethodPost && mt == "application/json" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, "", nil, qm.Errorf(qm.ETooLarge, "the body is larger than %d bytes", maxOsmAndBody)
		}
		if ident, pts, err = ingest.DecodeOsmAndJSON(body, now); err != nil {
			return nil, "", nil, err
		}
		key = r.URL.Query().Get("key")
	} else {
		if err := r.ParseForm(); err != nil {
			return nil, "", nil, qm.Errorf(qm.EBadRequest, "the query is not readable: %v", err)
		}
		q, err := ingest.DecodeOsmAndQuery(r.Form, now)
		if err != nil {
			return nil, "", nil, err
		}
		ident, key, pts = q.Ident, q.Key, []qm.Point{q.Point}
	}
	if user, password, ok := r.BasicAuth(); ok {
		switch {
		case user != "" && user != ident:
			return nil, "", nil, qm.Errorf(qm.EUnauthorized, "the Basic user is not the device's ident")
		case password == "":
		case key != "" && key != password:
			return nil, "", nil, qm.Errorf(qm.EBadRequest, "give the key once: as the key parameter or as the Basic password")
		default:
			key = password
		}
	}
	d, t, p, err := s.cfg.Auth.DeviceKey(r.Context(), ident, key)
	if err != nil {
		return nil, "", nil, err
	}
	info(r).tenant, info(r).principal = t.Slug, p.Name
	return tenancy.WithPrincipal(tenancy.WithTenant(r.Context(), t), p), d.ID, pts, nil
}

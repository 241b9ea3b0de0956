package httpapi

import (
	"io"
	"mime"
	"net/http"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/metrics"
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
		status, msg, n, reason := s.osmand(r)
		if status != http.StatusOK {
			s.cfg.Metrics.Refuse("osmand", reason)
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Basic realm="quartermaster devices"`)
			}
			http.Error(w, msg, status)
			return
		}
		s.cfg.Metrics.Stored("osmand", n)
		w.WriteHeader(http.StatusOK)
	}))
}

// osmAndRefused is the one answer to every device the server will not take
// points from, whatever the reason.
const osmAndRefused = "unknown device, or its key is missing or wrong"

// osmand decodes, authenticates and stores one request, and returns the
// status to answer with, the points stored, and for a refusal why (for the
// device and for the metrics).
func (s *Server) osmand(r *http.Request) (status int, msg string, stored int, reason string) {
	now := s.cfg.Now()
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var ident, key string
	var pts []qm.Point
	if r.Method == http.MethodPost && mt == "application/json" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return http.StatusRequestEntityTooLarge, "the body is too large", 0, metrics.TooLarge
		}
		if ident, pts, err = ingest.DecodeOsmAndJSON(body, now); err != nil {
			return http.StatusBadRequest, qm.ErrorMessage(err), 0, metrics.Malformed
		}
		key = r.URL.Query().Get("key")
	} else {
		if err := r.ParseForm(); err != nil {
			return http.StatusBadRequest, "the query is not readable: " + err.Error(), 0, metrics.Malformed
		}
		q, err := ingest.DecodeOsmAndQuery(r.Form, now)
		if err != nil {
			return http.StatusBadRequest, qm.ErrorMessage(err), 0, metrics.Malformed
		}
		ident, key, pts = q.Ident, q.Key, []qm.Point{q.Point}
	}
	if user, password, ok := r.BasicAuth(); ok {
		switch {
		case user != "" && user != ident:
			return http.StatusUnauthorized, osmAndRefused, 0, metrics.Unauthorized
		case password == "":
		case key != "" && key != password:
			return http.StatusBadRequest, "give the key once: as the key parameter or as the Basic password", 0, metrics.Malformed
		default:
			key = password
		}
	}
	d, t, p, err := s.cfg.Auth.DeviceKey(r.Context(), ident, key)
	if err != nil {
		switch qm.ErrorCode(err) {
		case qm.EUnauthorized, qm.ENotFound, qm.EForbidden, qm.ETenantInert:
			return http.StatusUnauthorized, osmAndRefused, 0, metrics.ReasonFor(err)
		}
		s.cfg.Logger.Error("osmand: device lookup", "ident", ident, "err", err)
		return http.StatusInternalServerError, "internal error", 0, metrics.StoreFailed
	}
	info(r).tenant, info(r).principal = t.Slug, p.Name
	if err := qm.ValidatePoints(pts, now, qm.DefaultPointLimits); err != nil {
		return http.StatusBadRequest, qm.ErrorMessage(err), 0, metrics.Invalid
	}
	ctx := tenancy.WithPrincipal(tenancy.WithTenant(r.Context(), t), p)
	n, err := s.points.Write(ctx, d.ID, pts)
	if err != nil {
		s.cfg.Logger.Error("osmand: store points", "ident", ident, "err", err)
		return http.StatusInternalServerError, "internal error", 0, metrics.StoreFailed
	}
	return http.StatusOK, "", n, ""
}

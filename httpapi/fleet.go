package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/ingest"
	"github.com/quartermaster/qm/tenancy"
)

// maxPointsPerRequest bounds one ingest request; more is 413.
const maxPointsPerRequest = 10000

type deviceKey struct{}

// deviceOf is the device a Device route's request comes from.
func deviceOf(r *http.Request) *qm.Device {
	d, _ := r.Context().Value(deviceKey{}).(*qm.Device)
	return d
}

// deviceScope checks a device's bearer credential and scopes the request
// to the device's tenant. The tenant comes from the credential alone.
func (s *Server) deviceScope(ctx context.Context, r *http.Request) (context.Context, error) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, qm.Errorf(qm.EUnauthorized, "use Authorization: Bearer <device token>")
	}
	d, t, p, err := s.cfg.Auth.DeviceToken(ctx, strings.TrimSpace(secret))
	if err == nil {
		err = t.Limits.Feature(qm.FeatureFleet)
	}
	if err != nil {
		return nil, err
	}
	info(r).tenant, info(r).principal = t.Slug, p.Name
	return context.WithValue(tenancy.WithPrincipal(tenancy.WithTenant(ctx, t), p), deviceKey{}, d), nil
}

// ingestPoints stores a batch of points (a JSON array, one point, or
// NDJSON) from the device the credential names, and answers once they are
// committed. A batch with any bad point is refused whole, naming each.
func (s *Server) ingestPoints(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Points.Admit(r.Context(), "http", deviceOf(r).ID); err != nil {
		return err
	}
	pts, err := ingest.DecodeBatch(r.Body, maxPointsPerRequest)
	if tooLarge := (*http.MaxBytesError)(nil); errors.As(err, &tooLarge) {
		err = errTooLarge
	}
	if err != nil {
		s.svc.Points.Refused("http", err)
		return err
	}
	n, err := s.svc.Points.Ingest(r.Context(), "http", deviceOf(r).ID, pts)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, ingestReply{Received: len(pts), Stored: n, Duplicates: len(pts) - n}, nil)
}

// deviceConfig answers the settings the tenant set for the calling device.
func (s *Server) deviceConfig(w http.ResponseWriter, r *http.Request) error {
	fd, err := s.svc.Fleet.Device(r.Context(), deviceOf(r).ID)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, deviceConfigReply{Settings: fd.Settings}, nil)
}

// listFleetDevices answers the tenant's devices: ?health= (a status, or
// low_battery) and ?q= (a search) narrow the list.
func (s *Server) listFleetDevices(w http.ResponseWriter, r *http.Request) error {
	f := qm.FleetDeviceFilter{Health: r.URL.Query().Get("health"), Q: r.URL.Query().Get("q")}
	if err := f.Validate(); err != nil {
		return err
	}
	all, err := s.svc.Fleet.Devices(r.Context())
	fds := all[:0:0]
	for _, fd := range all {
		if f.Match(fd) {
			fds = append(fds, fd)
		}
	}
	fds, page, err := listPage(r, fds, err)
	return reply(w, http.StatusOK, fleetDeviceList{fds, page}, err)
}

func (s *Server) getFleetDevice(w http.ResponseWriter, r *http.Request) error {
	fd, err := s.svc.Fleet.Device(r.Context(), r.PathValue("device"))
	return reply(w, http.StatusOK, fd, err)
}

func (s *Server) updateFleetDevice(w http.ResponseWriter, r *http.Request) error {
	var u qm.FleetDeviceUpdate
	if err := decode(r, &u); err != nil {
		return err
	}
	fd, err := s.svc.Fleet.UpdateDevice(r.Context(), r.PathValue("device"), u)
	if err == nil && u.Settings != nil && s.cfg.DeviceSettings != nil {
		if err := s.cfg.DeviceSettings(r.Context(), fd.Ident, fd.Settings); err != nil {
			s.cfg.Logger.Error("pass settings on to the device", "ident", fd.Ident, "err", err)
		}
	}
	return reply(w, http.StatusOK, fd, err)
}

func (s *Server) deviceLatest(w http.ResponseWriter, r *http.Request) error {
	st, err := s.svc.Fleet.Latest(r.Context(), r.PathValue("device"))
	return reply(w, http.StatusOK, st, err)
}

// devicePoints answers a page of a device's points: ?from=&to= (RFC 3339),
// &after= (the cursor), &limit=.
func (s *Server) devicePoints(w http.ResponseWriter, r *http.Request) error {
	from, err := timeParam(r, "from")
	if err != nil {
		return err
	}
	to, err := timeParam(r, "to")
	if err != nil {
		return err
	}
	p, err := parsePage(r)
	if err != nil {
		return err
	}
	page, err := s.svc.Fleet.Points(r.Context(), r.PathValue("device"), qm.PointFilter{From: from, To: to, After: p.After, Limit: p.Limit})
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, pointPage{page.Points, pageInfo{Total: page.Total, Next: page.Next}}, nil)
}

func (s *Server) fleetSummary(w http.ResponseWriter, r *http.Request) error {
	sum, err := s.svc.Fleet.Summary(r.Context())
	return reply(w, http.StatusOK, sum, err)
}

// fleetPositions answers the latest position of every device the tenant
// holds that has one, for a map; a transferred device's last position
// would show it where it no longer is for this tenant.
func (s *Server) fleetPositions(w http.ResponseWriter, r *http.Request) error {
	fds, err := s.svc.Fleet.Devices(r.Context())
	if err != nil {
		return err
	}
	all := []fleetPosition{}
	for _, fd := range fds {
		if p, ok := positionOf(fd); ok {
			all = append(all, p)
		}
	}
	ps, page, err := listPage(r, all, nil)
	return reply(w, http.StatusOK, fleetPositionList{ps, page}, err)
}

// positionOf is a device's latest position, for a map; false for a device
// with none, and for one the tenant gave up.
func positionOf(fd *qm.FleetDevice) (fleetPosition, bool) {
	if fd.Custody != qm.CustodyHeld || fd.State == nil || fd.State.Position == nil {
		return fleetPosition{}, false
	}
	metrics := make(map[string]qm.Metric, len(fd.State.Metrics))
	for name, v := range fd.State.Metrics {
		metrics[name] = v.Value
	}
	return fleetPosition{DeviceID: fd.ID, Ident: fd.Ident, Name: fd.Name, Status: fd.Health.Status,
		Position: fd.State.Position, Time: *fd.State.PositionTime, Metrics: metrics}, true
}

func (s *Server) getFleetSettings(w http.ResponseWriter, r *http.Request) error {
	fs, err := s.svc.Fleet.Settings(r.Context())
	return reply(w, http.StatusOK, fs, err)
}

func (s *Server) setFleetSettings(w http.ResponseWriter, r *http.Request) error {
	var fs qm.FleetSettings
	if err := decode(r, &fs); err != nil {
		return err
	}
	got, err := s.svc.Fleet.SetSettings(r.Context(), fs)
	return reply(w, http.StatusOK, got, err)
}

// timeRange reads ?from=&to= (RFC 3339); the default is the last day.
func (s *Server) timeRange(r *http.Request) (time.Time, time.Time, error) {
	from, err := timeParam(r, "from")
	if err != nil {
		return from, from, err
	}
	to, err := timeParam(r, "to")
	if err != nil {
		return from, to, err
	}
	if to.IsZero() {
		to = s.cfg.Now()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if !from.Before(to) {
		return from, to, qm.Errorf(qm.EBadRequest, "from must be before to")
	}
	return from, to, nil
}

// deviceTrips answers a device's trips: ?from=&to=.
func (s *Server) deviceTrips(w http.ResponseWriter, r *http.Request) error {
	from, to, err := s.timeRange(r)
	if err != nil {
		return err
	}
	trips, err := s.svc.Fleet.Trips(r.Context(), r.PathValue("device"), from, to)
	trips, page, err := listPage(r, trips, err)
	return reply(w, http.StatusOK, tripList{trips, page}, err)
}

// maxBuckets bounds the buckets of one aggregate query.
const maxBuckets = 10000

// deviceAggregates answers a metric downsampled for a chart:
// ?metric=battery_v&bucket=5m&from=&to=.
func (s *Server) deviceAggregates(w http.ResponseWriter, r *http.Request) error {
	from, to, err := s.timeRange(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	metric := q.Get("metric")
	if metric == "" {
		return qm.Errorf(qm.EBadRequest, "name the metric: ?metric=battery_v")
	}
	width := time.Hour
	if b := q.Get("bucket"); b != "" {
		if width, err = time.ParseDuration(b); err != nil || width < time.Second {
			return qm.Errorf(qm.EBadRequest, "bucket must be a duration of a second or more, such as 5m or 1h; got %q", b)
		}
	}
	if to.Sub(from)/width > maxBuckets {
		return qm.Errorf(qm.EBadRequest, "that is more than %d buckets: widen the bucket or shorten the range", maxBuckets)
	}
	buckets, err := s.svc.Fleet.Aggregate(r.Context(), r.PathValue("device"), metric, from, to, width)
	buckets, page, err := listPage(r, buckets, err)
	return reply(w, http.StatusOK, bucketList{Metric: metric, Bucket: width.String(), Buckets: buckets, pageInfo: page}, err)
}

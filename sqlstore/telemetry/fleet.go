package telemetry

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/sqlstore/dataplane"
	"github.com/quartermaster/qm/tenancy"
)

// FleetStore is the tenant's view of its devices: the inventory's records
// of the devices assigned to it, its own details of each, their telemetry
// and health. A member confined to a department sees the devices placed
// in it and below it. Devices the tenant gave up (moved to another tenant,
// or unassigned) stay in its view as transferred, read-only, with the
// history it owns: the points a tenant stored are its own whoever holds
// the device now, and were only ever written under its tenant id.
type FleetStore struct {
	router    sqlstore.Router
	inventory *catalog.DeviceStore
	now       func() time.Time
}

// NewFleetStore returns a FleetStore.
func NewFleetStore(router sqlstore.Router, inventory *catalog.DeviceStore, now func() time.Time) *FleetStore {
	return &FleetStore{router: router, inventory: inventory, now: now}
}

// Settings returns the tenant's fleet settings.
func (s *FleetStore) Settings(ctx context.Context) (*qm.FleetSettings, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.FleetSettings, error) { return sqlstore.FleetSettings(ctx, c) })
}

// SetSettings changes the tenant's fleet settings. EInvalid.
func (s *FleetStore) SetSettings(ctx context.Context, fs qm.FleetSettings) (*qm.FleetSettings, error) {
	if err := fs.Validate(); err != nil {
		return nil, err
	}
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	if max := t.Limits.MaxRetentionDays(); max > 0 && fs.RetentionDays > max {
		return nil, &qm.Error{Code: qm.ELimitReached, Message: fmt.Sprintf("the tenant's plan keeps points for at most %d days (max_retention_days)", max),
			Fields: map[string]string{"retention_days": fmt.Sprintf("at most %d", max)}, Limit: &qm.LimitReached{Limit: qm.MaxRetentionDays, Value: int64(max)}}
	}
	err = s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := sqlstore.FleetSettings(ctx, c)
		if err != nil {
			return err
		}
		_, err = c.Exec(ctx, `INSERT INTO fleet_settings (tenant_id, retention_days, offline_minutes, low_battery_pct) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id) DO UPDATE SET retention_days = excluded.retention_days, offline_minutes = excluded.offline_minutes,
			low_battery_pct = excluded.low_battery_pct`, c.TenantID(), fs.RetentionDays, fs.OfflineMinutes, fs.LowBatteryPct)
		if err != nil {
			return fmt.Errorf("fleet settings: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "fleet_settings.update", "settings", "", before, fs)
	})
	if err != nil {
		return nil, err
	}
	return &fs, nil
}

// held returns the inventory's record of a device the tenant in ctx holds
// or held, as fleetDevice describes it. ENotFound otherwise, exactly as
// for a device that does not exist.
func (s *FleetStore) held(ctx context.Context, idOrIdent string) (*qm.FleetDevice, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	d, until, err := s.inventory.HeldBy(ctx, t.ID, idOrIdent)
	if err != nil {
		return nil, err
	}
	return fleetDevice(d, until), nil
}

// fleetDevice starts the tenant's view of d; until is when the tenant gave
// it up, nil while it holds it. A transferred device shows only what
// Device.AsFormerHolder keeps.
func fleetDevice(d *qm.Device, until *time.Time) *qm.FleetDevice {
	fd := &qm.FleetDevice{Device: d, Custody: qm.CustodyHeld, Settings: map[string]any{}}
	if until != nil {
		fd.Device, fd.Custody, fd.HeldUntil = d.AsFormerHolder(*until), qm.CustodyTransferred, until
	}
	return fd
}

// Devices lists by ident the devices the tenant holds and those it gave
// up, with their health.
func (s *FleetStore) Devices(ctx context.Context) ([]*qm.FleetDevice, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	var all []*qm.FleetDevice
	f := qm.DeviceFilter{TenantID: t.ID, Limit: 1000}
	for {
		ds, err := s.inventory.Devices(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			all = append(all, fleetDevice(d, nil))
		}
		if len(ds) < f.Limit {
			break
		}
		f.After = ds[len(ds)-1].Ident
	}
	former, until, err := s.inventory.FormerDevices(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	for _, d := range former {
		at := until[d.ID]
		all = append(all, fleetDevice(d, &at))
	}
	slices.SortFunc(all, func(a, b *qm.FleetDevice) int { return strings.Compare(a.Ident, b.Ident) })
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.FleetDevice, error) { return s.details(ctx, c, all) })
}

// details joins the tenant's details and state to devices, leaving out
// those outside the principal's department.
func (s *FleetStore) details(ctx context.Context, c sqlstore.Conn, out []*qm.FleetDevice) ([]*qm.FleetDevice, error) {
	settings, err := sqlstore.FleetSettings(ctx, c)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*qm.FleetDevice, len(out))
	for _, fd := range out {
		byID[fd.ID] = fd
	}
	// One device (every point, trip and latest query asks for one) reads
	// its own rows, not the whole fleet's.
	where, args := `tenant_id = $1`, []any{c.TenantID()}
	if len(out) == 1 {
		where, args = where+` AND device_id = $2`, append(args, out[0].ID)
	}
	rows, err := c.Query(ctx, `SELECT device_id, name, asset_id, department_id, settings FROM fleet_devices WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("fleet devices: %w", err)
	}
	for rows.Next() {
		var id, name, settingsJSON string
		var asset, dept sql.NullString
		if err := rows.Scan(&id, &name, &asset, &dept, &settingsJSON); err != nil {
			rows.Close()
			return nil, fmt.Errorf("fleet devices: %w", err)
		}
		if fd := byID[id]; fd != nil {
			fd.Name, fd.AssetID, fd.DepartmentID = name, asset.String, dept.String
			if err := json.Unmarshal([]byte(settingsJSON), &fd.Settings); err != nil {
				rows.Close()
				return nil, fmt.Errorf("settings of device %s: %w", id, err)
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fleet devices: %w", err)
	}
	states, err := sqlstore.QueryAll(ctx, c, scanState, `SELECT `+stateColumns+` FROM device_state WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("device states: %w", err)
	}
	for _, st := range states {
		if fd := byID[st.DeviceID]; fd != nil {
			fd.State = st
		}
	}
	now := s.now()
	visible, err := sqlstore.DepartmentsInScope(ctx, c)
	if err != nil {
		return nil, err
	}
	kept := out[:0]
	for _, fd := range out {
		if visible != nil && !visible[fd.DepartmentID] {
			continue
		}
		fd.Health = qm.Health(fd.Device, fd.State, *settings, now, fd.HeldUntil)
		kept = append(kept, fd)
	}
	return kept, nil
}

// Device returns one of the devices the tenant holds or held. ENotFound.
func (s *FleetStore) Device(ctx context.Context, idOrIdent string) (*qm.FleetDevice, error) {
	fd, err := s.held(ctx, idOrIdent)
	if err != nil {
		return nil, err
	}
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.FleetDevice, error) { return s.one(ctx, c, fd) })
}

func (s *FleetStore) one(ctx context.Context, c sqlstore.Conn, fd *qm.FleetDevice) (*qm.FleetDevice, error) {
	fds, err := s.details(ctx, c, []*qm.FleetDevice{fd})
	if err != nil {
		return nil, err
	}
	if len(fds) == 0 {
		return nil, catalog.ErrFleetDeviceNotFound // outside the principal's department
	}
	return fds[0], nil
}

// UpdateDevice changes the tenant's details of a device it holds: its
// name, the asset it is in, its department, its settings. ENotFound;
// EConflict for a device the tenant gave up; EInvalid for an unknown asset
// or department, or a department outside the principal's.
func (s *FleetStore) UpdateDevice(ctx context.Context, idOrIdent string, u qm.FleetDeviceUpdate) (*qm.FleetDevice, error) {
	d, err := s.held(ctx, idOrIdent)
	if err != nil {
		return nil, err
	}
	var fd *qm.FleetDevice
	var tenantID string
	err = s.router.Update(ctx, func(c sqlstore.Conn) error {
		tenantID = c.TenantID()
		before, err := s.one(ctx, c, d)
		if err != nil {
			return err
		}
		// Checked after the department scope, so a member who cannot see
		// the device still gets not found.
		if before.HeldUntil != nil {
			return qm.Errorf(qm.EConflict, "device %s left this tenant on %s: its history stays readable, but it can no longer be changed",
				before.Ident, before.HeldUntil.Format(time.RFC3339))
		}
		after := *before
		fd = &after
		sqlstore.SetIf(&fd.Name, u.Name)
		sqlstore.SetIf(&fd.AssetID, u.AssetID)
		sqlstore.SetIf(&fd.DepartmentID, u.DepartmentID)
		sqlstore.SetIf(&fd.Settings, u.Settings)
		if len([]rune(fd.Name)) > 200 {
			return &qm.Error{Code: qm.EInvalid, Message: "name is longer than 200 characters", Fields: map[string]string{"name": "too long"}}
		}
		if fd.AssetID != "" {
			if _, err := dataplane.FindAsset(ctx, c, fd.AssetID); err != nil {
				return &qm.Error{Code: qm.EInvalid, Message: "unknown asset", Fields: map[string]string{"asset_id": "no such asset"}}
			}
		}
		if err := dataplane.RefExists(ctx, c, "departments", "department_id", "department", fd.DepartmentID, false); err != nil {
			return err
		}
		if fd.DepartmentID != "" {
			if err := sqlstore.InScope(ctx, c, fd.DepartmentID); err != nil {
				return err
			}
		}
		settings, err := json.Marshal(fd.Settings)
		if err != nil || len(settings) > 16<<10 {
			return &qm.Error{Code: qm.EInvalid, Message: "settings must be a JSON object of at most 16 KiB", Fields: map[string]string{"settings": "too large"}}
		}
		at := sqlstore.Timestamp(s.now())
		_, err = c.Exec(ctx, `INSERT INTO fleet_devices (tenant_id, device_id, name, asset_id, department_id, settings, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (tenant_id, device_id) DO UPDATE SET name = excluded.name,
			asset_id = excluded.asset_id, department_id = excluded.department_id, settings = excluded.settings, updated_at = excluded.updated_at`,
			c.TenantID(), d.ID, fd.Name, sqlstore.Nullable(fd.AssetID), sqlstore.Nullable(fd.DepartmentID), string(settings), at)
		if err != nil {
			return fmt.Errorf("update device: %w", err)
		}
		return sqlstore.Audit(ctx, c, at, "device.update", "device", d.ID, deviceDetails(before), deviceDetails(fd))
	})
	if err != nil {
		return nil, err
	}
	if u.Settings != nil {
		// The node the device is connected to passes them on; this one's
		// edge does it here.
		if err := s.inventory.SettingsChanged(ctx, tenantID, d.ID); err != nil {
			return nil, fmt.Errorf("the settings are stored, but the other nodes were not told: %w", err)
		}
	}
	return fd, nil
}

// deviceDetails are the parts of a device the tenant changes, for the
// audit log.
func deviceDetails(fd *qm.FleetDevice) map[string]any {
	return map[string]any{"name": fd.Name, "asset_id": fd.AssetID, "department_id": fd.DepartmentID, "settings": fd.Settings}
}

// Latest returns a device's latest state. ENotFound, also when it never
// reported.
func (s *FleetStore) Latest(ctx context.Context, idOrIdent string) (*qm.DeviceState, error) {
	fd, err := s.Device(ctx, idOrIdent)
	if err != nil {
		return nil, err
	}
	if fd.State == nil {
		return nil, qm.Errorf(qm.ENotFound, "device %s has not reported yet", fd.Ident)
	}
	return fd.State, nil
}

// pointCursor is where a page of points ended.
type pointCursor struct {
	T int64 `json:"t"`
}

// Points returns a page of a device's points, oldest first. ENotFound;
// EBadRequest for a bad cursor.
func (s *FleetStore) Points(ctx context.Context, idOrIdent string, f qm.PointFilter) (*qm.PointPage, error) {
	fd, err := s.Device(ctx, idOrIdent)
	if err != nil {
		return nil, err
	}
	switch {
	case f.Limit <= 0:
		f.Limit = 500
	case f.Limit > 5000:
		f.Limit = 5000
	}
	from, to := int64(-1<<62), int64(1<<62)
	if !f.From.IsZero() {
		from = sqlstore.Micros(f.From)
	}
	if !f.To.IsZero() {
		to = sqlstore.Micros(f.To)
	}
	rangeFrom := from
	if f.After != "" {
		var cur pointCursor
		b, err := base64.RawURLEncoding.DecodeString(f.After)
		if err == nil {
			err = json.Unmarshal(b, &cur)
		}
		if err != nil {
			return nil, qm.Errorf(qm.EBadRequest, "the cursor %q is not one this list gave", f.After)
		}
		from = max(from, cur.T+1)
	}
	page := &qm.PointPage{Points: []qm.Point{}}
	err = s.router.View(ctx, func(c sqlstore.Conn) error {
		if err := c.QueryRow(ctx, `SELECT count(*) FROM points WHERE tenant_id = $1 AND device_id = $2 AND t_us >= $3 AND t_us < $4`,
			c.TenantID(), fd.ID, rangeFrom, to).Scan(&page.Total); err != nil {
			return fmt.Errorf("count points: %w", err)
		}
		return ReadPoints(ctx, c, fd.ID, from, to, f.Limit+1, func(p qm.Point) error {
			page.Points = append(page.Points, p)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if len(page.Points) > f.Limit {
		page.Points = page.Points[:f.Limit]
		b, _ := json.Marshal(pointCursor{T: sqlstore.Micros(page.Points[f.Limit-1].Time)})
		page.Next = base64.RawURLEncoding.EncodeToString(b)
	}
	return page, nil
}

func scanPoint(r sqlstore.Row) (qm.Point, error) {
	var p qm.Point
	var t int64
	var lat, lon, alt, speed, heading, accuracy sql.NullFloat64
	var metrics sql.NullString
	if err := r.Scan(&t, &lat, &lon, &alt, &speed, &heading, &accuracy, &metrics); err != nil {
		return p, err
	}
	p.Time = sqlstore.FromMicros(t)
	if lat.Valid && lon.Valid {
		p.Position = &qm.Position{Lat: lat.Float64, Lon: lon.Float64, AltitudeM: floatPtr(alt), SpeedKMH: floatPtr(speed),
			Heading: floatPtr(heading), AccuracyM: floatPtr(accuracy)}
	}
	if metrics.Valid {
		if err := json.Unmarshal([]byte(metrics.String), &p.Metrics); err != nil {
			return p, fmt.Errorf("metrics at %s: %w", strconv.FormatInt(t, 10), err)
		}
	}
	return p, nil
}

// Summary counts the tenant's devices by health.
func (s *FleetStore) Summary(ctx context.Context) (*qm.FleetSummary, error) {
	fds, err := s.Devices(ctx)
	if err != nil {
		return nil, err
	}
	sum := &qm.FleetSummary{}
	for _, fd := range fds {
		if fd.Custody == qm.CustodyTransferred {
			continue
		}
		sum.Devices++
		switch fd.Health.Status {
		case qm.HealthOnline:
			sum.Online++
		case qm.HealthOffline:
			sum.Offline++
		default:
			sum.NeverSeen++
		}
		if fd.Health.LowBattery {
			sum.LowBattery++
		}
	}
	return sum, nil
}

// maxScanned bounds the points one trip or aggregate query reads.
const maxScanned = 1000000

// eachPoint calls fn with each of a device's points in [from, to), oldest
// first. ENotFound; EInvalid when the range holds more than maxScanned
// points.
func (s *FleetStore) eachPoint(ctx context.Context, idOrIdent string, from, to time.Time, fn func(qm.Point)) error {
	fd, err := s.Device(ctx, idOrIdent)
	if err != nil {
		return err
	}
	return s.router.View(ctx, func(c sqlstore.Conn) error {
		n := 0
		return ReadPoints(ctx, c, fd.ID, sqlstore.Micros(from), sqlstore.Micros(to), maxScanned+1, func(p qm.Point) error {
			if n++; n > maxScanned {
				return qm.Errorf(qm.EInvalid, "the range holds more than %d points: ask for a shorter one", maxScanned)
			}
			fn(p)
			return nil
		})
	})
}

// ReadPoints calls fn with a device's points with from ≤ t_us < to, oldest
// first, at most limit of them, until fn fails.
func ReadPoints(ctx context.Context, c sqlstore.Conn, deviceID string, from, to int64, limit int, fn func(qm.Point) error) error {
	rows, err := c.Query(ctx, `SELECT t_us, lat, lon, altitude_m, speed_kmh, heading, accuracy_m, metrics FROM points
		WHERE tenant_id = $1 AND device_id = $2 AND t_us >= $3 AND t_us < $4 ORDER BY t_us LIMIT $5`,
		c.TenantID(), deviceID, from, to, limit)
	if err != nil {
		return fmt.Errorf("read points: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPoint(rows)
		if err != nil {
			return fmt.Errorf("read points: %w", err)
		}
		if err := fn(p); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Trips derives a device's trips in [from, to). ENotFound.
func (s *FleetStore) Trips(ctx context.Context, idOrIdent string, from, to time.Time) ([]qm.Trip, error) {
	var f qm.TripFinder
	if err := s.eachPoint(ctx, idOrIdent, from, to, f.Add); err != nil {
		return nil, err
	}
	return f.Trips(), nil
}

// Aggregate downsamples one metric of a device in [from, to) into buckets
// of width. ENotFound.
func (s *FleetStore) Aggregate(ctx context.Context, idOrIdent, metric string, from, to time.Time, width time.Duration) ([]qm.Bucket, error) {
	d := qm.Downsampler{Metric: metric, From: from, Width: width}
	if err := s.eachPoint(ctx, idOrIdent, from, to, d.Add); err != nil {
		return nil, err
	}
	return d.Buckets(), nil
}

package catalog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/tenancy"
	"github.com/quartermaster/qm/usage"
)

// UsageStore keeps what the nodes metered, in the catalog: it is the
// usage.Store the meters write to, and the qm.UsageService that reads it.
type UsageStore struct {
	tenants *TenantService
}

var (
	_ usage.Store     = (*UsageStore)(nil)
	_ qm.UsageService = (*UsageStore)(nil)
)

// NewUsageStore returns the usage kept in the catalog tenants keeps.
func NewUsageStore(tenants *TenantService) *UsageStore { return &UsageStore{tenants: tenants} }

// Save implements usage.Store: each total is written as it is, so writing
// it again changes nothing.
func (s *UsageStore) Save(ctx context.Context, node string, totals map[usage.Key]int64) error {
	if len(totals) == 0 {
		return nil
	}
	return s.tenants.inTx(ctx, func(q sqlstore.Querier) error {
		for k, v := range totals {
			if _, err := q.Exec(ctx, `INSERT INTO usage (node, tenant_id, day, meter, value) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (tenant_id, day, meter, node) DO UPDATE SET value = excluded.value`, node, k.Tenant, k.Day, k.Meter, v); err != nil {
				return fmt.Errorf("save usage: %w", err)
			}
		}
		return nil
	})
}

// monthDays are the first and last day of month (YYYY-MM). EBadRequest.
func monthDays(month string) (string, string, error) {
	m, err := time.Parse("2006-01", month)
	if err != nil {
		return "", "", qm.Errorf(qm.EBadRequest, "month must be YYYY-MM, got %q", month)
	}
	return m.Format(time.DateOnly), m.AddDate(0, 1, -1).Format(time.DateOnly), nil
}

// Month implements usage.Store.
func (s *UsageStore) Month(ctx context.Context, month string) (map[string]map[string]int64, error) {
	from, to, err := monthDays(month)
	if err != nil {
		return nil, err
	}
	// By day, so a gauge keeps its last day's level while a count adds up.
	rows, err := s.tenants.catalog.Query(ctx, `SELECT tenant_id, meter, SUM(value) FROM usage WHERE day >= $1 AND day <= $2
		GROUP BY tenant_id, meter, day ORDER BY day`, from, to)
	if err != nil {
		return nil, fmt.Errorf("usage of %s: %w", month, err)
	}
	defer rows.Close()
	out := map[string]map[string]int64{}
	for rows.Next() {
		var id, meter string
		var v int64
		if err := rows.Scan(&id, &meter, &v); err != nil {
			return nil, fmt.Errorf("usage of %s: %w", month, err)
		}
		if out[id] == nil {
			out[id] = map[string]int64{}
		}
		accumulate(out[id], meter, v)
	}
	return out, rows.Err()
}

// accumulate adds a day's value of meter to totals, in the order of the
// days: a count adds up, a gauge takes the later day's level.
func accumulate(totals map[string]int64, meter string, v int64) {
	if qm.IsGauge(meter) {
		totals[meter] = v
		return
	}
	totals[meter] += v
}

// SnapshotGauges writes today's level of every gauge (qm.Gauges) of every
// active tenant: what it holds, and how many of its devices reported
// today. Writing it again the same day replaces it.
func (s *UsageStore) SnapshotGauges(ctx context.Context) error {
	ts, err := s.tenants.Tenants(ctx)
	if err != nil {
		return err
	}
	var active []*qm.Tenant
	for _, t := range ts {
		if t.State == qm.StateActive {
			active = append(active, t)
		}
	}
	as, err := s.tenants.Activity(ctx, active)
	if err != nil {
		return err
	}
	now := s.tenants.now().UTC()
	day := now.Format(time.DateOnly)
	midnight := sqlstore.Micros(now.Truncate(24 * time.Hour))
	totals := map[usage.Key]int64{}
	for i, t := range active {
		a := as[i]
		if a.Assets == nil {
			continue // its data is not served by this build
		}
		var reported int64
		err := s.tenants.router.View(tenancy.WithTenant(ctx, t), func(c sqlstore.Conn) error {
			return c.QueryRow(ctx, `SELECT count(*) FROM device_state WHERE tenant_id = $1 AND last_seen_us >= $2`, c.TenantID(), midnight).Scan(&reported)
		})
		if err != nil {
			return fmt.Errorf("devices of %s that reported today: %w", t.Slug, err)
		}
		for meter, v := range map[string]int64{qm.MeterAssets: int64(*a.Assets), qm.MeterMembers: int64(a.Members),
			qm.MeterStoredPoints: *a.StoredPoints, qm.MeterDevicesReported: reported} {
			totals[usage.Key{Tenant: t.ID, Day: day, Meter: meter}] = v
		}
	}
	return s.Save(ctx, gaugeNode, totals)
}

// gaugeNode is the name the gauges are saved under: one reading a day,
// whichever node took it.
const gaugeNode = "gauges"

// QuotaState implements usage.Store. A change of state is written to the
// tenant's audit log in the transaction of its data, with the catalog's
// record, so each change is logged once.
func (s *UsageStore) QuotaState(ctx context.Context, t *qm.Tenant, month string, q qm.Quota) (bool, error) {
	var before string
	err := s.tenants.catalog.QueryRow(ctx, `SELECT state FROM quota_states WHERE tenant_id = $1 AND month = $2 AND quota = $3`,
		t.ID, month, string(q.Quota)).Scan(&before)
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		before = qm.QuotaOK
	case err != nil:
		return false, fmt.Errorf("quota state: %w", err)
	}
	if before == q.State || t.State != qm.StateActive {
		return false, nil
	}
	err = s.tenants.router.Update(tenancy.WithTenant(ctx, t), func(c sqlstore.Conn) error {
		if err := sqlstore.Audit(ctx, c, s.tenants.now(), "quota."+q.State, "quota", string(q.Quota), map[string]string{"state": before}, q); err != nil {
			return err
		}
		_, err := s.tenants.catalog.Exec(ctx, `INSERT INTO quota_states (tenant_id, month, quota, state) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, month, quota) DO UPDATE SET state = excluded.state`, t.ID, month, string(q.Quota), q.State)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("quota state of %s: %w", t.Slug, err)
	}
	return true, nil
}

// Usage implements qm.UsageService.
func (s *UsageStore) Usage(ctx context.Context, from, to string) (*qm.Usage, error) {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return nil, err
	}
	var days [2]time.Time
	for i, d := range []string{from, to} {
		if days[i], err = time.Parse(time.DateOnly, d); err != nil {
			return nil, qm.Errorf(qm.EBadRequest, "from and to must be days, YYYY-MM-DD; got %q", d)
		}
	}
	switch {
	case from > to:
		return nil, qm.Errorf(qm.EBadRequest, "from (%s) is after to (%s)", from, to)
	case days[1].Sub(days[0]) > 366*24*time.Hour:
		return nil, qm.Errorf(qm.EBadRequest, "ask for a year at most, from %s to %s is more", from, to)
	}
	u := &qm.Usage{From: from, To: to, Days: []qm.UsageDay{}, Totals: map[string]int64{}, Limits: t.Limits}
	rows, err := s.tenants.catalog.Query(ctx, `SELECT CAST(day AS TEXT), meter, SUM(value) FROM usage WHERE tenant_id = $1 AND day >= $2 AND day <= $3
		GROUP BY day, meter ORDER BY day, meter`, t.ID, from, to)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d qm.UsageDay
		if err := rows.Scan(&d.Day, &d.Meter, &d.Value); err != nil {
			return nil, fmt.Errorf("usage: %w", err)
		}
		u.Days = append(u.Days, d)
		accumulate(u.Totals, d.Meter, d.Value)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	u.Month = s.tenants.now().UTC().Format("2006-01")
	month, err := s.Month(ctx, u.Month)
	if err != nil {
		return nil, err
	}
	u.Quotas = quotas(t, month[t.ID])
	return u, nil
}

// quotas are t's monthly quotas, with its totals of the month by meter.
func quotas(t *qm.Tenant, month map[string]int64) []qm.Quota {
	out := make([]qm.Quota, 0, len(qm.Quotas))
	for _, q := range qm.Quotas {
		var used int64
		for meter, v := range month {
			if qm.InFamily(meter, qm.QuotaMeter[q]) {
				used += v
			}
		}
		limit := int64(t.Limits.Value(q))
		out = append(out, qm.Quota{Quota: q, Used: used, Limit: limit, State: qm.QuotaStateOf(used, limit)})
	}
	return out
}

// Use implements qm.UsageService: two grouped reads for all of ts.
func (s *UsageStore) Use(ctx context.Context, ts []*qm.Tenant) ([]qm.TenantUse, error) {
	now := s.tenants.now().UTC()
	month, err := s.Month(ctx, now.Format("2006-01"))
	if err != nil {
		return nil, err
	}
	refused := map[string]int64{}
	rows, err := s.tenants.catalog.Query(ctx, `SELECT tenant_id, SUM(value) FROM usage WHERE day = $1 AND meter LIKE $2 GROUP BY tenant_id`,
		now.Format(time.DateOnly), qm.MeterPointsRefused+"/%")
	if err != nil {
		return nil, fmt.Errorf("refusals today: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("refusals today: %w", err)
		}
		refused[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("refusals today: %w", err)
	}
	out := make([]qm.TenantUse, len(ts))
	for i, t := range ts {
		out[i] = qm.TenantUse{Quotas: quotas(t, month[t.ID]), RefusedToday: refused[t.ID]}
	}
	return out, nil
}

// MonthUsage implements qm.UsageService.
func (s *UsageStore) MonthUsage(ctx context.Context, month string) ([]qm.UsageLine, error) {
	totals, err := s.Month(ctx, month)
	if err != nil {
		return nil, err
	}
	ts, err := s.tenants.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	lines := []qm.UsageLine{}
	for _, t := range ts { // by slug
		for _, meter := range slices.Sorted(maps.Keys(totals[t.ID])) {
			lines = append(lines, qm.UsageLine{Month: month, Tenant: t.Slug, Meter: meter, Value: totals[t.ID][meter]})
		}
	}
	return lines, nil
}

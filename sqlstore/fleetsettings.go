package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/quartermaster/qm"
)

// FleetSettings reads the fleet settings of the tenant c is bound to: the
// defaults for a tenant that never set them. The catalog's health view of a
// tenant reads them as the fleet store does.

func FleetSettings(ctx context.Context, c Conn) (*qm.FleetSettings, error) {
	fs := qm.DefaultFleetSettings
	err := c.QueryRow(ctx, `SELECT retention_days, offline_minutes, low_battery_pct FROM fleet_settings WHERE tenant_id = $1`, c.TenantID()).
		Scan(&fs.RetentionDays, &fs.OfflineMinutes, &fs.LowBatteryPct)
	if err != nil && !errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("fleet settings: %w", err)
	}
	return &fs, nil
}

package dataplane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// SettingsStore is the qm.SettingsService on any engine and tier.
type SettingsStore struct {
	router sqlstore.Router
	now    func() time.Time
}

var _ qm.SettingsService = (*SettingsStore)(nil)

// NewSettingsStore returns a SettingsStore.
func NewSettingsStore(router sqlstore.Router, now func() time.Time) *SettingsStore {
	return &SettingsStore{router: router, now: now}
}

// Settings implements qm.SettingsService.
func (s *SettingsStore) Settings(ctx context.Context) (*qm.GeneralSettings, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.GeneralSettings, error) { return generalSettings(ctx, c) })
}

func generalSettings(ctx context.Context, c sqlstore.Conn) (*qm.GeneralSettings, error) {
	gs := qm.DefaultGeneralSettings
	err := c.QueryRow(ctx, `SELECT time_zone FROM tenant_settings WHERE tenant_id = $1`, c.TenantID()).Scan(&gs.TimeZone)
	if err != nil && !errors.Is(err, sqlstore.ErrNoRows) {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return &gs, nil
}

// SetSettings implements qm.SettingsService.
func (s *SettingsStore) SetSettings(ctx context.Context, gs qm.GeneralSettings) (*qm.GeneralSettings, error) {
	if err := gs.Validate(); err != nil {
		return nil, err
	}
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := generalSettings(ctx, c)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `INSERT INTO tenant_settings (tenant_id, time_zone) VALUES ($1, $2)
			ON CONFLICT (tenant_id) DO UPDATE SET time_zone = excluded.time_zone`, c.TenantID(), gs.TimeZone); err != nil {
			return fmt.Errorf("settings: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "settings.update", "settings", "", before, gs)
	})
	if err != nil {
		return nil, err
	}
	return &gs, nil
}

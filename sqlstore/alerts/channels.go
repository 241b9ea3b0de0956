package alerts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// WebhookSecretPrefix starts a webhook's signing secret, so that a leaked
// one is recognised.
const WebhookSecretPrefix = "qmw_"

// ChannelStore is the qm.ChannelService on any engine and tier.
type ChannelStore struct {
	router sqlstore.Router
	// checkURL says whether a webhook's URL may be reached, under the
	// operator's policy (webhook.CheckTarget).
	checkURL func(context.Context, string) error
	now      func() time.Time
}

var _ qm.ChannelService = (*ChannelStore)(nil)

// NewChannelStore returns a ChannelStore; checkURL vets a webhook's URL.
func NewChannelStore(router sqlstore.Router, checkURL func(context.Context, string) error, now func() time.Time) *ChannelStore {
	return &ChannelStore{router: router, checkURL: checkURL, now: now}
}

const channelColumns = `id, name, kind, enabled, url, emails, failing_since, disabled_reason, created_at, updated_at`

var errChannelNotFound = qm.Errorf(qm.ENotFound, "channel not found")

// check validates d, and a webhook's URL under the operator's policy.
func (s *ChannelStore) check(ctx context.Context, d *qm.ChannelDefinition) error {
	d.Normalize()
	if err := d.Validate(); err != nil {
		return err
	}
	if d.Kind != qm.ChannelWebhook {
		return nil
	}
	if err := s.checkURL(ctx, d.URL); err != nil {
		msg := err.Error()
		if e := (*qm.Error)(nil); errors.As(err, &e) {
			msg = e.Message
		}
		return &qm.Error{Code: qm.EInvalid, Message: msg, Fields: map[string]string{"url": msg}}
	}
	return nil
}

// CreateChannel implements qm.ChannelService.
func (s *ChannelStore) CreateChannel(ctx context.Context, d qm.ChannelDefinition) (*qm.Channel, string, error) {
	if err := s.check(ctx, &d); err != nil {
		return nil, "", err
	}
	at := sqlstore.Timestamp(s.now())
	ch := &qm.Channel{ID: sqlstore.NewID(), ChannelDefinition: d, CreatedAt: at, UpdatedAt: at}
	var secret string
	if d.Kind == qm.ChannelWebhook {
		secret = qm.NewSecret(WebhookSecretPrefix)
	}
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO channels (tenant_id, id, name, kind, enabled, url, emails, secret, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.TenantID(), ch.ID, ch.Name, string(ch.Kind), ch.Enabled, ch.URL, strings.Join(ch.Emails, "\n"), secret, at, at)
		if err != nil {
			return nameTaken(err, "channel", "create channel")
		}
		return sqlstore.Audit(ctx, c, at, "channel.create", "channel", ch.ID, nil, ch)
	})
	if err != nil {
		return nil, "", err
	}
	return ch, secret, nil
}

// Channel implements qm.ChannelService.
func (s *ChannelStore) Channel(ctx context.Context, id string) (*qm.Channel, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Channel, error) { return findChannel(ctx, c, id) })
}

// Channels implements qm.ChannelService.
func (s *ChannelStore) Channels(ctx context.Context) ([]*qm.Channel, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Channel, error) {
		chs, err := sqlstore.QueryAll(ctx, c, scanChannel, `SELECT `+channelColumns+` FROM channels WHERE tenant_id = $1 ORDER BY name, id`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list channels: %w", err)
		}
		return chs, nil
	})
}

// ReplaceChannel implements qm.ChannelService.
func (s *ChannelStore) ReplaceChannel(ctx context.Context, id string, d qm.ChannelDefinition) (*qm.Channel, error) {
	var ch *qm.Channel
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findChannel(ctx, c, id)
		if err != nil {
			return err
		}
		if err := s.check(ctx, &d); err != nil {
			return err
		}
		if d.Kind != before.Kind {
			return &qm.Error{Code: qm.EInvalid, Message: fmt.Sprintf("a %s channel stays one: make a new channel", before.Kind),
				Fields: map[string]string{"kind": "cannot change"}}
		}
		after := *before
		ch = &after
		ch.ChannelDefinition, ch.UpdatedAt = d, sqlstore.Timestamp(s.now())
		if d.Enabled && !before.Enabled {
			ch.FailingSince, ch.DisabledReason = nil, ""
		}
		_, err = c.Exec(ctx, `UPDATE channels SET name = $3, enabled = $4, url = $5, emails = $6, failing_since = $7, disabled_reason = $8,
			updated_at = $9 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), id, ch.Name, ch.Enabled, ch.URL, strings.Join(ch.Emails, "\n"), ch.FailingSince, ch.DisabledReason, ch.UpdatedAt)
		if err != nil {
			return nameTaken(err, "channel", "update channel")
		}
		return sqlstore.Audit(ctx, c, ch.UpdatedAt, "channel.update", "channel", id, before, ch)
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

// DeleteChannel implements qm.ChannelService.
func (s *ChannelStore) DeleteChannel(ctx context.Context, id string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		before, err := findChannel(ctx, c, id)
		if err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `DELETE FROM channels WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id); err != nil {
			return fmt.Errorf("delete channel: %w", err)
		}
		return sqlstore.Audit(ctx, c, s.now(), "channel.delete", "channel", id, before, nil)
	})
}

func findChannel(ctx context.Context, c sqlstore.Conn, id string) (*qm.Channel, error) {
	if !sqlstore.ValidID(id) {
		return nil, errChannelNotFound
	}
	ch, err := scanChannel(c.QueryRow(ctx, `SELECT `+channelColumns+` FROM channels WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, errChannelNotFound
	case err != nil:
		return nil, fmt.Errorf("get channel: %w", err)
	}
	return ch, nil
}

func scanChannel(r sqlstore.Row) (*qm.Channel, error) {
	var cs channelScan
	if err := r.Scan(cs.dest()...); err != nil {
		return nil, err
	}
	return cs.channel(), nil
}

// channelScan reads channelColumns, alone or among other columns.
type channelScan struct {
	ch           qm.Channel
	kind, emails string
	failing      sql.NullTime
}

func (cs *channelScan) dest() []any {
	ch := &cs.ch
	return []any{&ch.ID, &ch.Name, &cs.kind, &ch.Enabled, &ch.URL, &cs.emails, &cs.failing, &ch.DisabledReason, &ch.CreatedAt, &ch.UpdatedAt}
}

func (cs *channelScan) channel() *qm.Channel {
	ch := cs.ch
	ch.Kind, ch.FailingSince = qm.ChannelKind(cs.kind), sqlstore.TimePtr(cs.failing)
	if cs.emails != "" {
		ch.Emails = strings.Split(cs.emails, "\n")
	}
	ch.CreatedAt, ch.UpdatedAt = ch.CreatedAt.UTC(), ch.UpdatedAt.UTC()
	return &ch
}

// Deliveries implements qm.ChannelService.
func (s *ChannelStore) Deliveries(ctx context.Context, id string, limit int) ([]*qm.DeliveryAttempt, error) {
	if limit <= 0 || limit > qm.MaxAlarmList {
		limit = 100
	}
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.DeliveryAttempt, error) {
		if _, err := findChannel(ctx, c, id); err != nil {
			return nil, err
		}
		as, err := sqlstore.QueryAll(ctx, c, func(r sqlstore.Row) (*qm.DeliveryAttempt, error) {
			var a qm.DeliveryAttempt
			var us int64
			if err := r.Scan(&a.EventID, &a.At, &a.Status, &us, &a.Error, &a.Test); err != nil {
				return nil, err
			}
			a.At, a.Latency = a.At.UTC(), time.Duration(us)*time.Microsecond
			return &a, nil
		}, `SELECT event_id, at, status, latency_us, error, test FROM deliveries WHERE tenant_id = $1 AND channel_id = $2 ORDER BY at DESC, id DESC LIMIT $3`,
			c.TenantID(), id, limit)
		if err != nil {
			return nil, fmt.Errorf("delivery log: %w", err)
		}
		return as, nil
	})
}

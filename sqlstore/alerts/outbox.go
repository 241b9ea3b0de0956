package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

// OutboxStore is the qm.Outbox on any engine and tier.
type OutboxStore struct {
	router sqlstore.Router
}

var _ qm.Outbox = (*OutboxStore)(nil)

// NewOutboxStore returns an OutboxStore.
func NewOutboxStore(router sqlstore.Router) *OutboxStore { return &OutboxStore{router: router} }

// waiting is the condition of a notification not yet sent nor given up,
// to a channel that is on.
const waiting = `o.delivered_at IS NULL AND o.given_up_at IS NULL AND ch.enabled`

// DueNotifications implements qm.Outbox.
func (s *OutboxStore) DueNotifications(ctx context.Context, now time.Time, limit int) ([]*qm.Notification, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.Notification, error) {
		ns, err := sqlstore.QueryAll(ctx, c, scanNotification, `SELECT o.attempts, o.created_at, ch.secret, COALESCE(r.spec, '{}'), COALESCE(ts.time_zone, 'UTC'),
			ch.id, ch.name, ch.kind, ch.enabled, ch.url, ch.emails, ch.failing_since, ch.disabled_reason, ch.created_at, ch.updated_at,
			`+eventColumns+`
			FROM outbox o
			JOIN channels ch ON ch.tenant_id = o.tenant_id AND ch.id = o.channel_id
			JOIN alarm_events e ON e.tenant_id = o.tenant_id AND e.id = o.event_id
			JOIN alarms a ON a.tenant_id = e.tenant_id AND a.id = e.alarm_id
			LEFT JOIN rules r ON r.tenant_id = a.tenant_id AND r.id = a.rule_id
			LEFT JOIN tenant_settings ts ON ts.tenant_id = o.tenant_id
			WHERE o.tenant_id = $1 AND `+waiting+` AND o.due_at <= $2
			ORDER BY o.due_at, o.created_at, e.id LIMIT $3`, c.TenantID(), sqlstore.Timestamp(now), limit)
		if err != nil {
			return nil, fmt.Errorf("due notifications: %w", err)
		}
		return ns, nil
	})
}

func scanNotification(r sqlstore.Row) (*qm.Notification, error) {
	n := &qm.Notification{}
	var chScan channelScan
	var ev qm.AlarmEvent
	var severity string
	var spec string
	gs := qm.GeneralSettings{}
	dest := append([]any{&n.Attempts, &n.Since, &n.Secret, &spec, &gs.TimeZone}, chScan.dest()...)
	dest = append(dest, eventDest(&ev, &severity)...)
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	var sp ruleSpec
	if err := json.Unmarshal([]byte(spec), &sp); err != nil {
		return nil, fmt.Errorf("rule %s: stored spec: %w", ev.RuleID, err)
	}
	n.QuietHours, n.Location = sp.QuietHours, gs.Location()
	n.Channel = chScan.channel()
	ev.Severity, ev.At, n.Since = qm.Severity(severity), ev.At.UTC(), n.Since.UTC()
	n.Event = &ev
	return n, nil
}

// Delivered implements qm.Outbox.
func (s *OutboxStore) Delivered(ctx context.Context, n *qm.Notification, a qm.DeliveryAttempt) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := logDelivery(ctx, c, n, a); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, delivered_at = $4 WHERE tenant_id = $1 AND event_id = $2 AND channel_id = $3`,
			c.TenantID(), n.Event.ID, n.Channel.ID, sqlstore.Timestamp(a.At)); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		_, err := c.Exec(ctx, `UPDATE channels SET failing_since = NULL WHERE tenant_id = $1 AND id = $2`, c.TenantID(), n.Channel.ID)
		return err
	})
}

// Failed implements qm.Outbox.
func (s *OutboxStore) Failed(ctx context.Context, n *qm.Notification, a qm.DeliveryAttempt, retryAt time.Time, giveUp bool, disable string) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		if err := logDelivery(ctx, c, n, a); err != nil {
			return err
		}
		at := sqlstore.Timestamp(a.At)
		var gaveUp any
		if giveUp {
			gaveUp = at
		}
		if _, err := c.Exec(ctx, `UPDATE outbox SET attempts = attempts + 1, due_at = $4, given_up_at = $5 WHERE tenant_id = $1 AND event_id = $2 AND channel_id = $3`,
			c.TenantID(), n.Event.ID, n.Channel.ID, sqlstore.Timestamp(retryAt), gaveUp); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if _, err := c.Exec(ctx, `UPDATE channels SET failing_since = COALESCE(failing_since, $3) WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), n.Channel.ID, at); err != nil {
			return fmt.Errorf("channel failing: %w", err)
		}
		if disable == "" {
			return nil
		}
		before, err := findChannel(ctx, c, n.Channel.ID)
		if err != nil {
			return err
		}
		after := *before
		after.Enabled, after.DisabledReason = false, disable
		if _, err := c.Exec(ctx, `UPDATE channels SET enabled = $3, disabled_reason = $4 WHERE tenant_id = $1 AND id = $2`,
			c.TenantID(), n.Channel.ID, false, disable); err != nil {
			return fmt.Errorf("disable channel: %w", err)
		}
		return sqlstore.Audit(ctx, c, at, "channel.disable", "channel", n.Channel.ID, before, &after)
	})
}

// logDelivery writes attempt a at n to its channel's delivery log.
func logDelivery(ctx context.Context, c sqlstore.Conn, n *qm.Notification, a qm.DeliveryAttempt) error {
	_, err := c.Exec(ctx, `INSERT INTO deliveries (tenant_id, id, channel_id, event_id, at, status, latency_us, error, test) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.TenantID(), sqlstore.NewID(), n.Channel.ID, n.Event.ID, sqlstore.Timestamp(a.At), a.Status, a.Latency.Microseconds(), a.Error, a.Test)
	if err != nil {
		return fmt.Errorf("delivery log: %w", err)
	}
	return nil
}

// Defer implements qm.Outbox.
func (s *OutboxStore) Defer(ctx context.Context, n *qm.Notification, until time.Time) error {
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		_, err := c.Exec(ctx, `UPDATE outbox SET due_at = $4 WHERE tenant_id = $1 AND event_id = $2 AND channel_id = $3`,
			c.TenantID(), n.Event.ID, n.Channel.ID, sqlstore.Timestamp(until))
		if err != nil {
			return fmt.Errorf("defer notification: %w", err)
		}
		return nil
	})
}

// Pending implements qm.Outbox.
func (s *OutboxStore) Pending(ctx context.Context) (time.Time, bool, error) {
	var due time.Time
	found := false
	err := s.router.View(ctx, func(c sqlstore.Conn) error {
		var at time.Time
		err := c.QueryRow(ctx, `SELECT o.due_at FROM outbox o JOIN channels ch ON ch.tenant_id = o.tenant_id AND ch.id = o.channel_id
			WHERE o.tenant_id = $1 AND `+waiting+` ORDER BY o.due_at LIMIT 1`, c.TenantID()).Scan(&at)
		switch {
		case errors.Is(err, sqlstore.ErrNoRows):
			return nil
		case err != nil:
			return fmt.Errorf("pending notifications: %w", err)
		}
		due, found = at.UTC(), true
		return nil
	})
	return due, found, err
}

// TestNotification implements qm.Outbox.
func (s *OutboxStore) TestNotification(ctx context.Context, id string, at time.Time) (*qm.Notification, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.Notification, error) {
		if !sqlstore.ValidID(id) {
			return nil, errChannelNotFound
		}
		n := &qm.Notification{Event: &qm.AlarmEvent{ID: sqlstore.NewID(), Kind: qm.EventTest, At: at.UTC()}, Since: at.UTC()}
		var cs channelScan
		err := c.QueryRow(ctx, `SELECT `+channelColumns+`, secret FROM channels WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id).Scan(append(cs.dest(), &n.Secret)...)
		switch {
		case errors.Is(err, sqlstore.ErrNoRows):
			return nil, errChannelNotFound
		case err != nil:
			return nil, fmt.Errorf("channel to test: %w", err)
		}
		n.Channel = cs.channel()
		return n, nil
	})
}

// Tested implements qm.Outbox.
func (s *OutboxStore) Tested(ctx context.Context, n *qm.Notification, a qm.DeliveryAttempt) error {
	a.Test = true
	return s.router.Update(ctx, func(c sqlstore.Conn) error { return logDelivery(ctx, c, n, a) })
}

package catalog

import (
	"context"
	"fmt"
	"github.com/quartermaster/qm/sqlstore"
	"log/slog"
	"time"
)

// TakeLease takes or renews the lease called name for holder until ttl
// from now, and reports whether holder has it: a lease is free when no one
// holds it or its holder let it expire. Nodes call it before each run of a
// background job, so one node runs each job at a time.
func (s *TenantService) TakeLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	now := s.now()
	n, err := s.catalog.Exec(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at < $4`, name, holder, sqlstore.Timestamp(now.Add(ttl)), sqlstore.Timestamp(now))
	if err != nil {
		return false, fmt.Errorf("take lease %s: %w", name, err)
	}
	return n == 1, nil
}

// Every runs job every interval, on the one node holding the lease called
// name (holder names this node), until ctx is done: the shape of every
// background job that must run once across the nodes. It stops at once
// then (a run cut short keeps what it did), and returns nil: a failure is
// logged and tried again at the next interval; a node that dies loses the
// lease within two intervals.
func (s *TenantService) Every(ctx context.Context, name, holder string, every time.Duration, log *slog.Logger, job func(context.Context) error) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if ok, err := s.TakeLease(ctx, name, holder, 2*every); err != nil {
			log.Error("lease", "job", name, "err", err)
		} else if ok {
			if err := job(ctx); err != nil {
				log.Error("background job", "job", name, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Heartbeat records that node is alive now.
func (s *TenantService) Heartbeat(ctx context.Context, node string) error {
	_, err := s.catalog.Exec(ctx, `INSERT INTO nodes (name, seen_at) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at`,
		node, sqlstore.Timestamp(s.now()))
	if err != nil {
		return fmt.Errorf("heartbeat of %s: %w", node, err)
	}
	return nil
}

// LiveNodes counts the nodes whose heartbeat is younger than within, and
// forgets those silent for a day.
func (s *TenantService) LiveNodes(ctx context.Context, within time.Duration) (int, error) {
	now := s.now()
	if _, err := s.catalog.Exec(ctx, `DELETE FROM nodes WHERE seen_at < $1`, sqlstore.Timestamp(now.Add(-24*time.Hour))); err != nil {
		return 0, fmt.Errorf("forget silent nodes: %w", err)
	}
	var n int
	if err := s.catalog.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE seen_at >= $1`, sqlstore.Timestamp(now.Add(-within))).Scan(&n); err != nil {
		return 0, fmt.Errorf("count live nodes: %w", err)
	}
	return n, nil
}

// SilentNodes names the nodes whose last heartbeat is older than within
// (and younger than a day: LiveNodes forgets the rest), in name order.
func (s *TenantService) SilentNodes(ctx context.Context, within time.Duration) ([]string, error) {
	rows, err := s.catalog.Query(ctx, `SELECT name FROM nodes WHERE seen_at < $1 ORDER BY name`, sqlstore.Timestamp(s.now().Add(-within)))
	if err != nil {
		return nil, fmt.Errorf("list silent nodes: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("list silent nodes: %w", err)
		}
		names = append(names, name)
	}
	return names, rows.Err()
}

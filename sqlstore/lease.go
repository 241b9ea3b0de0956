package sqlstore

import (
	"context"
	"fmt"
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
		WHERE leases.holder = excluded.holder OR leases.expires_at < $4`, name, holder, Timestamp(now.Add(ttl)), Timestamp(now))
	if err != nil {
		return false, fmt.Errorf("take lease %s: %w", name, err)
	}
	return n == 1, nil
}

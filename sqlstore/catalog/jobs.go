package catalog

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
)

var _ qm.OperatorJobs = (*TenantService)(nil)

// PutJob implements qm.OperatorJobs.
func (s *TenantService) PutJob(ctx context.Context, j *qm.OperatorJob) error {
	_, err := s.catalog.Exec(ctx, `INSERT INTO operator_jobs (kind, id, tenant, node, running, created_at, expires_at, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (kind, id) DO UPDATE SET tenant = excluded.tenant, running = excluded.running, expires_at = excluded.expires_at, body = excluded.body`,
		j.Kind, j.ID, j.Tenant, j.Node, j.Running, sqlstore.Timestamp(j.CreatedAt), sqlstore.Timestamp(j.ExpiresAt), string(j.Body))
	if err != nil {
		return fmt.Errorf("record %s %s: %w", j.Kind, j.ID, err)
	}
	return nil
}

const jobSelect = `SELECT kind, id, tenant, node, running, created_at, expires_at, body FROM operator_jobs`

func scanJob(r sqlstore.Row) (*qm.OperatorJob, error) {
	var j qm.OperatorJob
	var body string
	if err := r.Scan(&j.Kind, &j.ID, &j.Tenant, &j.Node, &j.Running, &j.CreatedAt, &j.ExpiresAt, &body); err != nil {
		return nil, err
	}
	j.Body = []byte(body)
	return &j, nil
}

// Job implements qm.OperatorJobs.
func (s *TenantService) Job(ctx context.Context, kind, id string) (*qm.OperatorJob, error) {
	j, err := scanJob(s.catalog.QueryRow(ctx, jobSelect+` WHERE kind = $1 AND id = $2`, kind, id))
	switch {
	case errors.Is(err, sqlstore.ErrNoRows):
		return nil, qm.Errorf(qm.ENotFound, "no %s %q", kind, id)
	case err != nil:
		return nil, fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	return j, nil
}

// Jobs implements qm.OperatorJobs.
func (s *TenantService) Jobs(ctx context.Context, kind, tenant string) ([]*qm.OperatorJob, error) {
	js, err := sqlstore.QueryAll(ctx, s.catalog, scanJob, jobSelect+` WHERE kind = $1 AND ($2 = '' OR tenant = $2) ORDER BY created_at DESC, id DESC`, kind, tenant)
	if err != nil {
		return nil, fmt.Errorf("list %ss: %w", kind, err)
	}
	return js, nil
}

// ForgetJobs implements qm.OperatorJobs.
func (s *TenantService) ForgetJobs(ctx context.Context, now time.Time) error {
	if _, err := s.catalog.Exec(ctx, `DELETE FROM operator_jobs WHERE NOT running AND expires_at <= $1`, sqlstore.Timestamp(now)); err != nil {
		return fmt.Errorf("forget jobs: %w", err)
	}
	return nil
}

// NodeAlive implements qm.OperatorJobs.
func (s *TenantService) NodeAlive(ctx context.Context, node string, within time.Duration) (bool, error) {
	var n int
	err := s.catalog.QueryRow(ctx, `SELECT count(*) FROM nodes WHERE name = $1 AND seen_at >= $2`, node, sqlstore.Timestamp(s.now().Add(-within))).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("node %s alive: %w", node, err)
	}
	return n > 0, nil
}

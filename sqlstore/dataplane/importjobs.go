package dataplane

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/sqlstore"
	"github.com/quartermaster/qm/sqlstore/catalog"
	"github.com/quartermaster/qm/tenancy"
)

// ImportJobStore records the tenant's background imports: each job in the
// tenant's data, and how far a running one has come in the catalog of
// tenants (the job's own transaction holds the tenant's database), so any
// node can say.
type ImportJobStore struct {
	router  sqlstore.Router
	catalog sqlstore.Querier
	now     func() time.Time
}

var _ qm.ImportJobService = (*ImportJobStore)(nil)

// NewImportJobStore returns an ImportJobStore; tenants is the catalog the
// progress of running jobs is kept in.
func NewImportJobStore(router sqlstore.Router, tenants *catalog.TenantService, now func() time.Time) *ImportJobStore {
	return &ImportJobStore{router: router, catalog: tenants.Catalog(), now: now}
}

// ReportProgress records how far running job j has read.
func (s *ImportJobStore) ReportProgress(ctx context.Context, j *qm.ImportJob) error {
	t, err := tenancy.FromContext(ctx)
	if err != nil {
		return err
	}
	_, err = s.catalog.Exec(ctx, `INSERT INTO job_progress (tenant_id, job_id, bytes_read, rows_read, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (tenant_id, job_id) DO UPDATE SET bytes_read = excluded.bytes_read, rows_read = excluded.rows_read, updated_at = excluded.updated_at`,
		t.ID, j.ID, j.BytesRead, j.RowsRead, sqlstore.Timestamp(s.now()))
	if err != nil {
		return fmt.Errorf("import job progress: %w", err)
	}
	return nil
}

// withProgress fills in how far the running ones of js have come.
func (s *ImportJobStore) withProgress(ctx context.Context, tenantID string, js ...*qm.ImportJob) error {
	running := map[string]*qm.ImportJob{}
	for _, j := range js {
		if j.Status == qm.ImportRunning {
			running[j.ID] = j
		}
	}
	if len(running) == 0 {
		return nil
	}
	rows, err := s.catalog.Query(ctx, `SELECT job_id, bytes_read, rows_read FROM job_progress WHERE tenant_id = $1`, tenantID)
	if err != nil {
		return fmt.Errorf("import job progress: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var bytes, n int64
		if err := rows.Scan(&id, &bytes, &n); err != nil {
			return fmt.Errorf("import job progress: %w", err)
		}
		if j := running[id]; j != nil {
			j.BytesRead, j.RowsRead = bytes, int(n)
		}
	}
	return rows.Err()
}

const importJobColumns = `id, status, file_name, options, bytes, rows_read, report, error, node, created_by, started_at, finished_at`

// StartImportJob records j as running; it sets the id, the start and who
// started it.
func (s *ImportJobStore) StartImportJob(ctx context.Context, j *qm.ImportJob) error {
	j.ID, j.Status, j.StartedAt = sqlstore.NewID(), qm.ImportRunning, sqlstore.Timestamp(s.now())
	j.CreatedBy = tenancy.PrincipalFrom(ctx).Name
	opts, _ := json.Marshal(j.Options)
	return s.router.Update(ctx, func(c sqlstore.Conn) error {
		_, err := c.Exec(ctx, `INSERT INTO import_jobs (tenant_id, id, status, file_name, options, bytes, node, created_by, started_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.TenantID(), j.ID, j.Status, j.FileName, string(opts), j.Bytes, j.Node, j.CreatedBy, j.StartedAt)
		if err != nil {
			return fmt.Errorf("start import job: %w", err)
		}
		return sqlstore.Audit(ctx, c, j.StartedAt, "import_job.start", "import_job", j.ID, nil, j)
	})
}

// FinishImportJob records how j ended: its status, rows, report and error.
// The report's invitation links are not kept: a link is a secret, shown
// once to whoever made the invitation, and a job's report is kept and
// shown to anyone who may read assets. (Inviting the email again gives a
// new link, with the same assets to check out.) ENotFound.
func (s *ImportJobStore) FinishImportJob(ctx context.Context, j *qm.ImportJob) error {
	at := sqlstore.Timestamp(s.now())
	j.FinishedAt = &at
	var report any
	if j.Report != nil {
		for i := range j.Report.Invitations {
			j.Report.Invitations[i].Link = ""
		}
		b, _ := json.Marshal(j.Report)
		report = string(b)
	}
	var tenantID string
	err := s.router.Update(ctx, func(c sqlstore.Conn) error {
		tenantID = c.TenantID()
		n, err := c.Exec(ctx, `UPDATE import_jobs SET status = $3, rows_read = $4, report = $5, error = $6, finished_at = $7
			WHERE tenant_id = $1 AND id = $2`, c.TenantID(), j.ID, j.Status, j.RowsRead, report, j.Error, at)
		if err != nil {
			return fmt.Errorf("finish import job: %w", err)
		}
		if n == 0 {
			return qm.Errorf(qm.ENotFound, "import job not found")
		}
		return sqlstore.Audit(ctx, c, at, "import_job.finish", "import_job", j.ID, nil, map[string]any{"status": j.Status, "rows": j.RowsRead, "error": j.Error})
	})
	if err != nil {
		return err
	}
	// The job's row says it all now.
	if _, err := s.catalog.Exec(ctx, `DELETE FROM job_progress WHERE tenant_id = $1 AND job_id = $2`, tenantID, j.ID); err != nil {
		return fmt.Errorf("import job progress: %w", err)
	}
	return nil
}

// ImportJob returns one job. ENotFound.
func (s *ImportJobStore) ImportJob(ctx context.Context, id string) (*qm.ImportJob, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) (*qm.ImportJob, error) {
		notFound := qm.Errorf(qm.ENotFound, "import job not found")
		if !sqlstore.ValidID(id) {
			return nil, notFound
		}
		j, err := scanImportJob(c.QueryRow(ctx, `SELECT `+importJobColumns+` FROM import_jobs WHERE tenant_id = $1 AND id = $2`, c.TenantID(), id))
		switch {
		case errors.Is(err, sqlstore.ErrNoRows):
			return nil, notFound
		case err != nil:
			return nil, fmt.Errorf("get import job: %w", err)
		}
		return j, s.withProgress(ctx, c.TenantID(), j)
	})
}

// ImportJobs lists the latest 100 jobs, newest first.
func (s *ImportJobStore) ImportJobs(ctx context.Context) ([]*qm.ImportJob, error) {
	return sqlstore.View(ctx, s.router, func(c sqlstore.Conn) ([]*qm.ImportJob, error) {
		js, err := sqlstore.QueryAll(ctx, c, scanImportJob, `SELECT `+importJobColumns+` FROM import_jobs WHERE tenant_id = $1
			ORDER BY started_at DESC, id DESC LIMIT 100`, c.TenantID())
		if err != nil {
			return nil, fmt.Errorf("list import jobs: %w", err)
		}
		return js, s.withProgress(ctx, c.TenantID(), js...)
	})
}

func scanImportJob(r sqlstore.Row) (*qm.ImportJob, error) {
	var j qm.ImportJob
	var opts string
	var report sql.NullString
	var finished sql.NullTime
	err := r.Scan(&j.ID, &j.Status, &j.FileName, &opts, &j.Bytes, &j.RowsRead, &report, &j.Error, &j.Node, &j.CreatedBy, &j.StartedAt, &finished)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(opts), &j.Options); err != nil {
		return nil, fmt.Errorf("import job options: %w", err)
	}
	if report.Valid {
		j.Report = &qm.ImportReport{}
		if err := json.Unmarshal([]byte(report.String), j.Report); err != nil {
			return nil, fmt.Errorf("import job report: %w", err)
		}
	}
	j.StartedAt, j.FinishedAt = j.StartedAt.UTC(), sqlstore.TimePtr(finished)
	if j.Status == qm.ImportDone {
		j.BytesRead = j.Bytes
	}
	return &j, nil
}

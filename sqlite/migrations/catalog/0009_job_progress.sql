-- How far each running background job has come, written by the node
-- running it so that any node can report it. Kept in the catalog: a job's
-- own tenant database is busy with the job's transaction.
CREATE TABLE job_progress (
	tenant_id  TEXT NOT NULL,
	job_id     TEXT NOT NULL,
	bytes_read INTEGER NOT NULL,
	rows_read  INTEGER NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, job_id)
);

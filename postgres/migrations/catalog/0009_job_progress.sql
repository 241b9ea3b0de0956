-- How far each running background job has come, written by the node
-- running it so that any node can report it. Kept in the catalog: a job's
-- own tenant database is busy with the job's transaction.
CREATE TABLE job_progress (
	tenant_id  uuid NOT NULL,
	job_id     uuid NOT NULL,
	bytes_read bigint NOT NULL,
	rows_read  bigint NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, job_id)
);

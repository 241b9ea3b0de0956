-- Imports run in the background. Progress lives in the node running the
-- job; the row records who started it, with what, and how it ended.
CREATE TABLE import_jobs (
	tenant_id   uuid NOT NULL,
	id          uuid NOT NULL,
	status      text NOT NULL,
	file_name   text NOT NULL DEFAULT '',
	options     text NOT NULL,
	bytes       bigint NOT NULL,
	rows_read   integer NOT NULL DEFAULT 0,
	report      text,
	error       text NOT NULL DEFAULT '',
	node        text NOT NULL,
	created_by  text NOT NULL DEFAULT '',
	started_at  timestamptz NOT NULL,
	finished_at timestamptz,
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX import_jobs_started ON import_jobs (tenant_id, started_at);

ALTER TABLE import_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_jobs
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON import_jobs TO qm_serving;

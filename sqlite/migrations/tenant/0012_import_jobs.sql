-- Imports run in the background. Progress lives in the node running the
-- job; the row records who started it, with what, and how it ended.
CREATE TABLE import_jobs (
	tenant_id   TEXT NOT NULL,
	id          TEXT NOT NULL,
	status      TEXT NOT NULL,
	file_name   TEXT NOT NULL DEFAULT '',
	options     TEXT NOT NULL,
	bytes       INTEGER NOT NULL,
	rows_read   INTEGER NOT NULL DEFAULT 0,
	report      TEXT,
	error       TEXT NOT NULL DEFAULT '',
	node        TEXT NOT NULL,
	created_by  TEXT NOT NULL DEFAULT '',
	started_at  TIMESTAMP NOT NULL,
	finished_at TIMESTAMP,
	PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX import_jobs_started ON import_jobs (tenant_id, started_at);

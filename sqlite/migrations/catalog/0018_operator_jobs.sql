-- The operator's background jobs (exports, moves), as the API shows them
-- (body, JSON), where every node sharing the catalog reads them: a job
-- runs on the node that took its request (node), and any node answers
-- for it. A running job whose node stopped beating is reported failed.
-- Rows past expires_at are deleted once their job ended.
CREATE TABLE operator_jobs (
	kind       TEXT NOT NULL,
	id         TEXT NOT NULL,
	tenant     TEXT NOT NULL,
	node       TEXT NOT NULL,
	running    BOOLEAN NOT NULL,
	created_at TIMESTAMP NOT NULL,
	expires_at TIMESTAMP NOT NULL,
	body       TEXT NOT NULL,
	PRIMARY KEY (kind, id)
);
CREATE INDEX operator_jobs_tenant ON operator_jobs (kind, tenant);

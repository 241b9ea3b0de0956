-- The tenant's audit log: append-only, written in the same transaction as
-- the change it records.
CREATE TABLE audit_log (
	tenant_id     TEXT NOT NULL,
	id            TEXT NOT NULL,
	at            TIMESTAMP NOT NULL,
	actor_kind    TEXT NOT NULL,
	actor_id      TEXT NOT NULL DEFAULT '',
	actor_name    TEXT NOT NULL DEFAULT '',
	action        TEXT NOT NULL,
	resource_type TEXT NOT NULL,
	resource_id   TEXT NOT NULL,
	changes       TEXT NOT NULL DEFAULT '{}',
	remote_addr   TEXT NOT NULL DEFAULT '',
	request_id    TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX audit_log_resource ON audit_log (tenant_id, resource_type, resource_id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- A tenant's audit log leaves only with the tenant: the purge of a pool
-- tenant names it in tenant_purges, in the purge's own transaction, and
-- the append-only trigger lets that tenant's rows go, no other's.
CREATE TABLE tenant_purges (
	tenant_id TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;

DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN old.tenant_id NOT IN (SELECT tenant_id FROM tenant_purges)
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

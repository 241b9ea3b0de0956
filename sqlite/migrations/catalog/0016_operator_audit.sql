-- The operator's audit log: what the operator (or the server's own jobs)
-- did to tenants, plans and the device inventory; ids are UUIDv7, so they
-- sort as their times. The tenant is kept as text, under other names than
-- tenant_id (tenant_ref, tenant_slug): its purge, which forgets every
-- catalog row with a tenant_id, leaves its entries, which say who deleted
-- and purged it. Nothing updates or deletes a row here.
CREATE TABLE operator_audit (
	id          TEXT PRIMARY KEY,
	at          TIMESTAMP NOT NULL,
	actor_kind  TEXT NOT NULL,
	actor_id    TEXT NOT NULL,
	actor_name  TEXT NOT NULL,
	action      TEXT NOT NULL,
	tenant_ref  TEXT NOT NULL,
	tenant_slug TEXT NOT NULL,
	details     TEXT NOT NULL,
	remote_addr TEXT NOT NULL,
	request_id  TEXT NOT NULL
);
CREATE INDEX operator_audit_tenant ON operator_audit (tenant_slug, id);
CREATE INDEX operator_audit_action ON operator_audit (action, id);

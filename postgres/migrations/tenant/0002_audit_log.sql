-- The tenant's audit log: append-only, written in the same transaction as
-- the change it records. The serving role may read and add, never change or
-- remove.
CREATE TABLE audit_log (
	tenant_id     uuid NOT NULL,
	id            uuid NOT NULL,
	at            timestamptz NOT NULL,
	actor_kind    text NOT NULL,
	actor_id      text NOT NULL DEFAULT '',
	actor_name    text NOT NULL DEFAULT '',
	action        text NOT NULL,
	resource_type text NOT NULL,
	resource_id   text NOT NULL,
	changes       jsonb NOT NULL DEFAULT '{}',
	remote_addr   text NOT NULL DEFAULT '',
	request_id    text NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_resource ON audit_log (tenant_id, resource_type, resource_id);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT ON audit_log TO qm_serving;

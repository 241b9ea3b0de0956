-- The tenant's general settings; no row means the defaults (UTC).
CREATE TABLE tenant_settings (
	tenant_id uuid NOT NULL PRIMARY KEY,
	time_zone text NOT NULL
);

ALTER TABLE tenant_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_settings
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_settings TO qm_serving;

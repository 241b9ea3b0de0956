-- How far the rules have read each device's points: the measured time of
-- the newest point evaluated. A rule's own state is written only when it
-- changes, not for every point read.
CREATE TABLE rule_cursors (
	tenant_id uuid NOT NULL,
	device_id uuid NOT NULL,
	t_us      bigint NOT NULL,
	PRIMARY KEY (tenant_id, device_id)
);

-- A count of the tenant's changes to its rules and geofences, so a node
-- knows when what it keeps of them compiled is stale.
CREATE TABLE rule_versions (
	tenant_id uuid NOT NULL PRIMARY KEY,
	version   bigint NOT NULL
);

ALTER TABLE rule_cursors ENABLE ROW LEVEL SECURITY;
ALTER TABLE rule_cursors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rule_cursors
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON rule_cursors TO qm_serving;

ALTER TABLE rule_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE rule_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rule_versions
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON rule_versions TO qm_serving;

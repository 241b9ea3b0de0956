-- A row per tenant and capped kind of thing (max_assets, …), locked by a
-- transaction that counts them before adding one, so two at once cannot
-- both take the last place under a cap.
CREATE TABLE limit_locks (
	tenant_id uuid NOT NULL,
	name      text NOT NULL,
	PRIMARY KEY (tenant_id, name)
);

ALTER TABLE limit_locks ENABLE ROW LEVEL SECURITY;
ALTER TABLE limit_locks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON limit_locks
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON limit_locks TO qm_serving;

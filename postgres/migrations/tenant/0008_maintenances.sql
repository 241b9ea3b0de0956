CREATE TABLE maintenances (
	tenant_id    uuid NOT NULL,
	id           uuid NOT NULL,
	asset_id     uuid NOT NULL,
	kind         text NOT NULL,
	title        text NOT NULL,
	started_on   date NOT NULL,
	completed_on date,
	cost_cents   bigint,
	supplier_id  uuid,
	notes        text NOT NULL DEFAULT '',
	created_at   timestamptz NOT NULL,
	updated_at   timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, supplier_id) REFERENCES suppliers (tenant_id, id)
);
CREATE INDEX maintenances_asset ON maintenances (tenant_id, asset_id, started_on);

ALTER TABLE maintenances ENABLE ROW LEVEL SECURITY;
ALTER TABLE maintenances FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON maintenances
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON maintenances TO qm_serving;

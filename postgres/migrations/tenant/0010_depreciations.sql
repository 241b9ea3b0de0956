CREATE TABLE depreciations (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	months     integer NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);
ALTER TABLE depreciations ENABLE ROW LEVEL SECURITY;
ALTER TABLE depreciations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON depreciations
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON depreciations TO qm_serving;

-- A model names the schedule its assets follow.
ALTER TABLE models ADD COLUMN depreciation_id uuid;
ALTER TABLE models ADD FOREIGN KEY (tenant_id, depreciation_id) REFERENCES depreciations (tenant_id, id);

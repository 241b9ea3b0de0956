CREATE TABLE departments (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	parent_id  uuid,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	CONSTRAINT departments_sibling_name UNIQUE NULLS NOT DISTINCT (tenant_id, parent_id, name),
	FOREIGN KEY (tenant_id, parent_id) REFERENCES departments (tenant_id, id)
);
CREATE INDEX departments_parent ON departments (tenant_id, parent_id);

ALTER TABLE departments ENABLE ROW LEVEL SECURITY;
ALTER TABLE departments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON departments
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON departments TO qm_serving;

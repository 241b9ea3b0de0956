-- A tenant's reference lists. Each is one table of the same shape, so one
-- store serves them all.

CREATE TABLE categories (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	kind       text NOT NULL DEFAULT '',
	notes      text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);
ALTER TABLE categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE categories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON categories
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON categories TO qm_serving;

CREATE TABLE manufacturers (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	kind       text NOT NULL DEFAULT '',
	notes      text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);
ALTER TABLE manufacturers ENABLE ROW LEVEL SECURITY;
ALTER TABLE manufacturers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON manufacturers
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON manufacturers TO qm_serving;

CREATE TABLE suppliers (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	kind       text NOT NULL DEFAULT '',
	notes      text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);
ALTER TABLE suppliers ENABLE ROW LEVEL SECURITY;
ALTER TABLE suppliers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON suppliers
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON suppliers TO qm_serving;

CREATE TABLE status_labels (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	kind       text NOT NULL DEFAULT '',
	notes      text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);
ALTER TABLE status_labels ENABLE ROW LEVEL SECURITY;
ALTER TABLE status_labels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON status_labels
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON status_labels TO qm_serving;

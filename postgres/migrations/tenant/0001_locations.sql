-- Every tenant table: tenant_id first in the primary key, in every unique
-- constraint and in every foreign key, in every tier, so pool tables can be
-- distributed by tenant_id and a tenant moved between tiers by a copy.
CREATE TABLE locations (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	parent_id  uuid,
	address    text NOT NULL DEFAULT '',
	notes      text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	-- Sibling names are unique; top-level locations count as siblings.
	CONSTRAINT locations_sibling_name UNIQUE NULLS NOT DISTINCT (tenant_id, parent_id, name),
	FOREIGN KEY (tenant_id, parent_id) REFERENCES locations (tenant_id, id)
);
CREATE INDEX locations_parent ON locations (tenant_id, parent_id);

-- Row-level security in every tier: the backstop behind every query's own
-- tenant_id condition. The setting is made transaction-local by the router.
ALTER TABLE locations ENABLE ROW LEVEL SECURITY;
ALTER TABLE locations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON locations
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON locations TO qm_serving;

-- Every tenant table: tenant_id first in the primary key, in every unique
-- constraint and in every foreign key, in every tier.
CREATE TABLE locations (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	parent_id  TEXT,
	address    TEXT NOT NULL DEFAULT '',
	notes      TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, parent_id) REFERENCES locations (tenant_id, id)
) WITHOUT ROWID;

-- Sibling names are unique; top-level locations count as siblings.
CREATE UNIQUE INDEX locations_sibling_name ON locations (tenant_id, COALESCE(parent_id, ''), name);
CREATE INDEX locations_parent ON locations (tenant_id, parent_id);

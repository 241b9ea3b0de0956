CREATE TABLE departments (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	parent_id  TEXT,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, parent_id) REFERENCES departments (tenant_id, id)
) WITHOUT ROWID;

CREATE UNIQUE INDEX departments_sibling_name ON departments (tenant_id, COALESCE(parent_id, ''), name);
CREATE INDEX departments_parent ON departments (tenant_id, parent_id);

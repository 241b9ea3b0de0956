-- A tenant's reference lists. Each is one table of the same shape, so one
-- store serves them all.

CREATE TABLE categories (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL DEFAULT '',
	notes      TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE manufacturers (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL DEFAULT '',
	notes      TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE suppliers (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL DEFAULT '',
	notes      TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE status_labels (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	kind       TEXT NOT NULL DEFAULT '',
	notes      TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE depreciations (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	months     INTEGER NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

-- A model names the schedule its assets follow. SQLite cannot add a
-- composite foreign key to an existing table; the store checks the
-- reference within the tenant, as it does everywhere.
ALTER TABLE models ADD COLUMN depreciation_id TEXT;

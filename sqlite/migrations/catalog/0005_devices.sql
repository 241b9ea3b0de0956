-- The device inventory. A device is assigned to at most one tenant; only a
-- hash of its credential is kept.
CREATE TABLE devices (
	id               TEXT PRIMARY KEY,
	ident            TEXT NOT NULL UNIQUE,
	serial           TEXT NOT NULL DEFAULT '',
	kind             TEXT NOT NULL,
	model            TEXT NOT NULL DEFAULT '',
	firmware         TEXT NOT NULL DEFAULT '',
	notes            TEXT NOT NULL DEFAULT '',
	token_hash       TEXT NOT NULL UNIQUE,
	token_rotated_at TIMESTAMP NOT NULL,
	tenant_id        TEXT REFERENCES tenants (id) ON DELETE SET NULL,
	assigned_at      TIMESTAMP,
	created_at       TIMESTAMP NOT NULL,
	updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id, ident);

-- Who held a device when: one row per assignment, closed when it ends.
CREATE TABLE device_custody (
	device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	tenant_id TEXT NOT NULL,
	from_at   TIMESTAMP NOT NULL,
	until_at  TIMESTAMP,
	PRIMARY KEY (device_id, from_at)
);

-- The device inventory. A device is assigned to at most one tenant; only a
-- hash of its credential is kept.
CREATE TABLE devices (
	id               uuid PRIMARY KEY,
	ident            text NOT NULL UNIQUE,
	serial           text NOT NULL DEFAULT '',
	kind             text NOT NULL,
	model            text NOT NULL DEFAULT '',
	firmware         text NOT NULL DEFAULT '',
	notes            text NOT NULL DEFAULT '',
	token_hash       text NOT NULL UNIQUE,
	token_rotated_at timestamptz NOT NULL,
	tenant_id        uuid REFERENCES tenants (id) ON DELETE SET NULL,
	assigned_at      timestamptz,
	created_at       timestamptz NOT NULL,
	updated_at       timestamptz NOT NULL
);
CREATE INDEX devices_tenant ON devices (tenant_id, ident);

-- Who held a device when: one row per assignment, closed when it ends.
CREATE TABLE device_custody (
	device_id uuid NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
	tenant_id uuid NOT NULL,
	from_at   timestamptz NOT NULL,
	until_at  timestamptz,
	PRIMARY KEY (device_id, from_at)
);

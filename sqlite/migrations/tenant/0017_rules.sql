-- Geofences: areas a tenant draws, kept as GeoJSON Features (RFC 7946);
-- rules fire when a device enters or leaves one.
CREATE TABLE geofences (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	shape      TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

-- Rules over telemetry and asset dates. What a rule of each kind tests
-- (its condition, duration, limit, devices, quiet hours) is spec, JSON;
-- the geofence and department it names are columns, so that neither can be
-- deleted from under it.
CREATE TABLE rules (
	tenant_id     TEXT NOT NULL,
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	severity      TEXT NOT NULL,
	enabled       BOOLEAN NOT NULL,
	department_id TEXT,
	geofence_id   TEXT,
	spec          TEXT NOT NULL,
	created_at    TIMESTAMP NOT NULL,
	updated_at    TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
	FOREIGN KEY (tenant_id, geofence_id) REFERENCES geofences (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX rules_geofence ON rules (tenant_id, geofence_id);

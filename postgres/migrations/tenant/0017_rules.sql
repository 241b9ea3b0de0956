-- Geofences: areas a tenant draws, kept as GeoJSON Features (RFC 7946);
-- rules fire when a device enters or leaves one.
CREATE TABLE geofences (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	shape      text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);

-- Rules over telemetry and asset dates. What a rule of each kind tests
-- (its condition, duration, limit, devices, quiet hours) is spec, JSON;
-- the geofence and department it names are columns, so that neither can be
-- deleted from under it.
CREATE TABLE rules (
	tenant_id     uuid NOT NULL,
	id            uuid NOT NULL,
	name          text NOT NULL,
	kind          text NOT NULL,
	severity      text NOT NULL,
	enabled       boolean NOT NULL,
	department_id uuid,
	geofence_id   uuid,
	spec          text NOT NULL,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
	FOREIGN KEY (tenant_id, geofence_id) REFERENCES geofences (tenant_id, id)
);
CREATE INDEX rules_geofence ON rules (tenant_id, geofence_id);

ALTER TABLE geofences ENABLE ROW LEVEL SECURITY;
ALTER TABLE geofences FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON geofences
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON geofences TO qm_serving;

ALTER TABLE rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON rules
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON rules TO qm_serving;

-- The tenant's side of the devices assigned to it: what it calls them, the
-- asset each is in, the department that sees it, and settings the device
-- fetches. A device without a row here has the defaults.
CREATE TABLE fleet_devices (
	tenant_id     uuid NOT NULL,
	device_id     uuid NOT NULL,
	name          text NOT NULL DEFAULT '',
	asset_id      uuid,
	department_id uuid,
	settings      text NOT NULL DEFAULT '{}',
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, device_id),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
);

-- Telemetry. Times are microseconds since 1970 (UTC): compact, and the
-- same on every engine. A device's point at a time is stored once, so a
-- device may resend safely.
CREATE TABLE points (
	tenant_id   uuid NOT NULL,
	device_id   uuid NOT NULL,
	t_us        bigint NOT NULL,
	lat         double precision,
	lon         double precision,
	altitude_m  double precision,
	speed_kmh   double precision,
	heading     double precision,
	accuracy_m  double precision,
	metrics     text,
	received_us bigint NOT NULL,
	PRIMARY KEY (tenant_id, device_id, t_us)
);

-- The latest of everything per device, for fleet views: the newest point's
-- time, the newest position, and each metric's newest value with its time.
CREATE TABLE device_state (
	tenant_id    uuid NOT NULL,
	device_id    uuid NOT NULL,
	last_seen_us bigint NOT NULL,
	t_us         bigint NOT NULL,
	pos_t_us     bigint,
	lat          double precision,
	lon          double precision,
	altitude_m   double precision,
	speed_kmh    double precision,
	heading      double precision,
	accuracy_m   double precision,
	metrics      text NOT NULL DEFAULT '{}',
	points       bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, device_id)
);

-- The tenant's fleet settings; no row means the defaults.
CREATE TABLE fleet_settings (
	tenant_id       uuid NOT NULL PRIMARY KEY,
	retention_days  integer NOT NULL,
	offline_minutes integer NOT NULL,
	low_battery_pct double precision NOT NULL
);

ALTER TABLE fleet_devices ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleet_devices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON fleet_devices
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON fleet_devices TO qm_serving;

ALTER TABLE points ENABLE ROW LEVEL SECURITY;
ALTER TABLE points FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON points
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON points TO qm_serving;

ALTER TABLE device_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE device_state FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON device_state
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON device_state TO qm_serving;

ALTER TABLE fleet_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleet_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON fleet_settings
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON fleet_settings TO qm_serving;

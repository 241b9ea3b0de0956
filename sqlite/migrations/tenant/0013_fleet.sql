-- The tenant's side of the devices assigned to it: what it calls them, the
-- asset each is in, the department that sees it, and settings the device
-- fetches. A device without a row here has the defaults.
CREATE TABLE fleet_devices (
	tenant_id     TEXT NOT NULL,
	device_id     TEXT NOT NULL,
	name          TEXT NOT NULL DEFAULT '',
	asset_id      TEXT,
	department_id TEXT,
	settings      TEXT NOT NULL DEFAULT '{}',
	created_at    TIMESTAMP NOT NULL,
	updated_at    TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, device_id),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id)
) WITHOUT ROWID;

-- Telemetry. Times are microseconds since 1970 (UTC): compact, and the
-- same on every engine. A device's point at a time is stored once, so a
-- device may resend safely.
CREATE TABLE points (
	tenant_id   TEXT NOT NULL,
	device_id   TEXT NOT NULL,
	t_us        INTEGER NOT NULL,
	lat         REAL,
	lon         REAL,
	altitude_m  REAL,
	speed_kmh   REAL,
	heading     REAL,
	accuracy_m  REAL,
	metrics     TEXT,
	received_us INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, device_id, t_us)
) WITHOUT ROWID;

-- The latest of everything per device, for fleet views: the newest point's
-- time, the newest position, and each metric's newest value with its time.
CREATE TABLE device_state (
	tenant_id    TEXT NOT NULL,
	device_id    TEXT NOT NULL,
	last_seen_us INTEGER NOT NULL,
	t_us         INTEGER NOT NULL,
	pos_t_us     INTEGER,
	lat          REAL,
	lon          REAL,
	altitude_m   REAL,
	speed_kmh    REAL,
	heading      REAL,
	accuracy_m   REAL,
	metrics      TEXT NOT NULL DEFAULT '{}',
	points       INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, device_id)
) WITHOUT ROWID;

-- The tenant's fleet settings; no row means the defaults.
CREATE TABLE fleet_settings (
	tenant_id       TEXT NOT NULL PRIMARY KEY,
	retention_days  INTEGER NOT NULL,
	offline_minutes INTEGER NOT NULL,
	low_battery_pct REAL NOT NULL
) WITHOUT ROWID;

-- The tenant's general settings; no row means the defaults (UTC).
CREATE TABLE tenant_settings (
	tenant_id TEXT NOT NULL PRIMARY KEY,
	time_zone TEXT NOT NULL
) WITHOUT ROWID;

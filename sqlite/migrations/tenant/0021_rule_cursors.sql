-- How far the rules have read each device's points: the measured time of
-- the newest point evaluated. A rule's own state is written only when it
-- changes, not for every point read.
CREATE TABLE rule_cursors (
	tenant_id TEXT NOT NULL,
	device_id TEXT NOT NULL,
	t_us      INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, device_id)
) WITHOUT ROWID;

-- A count of the tenant's changes to its rules and geofences, so a node
-- knows when what it keeps of them compiled is stale.
CREATE TABLE rule_versions (
	tenant_id TEXT NOT NULL PRIMARY KEY,
	version   INTEGER NOT NULL
) WITHOUT ROWID;

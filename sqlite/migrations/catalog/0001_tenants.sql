CREATE TABLE tenants (
	id             TEXT PRIMARY KEY,
	slug           TEXT NOT NULL UNIQUE,
	name           TEXT NOT NULL,
	tier           TEXT NOT NULL CHECK (tier IN ('pool', 'bridge', 'silo')),
	engine         TEXT NOT NULL,
	server         TEXT NOT NULL,
	location       TEXT NOT NULL,
	state          TEXT NOT NULL CHECK (state IN ('provisioning', 'active', 'suspended')),
	schema_version INTEGER NOT NULL,
	created_at     TIMESTAMP NOT NULL
);

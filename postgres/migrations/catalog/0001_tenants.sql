CREATE TABLE tenants (
	id             uuid PRIMARY KEY,
	slug           text NOT NULL UNIQUE,
	name           text NOT NULL,
	tier           text NOT NULL CHECK (tier IN ('pool', 'bridge', 'silo')),
	engine         text NOT NULL,
	server         text NOT NULL,
	location       text NOT NULL,
	state          text NOT NULL CHECK (state IN ('provisioning', 'active', 'suspended')),
	schema_version integer NOT NULL,
	created_at     timestamptz NOT NULL
);

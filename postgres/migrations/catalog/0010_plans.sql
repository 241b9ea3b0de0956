-- Plans: named sets of limits (a JSON object, qm.LimitSet). A tenant has
-- one plan ('default', unlimited, needs no row) and overrides that list
-- what differs for it.
CREATE TABLE plans (
	name       text PRIMARY KEY,
	limits     text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL
);
ALTER TABLE tenants ADD COLUMN plan text NOT NULL DEFAULT 'default';
ALTER TABLE tenants ADD COLUMN limit_overrides text NOT NULL DEFAULT '{}';

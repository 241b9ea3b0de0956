-- Plans: named sets of limits (a JSON object, qm.LimitSet). A tenant has
-- one plan ('default', unlimited, needs no row) and overrides that list
-- what differs for it.
CREATE TABLE plans (
	name       TEXT PRIMARY KEY,
	limits     TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL
);
ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'default';
ALTER TABLE tenants ADD COLUMN limit_overrides TEXT NOT NULL DEFAULT '{}';

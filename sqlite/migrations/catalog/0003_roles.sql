-- Custom roles: a tenant's own named sets of permissions, beside the
-- built-in roles every tenant has.
CREATE TABLE roles (
	tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name        TEXT NOT NULL,
	permissions TEXT NOT NULL,
	created_at  TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, name)
);

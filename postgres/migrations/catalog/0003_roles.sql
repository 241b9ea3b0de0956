-- Custom roles: a tenant's own named sets of permissions, beside the
-- built-in roles every tenant has.
CREATE TABLE roles (
	tenant_id   uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	name        text NOT NULL,
	permissions text NOT NULL,
	created_at  timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, name)
);

-- Break-glass grants: an operator's time-limited, read-only access to one
-- tenant's data, each recorded in that tenant's audit log.
CREATE TABLE break_glass (
	tenant_id  uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	reason     text NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, user_id, created_at)
);

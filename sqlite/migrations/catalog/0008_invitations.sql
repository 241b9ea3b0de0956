-- Invitations: the only way an account joins a tenant. Only a hash of the
-- link's secret is kept. Existing memberships are the accepted ones and are
-- left as they are.
CREATE TABLE invitations (
	tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	id            TEXT NOT NULL,
	email         TEXT NOT NULL,
	role          TEXT NOT NULL,
	department_id TEXT NOT NULL DEFAULT '',
	secret_hash   TEXT NOT NULL UNIQUE,
	invited_by    TEXT NOT NULL,
	created_at    TIMESTAMP NOT NULL,
	expires_at    TIMESTAMP NOT NULL,
	accepted_at   TIMESTAMP,
	revoked_at    TIMESTAMP,
	-- Assets to check out to the person on acceptance, space-separated ids.
	check_out     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (tenant_id, id)
);
-- One open invitation per tenant and email: inviting again replaces it.
CREATE UNIQUE INDEX invitations_open ON invitations (tenant_id, email) WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_email ON invitations (email);

-- One-time password reset links the operator issues. Only a hash of the
-- secret is kept.
CREATE TABLE password_resets (
	secret_hash TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at  TIMESTAMP NOT NULL,
	expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX password_resets_user ON password_resets (user_id);

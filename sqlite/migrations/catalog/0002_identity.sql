-- Identity: users, their memberships in tenants, sessions and API tokens.
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE,
	name          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	operator      BOOLEAN NOT NULL DEFAULT FALSE,
	disabled      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    TIMESTAMP NOT NULL,
	last_login_at TIMESTAMP
);

CREATE TABLE memberships (
	tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role          TEXT NOT NULL,
	department_id TEXT NOT NULL DEFAULT '',
	created_at    TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Only a hash of a session's secret is kept.
CREATE TABLE sessions (
	secret_hash TEXT PRIMARY KEY,
	user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at  TIMESTAMP NOT NULL,
	expires_at  TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Only a hash of a token's secret is kept.
CREATE TABLE api_tokens (
	tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	id           TEXT NOT NULL,
	name         TEXT NOT NULL,
	role         TEXT NOT NULL,
	secret_hash  TEXT NOT NULL UNIQUE,
	created_by   TEXT NOT NULL,
	created_at   TIMESTAMP NOT NULL,
	expires_at   TIMESTAMP,
	last_used_at TIMESTAMP,
	revoked_at   TIMESTAMP,
	PRIMARY KEY (tenant_id, id)
);

-- Identity: users, their memberships in tenants, sessions and API tokens.
CREATE TABLE users (
	id            uuid PRIMARY KEY,
	email         text NOT NULL UNIQUE,
	name          text NOT NULL,
	password_hash text NOT NULL,
	operator      boolean NOT NULL DEFAULT false,
	disabled      boolean NOT NULL DEFAULT false,
	created_at    timestamptz NOT NULL,
	last_login_at timestamptz
);

CREATE TABLE memberships (
	tenant_id     uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	role          text NOT NULL,
	department_id text NOT NULL DEFAULT '',
	created_at    timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

-- Only a hash of a session's secret is kept.
CREATE TABLE sessions (
	secret_hash text PRIMARY KEY,
	user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at  timestamptz NOT NULL,
	expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Only a hash of a token's secret is kept.
CREATE TABLE api_tokens (
	tenant_id    uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
	id           uuid NOT NULL,
	name         text NOT NULL,
	role         text NOT NULL,
	secret_hash  text NOT NULL UNIQUE,
	created_by   text NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz,
	last_used_at timestamptz,
	revoked_at   timestamptz,
	PRIMARY KEY (tenant_id, id)
);

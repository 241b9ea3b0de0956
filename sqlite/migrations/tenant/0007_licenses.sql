CREATE TABLE licenses (
	tenant_id       TEXT NOT NULL,
	id              TEXT NOT NULL,
	name            TEXT NOT NULL,
	product_key     TEXT NOT NULL DEFAULT '',
	manufacturer_id TEXT,
	seats           INTEGER NOT NULL,
	expires_on      TEXT,
	notes           TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, manufacturer_id) REFERENCES manufacturers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX licenses_expiry ON licenses (tenant_id, expires_on);

CREATE TABLE license_seats (
	tenant_id     TEXT NOT NULL,
	id            TEXT NOT NULL,
	license_id    TEXT NOT NULL,
	assignee_type TEXT NOT NULL,
	assignee_id   TEXT NOT NULL,
	assigned_at   TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, license_id, assignee_type, assignee_id),
	FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

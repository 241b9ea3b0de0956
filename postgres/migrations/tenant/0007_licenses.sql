CREATE TABLE licenses (
	tenant_id       uuid NOT NULL,
	id              uuid NOT NULL,
	name            text NOT NULL,
	product_key     text NOT NULL DEFAULT '',
	manufacturer_id uuid,
	seats           integer NOT NULL,
	expires_on      date,
	notes           text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, manufacturer_id) REFERENCES manufacturers (tenant_id, id)
);
CREATE INDEX licenses_expiry ON licenses (tenant_id, expires_on);

CREATE TABLE license_seats (
	tenant_id     uuid NOT NULL,
	id            uuid NOT NULL,
	license_id    uuid NOT NULL,
	assignee_type text NOT NULL,
	assignee_id   text NOT NULL,
	assigned_at   timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, license_id, assignee_type, assignee_id),
	FOREIGN KEY (tenant_id, license_id) REFERENCES licenses (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE licenses ENABLE ROW LEVEL SECURITY;
ALTER TABLE licenses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON licenses
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON licenses TO qm_serving;

ALTER TABLE license_seats ENABLE ROW LEVEL SECURITY;
ALTER TABLE license_seats FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON license_seats
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON license_seats TO qm_serving;

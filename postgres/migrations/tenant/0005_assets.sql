CREATE TABLE models (
	tenant_id       uuid NOT NULL,
	id              uuid NOT NULL,
	name            text NOT NULL,
	model_number    text NOT NULL DEFAULT '',
	category_id     uuid NOT NULL,
	manufacturer_id uuid,
	notes           text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name, model_number),
	FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id),
	FOREIGN KEY (tenant_id, manufacturer_id) REFERENCES manufacturers (tenant_id, id)
);

CREATE TABLE assets (
	tenant_id       uuid NOT NULL,
	id              uuid NOT NULL,
	tag             text NOT NULL,
	name            text NOT NULL DEFAULT '',
	serial          text NOT NULL DEFAULT '',
	model_id        uuid NOT NULL,
	status_id       uuid NOT NULL,
	location_id     uuid,
	department_id   uuid,
	supplier_id     uuid,
	purchase_date   date,
	cost_cents      bigint,
	currency        text NOT NULL DEFAULT '',
	order_number    text NOT NULL DEFAULT '',
	warranty_months integer,
	notes           text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, tag),
	FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id),
	FOREIGN KEY (tenant_id, status_id) REFERENCES status_labels (tenant_id, id),
	FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
	FOREIGN KEY (tenant_id, supplier_id) REFERENCES suppliers (tenant_id, id)
);
CREATE INDEX assets_name ON assets (tenant_id, name, id);
CREATE INDEX assets_serial ON assets (tenant_id, serial, id);
CREATE INDEX assets_model ON assets (tenant_id, model_id);
CREATE INDEX assets_status ON assets (tenant_id, status_id);
CREATE INDEX assets_location ON assets (tenant_id, location_id);
CREATE INDEX assets_department ON assets (tenant_id, department_id);
CREATE INDEX assets_created ON assets (tenant_id, created_at, id);
CREATE INDEX assets_updated ON assets (tenant_id, updated_at, id);

-- The next number for assets created without a tag.
CREATE TABLE asset_tag_counters (
	tenant_id uuid NOT NULL PRIMARY KEY,
	prefix    text NOT NULL,
	next      integer NOT NULL
);

ALTER TABLE models ENABLE ROW LEVEL SECURITY;
ALTER TABLE models FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON models
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON models TO qm_serving;

ALTER TABLE assets ENABLE ROW LEVEL SECURITY;
ALTER TABLE assets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON assets
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON assets TO qm_serving;

ALTER TABLE asset_tag_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE asset_tag_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON asset_tag_counters
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON asset_tag_counters TO qm_serving;

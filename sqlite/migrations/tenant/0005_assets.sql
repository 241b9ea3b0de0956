CREATE TABLE models (
	tenant_id       TEXT NOT NULL,
	id              TEXT NOT NULL,
	name            TEXT NOT NULL,
	model_number    TEXT NOT NULL DEFAULT '',
	category_id     TEXT NOT NULL,
	manufacturer_id TEXT,
	notes           TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name, model_number),
	FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id),
	FOREIGN KEY (tenant_id, manufacturer_id) REFERENCES manufacturers (tenant_id, id)
) WITHOUT ROWID;

CREATE TABLE assets (
	tenant_id       TEXT NOT NULL,
	id              TEXT NOT NULL,
	tag             TEXT NOT NULL,
	name            TEXT NOT NULL DEFAULT '',
	serial          TEXT NOT NULL DEFAULT '',
	model_id        TEXT NOT NULL,
	status_id       TEXT NOT NULL,
	location_id     TEXT,
	department_id   TEXT,
	supplier_id     TEXT,
	purchase_date   TEXT,
	cost_cents      INTEGER,
	currency        TEXT NOT NULL DEFAULT '',
	order_number    TEXT NOT NULL DEFAULT '',
	warranty_months INTEGER,
	notes           TEXT NOT NULL DEFAULT '',
	created_at      TIMESTAMP NOT NULL,
	updated_at      TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, tag),
	FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id),
	FOREIGN KEY (tenant_id, status_id) REFERENCES status_labels (tenant_id, id),
	FOREIGN KEY (tenant_id, location_id) REFERENCES locations (tenant_id, id),
	FOREIGN KEY (tenant_id, department_id) REFERENCES departments (tenant_id, id),
	FOREIGN KEY (tenant_id, supplier_id) REFERENCES suppliers (tenant_id, id)
) WITHOUT ROWID;
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
	tenant_id TEXT NOT NULL PRIMARY KEY,
	prefix    TEXT NOT NULL,
	next      INTEGER NOT NULL
) WITHOUT ROWID;

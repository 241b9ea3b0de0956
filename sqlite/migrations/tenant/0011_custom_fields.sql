CREATE TABLE custom_fields (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	key        TEXT NOT NULL,
	name       TEXT NOT NULL,
	type       TEXT NOT NULL,
	required   BOOLEAN NOT NULL DEFAULT FALSE,
	is_unique  BOOLEAN NOT NULL DEFAULT FALSE,
	pattern    TEXT NOT NULL DEFAULT '',
	choices    TEXT NOT NULL DEFAULT '[]',
	help_text  TEXT NOT NULL DEFAULT '',
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, key),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE field_sets (
	tenant_id  TEXT NOT NULL,
	id         TEXT NOT NULL,
	name       TEXT NOT NULL,
	created_at TIMESTAMP NOT NULL,
	updated_at TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
) WITHOUT ROWID;

CREATE TABLE field_set_fields (
	tenant_id    TEXT NOT NULL,
	field_set_id TEXT NOT NULL,
	field_id     TEXT NOT NULL,
	position     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, field_set_id, field_id),
	FOREIGN KEY (tenant_id, field_set_id) REFERENCES field_sets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, field_id) REFERENCES custom_fields (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX field_set_fields_field ON field_set_fields (tenant_id, field_id);

-- A set attached to a category gives its fields to every asset whose
-- model is in the category.
CREATE TABLE field_set_categories (
	tenant_id    TEXT NOT NULL,
	field_set_id TEXT NOT NULL,
	category_id  TEXT NOT NULL,
	PRIMARY KEY (tenant_id, field_set_id, category_id),
	FOREIGN KEY (tenant_id, field_set_id) REFERENCES field_sets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX field_set_categories_category ON field_set_categories (tenant_id, category_id);

-- unique_value repeats value for fields that are unique, and is NULL
-- otherwise, so one constraint keeps unique fields unique.
CREATE TABLE asset_field_values (
	tenant_id    TEXT NOT NULL,
	asset_id     TEXT NOT NULL,
	field_id     TEXT NOT NULL,
	value        TEXT NOT NULL,
	unique_value TEXT,
	PRIMARY KEY (tenant_id, asset_id, field_id),
	UNIQUE (tenant_id, field_id, unique_value),
	FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, field_id) REFERENCES custom_fields (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX asset_field_values_value ON asset_field_values (tenant_id, field_id, value);

-- A model names its field set. As with depreciation_id, SQLite cannot add
-- a composite foreign key to an existing table; the store checks it.
ALTER TABLE models ADD COLUMN field_set_id TEXT;

-- A category's depreciation schedule, followed by the assets of its models
-- unless the model names one of its own.
CREATE TABLE depreciation_categories (
	tenant_id       TEXT NOT NULL,
	category_id     TEXT NOT NULL,
	depreciation_id TEXT NOT NULL,
	PRIMARY KEY (tenant_id, category_id),
	FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, depreciation_id) REFERENCES depreciations (tenant_id, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX depreciation_categories_depreciation ON depreciation_categories (tenant_id, depreciation_id);

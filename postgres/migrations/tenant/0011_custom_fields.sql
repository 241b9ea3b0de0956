CREATE TABLE custom_fields (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	key        text NOT NULL,
	name       text NOT NULL,
	type       text NOT NULL,
	required   boolean NOT NULL DEFAULT false,
	is_unique  boolean NOT NULL DEFAULT false,
	pattern    text NOT NULL DEFAULT '',
	choices    text NOT NULL DEFAULT '[]',
	help_text  text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, key),
	UNIQUE (tenant_id, name)
);

CREATE TABLE field_sets (
	tenant_id  uuid NOT NULL,
	id         uuid NOT NULL,
	name       text NOT NULL,
	created_at timestamptz NOT NULL,
	updated_at timestamptz NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, name)
);

CREATE TABLE field_set_fields (
	tenant_id    uuid NOT NULL,
	field_set_id uuid NOT NULL,
	field_id     uuid NOT NULL,
	position     integer NOT NULL,
	PRIMARY KEY (tenant_id, field_set_id, field_id),
	FOREIGN KEY (tenant_id, field_set_id) REFERENCES field_sets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, field_id) REFERENCES custom_fields (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX field_set_fields_field ON field_set_fields (tenant_id, field_id);

-- A set attached to a category gives its fields to every asset whose
-- model is in the category.
CREATE TABLE field_set_categories (
	tenant_id    uuid NOT NULL,
	field_set_id uuid NOT NULL,
	category_id  uuid NOT NULL,
	PRIMARY KEY (tenant_id, field_set_id, category_id),
	FOREIGN KEY (tenant_id, field_set_id) REFERENCES field_sets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX field_set_categories_category ON field_set_categories (tenant_id, category_id);

-- unique_value repeats value for fields that are unique, and is NULL
-- otherwise, so one constraint keeps unique fields unique.
CREATE TABLE asset_field_values (
	tenant_id    uuid NOT NULL,
	asset_id     uuid NOT NULL,
	field_id     uuid NOT NULL,
	value        text NOT NULL,
	unique_value text,
	PRIMARY KEY (tenant_id, asset_id, field_id),
	UNIQUE (tenant_id, field_id, unique_value),
	FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, field_id) REFERENCES custom_fields (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX asset_field_values_value ON asset_field_values (tenant_id, field_id, value);

-- A model names its field set.
ALTER TABLE models ADD COLUMN field_set_id uuid;
ALTER TABLE models ADD FOREIGN KEY (tenant_id, field_set_id) REFERENCES field_sets (tenant_id, id);

-- A category's depreciation schedule, followed by the assets of its models
-- unless the model names one of its own.
CREATE TABLE depreciation_categories (
	tenant_id       uuid NOT NULL,
	category_id     uuid NOT NULL,
	depreciation_id uuid NOT NULL,
	PRIMARY KEY (tenant_id, category_id),
	FOREIGN KEY (tenant_id, category_id) REFERENCES categories (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, depreciation_id) REFERENCES depreciations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX depreciation_categories_depreciation ON depreciation_categories (tenant_id, depreciation_id);

ALTER TABLE custom_fields ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_fields FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_fields
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON custom_fields TO qm_serving;

ALTER TABLE field_sets ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_sets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON field_sets
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON field_sets TO qm_serving;

ALTER TABLE field_set_fields ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_set_fields FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON field_set_fields
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON field_set_fields TO qm_serving;

ALTER TABLE field_set_categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE field_set_categories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON field_set_categories
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON field_set_categories TO qm_serving;

ALTER TABLE asset_field_values ENABLE ROW LEVEL SECURITY;
ALTER TABLE asset_field_values FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON asset_field_values
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON asset_field_values TO qm_serving;

ALTER TABLE depreciation_categories ENABLE ROW LEVEL SECURITY;
ALTER TABLE depreciation_categories FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON depreciation_categories
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);
GRANT SELECT, INSERT, UPDATE, DELETE ON depreciation_categories TO qm_serving;

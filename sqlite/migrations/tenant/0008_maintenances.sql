CREATE TABLE maintenances (
	tenant_id    TEXT NOT NULL,
	id           TEXT NOT NULL,
	asset_id     TEXT NOT NULL,
	kind         TEXT NOT NULL,
	title        TEXT NOT NULL,
	started_on   TEXT NOT NULL,
	completed_on TEXT,
	cost_cents   INTEGER,
	supplier_id  TEXT,
	notes        TEXT NOT NULL DEFAULT '',
	created_at   TIMESTAMP NOT NULL,
	updated_at   TIMESTAMP NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id) ON DELETE CASCADE,
	FOREIGN KEY (tenant_id, supplier_id) REFERENCES suppliers (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX maintenances_asset ON maintenances (tenant_id, asset_id, started_on);

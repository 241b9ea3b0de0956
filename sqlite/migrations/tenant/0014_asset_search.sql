-- Text search over assets: an FTS5 index with the trigram tokenizer finds
-- any substring of three or more characters of an asset's tag, name,
-- serial, notes or model name, case-insensitively, without reading every
-- asset. It stores no text of its own (contentless), only the index.
--
-- FTS5 keys its rows by integer; assets are keyed by (tenant_id, id).
-- asset_search_rows gives each asset its integer and holds the tenant, so a
-- search names the tenant it searches, in the pool as in a silo.
CREATE TABLE asset_search_rows (
	rowid     INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	asset_id  TEXT NOT NULL,
	UNIQUE (tenant_id, asset_id)
);

CREATE VIRTUAL TABLE asset_search USING fts5(
	tag, name, serial, notes, model,
	tokenize = 'trigram', content = '', contentless_delete = 1
);

INSERT INTO asset_search_rows (tenant_id, asset_id) SELECT tenant_id, id FROM assets;
INSERT INTO asset_search (rowid, tag, name, serial, notes, model)
	SELECT r.rowid, a.tag, a.name, a.serial, a.notes, m.name
	FROM asset_search_rows r
	JOIN assets a ON a.tenant_id = r.tenant_id AND a.id = r.asset_id
	JOIN models m ON m.tenant_id = a.tenant_id AND m.id = a.model_id;

-- Triggers keep the index in step with every way assets change: the store,
-- imports, and rows written straight into the table.
CREATE TRIGGER asset_search_insert AFTER INSERT ON assets
BEGIN
	INSERT INTO asset_search_rows (tenant_id, asset_id) VALUES (new.tenant_id, new.id);
	INSERT INTO asset_search (rowid, tag, name, serial, notes, model)
		VALUES (last_insert_rowid(), new.tag, new.name, new.serial, new.notes,
			(SELECT name FROM models WHERE tenant_id = new.tenant_id AND id = new.model_id));
END;

-- A contentless index is updated by giving every column anew.
CREATE TRIGGER asset_search_update AFTER UPDATE OF tag, name, serial, notes, model_id ON assets
WHEN old.tag IS NOT new.tag OR old.name IS NOT new.name OR old.serial IS NOT new.serial
	OR old.notes IS NOT new.notes OR old.model_id IS NOT new.model_id
BEGIN
	UPDATE asset_search SET tag = new.tag, name = new.name, serial = new.serial, notes = new.notes,
		model = (SELECT name FROM models WHERE tenant_id = new.tenant_id AND id = new.model_id)
	WHERE rowid = (SELECT rowid FROM asset_search_rows WHERE tenant_id = new.tenant_id AND asset_id = new.id);
END;

CREATE TRIGGER asset_search_delete AFTER DELETE ON assets
BEGIN
	DELETE FROM asset_search
	WHERE rowid = (SELECT rowid FROM asset_search_rows WHERE tenant_id = old.tenant_id AND asset_id = old.id);
	DELETE FROM asset_search_rows WHERE tenant_id = old.tenant_id AND asset_id = old.id;
END;

-- Renaming a model renames it in the index entry of each of its assets.
CREATE TRIGGER asset_search_model_rename AFTER UPDATE OF name ON models
WHEN old.name IS NOT new.name
BEGIN
	UPDATE asset_search SET tag = a.tag, name = a.name, serial = a.serial, notes = a.notes, model = new.name
	FROM asset_search_rows r
	JOIN assets a ON a.tenant_id = r.tenant_id AND a.id = r.asset_id
	WHERE a.tenant_id = new.tenant_id AND a.model_id = new.id AND asset_search.rowid = r.rowid;
END;

-- The last day of the warranty, as Asset.WarrantyEnd computes it: the
-- purchase date plus the months, less a day, a month's overflow carried
-- into the next (January 31 plus one month is March 3). NULL without both.
ALTER TABLE assets ADD COLUMN warranty_end TEXT
	GENERATED ALWAYS AS (date(purchase_date, '+' || warranty_months || ' months', '-1 day')) VIRTUAL;
CREATE INDEX assets_warranty_end ON assets (tenant_id, warranty_end);

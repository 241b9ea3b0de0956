-- Text search over assets through a trigram index (pg_trgm): any substring
-- of three or more characters of an asset's tag, name, serial, notes or
-- model name is found without reading every asset.
--
-- Row-level security keeps the serving role's LIKE off any index: LIKE is
-- not leakproof, so PostgreSQL applies it only after the tenant policy, row
-- by row. So the searchable text lives in asset_search, which the serving
-- role cannot read at all. It searches through asset_search_ids, which runs
-- as the owner, answers only for the tenant of the transaction, as the
-- policies do, and returns ids, which the caller reads from assets under
-- the policies. asset_search enables row-level security without forcing it
-- on its owner, so that function can use the index; it is the one tenant
-- table that does not force it.

-- pg_trgm, and btree_gin for tenant_id in the same index, are trusted
-- extensions, so the owner may install them. They are made once per
-- database, pool and bridge schemas sharing them, in a schema of their own
-- unless already installed. This migration's objects find them on the
-- search path, which lists the tenant's schema first, then theirs, and
-- pg_temp last, so the functions below, which capture it, run as the owner
-- on no object a caller could plant.
DO $$
DECLARE
	ext text;
BEGIN
	FOREACH ext IN ARRAY ARRAY['pg_trgm', 'btree_gin'] LOOP
		IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = ext) THEN
			BEGIN
				CREATE SCHEMA IF NOT EXISTS extensions;
				EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I SCHEMA extensions', ext);
			EXCEPTION WHEN unique_violation OR duplicate_schema OR duplicate_object THEN
				NULL; -- another tenant's migration made it at the same moment
			END;
		END IF;
	END LOOP;
	PERFORM set_config('search_path', format('%I, %s, pg_temp', current_schema(),
		(SELECT string_agg(DISTINCT quote_ident(n.nspname), ', ') FROM pg_extension e
			JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname IN ('pg_trgm', 'btree_gin'))), true);
END $$;

CREATE TABLE asset_search (
	tenant_id uuid NOT NULL,
	asset_id  uuid NOT NULL,
	text      text NOT NULL,
	PRIMARY KEY (tenant_id, asset_id)
);
ALTER TABLE asset_search ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON asset_search
	USING (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid)
	WITH CHECK (tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid);

-- The text searched: the fields lower-cased, a line each, so that a search
-- without a line break matches within one field.
CREATE FUNCTION asset_search_text(tag text, name text, serial text, notes text, model text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN lower(tag || E'\n' || name || E'\n' || serial || E'\n' || notes || E'\n' || coalesce(model, ''));

-- The existing assets, read past the policies: no tenant is in scope here.
ALTER TABLE assets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE models NO FORCE ROW LEVEL SECURITY;
INSERT INTO asset_search (tenant_id, asset_id, text)
	SELECT a.tenant_id, a.id, asset_search_text(a.tag, a.name, a.serial, a.notes, m.name)
	FROM assets a JOIN models m ON m.tenant_id = a.tenant_id AND m.id = a.model_id;
ALTER TABLE assets FORCE ROW LEVEL SECURITY;
ALTER TABLE models FORCE ROW LEVEL SECURITY;

-- The tenant in the index too: a search reads only its tenant's entries,
-- however many other pool tenants share the table, and the index suits it
-- better than the primary key whatever the planner's statistics say.
CREATE INDEX asset_search_text ON asset_search USING gin (tenant_id, text gin_trgm_ops) WITH (fastupdate = off);

-- Triggers keep the text in step with every way assets change: the store,
-- imports, and rows written straight into the table. They run as the
-- owner, which alone may write asset_search. (No foreign key to assets: its
-- check would look an asset up for every row written, with a plan the
-- connection keeps from when the table was empty, and may read all of a
-- tenant's assets each time.)
CREATE FUNCTION asset_search_sync() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		DELETE FROM asset_search WHERE tenant_id = OLD.tenant_id AND asset_id = OLD.id;
	ELSE
		INSERT INTO asset_search (tenant_id, asset_id, text)
		VALUES (NEW.tenant_id, NEW.id, asset_search_text(NEW.tag, NEW.name, NEW.serial, NEW.notes,
			(SELECT name FROM models WHERE tenant_id = NEW.tenant_id AND id = NEW.model_id)))
		ON CONFLICT (tenant_id, asset_id) DO UPDATE SET text = excluded.text;
	END IF;
	RETURN NULL;
END $$;
CREATE TRIGGER asset_search_insert AFTER INSERT ON assets
	FOR EACH ROW EXECUTE FUNCTION asset_search_sync();
CREATE TRIGGER asset_search_update AFTER UPDATE OF tag, name, serial, notes, model_id ON assets
	FOR EACH ROW WHEN ((OLD.tag, OLD.name, OLD.serial, OLD.notes, OLD.model_id) IS DISTINCT FROM
		(NEW.tag, NEW.name, NEW.serial, NEW.notes, NEW.model_id))
	EXECUTE FUNCTION asset_search_sync();
CREATE TRIGGER asset_search_delete AFTER DELETE ON assets
	FOR EACH ROW EXECUTE FUNCTION asset_search_sync();

CREATE FUNCTION asset_search_model_renamed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
	UPDATE asset_search s SET text = asset_search_text(a.tag, a.name, a.serial, a.notes, NEW.name)
	FROM assets a
	WHERE a.tenant_id = NEW.tenant_id AND a.model_id = NEW.id AND s.tenant_id = a.tenant_id AND s.asset_id = a.id;
	RETURN NULL;
END $$;
CREATE TRIGGER asset_search_model_rename AFTER UPDATE OF name ON models
	FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
	EXECUTE FUNCTION asset_search_model_renamed();

-- The ids of the assets of tenant whose text matches the LIKE pattern:
-- none unless tenant is the tenant of the transaction. Each call is planned
-- for its own tenant and pattern: a plan made for any may read all of a
-- tenant's rows by the primary key rather than use the trigram index.
CREATE FUNCTION asset_search_ids(tenant uuid, pattern text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path FROM CURRENT SET plan_cache_mode = force_custom_plan AS $$
BEGIN
	RETURN QUERY SELECT asset_id FROM asset_search
		WHERE tenant_id = tenant AND tenant_id = NULLIF(current_setting('qm.tenant_id', true), '')::uuid
			AND text LIKE pattern;
END $$;
REVOKE ALL ON FUNCTION asset_search_ids(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION asset_search_ids(uuid, text) TO qm_serving;

-- The last day of the warranty, as Asset.WarrantyEnd computes it: the
-- purchase date plus the months, less a day, a month's overflow carried
-- into the next (January 31 plus one month is March 3, as in Go and
-- SQLite, not February 28, as date + interval gives). NULL without both.
ALTER TABLE assets ADD COLUMN warranty_end date GENERATED ALWAYS AS (
	(date_trunc('month', purchase_date::timestamp) + make_interval(months => warranty_months))::date
	+ (extract(day FROM purchase_date)::integer - 2)) STORED;
CREATE INDEX assets_warranty_end ON assets (tenant_id, warranty_end);

-- An import writes the search text of thousands of assets in one
-- transaction, 500 to a statement. Under auto_explain two things took
-- most of its time:
--
-- The trigram index took each asset's seventy-odd trigrams one by one into
-- its tree (fastupdate off). With fastupdate on, they go to the index's
-- pending list and into the tree in sorted bulk when the list passes
-- gin_pending_list_limit, kept small (512 kB) because a search reads the
-- pending list too.
ALTER INDEX asset_search_text SET (fastupdate = on, gin_pending_list_limit = 512);

-- The triggers ran a function, a look-up of the model's name and an insert
-- for each asset. They now run once a statement, over the rows it wrote
-- (its transition tables), with one insert that joins the models: the same
-- text for every way assets change (the store writes one row a statement,
-- an import many). An UPDATE trigger with transition tables cannot name
-- the columns it watches, so it compares them itself.
-- asset_search_put writes the text of assets, as the owner: only the
-- trigger functions below, which run as the owner, call it.
CREATE FUNCTION asset_search_put(written assets[]) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO asset_search (tenant_id, asset_id, text)
	SELECT n.tenant_id, n.id, asset_search_text(n.tag, n.name, n.serial, n.notes, m.name)
	FROM unnest(written) n LEFT JOIN models m ON m.tenant_id = n.tenant_id AND m.id = n.model_id
	ON CONFLICT (tenant_id, asset_id) DO UPDATE SET text = excluded.text
$$;
REVOKE ALL ON FUNCTION asset_search_put(assets[]) FROM PUBLIC;

CREATE FUNCTION asset_search_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
	PERFORM asset_search_put(ARRAY(SELECT n::assets FROM new_rows n));
	RETURN NULL;
END $$;

CREATE FUNCTION asset_search_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
	PERFORM asset_search_put(ARRAY(SELECT n::assets FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
		WHERE (o.tag, o.name, o.serial, o.notes, o.model_id) IS DISTINCT FROM (n.tag, n.name, n.serial, n.notes, n.model_id)));
	RETURN NULL;
END $$;

CREATE FUNCTION asset_search_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
	DELETE FROM asset_search s USING old_rows o WHERE s.tenant_id = o.tenant_id AND s.asset_id = o.id;
	RETURN NULL;
END $$;

DROP TRIGGER asset_search_insert ON assets;
DROP TRIGGER asset_search_update ON assets;
DROP TRIGGER asset_search_delete ON assets;
DROP FUNCTION asset_search_sync();
CREATE TRIGGER asset_search_insert AFTER INSERT ON assets
	REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_search_inserted();
CREATE TRIGGER asset_search_update AFTER UPDATE ON assets
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_search_updated();
CREATE TRIGGER asset_search_delete AFTER DELETE ON assets
	REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION asset_search_deleted();

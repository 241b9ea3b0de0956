-- Citus distributes no table that has triggers, so the search text is no
-- longer kept by triggers on assets and models: the engine's connection
-- calls asset_search_refresh after every statement that writes either
-- table, in the same transaction (postgres/search.go), the one way the
-- serving role writes them.
DROP TRIGGER asset_search_insert ON assets;
DROP TRIGGER asset_search_update ON assets;
DROP TRIGGER asset_search_delete ON assets;
DROP TRIGGER asset_search_model_rename ON models;
DROP FUNCTION asset_search_inserted(), asset_search_updated(), asset_search_deleted(),
	asset_search_model_renamed(), asset_search_put(assets[]);

-- asset_search_refresh brings up to date the search text of the assets of
-- tenant named by asset_ids (added, changed or deleted) and of every asset
-- of model_ids (renamed). It runs as the owner, which alone may write
-- asset_search, and only for the tenant of the transaction; its statements
-- name the tenant by equality, so Citus routes each to the tenant's shard.
-- Each call is planned for its own ids, as asset_search_ids is.
CREATE FUNCTION asset_search_refresh(tenant uuid, asset_ids uuid[], model_ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path FROM CURRENT SET plan_cache_mode = force_custom_plan AS $$
BEGIN
	IF tenant IS DISTINCT FROM NULLIF(current_setting('qm.tenant_id', true), '')::uuid THEN
		RAISE EXCEPTION 'asset_search_refresh: % is not the tenant of the transaction', tenant
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	DELETE FROM asset_search s
	WHERE s.tenant_id = tenant AND s.asset_id = ANY(asset_ids)
		AND NOT EXISTS (SELECT FROM assets a WHERE a.tenant_id = tenant AND a.id = s.asset_id);
	INSERT INTO asset_search (tenant_id, asset_id, text)
	SELECT a.tenant_id, a.id, asset_search_text(a.tag, a.name, a.serial, a.notes, m.name)
	FROM assets a LEFT JOIN models m ON m.tenant_id = tenant AND m.id = a.model_id
	WHERE a.tenant_id = tenant AND (a.id = ANY(asset_ids) OR a.model_id = ANY(model_ids))
	ON CONFLICT (tenant_id, asset_id) DO UPDATE SET text = excluded.text
		WHERE asset_search.text IS DISTINCT FROM excluded.text;
END $$;
REVOKE ALL ON FUNCTION asset_search_refresh(uuid, uuid[], uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION asset_search_refresh(uuid, uuid[], uuid[]) TO qm_serving;

-- The triggers kept the text current until now; the text of every asset is
-- written again all the same, so the index holds whatever came before,
-- read past the policies: no tenant is in scope here.
ALTER TABLE assets NO FORCE ROW LEVEL SECURITY;
ALTER TABLE models NO FORCE ROW LEVEL SECURITY;
DELETE FROM asset_search s
WHERE NOT EXISTS (SELECT FROM assets a WHERE a.tenant_id = s.tenant_id AND a.id = s.asset_id);
INSERT INTO asset_search (tenant_id, asset_id, text)
SELECT a.tenant_id, a.id, asset_search_text(a.tag, a.name, a.serial, a.notes, m.name)
FROM assets a LEFT JOIN models m ON m.tenant_id = a.tenant_id AND m.id = a.model_id
ON CONFLICT (tenant_id, asset_id) DO UPDATE SET text = excluded.text
	WHERE asset_search.text IS DISTINCT FROM excluded.text;
ALTER TABLE assets FORCE ROW LEVEL SECURITY;
ALTER TABLE models FORCE ROW LEVEL SECURITY;

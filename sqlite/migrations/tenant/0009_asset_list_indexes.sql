-- Filtered, sorted pages of assets: an index per common filter that also
-- gives the sort order, so a page reads 50 index entries, and a count reads
-- the index alone.
CREATE INDEX assets_status_name ON assets (tenant_id, status_id, name, id);
CREATE INDEX assets_model_created ON assets (tenant_id, model_id, created_at, id);
DROP INDEX assets_status;
DROP INDEX assets_model;

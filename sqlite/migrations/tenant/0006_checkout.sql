-- Who or what holds a checked-out asset: a user of the tenant, a location
-- or another asset. No foreign key: a user lives in the catalog, and the
-- store checks every kind within the tenant.
ALTER TABLE assets ADD COLUMN holder_type TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN holder_id TEXT NOT NULL DEFAULT '';
ALTER TABLE assets ADD COLUMN checked_out_at TIMESTAMP;
ALTER TABLE assets ADD COLUMN expected_return TEXT;
CREATE INDEX assets_holder ON assets (tenant_id, holder_type, holder_id);

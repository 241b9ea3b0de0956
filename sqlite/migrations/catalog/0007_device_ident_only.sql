-- A device may report by its ident alone (OsmAnd without a key) only when
-- the operator marks it so, for trackers that cannot send a key; existing
-- devices are not marked, so every one of them must now present its key.
ALTER TABLE devices ADD COLUMN ident_only BOOLEAN NOT NULL DEFAULT FALSE;

-- A tenant lists the devices it held and gave up, to read their history.
CREATE INDEX device_custody_tenant ON device_custody (tenant_id, device_id);

-- A tenant being deleted is suspended, not served, with the time it is
-- purged, who deleted it and when, and the devices it gave back to the inventory
-- (ids, one a line), which a restore takes back when they are still free.
ALTER TABLE tenants ADD COLUMN delete_after TIMESTAMP;
ALTER TABLE tenants ADD COLUMN deleted_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN deleted_at TIMESTAMP;
ALTER TABLE tenants ADD COLUMN released_devices TEXT NOT NULL DEFAULT '';

-- What is kept of a tenant purged: who it was, who deleted it and when,
-- what the purge removed (JSON: rows by table), and that nothing was
-- found after (a purge that finds something writes none). Keyed by the
-- tenant's id under another name: a tombstone is no row of the tenant's.
CREATE TABLE tombstones (
	purged_tenant TEXT PRIMARY KEY,
	slug          TEXT NOT NULL,
	name          TEXT NOT NULL,
	tier          TEXT NOT NULL,
	engine        TEXT NOT NULL,
	deleted_at    TIMESTAMP NOT NULL,
	deleted_by    TEXT NOT NULL,
	purged_at     TIMESTAMP NOT NULL,
	removed       TEXT NOT NULL,
	verified      BOOLEAN NOT NULL
);

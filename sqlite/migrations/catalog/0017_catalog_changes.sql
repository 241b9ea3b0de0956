-- Changes of the catalog that the caches of the processes sharing this
-- data directory must forget at once: a tenant's row or limits, an API
-- token, a device's credential or custody (catalog.publish writes them, in
-- the transaction of the change). Every process serving polls the rows
-- after the last it saw (catalog.WatchChanges). SQLite has one writer, so
-- rows commit in the order of their seq.
CREATE TABLE catalog_changes (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	kind   TEXT NOT NULL,
	key    TEXT NOT NULL,
	action TEXT NOT NULL,
	origin TEXT NOT NULL,
	at     TIMESTAMP NOT NULL
);
CREATE INDEX catalog_changes_at ON catalog_changes (at);

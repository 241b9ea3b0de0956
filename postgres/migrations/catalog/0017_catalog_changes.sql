-- Changes of the catalog that the nodes' caches must forget at once: a
-- tenant's row or limits, an API token, a device's credential or custody
-- (catalog.publish writes them, in the transaction of the change). Every
-- node reads the rows after the last it saw (catalog.WatchChanges),
-- woken by the notice on qm_catalog_changes, and polling as a backstop.
--
-- seq is given under a lock held until commit, so rows commit in the
-- order of their seq and a reader that has seen seq n has seen every row
-- before it: a sequence alone hands out numbers that may commit out of
-- order. Publishing is rare (an operator's or an admin's change).
CREATE TABLE catalog_changes (
	seq    bigint PRIMARY KEY,
	kind   text NOT NULL,
	key    text NOT NULL,
	action text NOT NULL,
	origin text NOT NULL,
	at     timestamptz NOT NULL
);
CREATE INDEX catalog_changes_at ON catalog_changes (at);
CREATE SEQUENCE catalog_changes_seq;
CREATE FUNCTION catalog_change_publish() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('catalog_changes'));
	NEW.seq := nextval('catalog_changes_seq');
	PERFORM pg_notify('qm_catalog_changes', '');
	RETURN NEW;
END $$;
CREATE TRIGGER catalog_changes_publish BEFORE INSERT ON catalog_changes
	FOR EACH ROW EXECUTE FUNCTION catalog_change_publish();

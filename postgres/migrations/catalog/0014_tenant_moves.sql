-- A tenant moving to another tier or server: where it goes and the state
-- it had (JSON), while its data is copied, and, once the catalog points
-- at its new place, where its old copy was, until that copy is removed.
-- A process killed during a move leaves one of the two, for the next to
-- roll back or finish.
ALTER TABLE tenants ADD COLUMN moving_to text NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN moved_from text NOT NULL DEFAULT '';

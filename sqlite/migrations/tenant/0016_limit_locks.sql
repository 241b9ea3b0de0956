-- A row per tenant and capped kind of thing (max_assets, …), locked by a
-- transaction that counts them before adding one, so two at once cannot
-- both take the last place under a cap.
CREATE TABLE limit_locks (
	tenant_id TEXT NOT NULL,
	name      TEXT NOT NULL,
	PRIMARY KEY (tenant_id, name)
) WITHOUT ROWID;

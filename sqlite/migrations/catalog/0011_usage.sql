-- What each tenant used, per day and meter, as counted by each node since
-- it started (node names one run of one process). A node writes its own
-- running totals, so writing again never counts twice; a tenant's usage is
-- the sum over nodes.
CREATE TABLE usage (
	node      TEXT NOT NULL,
	tenant_id TEXT NOT NULL,
	day       TEXT NOT NULL, -- YYYY-MM-DD, UTC
	meter     TEXT NOT NULL,
	value     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, day, meter, node)
);

-- The state of each tenant's monthly quotas (ok, warning at 80%, exceeded),
-- so a change of state is recorded once.
CREATE TABLE quota_states (
	tenant_id TEXT NOT NULL,
	month     TEXT NOT NULL, -- YYYY-MM
	quota     TEXT NOT NULL, -- the limit: points_per_month, api_requests_per_month
	state     TEXT NOT NULL,
	PRIMARY KEY (tenant_id, month, quota)
);

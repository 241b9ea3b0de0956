-- What each tenant used, per day and meter, as counted by each node since
-- it started (node names one run of one process). A node writes its own
-- running totals, so writing again never counts twice; a tenant's usage is
-- the sum over nodes.
CREATE TABLE usage (
	node      text NOT NULL,
	tenant_id uuid NOT NULL,
	day       date NOT NULL,
	meter     text NOT NULL,
	value     bigint NOT NULL,
	PRIMARY KEY (tenant_id, day, meter, node)
);

-- The state of each tenant's monthly quotas (ok, warning at 80%, exceeded),
-- so a change of state is recorded once.
CREATE TABLE quota_states (
	tenant_id uuid NOT NULL,
	month     text NOT NULL, -- YYYY-MM
	quota     text NOT NULL, -- the limit: points_per_month, api_requests_per_month
	state     text NOT NULL,
	PRIMARY KEY (tenant_id, month, quota)
);

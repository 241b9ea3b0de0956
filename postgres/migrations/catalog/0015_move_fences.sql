-- A move's write pause, as each node serving confirms it: the node has
-- stopped admitting work for the tenant and drained what was in flight
-- (the pause names the one in the tenant's moving_to). The mover waits
-- for every live node's row before it copies the last changes.
CREATE TABLE move_fences (
	tenant_id uuid NOT NULL,
	node      text NOT NULL,
	pause     text NOT NULL,
	PRIMARY KEY (tenant_id, node)
);

-- Each node's heartbeat: the nodes seen lately share each tenant's rates.
CREATE TABLE nodes (
	name    text PRIMARY KEY,
	seen_at timestamptz NOT NULL
);

-- Each node's heartbeat: the nodes seen lately share each tenant's rates.
CREATE TABLE nodes (
	name    TEXT PRIMARY KEY,
	seen_at TIMESTAMP NOT NULL
);

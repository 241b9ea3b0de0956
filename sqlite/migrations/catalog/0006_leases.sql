-- Leases: a background job runs on the one node holding its lease.
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	expires_at TIMESTAMP NOT NULL
);

-- The serving role may only read and add to the audit log; a tenant's
-- rows leave only with the tenant, when the tables' owner purges it (the
-- same version as SQLite's, whose trigger needs telling).
COMMENT ON TABLE audit_log IS 'append-only to the serving role; a tenant''s rows leave only when the tenant is purged';

-- PostgreSQL's 0025 drops the triggers that keep its search index, which
-- Citus would refuse. SQLite is never distributed: its triggers keep its
-- index (0014), so it has nothing to change; the version is kept so both
-- engines count the same steps.
SELECT 1;

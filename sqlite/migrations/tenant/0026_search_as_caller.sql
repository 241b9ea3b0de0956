-- PostgreSQL's 0026 has its search index written as the serving role, for
-- Citus. SQLite's triggers keep its index (0014): nothing changes, and the
-- version is kept so both engines count the same steps.
SELECT 1;

-- PostgreSQL's 0016 lets its trigram index take an import's entries in
-- bulk. FTS5 already keeps a statement's entries in memory and writes them
-- as one segment, so SQLite has nothing to change; the version is kept so
-- both engines count the same steps.
SELECT 1;

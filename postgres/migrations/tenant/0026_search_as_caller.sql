-- Citus runs what a transaction does on a shard over one connection, as
-- one user: asset_search_refresh, run as the owner right after the serving
-- role wrote assets in the same transaction, was refused there ("cannot
-- perform query on placements that were modified in this transaction by a
-- different user"). It runs as its caller now, the serving role, which
-- reads and writes asset_search under the tenant policy (row-level
-- security applies to it: it is not the owner). Searching still goes
-- through asset_search_ids, as the owner, for the trigram index that the
-- policy would keep LIKE off; in a statement of its own, for Citus runs no
-- distributed query from within one on a shard (postgres/router.go).
ALTER FUNCTION asset_search_refresh(uuid, uuid[], uuid[]) SECURITY INVOKER;
GRANT SELECT, INSERT, UPDATE, DELETE ON asset_search TO qm_serving;

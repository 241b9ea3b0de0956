-- An import writes the search text of thousands of assets in one
-- transaction. With fastupdate off, the trigram index took each asset's
-- seventy-odd trigrams one by one into its tree: three quarters of an
-- import's time. With it on, they go to the index's pending list and into
-- the tree in sorted bulk when the list passes gin_pending_list_limit,
-- kept small (512 kB) because a search reads the pending list too. What a
-- search finds does not change.
ALTER INDEX asset_search_text SET (fastupdate = on, gin_pending_list_limit = 512);

-- A placeholder for the migration another branch numbers 0015, so that
-- this branch's 0016 loads (versions run without gaps). Drop it at merge.
SELECT 1;

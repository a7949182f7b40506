ALTER TABLE sync_runs DROP COLUMN IF EXISTS field_conflicts;
ALTER TABLE sync_links DROP COLUMN IF EXISTS base;
ALTER TABLE connections DROP COLUMN IF EXISTS conflict_policy;
ALTER TABLE deals DROP COLUMN IF EXISTS field_sources;
ALTER TABLE contacts DROP COLUMN IF EXISTS field_sources;

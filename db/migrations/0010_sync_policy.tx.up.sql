-- Conflict policy and provenance (issue 13). Only columns on existing
-- tenant tables, which keep their keys and row-level security.
--
-- field_sources records, per field of a contact or deal, who set its
-- current value and when: {"name": {"source": "key_...", "at": "..."}}.
-- It is written by the same UPDATE that writes the value, so it cannot
-- drift from it and costs no round trip.
ALTER TABLE contacts ADD COLUMN field_sources jsonb NOT NULL DEFAULT '{}';
ALTER TABLE deals ADD COLUMN field_sources jsonb NOT NULL DEFAULT '{}';

-- conflict_policy decides a field changed on both sides since the last run.
ALTER TABLE connections ADD COLUMN conflict_policy text NOT NULL DEFAULT 'NEWEST_WINS'
  CHECK (conflict_policy IN ('NEWEST_WINS', 'HUB_WINS', 'REMOTE_WINS'));

-- base is what both sides agreed on, per field, at the end of the last run
-- that touched the link: the third side of the three-way comparison.
ALTER TABLE sync_links ADD COLUMN base jsonb;

-- field_conflicts lists the run's per-field decisions (bounded like errors).
ALTER TABLE sync_runs ADD COLUMN field_conflicts jsonb NOT NULL DEFAULT '[]';

DROP INDEX IF EXISTS events_occurred_at;
DROP FUNCTION IF EXISTS prune_events(timestamptz, int);

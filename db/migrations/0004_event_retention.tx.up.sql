-- prune_events deletes events older than `before`, at most max_rows per call,
-- across workspaces, for the retention loop. SECURITY DEFINER lets the
-- service role do this one cross-tenant delete; it returns only a count.
-- Webhook dispatch cursors are positions, so pruning old events never makes
-- the dispatcher repeat or skip anything newer.
CREATE FUNCTION prune_events(before timestamptz, max_rows int)
  RETURNS bigint
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
    WITH doomed AS (
      SELECT workspace_id, position FROM events WHERE occurred_at < before
      ORDER BY occurred_at LIMIT max_rows
    ), gone AS (
      DELETE FROM events e USING doomed d
      WHERE e.workspace_id = d.workspace_id AND e.position = d.position
      RETURNING 1
    )
    SELECT count(*) FROM gone
  $$;
REVOKE ALL ON FUNCTION prune_events(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_events(timestamptz, int) TO crmhub_app;
CREATE INDEX events_occurred_at ON events (occurred_at);

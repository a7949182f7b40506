-- Run lifecycle: a lease with heartbeats on each sync run, so that a run
-- whose process died is taken over by a live process, and CANCELLED runs.
-- lease_owner is the token of the claim that works the run (NULL: nobody
-- holds it, any process may claim it); lease_until is when that claim
-- lapses unless its holder's heartbeat moves it on. A RUNNING run whose
-- lease lapsed belongs to a dead process.
ALTER TABLE sync_runs
  ADD COLUMN lease_owner uuid,
  ADD COLUMN lease_until timestamptz;

-- The runs a takeover looks at: few rows (RUNNING ones only).
CREATE INDEX sync_runs_running_lease ON sync_runs (workspace_id, lease_until) WHERE status = 'RUNNING';

-- sync_takeover hands the RUNNING runs whose lease lapsed before `now` to
-- the caller, across workspaces (SECURITY DEFINER, like sync_due): it
-- clears their owner and holds them until `hold` so that no other sweep
-- hands them out again while the caller queues their jobs in the same
-- transaction. SKIP LOCKED lets concurrent sweeps split the work. ids only.
CREATE FUNCTION sync_takeover(now timestamptz, hold timestamptz, max_rows int)
  RETURNS TABLE (workspace_id uuid, id uuid)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
    WITH lapsed AS (
      SELECT r.workspace_id, r.id FROM sync_runs r
      WHERE r.status = 'RUNNING' AND (r.lease_until IS NULL OR r.lease_until < now)
      ORDER BY r.workspace_id, r.id LIMIT max_rows
      FOR UPDATE SKIP LOCKED
    )
    UPDATE sync_runs r SET lease_owner = NULL, lease_until = hold
    FROM lapsed l WHERE r.workspace_id = l.workspace_id AND r.id = l.id
    RETURNING r.workspace_id, r.id
  $$;
REVOKE ALL ON FUNCTION sync_takeover(timestamptz, timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync_takeover(timestamptz, timestamptz, int) TO crmhub_app;

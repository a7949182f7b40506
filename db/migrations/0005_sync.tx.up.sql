-- Sync with external CRMs: connections (API keys sealed like webhook
-- secrets), runs, the link of each remote record to its hub record with
-- the fingerprint of what was last pulled, and identity conflicts. Same
-- rules as 0001: workspace_id first in every key and index, RLS (FORCE).

CREATE TABLE connections (
  workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id            uuid NOT NULL,
  kind          text NOT NULL,
  name          text NOT NULL,
  base_url      text NOT NULL,
  -- The remote API key, AES-256-GCM sealed with the server's secret key.
  api_key       bytea NOT NULL,
  direction     text NOT NULL,
  entities      text[] NOT NULL,
  options       jsonb NOT NULL DEFAULT '{}',
  enabled       boolean NOT NULL DEFAULT true,
  schedule_seconds    int NOT NULL DEFAULT 0,
  rate_limit_per_minute int NOT NULL DEFAULT 0,
  -- push_position is the event position up to which hub changes have been
  -- pushed; a new connection starts at the workspace's current end.
  push_position bigint NOT NULL,
  last_sync_at  timestamptz,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE sync_runs (
  workspace_id  uuid NOT NULL,
  id            uuid NOT NULL,
  connection_id uuid NOT NULL,
  mode          text NOT NULL,
  dry_run       boolean NOT NULL,
  status        text NOT NULL,
  trigger       text NOT NULL,
  -- progress is where the run is (entity, phase, remote cursor), saved
  -- with every page so a killed run resumes there.
  progress      jsonb NOT NULL DEFAULT '{}',
  stats         jsonb NOT NULL DEFAULT '{}',
  errors        jsonb NOT NULL DEFAULT '[]',
  plan          jsonb NOT NULL DEFAULT '[]',
  created_at    timestamptz NOT NULL,
  started_at    timestamptz,
  finished_at   timestamptz,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX sync_runs_connection ON sync_runs (workspace_id, connection_id, id DESC);
-- One run at a time per connection, checked by the database.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (workspace_id, connection_id)
  WHERE status IN ('QUEUED', 'RUNNING');

-- sync_links: remote record -> hub record, per connection and entity.
-- fingerprint hashes the remote record as last pulled or pushed: equal
-- means unchanged, and the record costs no write. seen_run is the last run
-- that saw it in a listing (a full run unlinks those it did not see).
CREATE TABLE sync_links (
  workspace_id  uuid NOT NULL,
  connection_id uuid NOT NULL,
  entity        text NOT NULL,
  external_id   text NOT NULL,
  local_id      uuid NOT NULL,
  fingerprint   bytea NOT NULL,
  seen_run      uuid,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, connection_id, entity, external_id),
  FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX sync_links_local ON sync_links (workspace_id, connection_id, entity, local_id);

CREATE TABLE identity_conflicts (
  workspace_id  uuid NOT NULL,
  id            uuid NOT NULL,
  connection_id uuid NOT NULL,
  entity        text NOT NULL,
  external_id   text NOT NULL,
  identifiers   jsonb NOT NULL,
  candidates    uuid[] NOT NULL,
  status        text NOT NULL,
  resolution    text,
  contact_id    uuid,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  resolved_at   timestamptz,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX identity_conflicts_recent ON identity_conflicts (workspace_id, id DESC);
-- One open conflict per remote record; a later run updates it.
CREATE UNIQUE INDEX identity_conflicts_open ON identity_conflicts (workspace_id, connection_id, entity, external_id)
  WHERE status = 'OPEN';

-- sync_due lists, across workspaces, enabled scheduled connections whose
-- next run is due and that have no run queued or running. ids only; the
-- scheduler then works inside each workspace.
CREATE FUNCTION sync_due(now timestamptz, max_rows int)
  RETURNS TABLE (workspace_id uuid, connection_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT c.workspace_id, c.id FROM connections c
    WHERE c.enabled AND c.schedule_seconds > 0
      AND NOT EXISTS (SELECT FROM sync_runs r WHERE r.workspace_id = c.workspace_id
                      AND r.connection_id = c.id AND r.status IN ('QUEUED', 'RUNNING'))
      AND coalesce((SELECT max(r.created_at) FROM sync_runs r WHERE r.workspace_id = c.workspace_id
                    AND r.connection_id = c.id AND r.trigger = 'schedule'), '-infinity')
          <= now - make_interval(secs => c.schedule_seconds)
    ORDER BY c.workspace_id, c.id LIMIT max_rows
  $$;
REVOKE ALL ON FUNCTION sync_due(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync_due(timestamptz, int) TO crmhub_app;

-- connection_workspace finds the workspace of a connection, for the CLI's
-- `crmhub sync --connection ID`; it reveals nothing else.
CREATE FUNCTION connection_workspace(conn uuid)
  RETURNS uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$ SELECT workspace_id FROM connections WHERE id = conn $$;
REVOKE ALL ON FUNCTION connection_workspace(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION connection_workspace(uuid) TO crmhub_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['connections', 'sync_runs', 'sync_links', 'identity_conflicts'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (workspace_id = app_workspace_id()) '
                   'WITH CHECK (workspace_id = app_workspace_id())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO crmhub_app', t);
  END LOOP;
END $$;

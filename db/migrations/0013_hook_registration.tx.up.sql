-- Webhook registration: a connection to a CRM whose API can point its
-- webhooks at a URL (Wazzup, Wazera) has the hub's hook URL registered
-- there by a background loop, with the state of that work on the row:
-- hook_status (MANUAL, PENDING, REGISTERED, UNREGISTERED, FAILED), a note
-- for people (why it is manual, what the CRM answered), the URL registered
-- (without its token), the CRM's id of the registration, and when the
-- loop should look at it next (hook_due_at; NULL when nothing is to do).
ALTER TABLE connections ADD COLUMN hook_status text NOT NULL DEFAULT 'MANUAL'
  CHECK (hook_status IN ('MANUAL', 'PENDING', 'REGISTERED', 'UNREGISTERED', 'FAILED'));
ALTER TABLE connections ADD COLUMN hook_note text;
ALTER TABLE connections ADD COLUMN hook_url text;
ALTER TABLE connections ADD COLUMN hook_remote_id text;
ALTER TABLE connections ADD COLUMN hook_attempts int NOT NULL DEFAULT 0;
ALTER TABLE connections ADD COLUMN hook_due_at timestamptz;
ALTER TABLE connections ADD COLUMN hook_updated_at timestamptz;
CREATE INDEX connections_hook_due ON connections (workspace_id, hook_due_at) WHERE hook_due_at IS NOT NULL;

-- A deleted connection's registration still to be removed at its CRM: the
-- connection's row is gone, so what the removal needs is kept here (its
-- API key still sealed to the connection's id) until the CRM confirms.
CREATE TABLE hook_removals (
  workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id             uuid NOT NULL,
  connection_id  uuid NOT NULL,
  kind           text NOT NULL,
  base_url       text NOT NULL,
  options        jsonb NOT NULL DEFAULT '{}',
  api_key        bytea NOT NULL,
  hook_url       text NOT NULL,
  remote_id      text,
  attempts       int NOT NULL DEFAULT 0,
  note           text,
  due_at         timestamptz NOT NULL,
  created_at     timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX hook_removals_due ON hook_removals (workspace_id, due_at);
ALTER TABLE hook_removals ENABLE ROW LEVEL SECURITY;
ALTER TABLE hook_removals FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON hook_removals USING (workspace_id = app_workspace_id())
  WITH CHECK (workspace_id = app_workspace_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON hook_removals TO crmhub_app;

-- hooks_due lists, across workspaces, the registrations and removals due
-- at `now`, for the registration loop (SECURITY DEFINER like sync_due; it
-- returns only ids, and the loop then works inside each workspace).
CREATE FUNCTION hooks_due(now timestamptz, max_rows int)
  RETURNS TABLE (workspace_id uuid, connection_id uuid, removal_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    (SELECT c.workspace_id, c.id, NULL::uuid FROM connections c
      WHERE c.hook_due_at IS NOT NULL AND c.hook_due_at <= now ORDER BY c.hook_due_at LIMIT max_rows)
    UNION ALL
    (SELECT r.workspace_id, r.connection_id, r.id FROM hook_removals r
      WHERE r.due_at <= now ORDER BY r.due_at LIMIT max_rows)
  $$;
REVOKE ALL ON FUNCTION hooks_due(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hooks_due(timestamptz, int) TO crmhub_app;

-- A conversation an external CRM reported keeps the CRM's id of it, so
-- that the CRM's assignment and resolution webhooks find it.
ALTER TABLE conversations ADD COLUMN external_id text;
CREATE UNIQUE INDEX conversations_external ON conversations (workspace_id, connection_id, external_id)
  WHERE external_id IS NOT NULL;

-- Idempotency keys of mutation requests (the Idempotency-Key header): the
-- first answer is kept for 24 hours per API key, so a retry that reaches
-- any process gets that answer again instead of writing twice. A row is
-- 'running' from the claim until the answer is stored; a claim older than
-- the request deadline belongs to a request whose process died, and may be
-- taken over.
CREATE TABLE idempotency_keys (
  workspace_id  uuid NOT NULL,
  api_key_id    uuid NOT NULL,
  key           text NOT NULL,
  request_hash  bytea NOT NULL,
  state         text NOT NULL CHECK (state IN ('running', 'done')),
  status        int,
  content_type  text,
  body          bytea,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, api_key_id, key),
  FOREIGN KEY (workspace_id, api_key_id) REFERENCES api_keys (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON idempotency_keys USING (workspace_id = app_workspace_id())
  WITH CHECK (workspace_id = app_workspace_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO crmhub_app;

-- prune_idempotency_keys deletes keys created before `before`, at most
-- max_rows per call, across workspaces, for the retention loop (SECURITY
-- DEFINER, like prune_events; it returns only a count).
CREATE FUNCTION prune_idempotency_keys(before timestamptz, max_rows int)
  RETURNS bigint
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
  AS $$
    WITH doomed AS (
      SELECT workspace_id, api_key_id, key FROM idempotency_keys WHERE created_at < before
      ORDER BY created_at LIMIT max_rows
    ), gone AS (
      DELETE FROM idempotency_keys k USING doomed d
      WHERE k.workspace_id = d.workspace_id AND k.api_key_id = d.api_key_id AND k.key = d.key
      RETURNING 1
    )
    SELECT count(*) FROM gone
  $$;
REVOKE ALL ON FUNCTION prune_idempotency_keys(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION prune_idempotency_keys(timestamptz, int) TO crmhub_app;

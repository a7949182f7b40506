-- Outgoing webhooks: endpoints with their sealed signing secrets, one
-- delivery per (event, endpoint) with every attempt, and the dispatcher's
-- cursor into each workspace's event log. Same rules as 0001: workspace_id
-- first in every key and index, RLS (FORCE) on every table.

CREATE TABLE webhook_endpoints (
  workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id              uuid NOT NULL,
  url             text NOT NULL,
  events          text[] NOT NULL,
  description     text,
  enabled         boolean NOT NULL DEFAULT true,
  disabled_reason text,
  -- The signing key, AES-256-GCM sealed with the server's secret key
  -- (never plaintext: signing needs it back, so it cannot be a hash).
  secret          bytea NOT NULL,
  -- The key replaced by the last rotation, signing too until it expires.
  previous_secret            bytea,
  previous_secret_expires_at timestamptz,
  -- from_position is the workspace's last event position when the
  -- endpoint was created or enabled: it receives the events after it.
  from_position   bigint NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE webhook_deliveries (
  workspace_id    uuid NOT NULL,
  id              uuid NOT NULL,
  endpoint_id     uuid NOT NULL,
  -- The event delivered; NULL for a test delivery.
  event_position  bigint,
  event_id        uuid,
  event_type      text NOT NULL,
  -- webhook_id is the webhook-id header, kept by retries and replays.
  webhook_id      text NOT NULL,
  status          text NOT NULL,
  attempt_count   int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  replay_of       uuid,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, endpoint_id) REFERENCES webhook_endpoints (workspace_id, id) ON DELETE CASCADE,
  FOREIGN KEY (workspace_id, event_position) REFERENCES events (workspace_id, position) ON DELETE CASCADE
);
-- The dispatcher's own guarantee, checked by the database: one original
-- delivery per event and endpoint (replays are extra rows on purpose).
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (workspace_id, endpoint_id, event_position)
  WHERE replay_of IS NULL AND event_position IS NOT NULL;
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (workspace_id, endpoint_id, id DESC);

CREATE TABLE webhook_attempts (
  workspace_id     uuid NOT NULL,
  delivery_id      uuid NOT NULL,
  n                int NOT NULL,
  at               timestamptz NOT NULL,
  status_code      int NOT NULL DEFAULT 0,
  latency_ms       int NOT NULL,
  response_snippet text NOT NULL DEFAULT '',
  error            text NOT NULL DEFAULT '',
  PRIMARY KEY (workspace_id, delivery_id, n),
  FOREIGN KEY (workspace_id, delivery_id) REFERENCES webhook_deliveries (workspace_id, id) ON DELETE CASCADE
);

-- The dispatcher's position in each workspace's event log: every event up
-- to it has its deliveries. Created with the workspace's first endpoint.
CREATE TABLE webhook_cursors (
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  position     bigint NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id)
);

-- webhook_dispatch_pending lists, across workspaces, those with an enabled
-- endpoint and events the dispatcher has not handled yet, least recently
-- dispatched first. Like queued_messages it returns ids only; the
-- dispatcher then works inside each workspace.
CREATE FUNCTION webhook_dispatch_pending(max_rows int)
  RETURNS TABLE (workspace_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT c.workspace_id FROM webhook_cursors c JOIN workspaces w ON w.id = c.workspace_id
    WHERE w.event_seq > c.position
      AND EXISTS (SELECT FROM webhook_endpoints e WHERE e.workspace_id = c.workspace_id AND e.enabled)
    ORDER BY c.updated_at LIMIT max_rows
  $$;
REVOKE ALL ON FUNCTION webhook_dispatch_pending(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION webhook_dispatch_pending(int) TO crmhub_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['webhook_endpoints', 'webhook_deliveries', 'webhook_attempts', 'webhook_cursors'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (workspace_id = app_workspace_id()) '
                   'WITH CHECK (workspace_id = app_workspace_id())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO crmhub_app', t);
  END LOOP;
END $$;

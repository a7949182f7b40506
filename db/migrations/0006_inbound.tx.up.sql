-- Inbound webhooks from external CRMs: each connection's webhook secret
-- (sealed like its API key; the CRM's signing key, or the token in the
-- hook URL of CRMs that do not sign), the CRM's channels (messenger
-- accounts) and their states, and the connection a conversation came
-- through, so that its replies leave the same way.

ALTER TABLE connections ADD COLUMN webhook_secret bytea;

ALTER TABLE conversations ADD COLUMN connection_id uuid;
ALTER TABLE conversations ADD COLUMN remote_channel_id text;
ALTER TABLE conversations ADD FOREIGN KEY (workspace_id, connection_id)
  REFERENCES connections (workspace_id, id) ON DELETE SET NULL (connection_id);

CREATE TABLE connection_channels (
  workspace_id  uuid NOT NULL,
  connection_id uuid NOT NULL,
  channel_id    text NOT NULL,
  transport     text NOT NULL,
  plain_id      text NOT NULL,
  state         text NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, connection_id, channel_id),
  FOREIGN KEY (workspace_id, connection_id) REFERENCES connections (workspace_id, id) ON DELETE CASCADE
);
ALTER TABLE connection_channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE connection_channels FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON connection_channels USING (workspace_id = app_workspace_id())
  WITH CHECK (workspace_id = app_workspace_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON connection_channels TO crmhub_app;

-- The rest of the data model: users, responsible users, consents with
-- history, suppressions, deals with their external refs and contacts,
-- conversations and messages. Same rules as 0001: workspace_id first in
-- every key and index, RLS (FORCE) on every table.

CREATE TABLE users (
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id           uuid NOT NULL,
  external_id  text NOT NULL,
  name         text NOT NULL,
  email        text,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  UNIQUE (workspace_id, external_id)
);
CREATE INDEX users_name ON users (workspace_id, name, id);

ALTER TABLE contacts ADD COLUMN responsible_user_id uuid,
  ADD FOREIGN KEY (workspace_id, responsible_user_id) REFERENCES users (workspace_id, id)
    ON DELETE SET NULL (responsible_user_id);
CREATE INDEX contacts_responsible ON contacts (workspace_id, responsible_user_id) WHERE responsible_user_id IS NOT NULL;

-- consents holds the current state per channel; consent_history every change.
CREATE TABLE consents (
  workspace_id uuid NOT NULL,
  contact_id   uuid NOT NULL,
  channel      text NOT NULL,
  status       text NOT NULL,
  source       text,
  evidence     text,
  at           timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, contact_id, channel),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE consent_history (
  workspace_id uuid NOT NULL,
  id           uuid NOT NULL,
  contact_id   uuid NOT NULL,
  channel      text NOT NULL,
  status       text NOT NULL,
  source       text,
  evidence     text,
  at           timestamptz NOT NULL,
  recorded_at  timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX consent_history_contact ON consent_history (workspace_id, contact_id, channel, at DESC, id DESC);

CREATE TABLE suppressions (
  workspace_id uuid NOT NULL,
  id           uuid NOT NULL,
  contact_id   uuid NOT NULL,
  channel      text NOT NULL,
  reason       text NOT NULL,
  created_at   timestamptz NOT NULL,
  expires_at   timestamptz,
  lifted_at    timestamptz,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX suppressions_contact ON suppressions (workspace_id, contact_id, channel);

CREATE TABLE deals (
  workspace_id        uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id                  uuid NOT NULL,
  name                text,
  status              text NOT NULL DEFAULT 'OPEN',
  amount              numeric,
  currency            text,
  stage               text,
  responsible_user_id uuid,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL,
  closed_at           timestamptz,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, responsible_user_id) REFERENCES users (workspace_id, id)
    ON DELETE SET NULL (responsible_user_id)
);
CREATE INDEX deals_updated_at ON deals (workspace_id, updated_at, id);
CREATE INDEX deals_created_at ON deals (workspace_id, created_at DESC, id DESC);
CREATE INDEX deals_responsible ON deals (workspace_id, responsible_user_id) WHERE responsible_user_id IS NOT NULL;

CREATE TABLE deal_external_refs (
  workspace_id uuid NOT NULL,
  source       text NOT NULL,
  external_id  text NOT NULL,
  deal_id      uuid NOT NULL,
  PRIMARY KEY (workspace_id, source, external_id),
  FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX deal_external_refs_deal ON deal_external_refs (workspace_id, deal_id);

CREATE TABLE deal_contacts (
  workspace_id uuid NOT NULL,
  deal_id      uuid NOT NULL,
  contact_id   uuid NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, deal_id, contact_id),
  FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, id) ON DELETE CASCADE,
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX deal_contacts_contact ON deal_contacts (workspace_id, contact_id, deal_id);

CREATE TABLE conversations (
  workspace_id    uuid NOT NULL,
  id              uuid NOT NULL,
  contact_id      uuid NOT NULL,
  channel         text NOT NULL,
  chat_id         text NOT NULL,
  status          text NOT NULL DEFAULT 'OPEN',
  assignee_id     uuid,
  last_message_at timestamptz,
  last_inbound_at timestamptz,
  unanswered      boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE,
  FOREIGN KEY (workspace_id, assignee_id) REFERENCES users (workspace_id, id) ON DELETE SET NULL (assignee_id)
);
-- At most one conversation that is not closed per contact, channel and chat.
CREATE UNIQUE INDEX conversations_live ON conversations (workspace_id, contact_id, channel, chat_id)
  WHERE status <> 'CLOSED';
CREATE INDEX conversations_contact ON conversations (workspace_id, contact_id, last_message_at DESC, id DESC);
CREATE INDEX conversations_activity ON conversations (workspace_id, (coalesce(last_message_at, created_at)) DESC, id DESC);
CREATE INDEX conversations_unanswered ON conversations (workspace_id, assignee_id)
  WHERE unanswered AND status <> 'CLOSED';

CREATE TABLE messages (
  workspace_id    uuid NOT NULL,
  id              uuid NOT NULL,
  conversation_id uuid NOT NULL,
  channel         text NOT NULL,
  direction       text NOT NULL,
  type            text NOT NULL,
  text            text,
  content_url     text,
  template        jsonb,
  reply_to_id     uuid,
  status          text NOT NULL,
  error_code      text,
  external_id     text,
  attempts        int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX messages_conversation ON messages (workspace_id, conversation_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX messages_external ON messages (workspace_id, channel, direction, external_id)
  WHERE external_id IS NOT NULL;
CREATE INDEX messages_queued ON messages (workspace_id, next_attempt_at) WHERE status = 'QUEUED';

-- queued_messages lists messages due for delivery across workspaces for the
-- outbox worker, which then works on each inside its own workspace.
-- SECURITY DEFINER lets the service role see past RLS for this one query,
-- which returns only ids.
CREATE FUNCTION queued_messages(due timestamptz, max_rows int)
  RETURNS TABLE (workspace_id uuid, id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT m.workspace_id, m.id FROM messages m
    WHERE m.status = 'QUEUED' AND m.next_attempt_at <= due
    ORDER BY m.next_attempt_at LIMIT max_rows
  $$;
REVOKE ALL ON FUNCTION queued_messages(timestamptz, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queued_messages(timestamptz, int) TO crmhub_app;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'consents', 'consent_history', 'suppressions', 'deals', 'deal_external_refs',
                           'deal_contacts', 'conversations', 'messages'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (workspace_id = app_workspace_id()) '
                   'WITH CHECK (workspace_id = app_workspace_id())', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO crmhub_app', t);
  END LOOP;
END $$;

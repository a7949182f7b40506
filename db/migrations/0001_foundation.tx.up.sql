-- Foundation: workspaces, API keys, contacts with identities, tags, notes,
-- merge redirects and the event log. Every tenant table is keyed by
-- workspace_id first and guarded by row-level security (FORCE), which the
-- service role crmhub_app cannot bypass.

CREATE EXTENSION IF NOT EXISTS btree_gist;

DO $$
BEGIN
  BEGIN
    CREATE ROLE crmhub_app NOLOGIN;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- made by another database of this cluster
  END;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT crmhub_app TO %I', current_user);
  END IF;
END $$;

--bun:split

-- app_workspace_id is the tenant of the current transaction, set with
-- set_config('app.workspace_id', id, true); NULL (matching nothing) if unset.
CREATE FUNCTION app_workspace_id() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.workspace_id', true), '')::uuid $$;

CREATE TABLE workspaces (
  id         uuid PRIMARY KEY,
  name       text NOT NULL,
  -- event_seq is the position of the workspace's last event.
  event_seq  bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id           uuid NOT NULL,
  name         text NOT NULL,
  prefix       text NOT NULL,
  secret_hash  bytea NOT NULL,
  scopes       text[] NOT NULL,
  created_at   timestamptz NOT NULL,
  last_used_at timestamptz,
  revoked_at   timestamptz,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE contacts (
  workspace_id  uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  id            uuid NOT NULL,
  name          text,
  uri           text,
  custom_fields jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX contacts_created_at ON contacts (workspace_id, created_at, id);
CREATE INDEX contacts_updated_at ON contacts (workspace_id, updated_at, id);
CREATE INDEX contacts_name ON contacts (workspace_id, (coalesce(name, '')), id);

-- An identity row links a normalized identifier to a contact. match_class
-- groups types that match one another (PHONE, WHATSAPP and WA_ID are all
-- "phone"); match_source is the source of an EXTERNAL_ID and '' otherwise.
-- The exclusion constraint is the database's own guarantee that an identity
-- belongs to at most one contact, whatever type it was stored under.
CREATE TABLE contact_identities (
  workspace_id uuid NOT NULL,
  match_class  text NOT NULL,
  match_source text NOT NULL DEFAULT '',
  value        text NOT NULL,
  type         text NOT NULL,
  contact_id   uuid NOT NULL,
  source       text,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, match_class, match_source, value, type),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE,
  CONSTRAINT contact_identities_one_contact EXCLUDE USING gist (
    workspace_id WITH =, match_class WITH =, match_source WITH =, value WITH =, contact_id WITH <>)
);
CREATE INDEX contact_identities_contact ON contact_identities (workspace_id, contact_id);

CREATE TABLE contact_tags (
  workspace_id uuid NOT NULL,
  contact_id   uuid NOT NULL,
  tag          text NOT NULL,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, contact_id, tag),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_tags_tag ON contact_tags (workspace_id, tag, contact_id);

CREATE TABLE notes (
  workspace_id uuid NOT NULL,
  id           uuid NOT NULL,
  contact_id   uuid NOT NULL,
  body         text NOT NULL,
  created_at   timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX notes_contact ON notes (workspace_id, contact_id, created_at DESC, id DESC);

-- A merged contact's id keeps leading to the contact it was merged into.
CREATE TABLE contact_redirects (
  workspace_id uuid NOT NULL,
  old_id       uuid NOT NULL,
  target_id    uuid NOT NULL,
  merged_at    timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, old_id),
  FOREIGN KEY (workspace_id, target_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_redirects_target ON contact_redirects (workspace_id, target_id);

-- The event log (outbox): appended in the transaction of the write it
-- describes, numbered per workspace in commit order.
CREATE TABLE events (
  workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  position     bigint NOT NULL,
  id           uuid NOT NULL,
  type         text NOT NULL,
  subject_id   text NOT NULL,
  actor        text NOT NULL,
  origin       text NOT NULL DEFAULT '',
  payload      jsonb NOT NULL,
  occurred_at  timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, position)
);
CREATE UNIQUE INDEX events_id ON events (workspace_id, id);
CREATE INDEX events_subject ON events (workspace_id, subject_id, position);

-- Row-level security: the second wall behind the explicit workspace filters.
ALTER TABLE workspaces ENABLE ROW LEVEL SECURITY;
ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON workspaces USING (id = app_workspace_id()) WITH CHECK (id = app_workspace_id());

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys', 'contacts', 'contact_identities', 'contact_tags', 'notes',
                           'contact_redirects', 'events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant ON %I USING (workspace_id = app_workspace_id()) '
                   'WITH CHECK (workspace_id = app_workspace_id())', t);
  END LOOP;
END $$;

GRANT USAGE ON SCHEMA public TO crmhub_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON workspaces, api_keys, contacts, contact_identities,
  contact_tags, notes, contact_redirects, events TO crmhub_app;
GRANT EXECUTE ON FUNCTION app_workspace_id() TO crmhub_app;

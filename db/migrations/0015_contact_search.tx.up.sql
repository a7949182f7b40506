-- Search and totalCount at a million contacts (issue 18).
--
-- Search. A contact's search document (contact_search.doc) is its lower-case
-- name followed by its phone and email identity values, one per line; a
-- trigram GIN index answers `doc LIKE '%...%'`. Row-level security stands
-- in the way of that index for crmhub_app: PostgreSQL only turns a WHERE
-- condition into an index condition ahead of the RLS policy when the
-- condition cannot leak rows (its functions are LEAKPROOF), and LIKE is
-- not; marking it so takes a superuser. So the index is read by one
-- SECURITY DEFINER function, contact_search_ids, which filters by the
-- transaction's tenant itself. For its owner to read through the index,
-- contact_search has RLS enabled but not forced (the one table that does
-- not force it): crmhub_app still sees only its workspace's rows, and the
-- owner bypasses the policy only inside that function.
--
-- totalCount. workspaces.contact_count is the number of the workspace's
-- contacts, kept by statement triggers on contacts, so an unfiltered
-- totalCount reads one row instead of counting a million.
--
-- Both are kept by triggers, the one home for the rule: every write path
-- that inserts or deletes contacts, renames them or changes identities
-- (API, sync, inbound, merge, seed) goes through them.
--
-- Cost on a big table: everything here is one transaction. Reads go on
-- while it runs (but see the fill below for an owner that is not a
-- superuser); writes to contacts and contact_identities wait for it
-- (CREATE TRIGGER takes a SHARE ROW EXCLUSIVE lock). The index is built on
-- a new table nobody reads yet, so CREATE INDEX CONCURRENTLY would gain
-- nothing. At 1,000,000 contacts (2.4 million identities) it took 4 minutes
-- on the 2-core benchmark machine while other work loaded it heavily
-- (BENCHMARKS.md, Scaling).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE workspaces ADD COLUMN contact_count bigint NOT NULL DEFAULT 0;

CREATE TABLE contact_search (
  workspace_id uuid NOT NULL,
  contact_id   uuid NOT NULL,
  doc          text NOT NULL,
  PRIMARY KEY (workspace_id, contact_id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts (workspace_id, id) ON DELETE CASCADE
);
ALTER TABLE contact_search ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON contact_search USING (workspace_id = app_workspace_id())
  WITH CHECK (workspace_id = app_workspace_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON contact_search TO crmhub_app;

-- contact_search_doc is a contact's search document from its name and
-- its identities' lines (each "\n" || value): the one definition that
-- contact_search_refresh and contact_search_rebuild share.
CREATE FUNCTION contact_search_doc(name text, identities text) RETURNS text
  LANGUAGE sql IMMUTABLE
  AS $$ SELECT translate(lower(coalesce(name, '')), E'\n', ' ') || coalesce(identities, '') $$;

-- contact_search_refresh rewrites the documents of the contacts named by
-- the two arrays (workspace ids and contact ids, pairwise); a contact that
-- no longer exists is skipped (its document goes with it, by cascade). An
-- unchanged document is not rewritten. Line breaks in a name become
-- spaces (searches get the same treatment), so a match never spans two
-- lines, that is two fields; identity values hold none. The identities
-- are read with `= ANY` over the ids, which only the btree index on
-- (workspace_id, contact_id) answers: a lookup per contact went to the
-- GiST index of the exclusion constraint instead, which reads the whole
-- workspace's part of it each time (seeding slowed down quadratically).
CREATE FUNCTION contact_search_refresh(ws uuid[], ids uuid[]) RETURNS void
  LANGUAGE sql VOLATILE SET search_path = public
  AS $$
    WITH k AS (SELECT DISTINCT * FROM unnest(ws, ids) AS k (workspace_id, contact_id))
    INSERT INTO contact_search (workspace_id, contact_id, doc)
    SELECT c.workspace_id, c.id, contact_search_doc(c.name, d.doc)
    FROM k JOIN contacts c ON c.workspace_id = k.workspace_id AND c.id = k.contact_id
    LEFT JOIN (
      SELECT i.workspace_id, i.contact_id, string_agg(E'\n' || i.value, '' ORDER BY i.value) AS doc
      FROM contact_identities i
      WHERE i.workspace_id = ANY(ws) AND i.contact_id = ANY(ids) AND i.match_class IN ('phone', 'email')
      GROUP BY i.workspace_id, i.contact_id
    ) d ON d.workspace_id = c.workspace_id AND d.contact_id = c.id
    ON CONFLICT (workspace_id, contact_id) DO UPDATE SET doc = EXCLUDED.doc
      WHERE contact_search.doc IS DISTINCT FROM EXCLUDED.doc
  $$;

-- contact_search_bulk_load tells whether the transaction is a bulk load
-- (crmhub seed) that set crmhub.bulk_load: the triggers then leave the
-- documents alone, row batch by row batch, and the loader rewrites them
-- all once at its end with contact_search_rebuild, one pass instead of a
-- refresh per batch (whose lookups made seeding quadratic). The count is
-- kept either way. A transaction that sets it and does not rebuild only
-- leaves its own workspace's search stale (row-level security).
CREATE FUNCTION contact_search_bulk_load() RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(current_setting('crmhub.bulk_load', true), '') = 'on' $$;

-- contact_search_rebuild rewrites the documents of every contact of
-- workspace ws in one statement (after a bulk load); unchanged documents
-- are not rewritten.
CREATE FUNCTION contact_search_rebuild(ws uuid) RETURNS void
  LANGUAGE sql VOLATILE SET search_path = public
  AS $$
    INSERT INTO contact_search (workspace_id, contact_id, doc)
    SELECT c.workspace_id, c.id, contact_search_doc(c.name, d.doc)
    FROM contacts c
    LEFT JOIN (
      SELECT i.contact_id, string_agg(E'\n' || i.value, '' ORDER BY i.value) AS doc
      FROM contact_identities i
      WHERE i.workspace_id = ws AND i.match_class IN ('phone', 'email')
      GROUP BY i.contact_id
    ) d ON d.contact_id = c.id
    WHERE c.workspace_id = ws
    ON CONFLICT (workspace_id, contact_id) DO UPDATE SET doc = EXCLUDED.doc
      WHERE contact_search.doc IS DISTINCT FROM EXCLUDED.doc
  $$;

-- After contacts are inserted: count them and write their documents.
CREATE FUNCTION contacts_inserted() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public
  AS $$
  BEGIN
    UPDATE workspaces w SET contact_count = w.contact_count + d.n
    FROM (SELECT workspace_id, count(*) AS n FROM new_rows GROUP BY workspace_id) d
    WHERE w.id = d.workspace_id;
    IF NOT contact_search_bulk_load() THEN
      PERFORM contact_search_refresh(array_agg(workspace_id), array_agg(id)) FROM new_rows HAVING count(*) > 0;
    END IF;
    RETURN NULL;
  END $$;

-- After contacts are updated: rewrite the documents of those renamed.
CREATE FUNCTION contacts_updated() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public
  AS $$
  BEGIN
    IF contact_search_bulk_load() THEN
      RETURN NULL;
    END IF;
    PERFORM contact_search_refresh(array_agg(n.workspace_id), array_agg(n.id))
    FROM new_rows n JOIN old_rows o ON o.workspace_id = n.workspace_id AND o.id = n.id
    WHERE n.name IS DISTINCT FROM o.name
    HAVING count(*) > 0;
    RETURN NULL;
  END $$;

-- After contacts are deleted: uncount them (their documents cascade).
CREATE FUNCTION contacts_deleted() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public
  AS $$
  BEGIN
    UPDATE workspaces w SET contact_count = w.contact_count - d.n
    FROM (SELECT workspace_id, count(*) AS n FROM old_rows GROUP BY workspace_id) d
    WHERE w.id = d.workspace_id;
    RETURN NULL;
  END $$;

-- After identities change: rewrite the documents of the contacts that
-- gained or lost one (a merge moves identities: both sides).
CREATE FUNCTION contact_identities_changed() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public
  AS $$
  BEGIN
    IF contact_search_bulk_load() THEN
      RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
      PERFORM contact_search_refresh(array_agg(workspace_id), array_agg(contact_id))
      FROM new_rows WHERE match_class IN ('phone', 'email') HAVING count(*) > 0;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
      PERFORM contact_search_refresh(array_agg(workspace_id), array_agg(contact_id))
      FROM old_rows WHERE match_class IN ('phone', 'email') HAVING count(*) > 0;
    END IF;
    RETURN NULL;
  END $$;

CREATE TRIGGER contacts_inserted AFTER INSERT ON contacts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contacts_inserted();
CREATE TRIGGER contacts_updated AFTER UPDATE ON contacts
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contacts_updated();
CREATE TRIGGER contacts_deleted AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contacts_deleted();
CREATE TRIGGER contact_identities_inserted AFTER INSERT ON contact_identities
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_identities_changed();
CREATE TRIGGER contact_identities_updated AFTER UPDATE ON contact_identities
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_identities_changed();
CREATE TRIGGER contact_identities_deleted AFTER DELETE ON contact_identities
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contact_identities_changed();

-- contact_search_ids returns the ids of the current workspace's contacts
-- whose document matches pattern or alt (LIKE patterns; alt may be NULL or
-- the same, which PostgreSQL plans as one condition),
-- or NULL when more than max_ids match: a common term is then cheaper to
-- find by walking the listing's own order (see db/contact_list.go). It
-- plans the query with the patterns known (EXECUTE), so PostgreSQL
-- estimates from the documents' statistics.
CREATE FUNCTION contact_search_ids(pattern text, alt text, max_ids int) RETURNS uuid[]
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public
  AS $$
  DECLARE
    ids uuid[];
  BEGIN
    EXECUTE 'SELECT array_agg(contact_id) FROM (SELECT contact_id FROM contact_search
               WHERE workspace_id = $1 AND (doc LIKE $2 OR doc LIKE $3) LIMIT $4) m'
      INTO ids USING app_workspace_id(), pattern, coalesce(alt, pattern), max_ids + 1;
    IF cardinality(ids) > max_ids THEN
      RETURN NULL;
    END IF;
    RETURN coalesce(ids, '{}');
  END $$;
REVOKE ALL ON FUNCTION contact_search_ids(text, text, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION contact_search_ids(text, text, int) TO crmhub_app;

-- Fill both from what is there. An owner that is subject to the forced RLS
-- of contacts, identities and workspaces (not a superuser, no BYPASSRLS)
-- would see no rows, so for such an owner it is lifted until the end of
-- the fill; that takes an ACCESS EXCLUSIVE lock on the three tables until
-- commit, so reads of them wait for the migration too.
DO $$
BEGIN
  IF NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
    ALTER TABLE workspaces NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE contacts NO FORCE ROW LEVEL SECURITY;
    ALTER TABLE contact_identities NO FORCE ROW LEVEL SECURITY;
  END IF;
END $$;

UPDATE workspaces w SET contact_count = n.n
FROM (SELECT workspace_id, count(*) AS n FROM contacts GROUP BY workspace_id) n
WHERE w.id = n.workspace_id;

SELECT contact_search_refresh(array_agg(workspace_id), array_agg(id)) FROM contacts;

DO $$
BEGIN
  IF NOT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user) THEN
    ALTER TABLE workspaces FORCE ROW LEVEL SECURITY;
    ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
    ALTER TABLE contact_identities FORCE ROW LEVEL SECURITY;
  END IF;
END $$;

-- The trigram index holds the documents alone. A workspace_id key in it
-- (btree_gin) matches every document of a big workspace: PostgreSQL then
-- prices reading that posting list with every search, and preferred
-- reading the workspace's documents one by one. Documents of other
-- workspaces that share a term's trigrams are dropped on the heap check.
-- New entries wait in GIN's pending list (cheap writes) until it holds
-- 512 kB instead of the default 4 MB, since every search reads the whole
-- list (and PostgreSQL, pricing that in, skips the index when it is long).
CREATE INDEX contact_search_doc ON contact_search USING gin (doc gin_trgm_ops) WITH (gin_pending_list_limit = 512);
ANALYZE contact_search;

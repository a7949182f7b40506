DROP FUNCTION IF EXISTS contact_search_ids(text, text, int, int);

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

ALTER TABLE contact_search ALTER COLUMN doc SET STATISTICS -1;

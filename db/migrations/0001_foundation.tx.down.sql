DROP TABLE IF EXISTS events, contact_redirects, notes, contact_tags, contact_identities, contacts,
  api_keys, workspaces;
DROP FUNCTION IF EXISTS app_workspace_id();
-- The crmhub_app role and btree_gist stay: other databases of the cluster may use them.

DROP FUNCTION IF EXISTS connection_workspace(uuid);
DROP FUNCTION IF EXISTS sync_due(timestamptz, int);
DROP TABLE IF EXISTS identity_conflicts, sync_links, sync_runs, connections;

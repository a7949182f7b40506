DROP FUNCTION sync_takeover(timestamptz, timestamptz, int);
DROP INDEX sync_runs_running_lease;
UPDATE sync_runs SET status = 'FAILED' WHERE status = 'CANCELLED';
ALTER TABLE sync_runs DROP COLUMN lease_until, DROP COLUMN lease_owner;

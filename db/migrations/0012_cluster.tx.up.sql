-- maintenance_runs records when cluster-wide background work (event
-- retention) last started, so that among all the processes sharing the
-- database exactly one starts it per period: a conditional upsert decides
-- (see db.claimPeriod). It holds no tenant's data, hence no workspace_id
-- and no row-level security.
CREATE TABLE maintenance_runs (
  name        text PRIMARY KEY,
  started_at  timestamptz NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON maintenance_runs TO crmhub_app;

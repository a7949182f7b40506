DROP TABLE IF EXISTS maintenance_runs;

DROP FUNCTION IF EXISTS prune_idempotency_keys(timestamptz, int);
DROP TABLE IF EXISTS idempotency_keys;

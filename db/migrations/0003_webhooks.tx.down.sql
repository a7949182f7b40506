DROP FUNCTION IF EXISTS webhook_dispatch_pending(int);
DROP TABLE IF EXISTS webhook_cursors, webhook_attempts, webhook_deliveries, webhook_endpoints;

DROP TABLE IF EXISTS connection_channels;
ALTER TABLE conversations DROP COLUMN IF EXISTS remote_channel_id;
ALTER TABLE conversations DROP COLUMN IF EXISTS connection_id;
ALTER TABLE connections DROP COLUMN IF EXISTS webhook_secret;

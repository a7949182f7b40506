DROP FUNCTION IF EXISTS queued_messages(timestamptz, int);
DROP TABLE IF EXISTS messages, conversations, deal_contacts, deal_external_refs, deals, suppressions,
  consent_history, consents;
ALTER TABLE contacts DROP COLUMN IF EXISTS responsible_user_id;
DROP TABLE IF EXISTS users;

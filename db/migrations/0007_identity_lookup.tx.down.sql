DROP INDEX IF EXISTS contact_identities_value;

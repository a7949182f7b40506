-- The social network post a message concerns (Wazzup's instPost: a comment
-- under an Instagram post), as the CRM reported it; NULL for other messages.
ALTER TABLE messages ADD COLUMN post jsonb;

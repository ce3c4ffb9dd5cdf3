-- 0013: an email change waits for its confirmation from the new address;
-- the token mailed there (and the cancel token mailed to the old one)
-- carries the new address.
ALTER TABLE users_tokens ADD COLUMN new_email text NOT NULL DEFAULT '';

-- Version 15: a session counts its renewals. A session-cookie access token
-- carries the generation it was minted for; renewing it advances the
-- generation, and a token of a retired generation presented again ends
-- the session. Sessions opened before start at generation 0, which is what
-- their tokens (without the claim) carry.
ALTER TABLE users_sessions ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;

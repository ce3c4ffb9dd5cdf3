-- Version 2: login sessions, tokens bound to an address, Message-IDs, and
-- what user queries (filter, search, sort) need.

-- Lower-cased copies of the fields the case-insensitive filter operators
-- and the search compare. The store writes them itself, lower-cased as Go's
-- strings.ToLower does (SQLite's lower() folds only ASCII letters); the
-- migration fills them for the rows that exist (see migrate.go). role_lower
-- is read only where role is not NULL.
ALTER TABLE users_users ADD COLUMN id_lower         TEXT NOT NULL DEFAULT '';
ALTER TABLE users_users ADD COLUMN email_lower      TEXT NOT NULL DEFAULT '';
ALTER TABLE users_users ADD COLUMN first_name_lower TEXT NOT NULL DEFAULT '';
ALTER TABLE users_users ADD COLUMN last_name_lower  TEXT NOT NULL DEFAULT '';
ALTER TABLE users_users ADD COLUMN status_lower     TEXT NOT NULL DEFAULT '';
ALTER TABLE users_users ADD COLUMN role_lower       TEXT;

-- Pages of a filtered, sorted list: an equality on status or role, then
-- the sort column, then id (the tie-break), so that SQLite walks the index
-- in order and stops after the page instead of sorting every match. Text
-- columns use the BINARY collation: byte order.
CREATE INDEX users_users_email_sort      ON users_users (email, id);
CREATE INDEX users_users_first_name_sort ON users_users (first_name, id);
CREATE INDEX users_users_last_name_sort  ON users_users (last_name, id);
-- A directory's usual order: last name, then first name.
CREATE INDEX users_users_full_name_sort  ON users_users (last_name, first_name, id);
CREATE INDEX users_users_updated         ON users_users (updated_at, id);
CREATE INDEX users_users_status_created  ON users_users (status, created_at, id);
CREATE INDEX users_users_status_email    ON users_users (status, email, id);
CREATE INDEX users_users_role_email      ON users_users (role, email, id);
-- Prefix matches on the lower-cased email (_istarts_with).
CREATE INDEX users_users_email_lower     ON users_users (email_lower);

-- The normalised address a token was mailed to; '' for none.
ALTER TABLE users_tokens ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
-- Tokens mailed before this column existed are bound to the address their
-- user has now: the only one known, so links already sent keep working
-- until the address changes.
UPDATE users_tokens SET email_key = (SELECT u.email_key FROM users_users u WHERE u.id = users_tokens.user_id);
-- PurgeExpired.
CREATE INDEX users_tokens_expires ON users_tokens (expires_at);

-- The Message-ID header of a mail, kept across retries.
ALTER TABLE users_mail ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
-- DeleteUsers removes a user's pending mail.
CREATE INDEX users_mail_user ON users_mail (user_id, status);

-- Login sessions. Only the SHA-256 of the current refresh token is kept.
CREATE TABLE users_sessions (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users_users (id) ON DELETE CASCADE,
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    refreshed_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX users_sessions_user    ON users_sessions (user_id);
CREATE INDEX users_sessions_expires ON users_sessions (expires_at);

-- The earlier (rotated) refresh-token hashes of each session, for reuse
-- detection; they live as long as their session.
CREATE TABLE users_session_hashes (
    hash       BLOB NOT NULL PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES users_sessions (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX users_session_hashes_session ON users_session_hashes (session_id);

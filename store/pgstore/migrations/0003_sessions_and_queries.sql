-- 0003: login sessions, tokens bound to an address, Message-IDs, and what
-- user queries (filter, search, sort) need.

-- Every text column a query sorts on compares bytewise (COLLATE "C"), as
-- Go does, whatever the database's collation.
ALTER TABLE users_users
	ALTER COLUMN email      TYPE text COLLATE "C",
	ALTER COLUMN first_name TYPE text COLLATE "C",
	ALTER COLUMN last_name  TYPE text COLLATE "C",
	ALTER COLUMN status     TYPE text COLLATE "C";

-- Lower-cased copies of the fields the case-insensitive filter operators
-- and the search compare, written by the store with Go's strings.ToLower
-- (the database's lower() depends on its locale: a "C" database folds only
-- ASCII). The migration fills them for existing users (see migrate.go).
-- role_lower is read only where role is not NULL.
ALTER TABLE users_users
	ADD COLUMN id_lower         text COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN email_lower      text COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN first_name_lower text COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN last_name_lower  text COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN status_lower     text COLLATE "C" NOT NULL DEFAULT '',
	ADD COLUMN role_lower       text COLLATE "C" NULL;

-- Pages of a filtered, sorted list: an equality on status or role, then
-- the sort column, then id (the tie-break), read in index order.
CREATE INDEX users_users_email_sort_idx      ON users_users (email, id);
CREATE INDEX users_users_first_name_sort_idx ON users_users (first_name, id);
CREATE INDEX users_users_last_name_sort_idx  ON users_users (last_name, id);
-- A directory's usual order: last name, then first name.
CREATE INDEX users_users_full_name_sort_idx  ON users_users (last_name, first_name, id);
CREATE INDEX users_users_updated_idx         ON users_users (updated_at, id);
CREATE INDEX users_users_status_created_idx  ON users_users (status, created_at, id);
CREATE INDEX users_users_status_email_idx    ON users_users (status, email, id);
CREATE INDEX users_users_role_email_idx      ON users_users (role, email, id);
-- Prefix matches on the lower-cased email (_istarts_with).
CREATE INDEX users_users_email_lower_idx     ON users_users (email_lower);

-- KeepAdmin looks for active users holding an admin policy.
CREATE INDEX users_user_policies_policy_idx ON users_user_policies (policy_id);

-- The normalised address a token was mailed to; '' for none.
ALTER TABLE users_tokens ADD COLUMN email_key text COLLATE "C" NOT NULL DEFAULT '';
-- Tokens mailed before this column existed are bound to the address their
-- user has now: the only one known, so links already sent keep working
-- until the address changes.
UPDATE users_tokens t SET email_key = u.email_key FROM users_users u WHERE u.id = t.user_id;
-- PurgeExpired.
CREATE INDEX users_tokens_expires_idx ON users_tokens (expires_at);

-- The Message-ID header of a mail, kept across retries.
ALTER TABLE users_mail ADD COLUMN message_id text NOT NULL DEFAULT '';
-- DeleteUsers removes a user's pending mail; MailStats counts by state.
CREATE INDEX users_mail_user_pending_idx ON users_mail (user_id) WHERE status = 'pending';
CREATE INDEX users_mail_status_idx ON users_mail (status);

-- Login sessions. Only the SHA-256 of the current refresh token is kept.
CREATE TABLE users_sessions (
	id           text COLLATE "C" PRIMARY KEY,
	user_id      text COLLATE "C" NOT NULL
	             CONSTRAINT users_sessions_user_fkey REFERENCES users_users (id) ON DELETE CASCADE,
	token_hash   bytea NOT NULL CONSTRAINT users_sessions_token_hash_key UNIQUE,
	created_at   timestamptz NOT NULL,
	refreshed_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	ip           text NOT NULL DEFAULT '',
	user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX users_sessions_user_idx ON users_sessions (user_id);
CREATE INDEX users_sessions_expires_idx ON users_sessions (expires_at);

-- The earlier (rotated) refresh-token hashes of each session, for reuse
-- detection; they live as long as their session.
CREATE TABLE users_session_hashes (
	hash       bytea PRIMARY KEY,
	session_id text COLLATE "C" NOT NULL
	           CONSTRAINT users_session_hashes_session_fkey REFERENCES users_sessions (id) ON DELETE CASCADE
);
CREATE INDEX users_session_hashes_session_idx ON users_session_hashes (session_id);

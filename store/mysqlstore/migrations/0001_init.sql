-- 0001: the initial schema.
--
-- Text is utf8mb4. Identifiers and keys use the binary collation
-- utf8mb4_bin, so that equality is case-sensitive and ordering is by code
-- point, as in Go; the store compares and sorts user fields through
-- CAST(... AS BINARY) where trailing spaces matter (utf8mb4_bin pads).
-- Times are BIGINT Unix microseconds (UTC by definition: no time zone, no
-- parseTime, exact to the microsecond). Every statement is idempotent
-- (IF NOT EXISTS, indexes inside CREATE TABLE), so that a migration cut
-- short by a crash is finished by the next one: MySQL's DDL is not
-- transactional.

CREATE TABLE IF NOT EXISTS users_roles (
	id           VARCHAR(255) NOT NULL,
	name         VARCHAR(1024) NOT NULL,
	description  TEXT NOT NULL,
	admin_access BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS users_policies (
	id           VARCHAR(255) NOT NULL,
	name         VARCHAR(1024) NOT NULL,
	admin_access BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- email_key is the normalised email the Manager computed, NULL when the
-- user has none: the unique index then allows any number of users without
-- an email, and no two with one key. The *_lc columns are id, email,
-- first_name, last_name and role lower-cased by Go's strings.ToLower when
-- the store writes them, for the case-insensitive filters and search:
-- SQL's LOWER follows the server's older Unicode tables (MariaDB 10.11
-- leaves 'ẞ', Cherokee and Georgian capitals as they are; Go does not).
CREATE TABLE IF NOT EXISTS users_users (
	id            VARCHAR(255) NOT NULL,
	email         VARCHAR(1024) NOT NULL DEFAULT '',
	email_key     VARCHAR(320) NULL,
	password_hash TEXT NOT NULL,
	first_name    VARCHAR(1024) NOT NULL DEFAULT '',
	last_name     VARCHAR(1024) NOT NULL DEFAULT '',
	id_lc         VARCHAR(255) NOT NULL,
	email_lc      VARCHAR(1024) NOT NULL DEFAULT '',
	first_name_lc VARCHAR(1024) NOT NULL DEFAULT '',
	last_name_lc  VARCHAR(1024) NOT NULL DEFAULT '',
	status        VARCHAR(32) NOT NULL,
	role          VARCHAR(255) NULL,
	role_lc       VARCHAR(255) NULL,
	contested     BOOLEAN NOT NULL DEFAULT FALSE,
	metadata      LONGTEXT NULL,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY users_users_email_key (email_key),
	KEY users_users_created_idx (created_at, id),
	KEY users_users_role_idx (role, created_at, id),
	CONSTRAINT users_users_role_fkey FOREIGN KEY (role) REFERENCES users_roles (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A user's policies, in the order they were given.
CREATE TABLE IF NOT EXISTS users_user_policies (
	user_id   VARCHAR(255) NOT NULL,
	position  INT NOT NULL,
	policy_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (user_id, position),
	KEY users_user_policies_policy_idx (policy_id),
	CONSTRAINT users_user_policies_user_fkey FOREIGN KEY (user_id) REFERENCES users_users (id) ON DELETE CASCADE,
	CONSTRAINT users_user_policies_policy_fkey FOREIGN KEY (policy_id) REFERENCES users_policies (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Tokens are kept by their SHA-256 only.
CREATE TABLE IF NOT EXISTS users_tokens (
	hash        VARBINARY(64) NOT NULL,
	purpose     VARCHAR(32) NOT NULL,
	user_id     VARCHAR(255) NOT NULL,
	email_key   VARCHAR(320) NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	consumed_at BIGINT NULL,
	PRIMARY KEY (hash),
	KEY users_tokens_user_idx (user_id, purpose),
	KEY users_tokens_expires_idx (expires_at),
	CONSTRAINT users_tokens_user_fkey FOREIGN KEY (user_id) REFERENCES users_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Login sessions, by the SHA-256 of their current refresh token; the
-- hashes of the tokens rotated away are in users_session_hashes, kept as
-- long as the session, for reuse detection.
CREATE TABLE IF NOT EXISTS users_sessions (
	id           VARCHAR(255) NOT NULL,
	user_id      VARCHAR(255) NOT NULL,
	token_hash   VARBINARY(64) NOT NULL,
	created_at   BIGINT NOT NULL,
	refreshed_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	ip           VARCHAR(255) NOT NULL DEFAULT '',
	user_agent   VARCHAR(1024) NOT NULL DEFAULT '',
	PRIMARY KEY (id),
	UNIQUE KEY users_sessions_token_key (token_hash),
	KEY users_sessions_user_idx (user_id),
	KEY users_sessions_expires_idx (expires_at),
	CONSTRAINT users_sessions_user_fkey FOREIGN KEY (user_id) REFERENCES users_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS users_session_hashes (
	hash       VARBINARY(64) NOT NULL,
	session_id VARCHAR(255) NOT NULL,
	PRIMARY KEY (hash),
	KEY users_session_hashes_session_idx (session_id),
	CONSTRAINT users_session_hashes_session_fkey FOREIGN KEY (session_id) REFERENCES users_sessions (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The outbox. user_id is no foreign key: sent and failed mail outlives its
-- user, as the outbox's record.
CREATE TABLE IF NOT EXISTS users_mail (
	id              VARCHAR(255) NOT NULL,
	message_id      VARCHAR(1024) NOT NULL DEFAULT '',
	kind            VARCHAR(32) NOT NULL,
	user_id         VARCHAR(255) NOT NULL DEFAULT '',
	to_addr         VARCHAR(320) NOT NULL,
	subject         TEXT NOT NULL,
	text_body       MEDIUMTEXT NOT NULL,
	html_body       MEDIUMTEXT NOT NULL,
	status          VARCHAR(16) NOT NULL,
	attempts        INT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL,
	created_at      BIGINT NOT NULL,
	next_attempt_at BIGINT NOT NULL,
	lease_until     BIGINT NULL,
	sent_at         BIGINT NULL,
	PRIMARY KEY (id),
	-- ClaimMail and MailStats read the pending mails oldest first.
	KEY users_mail_status_idx (status, created_at, id),
	KEY users_mail_to_idx (to_addr, created_at, id),
	KEY users_mail_created_idx (created_at, id),
	KEY users_mail_user_idx (user_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row (id 1): the settings document, opaque to the store.
CREATE TABLE IF NOT EXISTS users_settings (
	id         SMALLINT NOT NULL,
	doc        LONGBLOB NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Rows that transactions lock to take turns. 'admins': every change made
-- with Condition.KeepAdmin locks it first, so that such changes judge the
-- remaining administrators one at a time.
CREATE TABLE IF NOT EXISTS users_locks (
	name VARCHAR(64) NOT NULL,
	PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

INSERT IGNORE INTO users_locks (name) VALUES ('admins');

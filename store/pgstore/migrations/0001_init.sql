-- 0001: the initial schema. Every identifier and name column is COLLATE "C",
-- so that equality and ordering are bytewise, as in Go (ListRoles orders by
-- name, ListUsers and ListMail by created_at then id).

CREATE TABLE users_roles (
	id           text COLLATE "C" PRIMARY KEY,
	name         text COLLATE "C" NOT NULL,
	description  text NOT NULL DEFAULT '',
	admin_access boolean NOT NULL DEFAULT false
);

CREATE TABLE users_policies (
	id           text COLLATE "C" PRIMARY KEY,
	name         text COLLATE "C" NOT NULL,
	admin_access boolean NOT NULL DEFAULT false
);

CREATE TABLE users_users (
	id            text COLLATE "C" PRIMARY KEY,
	email         text NOT NULL DEFAULT '',
	-- email_key is the normalised email the Manager computed; '' when the
	-- user has no email. Unique when not empty (users_users_email_key_idx).
	email_key     text COLLATE "C" NOT NULL DEFAULT '',
	password_hash text NOT NULL DEFAULT '',
	first_name    text NOT NULL DEFAULT '',
	last_name     text NOT NULL DEFAULT '',
	status        text NOT NULL,
	role          text COLLATE "C" NULL
	              CONSTRAINT users_users_role_fkey REFERENCES users_roles (id),
	contested     boolean NOT NULL DEFAULT false,
	metadata      jsonb NULL,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);

CREATE UNIQUE INDEX users_users_email_key_idx ON users_users (email_key) WHERE email_key <> '';
CREATE INDEX users_users_created_idx ON users_users (created_at, id);
CREATE INDEX users_users_role_idx ON users_users (role, created_at, id);

-- A user's policies, in the order they were given.
CREATE TABLE users_user_policies (
	user_id   text COLLATE "C" NOT NULL
	          CONSTRAINT users_user_policies_user_fkey REFERENCES users_users (id) ON DELETE CASCADE,
	position  integer NOT NULL,
	policy_id text COLLATE "C" NOT NULL
	          CONSTRAINT users_user_policies_policy_fkey REFERENCES users_policies (id),
	PRIMARY KEY (user_id, position)
);

-- Tokens are kept by their SHA-256 only.
CREATE TABLE users_tokens (
	hash        bytea PRIMARY KEY,
	purpose     text NOT NULL,
	user_id     text COLLATE "C" NOT NULL
	            CONSTRAINT users_tokens_user_fkey REFERENCES users_users (id) ON DELETE CASCADE,
	created_at  timestamptz NOT NULL,
	expires_at  timestamptz NOT NULL,
	consumed_at timestamptz NULL
);

-- Serves the revocation of a user's live tokens when one is re-issued.
CREATE INDEX users_tokens_live_idx ON users_tokens (user_id, purpose) WHERE consumed_at IS NULL;

-- The outbox.
CREATE TABLE users_mail (
	id              text COLLATE "C" PRIMARY KEY,
	kind            text NOT NULL,
	user_id         text COLLATE "C" NOT NULL DEFAULT '',
	to_addr         text COLLATE "C" NOT NULL,
	subject         text NOT NULL,
	text_body       text NOT NULL,
	html_body       text NOT NULL,
	status          text NOT NULL,
	attempts        integer NOT NULL DEFAULT 0,
	last_error      text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	next_attempt_at timestamptz NOT NULL,
	lease_until     timestamptz NULL,
	sent_at         timestamptz NULL
);

-- ClaimMail scans the pending mails oldest first; sent and failed mails
-- leave this index.
CREATE INDEX users_mail_pending_idx ON users_mail (created_at, id) WHERE status = 'pending';
CREATE INDEX users_mail_to_idx ON users_mail (to_addr, created_at, id);

-- One row (id 1): the settings document, opaque to the store.
CREATE TABLE users_settings (
	id         smallint PRIMARY KEY CHECK (id = 1),
	doc        bytea NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);

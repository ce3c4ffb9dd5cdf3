-- 0012: two-factor sign-in.

-- A user's second factor: the TOTP secret as the Manager sealed it
-- (encrypted), and the last time step it accepted.
CREATE TABLE users_tfa (
	user_id    text COLLATE "C" PRIMARY KEY
	           CONSTRAINT users_tfa_user_fkey REFERENCES users_users (id) ON DELETE CASCADE,
	secret     bytea NOT NULL,
	last_step  bigint NOT NULL,
	created_at timestamptz NOT NULL
);

-- The SHA-256 of each unused recovery code. It belongs to the second
-- factor: removing the one removes the others.
CREATE TABLE users_recovery_codes (
	user_id text COLLATE "C" NOT NULL REFERENCES users_tfa (user_id) ON DELETE CASCADE,
	hash    bytea NOT NULL,
	PRIMARY KEY (user_id, hash)
);

ALTER TABLE users_roles    ADD COLUMN enforce_tfa boolean NOT NULL DEFAULT false;
ALTER TABLE users_policies ADD COLUMN enforce_tfa boolean NOT NULL DEFAULT false;

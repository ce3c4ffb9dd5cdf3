-- Version 12: two-factor sign-in.

-- A user's second factor: the TOTP secret as the Manager sealed it
-- (encrypted), and the last time step it accepted.
CREATE TABLE users_tfa (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users_users (id) ON DELETE CASCADE,
    secret     BLOB    NOT NULL,
    last_step  INTEGER NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- The SHA-256 of each unused recovery code. It belongs to the second
-- factor: removing the one removes the others.
CREATE TABLE users_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users_tfa (user_id) ON DELETE CASCADE,
    hash    BLOB NOT NULL,
    PRIMARY KEY (user_id, hash)
) WITHOUT ROWID;

ALTER TABLE users_roles    ADD COLUMN enforce_tfa INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users_policies ADD COLUMN enforce_tfa INTEGER NOT NULL DEFAULT 0;

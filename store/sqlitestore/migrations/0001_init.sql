-- Version 1: the initial schema of github.com/gousers/users.
--
-- Every table is prefixed with users_ so the library can share the host
-- application's database. Times are INTEGER unix microseconds, UTC.
-- Booleans are INTEGER 0/1.

CREATE TABLE users_roles (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    admin_access INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_roles_name ON users_roles (name, id);

CREATE TABLE users_policies (
    id           TEXT    NOT NULL PRIMARY KEY,
    name         TEXT    NOT NULL,
    admin_access INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX users_policies_name ON users_policies (name, id);

CREATE TABLE users_users (
    id            TEXT    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL DEFAULT '',
    -- The normalised email; '' when the user has no email.
    email_key     TEXT    NOT NULL DEFAULT '',
    -- PHC string; '' when the user has no password.
    password_hash TEXT    NOT NULL DEFAULT '',
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL,
    -- NULL: no role, public permissions only.
    role          TEXT    REFERENCES users_roles (id) ON DELETE SET NULL,
    contested     INTEGER NOT NULL DEFAULT 0,
    -- Host-application fields as a JSON object; NULL when there are none.
    metadata      TEXT    CHECK (metadata IS NULL OR json_valid(metadata)),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
-- Unique among users that have an email. Queries must repeat the
-- "email_key <> ''" term for the planner to use this partial index.
CREATE UNIQUE INDEX users_users_email_key ON users_users (email_key) WHERE email_key <> '';
CREATE INDEX users_users_created ON users_users (created_at, id);
CREATE INDEX users_users_role ON users_users (role, created_at, id);

-- A user's policies, in the order they were given.
CREATE TABLE users_user_policies (
    user_id   TEXT    NOT NULL REFERENCES users_users (id) ON DELETE CASCADE,
    policy_id TEXT    NOT NULL REFERENCES users_policies (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    PRIMARY KEY (user_id, policy_id)
) WITHOUT ROWID;
CREATE INDEX users_user_policies_policy ON users_user_policies (policy_id);

-- Only the SHA-256 of a token is stored, never the token.
CREATE TABLE users_tokens (
    hash        BLOB    NOT NULL PRIMARY KEY,
    purpose     TEXT    NOT NULL,
    user_id     TEXT    NOT NULL REFERENCES users_users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    -- NULL until the token is used.
    consumed_at INTEGER
) WITHOUT ROWID;
CREATE INDEX users_tokens_user ON users_tokens (user_id, purpose);

-- The mail outbox. user_id is not a foreign key: the outbox is a record
-- of what was sent and outlives the rows it mentions.
CREATE TABLE users_mail (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    user_id         TEXT    NOT NULL DEFAULT '',
    to_addr         TEXT    NOT NULL,
    subject         TEXT    NOT NULL DEFAULT '',
    text            TEXT    NOT NULL DEFAULT '',
    html            TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    sent_at         INTEGER
);
-- Serves ClaimMail (status = 'pending' in creation order) and ListMail by status.
CREATE INDEX users_mail_status ON users_mail (status, created_at, id);
CREATE INDEX users_mail_created ON users_mail (created_at, id);
CREATE INDEX users_mail_to ON users_mail (to_addr, created_at, id);

-- The settings document; at most one row.
CREATE TABLE users_settings (
    id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    doc BLOB    NOT NULL
);

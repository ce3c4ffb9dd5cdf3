-- Version 11: lifecycle events, which are the activity log, and their
-- deliveries to the Manager's event handlers.

-- One row per event, shaped as Directus's directus_activity (actor is
-- Directus's "user"; happened_at its "timestamp", in microseconds). The id
-- increases with each insert.
CREATE TABLE users_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    action      TEXT    NOT NULL,
    flow        TEXT    NOT NULL,
    collection  TEXT    NOT NULL,
    item        TEXT    NOT NULL,
    actor       TEXT    NOT NULL DEFAULT '',
    happened_at INTEGER NOT NULL,
    ip          TEXT    NOT NULL DEFAULT '',
    user_agent  TEXT    NOT NULL DEFAULT '',
    origin      TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    email       TEXT    NOT NULL DEFAULT '',
    role        TEXT    NOT NULL DEFAULT ''
);
-- A user's history, and what a user did, newest or oldest first by id.
CREATE INDEX users_events_item  ON users_events (item, id);
CREATE INDEX users_events_actor ON users_events (actor, id);
-- Retention deletes the oldest first.
CREATE INDEX users_events_time  ON users_events (happened_at, id);

-- A pending delivery of an event to one handler; deleted once handled.
CREATE TABLE users_event_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        INTEGER NOT NULL,
    handler         TEXT    NOT NULL,
    item            TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    UNIQUE (event_id, handler)
);
-- The first pending delivery of a handler for a user: what a claim may take.
CREATE INDEX users_event_deliveries_queue ON users_event_deliveries (handler, item, event_id);

-- Directus's last_access: the last sign-in or session refresh.
ALTER TABLE users_users ADD COLUMN last_access INTEGER;

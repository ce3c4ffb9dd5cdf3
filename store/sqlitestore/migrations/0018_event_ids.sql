-- Version 18: the event log's ids without AUTOINCREMENT. AUTOINCREMENT
-- rewrote a row of sqlite_sequence in every transaction that recorded an
-- event: one more page written per flow. An INTEGER PRIMARY KEY is given
-- one more than the highest id in the table, so ids still only increase
-- as long as the highest one is never deleted, and PruneEvents keeps the
-- newest event for that reason. Ids continue from the highest id the log
-- holds (a log pruned empty by an older version starts again at 1; no
-- delivery of an older event can remain then). The deliveries' own ids
-- are internal and only need to be unique.
CREATE TABLE users_events_next (
    id          INTEGER PRIMARY KEY,
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
INSERT INTO users_events_next (id, action, flow, collection, item, actor, happened_at, ip, user_agent, origin, request_id, email, role)
    SELECT id, action, flow, collection, item, actor, happened_at, ip, user_agent, origin, request_id, email, role FROM users_events;
DROP TABLE users_events;
ALTER TABLE users_events_next RENAME TO users_events;
CREATE INDEX users_events_item  ON users_events (item, id);
CREATE INDEX users_events_actor ON users_events (actor, id);
CREATE INDEX users_events_time  ON users_events (happened_at, id);

CREATE TABLE users_event_deliveries_next (
    id              INTEGER PRIMARY KEY,
    event_id        INTEGER NOT NULL,
    handler         TEXT    NOT NULL,
    item            TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    UNIQUE (event_id, handler)
);
INSERT INTO users_event_deliveries_next (id, event_id, handler, item, attempts, last_error, next_attempt_at, lease_until)
    SELECT id, event_id, handler, item, attempts, last_error, next_attempt_at, lease_until FROM users_event_deliveries;
DROP TABLE users_event_deliveries;
ALTER TABLE users_event_deliveries_next RENAME TO users_event_deliveries;
CREATE INDEX users_event_deliveries_queue ON users_event_deliveries (handler, item, event_id);

DELETE FROM sqlite_sequence WHERE name IN ('users_events', 'users_event_deliveries');

-- 0011: lifecycle events, which are the activity log, and their deliveries
-- to the Manager's event handlers.

-- One row per event, shaped as Directus's directus_activity (actor is
-- Directus's "user"; happened_at its "timestamp"). The id increases with
-- each insert.
CREATE TABLE users_events (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	action      text COLLATE "C" NOT NULL,
	flow        text COLLATE "C" NOT NULL,
	collection  text COLLATE "C" NOT NULL,
	item        text COLLATE "C" NOT NULL,
	actor       text COLLATE "C" NOT NULL DEFAULT '',
	happened_at timestamptz NOT NULL,
	ip          text COLLATE "C" NOT NULL DEFAULT '',
	user_agent  text COLLATE "C" NOT NULL DEFAULT '',
	origin      text COLLATE "C" NOT NULL DEFAULT '',
	request_id  text COLLATE "C" NOT NULL DEFAULT '',
	email       text COLLATE "C" NOT NULL DEFAULT '',
	role        text COLLATE "C" NOT NULL DEFAULT ''
);
-- A user's history, and what a user did, by id.
CREATE INDEX users_events_item_idx  ON users_events (item, id);
CREATE INDEX users_events_actor_idx ON users_events (actor, id);
-- Retention deletes the oldest first.
CREATE INDEX users_events_time_idx  ON users_events (happened_at, id);

-- A pending delivery of an event to one handler; deleted once handled.
CREATE TABLE users_event_deliveries (
	id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id        bigint NOT NULL,
	handler         text COLLATE "C" NOT NULL,
	item            text COLLATE "C" NOT NULL,
	attempts        integer NOT NULL DEFAULT 0,
	last_error      text NOT NULL DEFAULT '',
	next_attempt_at timestamptz NOT NULL,
	lease_until     timestamptz,
	UNIQUE (event_id, handler)
);
-- The first pending delivery of a handler for a user: what a claim may take.
CREATE INDEX users_event_deliveries_queue_idx ON users_event_deliveries (handler, item, event_id);

-- Directus's last_access: the last sign-in or session refresh.
ALTER TABLE users_users ADD COLUMN last_access timestamptz;

-- 0011: lifecycle events, which are the activity log, and their deliveries
-- to the Manager's event handlers. Idempotent, as every migration here.

-- One row per event, shaped as Directus's directus_activity (actor is
-- Directus's "user"; happened_at its "timestamp", in Unix microseconds).
-- The id increases with each insert.
CREATE TABLE IF NOT EXISTS users_events (
	id          BIGINT NOT NULL AUTO_INCREMENT,
	action      VARCHAR(64) NOT NULL,
	flow        VARCHAR(64) NOT NULL,
	collection  VARCHAR(64) NOT NULL,
	item        VARCHAR(255) NOT NULL,
	actor       VARCHAR(255) NOT NULL DEFAULT '',
	happened_at BIGINT NOT NULL,
	ip          VARCHAR(255) NOT NULL DEFAULT '',
	user_agent  VARCHAR(1024) NOT NULL DEFAULT '',
	origin      VARCHAR(1024) NOT NULL DEFAULT '',
	request_id  VARCHAR(255) NOT NULL DEFAULT '',
	email       VARCHAR(1024) NOT NULL DEFAULT '',
	role        VARCHAR(255) NOT NULL DEFAULT '',
	PRIMARY KEY (id),
	KEY users_events_item (item, id),
	KEY users_events_actor (actor, id),
	KEY users_events_time (happened_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{nopad_bin}};

-- A pending delivery of an event to one handler; deleted once handled.
-- The queue key finds the first pending delivery of a handler for a user.
CREATE TABLE IF NOT EXISTS users_event_deliveries (
	id              BIGINT NOT NULL AUTO_INCREMENT,
	event_id        BIGINT NOT NULL,
	handler         VARCHAR(255) NOT NULL,
	item            VARCHAR(255) NOT NULL,
	attempts        INT NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL,
	next_attempt_at BIGINT NOT NULL,
	lease_until     BIGINT NULL,
	PRIMARY KEY (id),
	UNIQUE KEY users_event_deliveries_event (event_id, handler),
	KEY users_event_deliveries_queue (handler, item, event_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{nopad_bin}};

-- Directus's last_access: the last sign-in or session refresh (Unix
-- microseconds). The check keeps the statement idempotent.
SET @has_last_access = (SELECT COUNT(*) FROM information_schema.columns
	WHERE table_schema = DATABASE() AND table_name = 'users_users' AND column_name = 'last_access');
SET @add_last_access = IF(@has_last_access = 0, 'ALTER TABLE users_users ADD COLUMN last_access BIGINT NULL', 'DO 0');
PREPARE add_last_access FROM @add_last_access;
EXECUTE add_last_access;
DEALLOCATE PREPARE add_last_access;

-- 0002: the events of the store-backed rate limiters (Limiter). A row of
-- users_limiter_events is n events at one instant for one (limiter name,
-- key) pair, which it names only by key_hash, the SHA-256 of both: keys
-- are email addresses and IP addresses, and are never stored. Times are
-- Unix nanoseconds on the limiter's clock; expires_at is at plus the
-- limiter's window, and the sweep deletes rows past it, whichever limiter
-- wrote them. users_limiter_keys has one row per pair with live events:
-- each decision locks it, so that the count and the insert of one key are
-- atomic across connections and instances; expires_at is the latest of
-- its events'.

CREATE TABLE IF NOT EXISTS users_limiter_events (
	key_hash   BINARY(32) NOT NULL,
	at         BIGINT NOT NULL,
	n          INT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (key_hash, at),
	KEY users_limiter_events_expires_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS users_limiter_keys (
	key_hash   BINARY(32) NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (key_hash),
	KEY users_limiter_keys_expires_idx (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- 0002: the events of the store-backed rate limiters (Limiter). A row is
-- n events at one instant for one (limiter name, key) pair, which it names
-- only by key_hash, the SHA-256 of both (see limiterKeyHash): keys are
-- email addresses and IP addresses, and are never stored. Times are Unix
-- nanoseconds on the limiter's clock. expires_at is at plus the limiter's
-- window: the sweep deletes rows past it, whichever limiter wrote them.

CREATE TABLE users_limiter_events (
	key_hash   bytea  NOT NULL,
	at         bigint NOT NULL,
	n          integer NOT NULL,
	expires_at bigint NOT NULL,
	PRIMARY KEY (key_hash, at)
);

CREATE INDEX users_limiter_events_expires_idx ON users_limiter_events (expires_at);

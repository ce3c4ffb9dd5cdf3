-- 0012: two-factor sign-in. An ADD COLUMN that a migration cut short
-- already applied is skipped when the migration runs again (see migrate).

-- A user's second factor: the TOTP secret as the Manager sealed it
-- (encrypted), and the last time step it accepted.
CREATE TABLE IF NOT EXISTS users_tfa (
	user_id    VARCHAR(255) NOT NULL,
	secret     VARBINARY(1024) NOT NULL,
	last_step  BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (user_id),
	CONSTRAINT users_tfa_user_fkey FOREIGN KEY (user_id) REFERENCES users_users (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{nopad_bin}};

-- The SHA-256 of each unused recovery code. It belongs to the second
-- factor: removing the one removes the others.
CREATE TABLE IF NOT EXISTS users_recovery_codes (
	user_id VARCHAR(255) NOT NULL,
	hash    VARBINARY(64) NOT NULL,
	PRIMARY KEY (user_id, hash),
	CONSTRAINT users_recovery_codes_tfa_fkey FOREIGN KEY (user_id) REFERENCES users_tfa (user_id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={{nopad_bin}};

ALTER TABLE users_roles ADD COLUMN enforce_tfa BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users_policies ADD COLUMN enforce_tfa BOOLEAN NOT NULL DEFAULT FALSE;

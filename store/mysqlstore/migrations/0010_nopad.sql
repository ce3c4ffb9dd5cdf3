-- 0010: text compares byte for byte, trailing spaces included. utf8mb4_bin
-- is a PAD SPACE collation: 'abc ' = 'abc', so GET /users/<id>%20 found
-- the user and a role id with a trailing space collided with another,
-- where SQLite and PostgreSQL tell them apart. {{nopad_bin}} is the
-- server's binary NO PAD collation (see flavour in migrate.go).
--
-- A column a foreign key joins cannot change collation while the key
-- stands: MariaDB drops the keys and adds them back after; MySQL allows
-- the change with foreign key checks off (on this connection only; the
-- migrator never pools a connection whose migration failed). Each
-- statement can run again.

MARIADB: ALTER TABLE users_users DROP FOREIGN KEY IF EXISTS users_users_role_fkey;
MARIADB: ALTER TABLE users_user_policies DROP FOREIGN KEY IF EXISTS users_user_policies_user_fkey;
MARIADB: ALTER TABLE users_user_policies DROP FOREIGN KEY IF EXISTS users_user_policies_policy_fkey;
MARIADB: ALTER TABLE users_tokens DROP FOREIGN KEY IF EXISTS users_tokens_user_fkey;
MARIADB: ALTER TABLE users_sessions DROP FOREIGN KEY IF EXISTS users_sessions_user_fkey;
MARIADB: ALTER TABLE users_session_hashes DROP FOREIGN KEY IF EXISTS users_session_hashes_session_fkey;
MYSQL: SET foreign_key_checks = 0;
ALTER TABLE users_roles CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_policies CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_users CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_user_policies CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_tokens CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_sessions CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_session_hashes CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_mail CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_settings CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
ALTER TABLE users_locks CONVERT TO CHARACTER SET utf8mb4 COLLATE {{nopad_bin}};
MYSQL: SET foreign_key_checks = 1;
MARIADB: ALTER TABLE users_users ADD CONSTRAINT users_users_role_fkey FOREIGN KEY IF NOT EXISTS (role) REFERENCES users_roles (id);
MARIADB: ALTER TABLE users_user_policies ADD CONSTRAINT users_user_policies_user_fkey FOREIGN KEY IF NOT EXISTS (user_id) REFERENCES users_users (id) ON DELETE CASCADE;
MARIADB: ALTER TABLE users_user_policies ADD CONSTRAINT users_user_policies_policy_fkey FOREIGN KEY IF NOT EXISTS (policy_id) REFERENCES users_policies (id);
MARIADB: ALTER TABLE users_tokens ADD CONSTRAINT users_tokens_user_fkey FOREIGN KEY IF NOT EXISTS (user_id) REFERENCES users_users (id) ON DELETE CASCADE;
MARIADB: ALTER TABLE users_sessions ADD CONSTRAINT users_sessions_user_fkey FOREIGN KEY IF NOT EXISTS (user_id) REFERENCES users_users (id) ON DELETE CASCADE;
MARIADB: ALTER TABLE users_session_hashes ADD CONSTRAINT users_session_hashes_session_fkey FOREIGN KEY IF NOT EXISTS (session_id) REFERENCES users_sessions (id) ON DELETE CASCADE;

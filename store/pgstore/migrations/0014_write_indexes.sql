-- 0014: fewer indexes for the writes every user pays for.
--
-- Verifying an address, accepting an invitation and resetting a password
-- change a user's status and updated_at. While either column is in an
-- index, such an update cannot be a heap-only (HOT) update: PostgreSQL
-- writes a new entry into every index of users_users (a dozen), not only
-- the ones on the changed columns. Without the three below, none of those
-- flows changes an indexed column of users_users, and the free space the
-- fill factor leaves on each page lets the new row version stay on its
-- page. What they served:
--   - a status filter sorted by email: the email index is walked instead,
--     checking each row's status; a status and role filter uses
--     users_users_role_email_idx as before;
--   - a status filter in the default order: users_users_created_idx,
--     checking each row's status; a count by status reads the table;
--   - a sort by updated_at: read and sorted in full (a top-N sort).
DROP INDEX IF EXISTS users_users_status_email_idx;
DROP INDEX IF EXISTS users_users_status_created_idx;
DROP INDEX IF EXISTS users_users_updated_idx;
ALTER TABLE users_users SET (fillfactor = 85);

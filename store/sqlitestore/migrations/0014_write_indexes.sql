-- Version 14: fewer indexes for the writes every user pays for.
--
-- Verifying an address, accepting an invitation and resetting a password
-- change a user's status and updated_at. Each index on either column is
-- one more B-tree entry to delete and insert, and one more page the commit
-- writes to the WAL, in the write transaction that holds SQLite's only
-- write lock: with the three below, a verification wrote about six pages
-- where one with none writes two. What they served:
--   - a status filter sorted by email: the email index is walked instead,
--     checking each row's status (a page of a common status reads little
--     more than the page; a status with few users reads more), and a
--     status and role filter uses users_users_role_email as before;
--   - a status filter in the default order: users_users_created, checking
--     each row's status; a count by status reads the table;
--   - a sort by updated_at: read and sorted in full (the top of the sort).
DROP INDEX IF EXISTS users_users_status_email;
DROP INDEX IF EXISTS users_users_status_created;
DROP INDEX IF EXISTS users_users_updated;

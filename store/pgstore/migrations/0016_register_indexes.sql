-- 0016: fewer index entries for every registration and invitation.
--
-- Each new user inserts a row into users_users and users_mail, and each
-- index of those tables takes an entry (and WAL) with it. Two indexes held
-- entries that no query needed from those rows:
--   - users_mail_status_idx held every mail, for MailStats' count of failed
--     mail (the pending ones are counted over users_mail_pending_idx). A
--     partial index of the failed mail serves that count, and a new mail,
--     pending, and a delivered one, sent, take no entry in it;
--   - users_users_last_name_sort_idx (last_name, id) repeated the first
--     column of users_users_full_name_sort_idx (last_name, first_name, id):
--     a page sorted by last name reads that index in order and sorts only
--     the users who share a last name by id (an incremental sort).
DROP INDEX IF EXISTS users_mail_status_idx;
CREATE INDEX IF NOT EXISTS users_mail_failed_idx ON users_mail (created_at) WHERE status = 'failed';
DROP INDEX IF EXISTS users_users_last_name_sort_idx;

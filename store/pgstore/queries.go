package pgstore

// queries are the Store's statements, with their table names qualified by
// the schema when WithSchema was given. They are built once, in New; pgx
// prepares and caches each per connection on first use.
type queries struct {
	getUser, getUserByEmailKey                                                  string
	insertUser, insertPolicies, deletePolicies, lockUser, updateUser            string
	lockUsers, updateUsers, deleteUsersPolicies, insertUsersPolicies            string
	lockUsersForDelete, deleteUsersMail, deleteUsers                            string
	adminLock, activeAdmin                                                      string
	revokeTokens, insertToken, lockTokenUser, lockToken, consumeToken, getToken string
	revokePurposes, endSessions, revokeUsersPurposes, endUsersSessions          string
	insertRole, getRole, listRoles, insertPolicy, getPolicy, listPolicies       string
	getSettings, saveSettings                                                   string
	insertMail, claimMail, updateMail, listMail, mailStats                      string
	lockUserShare, insertSession, getSession, lockSessionUser, lockSession      string
	insertSessionHash, rotateSession, deleteReused, deleteSession               string
	deleteSessionByToken, purgeExpired                                          string
}

// userCols reads a store.User (see scanUser) from users_users AS u.
const userCols = `u.id, u.email, u.email_key, u.password_hash, u.first_name, u.last_name,
	u.status, u.role, u.contested, u.metadata, u.created_at, u.updated_at,
	ARRAY(SELECT p.policy_id FROM users_user_policies p WHERE p.user_id = u.id ORDER BY p.position)`

// userSet applies a store.UserChange: NULL leaves a column alone; $8 says
// whether $9 (NULL: no role) replaces the role. $1 is the user id (or ids).
// $13 to $17 are the lower-cased copies of email, first and last name,
// status and role.
const userSet = `
	email            = COALESCE($2, u.email),
	email_key        = COALESCE($3, u.email_key),
	password_hash    = COALESCE($4, u.password_hash),
	first_name       = COALESCE($5, u.first_name),
	last_name        = COALESCE($6, u.last_name),
	status           = COALESCE($7, u.status),
	role             = CASE WHEN $8::boolean THEN $9 ELSE u.role END,
	contested        = COALESCE($10, u.contested),
	metadata         = COALESCE($11::jsonb, u.metadata),
	updated_at       = $12,
	email_lower      = COALESCE($13, u.email_lower),
	first_name_lower = COALESCE($14, u.first_name_lower),
	last_name_lower  = COALESCE($15, u.last_name_lower),
	status_lower     = COALESCE($16, u.status_lower),
	role_lower       = CASE WHEN $8::boolean THEN $17 ELSE u.role_lower END`

// userState are the columns a Condition tests, as the lock statements
// read them.
const userState = `status, contested, email_key, password_hash`

// mailCols reads a store.Mail (see scanMail) from users_mail AS m.
const mailCols = `m.id, m.kind, m.user_id, m.to_addr, m.subject, m.text_body, m.html_body,
	m.status, m.attempts, m.last_error, m.created_at, m.next_attempt_at, m.lease_until, m.sent_at, m.message_id`

// sessionCols reads a store.Session (see scanSession).
const sessionCols = `id, user_id, token_hash, created_at, refreshed_at, expires_at, ip, user_agent`

func newQueries(prefix string) queries {
	q := qualifier(prefix)
	return queries{
		getUser:           q(`SELECT ` + userCols + ` FROM users_users u WHERE u.id = $1`),
		getUserByEmailKey: q(`SELECT ` + userCols + ` FROM users_users u WHERE u.email_key = $1 AND u.email_key <> ''`),

		insertUser: q(`INSERT INTO users_users (id, email, email_key, password_hash, first_name, last_name,
	status, role, contested, metadata, created_at, updated_at,
	id_lower, email_lower, first_name_lower, last_name_lower, status_lower, role_lower)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`),
		insertPolicies: q(`INSERT INTO users_user_policies (user_id, position, policy_id)
SELECT $1, p.ord, p.id FROM unnest($2::text[]) WITH ORDINALITY AS p(id, ord)`),
		deletePolicies: q(`DELETE FROM users_user_policies WHERE user_id = $1`),
		lockUser:       q(`SELECT ` + userState + ` FROM users_users WHERE id = $1 FOR NO KEY UPDATE`),
		updateUser:     q(`UPDATE users_users u SET ` + userSet + ` WHERE u.id = $1 RETURNING ` + userCols),

		lockUsers:           q(`SELECT ` + userState + ` FROM users_users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`),
		updateUsers:         q(`UPDATE users_users u SET ` + userSet + ` WHERE u.id = ANY($1)`),
		deleteUsersPolicies: q(`DELETE FROM users_user_policies WHERE user_id = ANY($1)`),
		insertUsersPolicies: q(`INSERT INTO users_user_policies (user_id, position, policy_id)
SELECT u.id, p.ord, p.id FROM unnest($1::text[]) AS u(id) CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS p(id, ord)`),

		// DeleteUsers locks the users to delete in id order; the rows that
		// belong to them go by ON DELETE CASCADE, but for the mail.
		lockUsersForDelete: q(`SELECT ` + userState + ` FROM users_users WHERE id = ANY($1) ORDER BY id FOR UPDATE`),
		deleteUsersMail:    q(`DELETE FROM users_mail WHERE user_id = ANY($1) AND status = 'pending'`),
		deleteUsers:        q(`DELETE FROM users_users WHERE id = ANY($1)`),

		// Changes made with Condition.KeepAdmin take this transaction-scoped
		// lock ($1: Store.adminLock) before anything else, then judge with
		// activeAdmin before and after the change.
		adminLock: `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
		activeAdmin: q(`SELECT EXISTS (SELECT 1 FROM users_roles r JOIN users_users u ON u.role = r.id
		WHERE r.admin_access AND u.status = 'active')
	OR EXISTS (SELECT 1 FROM users_policies p JOIN users_user_policies up ON up.policy_id = p.id
		JOIN users_users u ON u.id = up.user_id WHERE p.admin_access AND u.status = 'active')`),

		revokeTokens:        q(`DELETE FROM users_tokens WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL`),
		revokePurposes:      q(`DELETE FROM users_tokens WHERE user_id = $1 AND purpose = ANY($2) AND consumed_at IS NULL`),
		endSessions:         q(`DELETE FROM users_sessions WHERE user_id = $1`),
		revokeUsersPurposes: q(`DELETE FROM users_tokens WHERE user_id = ANY($1) AND purpose = ANY($2) AND consumed_at IS NULL`),
		endUsersSessions:    q(`DELETE FROM users_sessions WHERE user_id = ANY($1)`),
		insertToken: q(`INSERT INTO users_tokens (hash, purpose, user_id, email_key, created_at, expires_at, consumed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)`),
		// ConsumeToken locks the token's user, then the token, as UpdateUser
		// locks the user before it revokes tokens: one lock order, so the
		// two never deadlock. The second statement runs after the first
		// holds the user's lock, and (read committed) sees the token as the
		// last holder of that lock left it.
		lockTokenUser: q(`SELECT u.status, u.contested, u.email_key, u.password_hash FROM users_users u
WHERE u.id = (SELECT t.user_id FROM users_tokens t WHERE t.hash = $1 AND t.purpose = $2)
FOR NO KEY UPDATE`),
		lockToken: q(`SELECT user_id, consumed_at, expires_at FROM users_tokens
WHERE hash = $1 AND purpose = $2 FOR UPDATE`),
		consumeToken: q(`UPDATE users_tokens SET consumed_at = $2 WHERE hash = $1`),
		getToken:     q(`SELECT hash, purpose, user_id, email_key, created_at, expires_at, consumed_at FROM users_tokens WHERE hash = $1`),

		insertRole:   q(`INSERT INTO users_roles (id, name, description, admin_access) VALUES ($1, $2, $3, $4)`),
		getRole:      q(`SELECT id, name, description, admin_access FROM users_roles WHERE id = $1`),
		listRoles:    q(`SELECT id, name, description, admin_access FROM users_roles ORDER BY name, id`),
		insertPolicy: q(`INSERT INTO users_policies (id, name, admin_access) VALUES ($1, $2, $3)`),
		getPolicy:    q(`SELECT id, name, admin_access FROM users_policies WHERE id = $1`),
		listPolicies: q(`SELECT id, name, admin_access FROM users_policies ORDER BY name, id`),

		getSettings: q(`SELECT doc FROM users_settings WHERE id = 1`),
		saveSettings: q(`INSERT INTO users_settings (id, doc, updated_at) VALUES (1, $1, now())
ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at`),

		insertMail: q(`INSERT INTO users_mail (id, kind, user_id, to_addr, subject, text_body, html_body,
	status, attempts, last_error, created_at, next_attempt_at, lease_until, sent_at, message_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`),
		// The CTE runs once and locks what it picks; SKIP LOCKED passes
		// over mails another worker is claiming right now, and a mail
		// claimed and committed since this statement's snapshot is
		// re-checked against the lease condition once locked, so it drops
		// out. The result is re-sorted by the caller.
		claimMail: q(`WITH c AS (
	SELECT id FROM users_mail
	WHERE status = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
	ORDER BY created_at, id
	LIMIT $3
	FOR UPDATE SKIP LOCKED
)
UPDATE users_mail m SET lease_until = $2 FROM c WHERE m.id = c.id
RETURNING ` + mailCols),
		updateMail: q(`UPDATE users_mail SET status = $2, attempts = $3, last_error = $4,
	next_attempt_at = $5, sent_at = $6, lease_until = NULL,
	text_body = CASE WHEN $7::boolean THEN '' ELSE text_body END,
	html_body = CASE WHEN $7::boolean THEN '' ELSE html_body END
WHERE id = $1`),
		// ListMail appends its WHERE, ORDER BY and LIMIT.
		listMail: q(`SELECT ` + mailCols + ` FROM users_mail m`),
		mailStats: q(`SELECT
	(SELECT count(*) FROM users_mail WHERE status = 'pending'),
	(SELECT count(*) FROM users_mail WHERE status = 'failed'),
	(SELECT min(created_at) FROM users_mail WHERE status = 'pending')`),

		// A session is created, and rotated, while its user is locked FOR
		// SHARE: a concurrent change of the user (a new password that ends
		// its sessions) waits for it, or it for the change, which it then
		// sees. User before session, as UpdateUser and DeleteUsers lock
		// them, so the two never deadlock.
		lockUserShare: q(`SELECT ` + userState + ` FROM users_users WHERE id = $1 FOR SHARE`),
		insertSession: q(`INSERT INTO users_sessions (` + sessionCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		getSession:    q(`SELECT ` + sessionCols + ` FROM users_sessions WHERE id = $1`),
		lockSessionUser: q(`SELECT u.status, u.contested, u.email_key, u.password_hash FROM users_users u
WHERE u.id = (SELECT s.user_id FROM users_sessions s WHERE s.token_hash = $1)
FOR SHARE`),
		// Concurrent rotations of one token queue here; when the first
		// commits, the others (read committed) find the row no longer has
		// the hash, and go on to reuse detection.
		lockSession:       q(`SELECT ` + sessionCols + ` FROM users_sessions WHERE token_hash = $1 FOR UPDATE`),
		insertSessionHash: q(`INSERT INTO users_session_hashes (hash, session_id) VALUES ($1, $2)`),
		rotateSession: q(`UPDATE users_sessions SET token_hash = $2, refreshed_at = $3, expires_at = $4
WHERE id = $1 RETURNING ` + sessionCols),
		deleteReused: q(`DELETE FROM users_sessions
WHERE id = (SELECT session_id FROM users_session_hashes WHERE hash = $1) RETURNING id`),
		deleteSession: q(`DELETE FROM users_sessions WHERE id = $1`),
		deleteSessionByToken: q(`DELETE FROM users_sessions
WHERE token_hash = $1 OR id = (SELECT session_id FROM users_session_hashes WHERE hash = $1)`),
		purgeExpired: q(`WITH s AS (DELETE FROM users_sessions WHERE expires_at <= $1 RETURNING 1),
t AS (DELETE FROM users_tokens WHERE expires_at <= $1 RETURNING 1)
SELECT (SELECT count(*) FROM s) + (SELECT count(*) FROM t)`),
	}
}

package pgstore

// queries are the Store's statements, with their table names qualified by
// the schema when WithSchema was given. They are built once, in New; pgx
// prepares and caches each per connection on first use.
type queries struct {
	getUser, getUserByEmailKey, listUsers                                       string
	insertUser, insertPolicies, deletePolicies, lockUser, updateUser            string
	lockUsers, updateUsers, deleteUsersPolicies, insertUsersPolicies            string
	revokeTokens, insertToken, lockTokenUser, lockToken, consumeToken, getToken string
	insertRole, getRole, listRoles, insertPolicy, getPolicy, listPolicies       string
	getSettings, saveSettings                                                   string
	insertMail, claimMail, updateMail, listMail                                 string
}

// userCols reads a users.UserRecord (see scanUser) from users_users AS u.
const userCols = `u.id, u.email, u.email_key, u.password_hash, u.first_name, u.last_name,
	u.status, u.role, u.contested, u.metadata, u.created_at, u.updated_at,
	ARRAY(SELECT p.policy_id FROM users_user_policies p WHERE p.user_id = u.id ORDER BY p.position)`

// userSet applies a users.UserChange: NULL leaves a column alone; $8 says
// whether $9 (NULL: no role) replaces the role. $1 is the user id (or ids).
const userSet = `
	email         = COALESCE($2, u.email),
	email_key     = COALESCE($3, u.email_key),
	password_hash = COALESCE($4, u.password_hash),
	first_name    = COALESCE($5, u.first_name),
	last_name     = COALESCE($6, u.last_name),
	status        = COALESCE($7, u.status),
	role          = CASE WHEN $8::boolean THEN $9 ELSE u.role END,
	contested     = COALESCE($10, u.contested),
	metadata      = COALESCE($11::jsonb, u.metadata),
	updated_at    = $12`

// mailCols reads a users.Mail (see scanMail) from users_mail AS m.
const mailCols = `m.id, m.kind, m.user_id, m.to_addr, m.subject, m.text_body, m.html_body,
	m.status, m.attempts, m.last_error, m.created_at, m.next_attempt_at, m.lease_until, m.sent_at`

func newQueries(prefix string) queries {
	q := qualifier(prefix)
	return queries{
		getUser:           q(`SELECT ` + userCols + ` FROM users_users u WHERE u.id = $1`),
		getUserByEmailKey: q(`SELECT ` + userCols + ` FROM users_users u WHERE u.email_key = $1 AND u.email_key <> ''`),
		// ListUsers appends its WHERE, ORDER BY and LIMIT.
		listUsers: q(`SELECT ` + userCols + ` FROM users_users u`),

		insertUser: q(`INSERT INTO users_users (id, email, email_key, password_hash, first_name, last_name,
	status, role, contested, metadata, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`),
		insertPolicies: q(`INSERT INTO users_user_policies (user_id, position, policy_id)
SELECT $1, p.ord, p.id FROM unnest($2::text[]) WITH ORDINALITY AS p(id, ord)`),
		deletePolicies: q(`DELETE FROM users_user_policies WHERE user_id = $1`),
		lockUser:       q(`SELECT status, contested FROM users_users WHERE id = $1 FOR NO KEY UPDATE`),
		updateUser:     q(`UPDATE users_users u SET ` + userSet + ` WHERE u.id = $1 RETURNING ` + userCols),

		lockUsers:           q(`SELECT id FROM users_users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`),
		updateUsers:         q(`UPDATE users_users u SET ` + userSet + ` WHERE u.id = ANY($1)`),
		deleteUsersPolicies: q(`DELETE FROM users_user_policies WHERE user_id = ANY($1)`),
		insertUsersPolicies: q(`INSERT INTO users_user_policies (user_id, position, policy_id)
SELECT u.id, p.ord, p.id FROM unnest($1::text[]) AS u(id) CROSS JOIN unnest($2::text[]) WITH ORDINALITY AS p(id, ord)`),

		revokeTokens: q(`DELETE FROM users_tokens WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL`),
		insertToken: q(`INSERT INTO users_tokens (hash, purpose, user_id, created_at, expires_at, consumed_at)
VALUES ($1, $2, $3, $4, $5, $6)`),
		// ConsumeToken locks the token's user, then the token, as UpdateUser
		// locks the user before it revokes tokens: one lock order, so the
		// two never deadlock. The second statement runs after the first
		// holds the user's lock, and (read committed) sees the token as the
		// last holder of that lock left it.
		lockTokenUser: q(`SELECT u.status, u.contested FROM users_users u
WHERE u.id = (SELECT t.user_id FROM users_tokens t WHERE t.hash = $1 AND t.purpose = $2)
FOR NO KEY UPDATE`),
		lockToken: q(`SELECT user_id, consumed_at, expires_at FROM users_tokens
WHERE hash = $1 AND purpose = $2 FOR UPDATE`),
		consumeToken: q(`UPDATE users_tokens SET consumed_at = $2 WHERE hash = $1`),
		getToken:     q(`SELECT hash, purpose, user_id, created_at, expires_at, consumed_at FROM users_tokens WHERE hash = $1`),

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
	status, attempts, last_error, created_at, next_attempt_at, lease_until, sent_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`),
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
	}
}

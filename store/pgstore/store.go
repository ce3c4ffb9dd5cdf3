package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sqlstore"
)

// Store is a store.Store on PostgreSQL. It is safe for concurrent use, and
// several Stores — in one process or in many — may share one database
// schema. Create it with New.
type Store struct {
	pool    *pgxpool.Pool
	schema  string // "" when the pool's search_path decides
	retries int
	q       queries
	eq      eventQueries
	qual    func(string) string // qualifies table names with the schema

	// adminLock names the advisory lock under which KeepAdmin is judged;
	// one per schema (set by migrate).
	adminLock string
}

// adminLockNamespace is hashed with the schema name into the key of the
// advisory lock that serialises the changes made with Condition.KeepAdmin.
const adminLockNamespace = "github.com/gousers/users/store/pgstore keep-admin "

var _ store.Store = (*Store)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	schema  string
	retries int
}

// WithSchema puts the store's tables in the named schema, which New creates
// when it does not exist; every statement then names the schema, whatever
// the connections' search_path. Default: none — the tables live in the
// pool's current schema (the first existing schema of its search_path,
// usually "public"), so a host app that sets search_path on the pool
// decides.
func WithSchema(name string) Option {
	return func(o *options) { o.schema = name }
}

// WithRetries sets how many times an operation that failed with a
// serialization failure (SQLSTATE 40001) or a deadlock (40P01) is retried,
// after a short jittered backoff, before the error is returned. Default 5;
// 0 disables retries.
func WithRetries(n int) Option {
	return func(o *options) {
		if n >= 0 {
			o.retries = n
		}
	}
}

// New returns a Store on pool, which the host app opened and still owns
// (Close it after the last use of the Store). New brings the schema up to
// date first: it applies the embedded migrations the database has not seen,
// in one transaction under an advisory lock, so instances starting at once
// migrate exactly once and each sees the finished schema.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, errors.New("pgstore: New: nil pool")
	}
	o := options{retries: 5}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{pool: pool, schema: o.schema, retries: o.retries}
	prefix := ""
	if o.schema != "" {
		prefix = pgx.Identifier{o.schema}.Sanitize() + "."
	}
	s.q = newQueries(prefix)
	s.qual = qualifier(prefix)
	s.eq = newEventQueries(s.qual)
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// tables are the names every statement uses; qualify prefixes them with the
// schema when one was given.
var tables = []string{
	"users_users", "users_roles", "users_policies", "users_user_policies",
	"users_tokens", "users_mail", "users_settings", "users_schema_migrations",
	"users_sessions", "users_session_hashes", "users_events", "users_event_deliveries",
	"users_tfa", "users_recovery_codes",
}

func qualifier(prefix string) func(string) string {
	if prefix == "" {
		return func(q string) string { return q }
	}
	var pairs []string
	for _, t := range tables {
		pairs = append(pairs, t, prefix+t)
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}

// do runs fn, retrying it after serialization failures and deadlocks, and
// turns its error into the one the Store returns: a users sentinel where
// one applies, ctx's error when ctx ended, always prefixed with op.
func (s *Store) do(ctx context.Context, op string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		if attempt < s.retries && retryable(err) && ctx.Err() == nil {
			if serr := sqlstore.Sleep(ctx, sqlstore.Backoff(attempt)); serr == nil {
				continue
			}
		}
		return wrapErr(ctx, op, err)
	}
}

// retryable reports whether err is a transient failure that a new attempt of
// the whole transaction may not meet.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// wrapErr maps err to the Store's error for op.
func wrapErr(ctx context.Context, op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505" && pe.ConstraintName == "users_users_email_key_idx":
			err = store.ErrDuplicateEmail
		case pe.Code == "23503" && pe.ConstraintName == "users_users_role_fkey":
			err = store.ErrRoleNotFound
		case pe.Code == "23503" && pe.ConstraintName == "users_user_policies_policy_fkey":
			err = store.ErrPolicyNotFound
		}
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) && !sqlstore.IsSentinel(err) {
		// pgx reports a cancelled statement in several ways; make sure
		// errors.Is(err, context.Canceled) holds whichever it was.
		return fmt.Errorf("pgstore: %s: %w (%w)", op, cerr, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

// inTx runs fn on a connection of its own, for an explicit transaction that
// fn begins and commits itself by queueing "begin" and "commit" in its
// batches (one round trip each instead of three). If fn leaves the
// transaction open — an error, a precondition that failed — it is rolled
// back before the connection goes back to the pool.
func (s *Store) inTx(ctx context.Context, fn func(c *pgx.Conn) error) error {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer func() {
		c := pc.Conn()
		if !c.IsClosed() && c.PgConn().TxStatus() != 'I' {
			// ctx may be cancelled already; the rollback must still run.
			// If it fails, the pool discards the connection (it does so
			// with any connection released inside a transaction).
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_, _ = c.Exec(rctx, "rollback")
			cancel()
		}
		pc.Release()
	}()
	return fn(pc.Conn())
}

// sendBatch sends b on the pool and reads every result. A batch without
// "begin" runs as one implicit transaction: all of it or none of it.
func (s *Store) sendBatch(ctx context.Context, b *pgx.Batch) error {
	return s.pool.SendBatch(ctx, b).Close()
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// queries are the Store's statements, with their table names qualified by
// the schema when WithSchema was given. They are built once, in New; pgx
// prepares and caches each per connection on first use.
type queries struct {
	getUser, getUserByEmailKey                                                           string
	insertUser, lockUser                                                                 string
	byID, byToken                                                                        userStmts
	lockUsers, updateUsers, deleteUsersPolicies, insertUsersPolicies                     string
	lockUsersForDelete, deleteUsersMail, deleteUsers                                     string
	adminLock, activeAdmin                                                               string
	revokeTokens, insertToken, lockTokenUser, lockToken, consumeToken, getToken          string
	getTokenUser                                                                         string
	lockTokenUserNowait, lockTokenNowait, liveToken                                      string
	revokeUsersPurposes, endUsersSessions                                                string
	insertRole, getRole, listRoles, insertPolicy, getPolicy, listPolicies                string
	getSettings, saveSettings                                                            string
	insertMail, claimMail, updateMail, listMail, mailStats                               string
	lockUserShare, insertSession, getSession, listSessions, lockSessionUser, lockSession string
	insertSessionHash, rotateSession, deleteReused, deleteSession                        string
	deleteSessionByToken, purgeExpired, resolveSession                                   string
	lockRenewUser, lockSessionByID, renewSession                                         string
}

// userStmts are the statements that change one user, which $1 names: by
// its id, or (inside ConsumeToken's one round trip, where the user is not
// known before the batch is sent) by the hash of the token being
// consumed, the token's user.
type userStmts struct {
	updateUser, deletePolicies, insertPolicies, revokePurposes, endSessions string
}

// newUserStmts builds userStmts with user, the SQL expression of the
// user's id ($1 or a sub-select on $1), qualified with q.
func newUserStmts(q func(string) string, user string) userStmts {
	return userStmts{
		updateUser:     q(`UPDATE users_users u SET ` + userSet + ` WHERE u.id = ` + user + ` RETURNING ` + userCols),
		deletePolicies: q(`DELETE FROM users_user_policies WHERE user_id = ` + user),
		insertPolicies: q(`INSERT INTO users_user_policies (user_id, position, policy_id)
SELECT ` + user + `, p.ord, p.id FROM unnest($2::text[]) WITH ORDINALITY AS p(id, ord)`),
		revokePurposes: q(`DELETE FROM users_tokens WHERE user_id = ` + user + ` AND purpose = ANY($2) AND consumed_at IS NULL`),
		endSessions:    q(`DELETE FROM users_sessions WHERE user_id = ` + user),
	}
}

// ConsumeToken locks the token's user, then the token, as UpdateUser
// locks the user before it revokes tokens: one lock order, so the two
// never deadlock. The second statement runs after the first holds the
// user's lock, and (read committed) sees the token as the last holder of
// that lock left it.
const (
	lockTokenUser = `SELECT u.status, u.contested, u.email_key, u.password_hash FROM users_users u
WHERE u.id = (SELECT t.user_id FROM users_tokens t WHERE t.hash = $1 AND t.purpose = $2)
FOR NO KEY UPDATE`
	lockToken = `SELECT user_id, consumed_at, expires_at FROM users_tokens
WHERE hash = $1 AND purpose = $2 FOR UPDATE`
)

// tokenUser is the id of the user of the token whose hash is $1.
const tokenUser = `(SELECT tu.user_id FROM users_tokens tu WHERE tu.hash = $1)`

func newQueries(prefix string) queries {
	q := qualifier(prefix)
	return queries{
		getUser:           q(`SELECT ` + userCols + ` FROM users_users u WHERE u.id = $1`),
		getUserByEmailKey: q(`SELECT ` + userCols + ` FROM users_users u WHERE u.email_key = $1 AND u.email_key <> ''`),
		byID:              newUserStmts(q, `$1`),
		byToken:           newUserStmts(q, tokenUser),

		insertUser: q(`INSERT INTO users_users (id, email, email_key, password_hash, first_name, last_name,
	status, role, contested, metadata, created_at, updated_at,
	id_lower, email_lower, first_name_lower, last_name_lower, status_lower, role_lower)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`),
		lockUser: q(`SELECT ` + userState + ` FROM users_users WHERE id = $1 FOR NO KEY UPDATE`),

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
		WHERE r.admin_access AND u.status = 'active' AND u.email_key <> '')
	OR EXISTS (SELECT 1 FROM users_policies p JOIN users_user_policies up ON up.policy_id = p.id
		JOIN users_users u ON u.id = up.user_id WHERE p.admin_access AND u.status = 'active' AND u.email_key <> '')`),

		revokeTokens:        q(`DELETE FROM users_tokens WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL`),
		revokeUsersPurposes: q(`DELETE FROM users_tokens WHERE user_id = ANY($1) AND purpose = ANY($2) AND consumed_at IS NULL`),
		endUsersSessions:    q(`DELETE FROM users_sessions WHERE user_id = ANY($1)`),
		insertToken: q(`INSERT INTO users_tokens (hash, purpose, user_id, email_key, created_at, expires_at, consumed_at, new_email)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		lockTokenUser: q(lockTokenUser),
		lockToken:     q(lockToken),
		// ConsumeToken's one round trip takes the same locks without
		// waiting (see ConsumeToken); liveToken then holds the rest of its
		// batch to a token that is live and a user that satisfies the
		// condition ($4 to $7, NULL: not tested), as the locks read them:
		// when either is not, it divides by zero, and the error skips
		// every statement after it, the commit included. The user is
		// locked there too, for a token committed after the first
		// statement began (which then found no user to lock).
		lockTokenUserNowait: q(lockTokenUser + ` NOWAIT`),
		lockTokenNowait:     q(lockToken + ` NOWAIT`),
		// (A join of the token and the user, instead of the sub-select,
		// cost a quarter of a millisecond more per call in its generic
		// plan.)
		liveToken: q(`SELECT 1 / count(*) FROM (
	SELECT 1 FROM users_users u
	WHERE u.id = (SELECT t.user_id FROM users_tokens t
		WHERE t.hash = $1 AND t.purpose = $2 AND t.consumed_at IS NULL AND t.expires_at > $3)
	AND ($4::text IS NULL OR u.status = $4) AND ($5::boolean IS NULL OR u.contested = $5)
	AND ($6::text IS NULL OR u.email_key = $6) AND ($7::text IS NULL OR u.password_hash = $7)
	FOR NO KEY UPDATE NOWAIT
) live`),
		consumeToken: q(`UPDATE users_tokens SET consumed_at = $2 WHERE hash = $1`),
		getToken:     q(`SELECT hash, purpose, user_id, email_key, created_at, expires_at, consumed_at, new_email FROM users_tokens WHERE hash = $1`),
		getTokenUser: q(`SELECT tok.hash, tok.purpose, tok.user_id, tok.email_key, tok.created_at, tok.expires_at, tok.consumed_at, tok.new_email,
	` + userCols + ` FROM users_tokens tok JOIN users_users u ON u.id = tok.user_id WHERE tok.hash = $1`),

		insertRole:   q(`INSERT INTO users_roles (id, name, description, admin_access, enforce_tfa) VALUES ($1, $2, $3, $4, $5)`),
		getRole:      q(`SELECT id, name, description, admin_access, enforce_tfa FROM users_roles WHERE id = $1`),
		listRoles:    q(`SELECT id, name, description, admin_access, enforce_tfa FROM users_roles ORDER BY name, id`),
		insertPolicy: q(`INSERT INTO users_policies (id, name, admin_access, enforce_tfa) VALUES ($1, $2, $3, $4)`),
		getPolicy:    q(`SELECT id, name, admin_access, enforce_tfa FROM users_policies WHERE id = $1`),
		listPolicies: q(`SELECT id, name, admin_access, enforce_tfa FROM users_policies ORDER BY name, id`),

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
		// NO KEY UPDATE: a concurrent change of the user (a new password
		// that ends its sessions) waits for it, or it for the change, which
		// it then sees; and the transaction writes the user's last_access
		// under the lock it already holds (two FOR SHARE holders that both
		// went on to update the row would deadlock). User before session,
		// as UpdateUser and DeleteUsers lock them, so the two never
		// deadlock.
		lockUserShare: q(`SELECT ` + userState + ` FROM users_users WHERE id = $1 FOR NO KEY UPDATE`),
		insertSession: q(`INSERT INTO users_sessions (` + sessionCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`),
		getSession:    q(`SELECT ` + sessionCols + ` FROM users_sessions WHERE id = $1`),
		// A session, its user and what the user's role and policies grant
		// it, in one read. The lateral subquery aggregates without GROUP
		// BY, so it always answers one row (NULLs when the user has no
		// policy); a role or policy that no longer exists joins nothing.
		resolveSession: q(`SELECT s.id, s.user_id, s.token_hash, s.created_at, s.refreshed_at, s.expires_at, s.ip, s.user_agent, s.generation,
	` + userCols + `,
	COALESCE(r.admin_access, false) OR COALESCE(g.admin_access, false),
	COALESCE(r.enforce_tfa, false) OR COALESCE(g.enforce_tfa, false)
FROM users_sessions s JOIN users_users u ON u.id = s.user_id
LEFT JOIN users_roles r ON r.id = u.role
CROSS JOIN LATERAL (SELECT bool_or(ap.admin_access) AS admin_access, bool_or(ap.enforce_tfa) AS enforce_tfa
	FROM users_user_policies up JOIN users_policies ap ON ap.id = up.policy_id WHERE up.user_id = u.id) g
WHERE s.id = $1`),
		listSessions: q(`SELECT ` + sessionCols + ` FROM users_sessions WHERE user_id = $1 ORDER BY created_at DESC, id`),
		lockSessionUser: q(`SELECT u.status, u.contested, u.email_key, u.password_hash FROM users_users u
WHERE u.id = (SELECT s.user_id FROM users_sessions s WHERE s.token_hash = $1)
FOR NO KEY UPDATE`),
		// Concurrent rotations of one token queue here; when the first
		// commits, the others (read committed) find the row no longer has
		// the hash, and go on to reuse detection.
		lockSession:       q(`SELECT ` + sessionCols + ` FROM users_sessions WHERE token_hash = $1 FOR UPDATE`),
		insertSessionHash: q(`INSERT INTO users_session_hashes (hash, session_id) VALUES ($1, $2)`),
		rotateSession: q(`UPDATE users_sessions SET token_hash = $2, refreshed_at = $3, expires_at = $4
WHERE id = $1 RETURNING ` + sessionCols),
		// A renewal locks the user, then the session by its id (as a
		// rotation does by its hash): concurrent renewals of one session
		// queue on those locks, and each sees the generation the one
		// before it committed.
		lockRenewUser: q(`SELECT u.status, u.contested, u.email_key, u.password_hash FROM users_users u
WHERE u.id = (SELECT s.user_id FROM users_sessions s WHERE s.id = $1)
FOR NO KEY UPDATE`),
		lockSessionByID: q(`SELECT ` + sessionCols + ` FROM users_sessions WHERE id = $1 FOR UPDATE`),
		renewSession: q(`UPDATE users_sessions SET generation = generation + 1, refreshed_at = $2
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

/* Per-process pool of PostgreSQL connections (apr_reslist), shared by the
 * threads of one httpd child.  Each connection has the module's statements
 * prepared once, and its schema version checked, when it is made. */
#ifndef QW_DB_H
#define QW_DB_H

#include <libpq-fe.h>
#include "httpd.h"
#include "store/store.h"

typedef struct qw_db_pool qw_db_pool;

/* Prepared statement names (see db.c for the SQL). */
#define QW_STMT_SESSION      "qw_session"
#define QW_STMT_SESSION_MANY "qw_session_many"
#define QW_STMT_LOGIN        "qw_login"
#define QW_STMT_SESSION_NEW  "qw_session_new"
#define QW_STMT_SESSION_DEL  "qw_session_del"
#define QW_STMT_SESSION_TOUCH "qw_session_touch"
#define QW_STMT_REHASH       "qw_rehash"
#define QW_STMT_ACTIVATION   "qw_activation"

/* Result columns are read by name: QW_COL_SQL, QW_COL_SQL_LAST and
 * QW_COL_ONLY come from store/store.h, shared with the store. */

/* The hot-path statement (QW_STMT_SESSION): one round trip from cookie hash
 * to everything the providers need, as one plain join, in three parts so
 * that a statement which needs more in the same round trip (article.c)
 * starts with the same columns, joins and conditions.  $1 is the enterprise
 * code, $2 the SHA-256 of the session token (binary).  Status and
 * enterprise are checked here; the two timeouts are checked by authn.c on
 * SEEN_AGO, IDLE_SECONDS and EXPIRES_IN, which are computed here from the
 * database's now(), so every node still applies the same clock (issue 14:
 * the two conditions in the WHERE clause were seven function calls that
 * PostgreSQL sets up, permission-checks and runs on every execution, 7 %
 * of the statement's backend instructions; docs/performance.md).  The
 * member's departments (with ancestors) and roles are read from columns
 * that triggers keep up to date (sql/008_access_columns.sql): sub-selects
 * and a data-modifying CTE here cost PostgreSQL several times a static
 * request in executor start-up alone.  Columns (QW_SESSION_COL_*):
 *   DEPARTMENTS    departments with ancestors, comma separated
 *   DIRECT_DEPARTMENTS  the member's own departments
 *   IDLE_SECONDS   the session's idle timeout
 *   SEEN_AGO       seconds since last_seen_at was written
 *   EXPIRES_IN     seconds until the session's absolute expiry
 * From the last three authn.c works out, as the statement once did in
 * SQL (issue 14: make_interval() four times and a numeric extract() were
 * a fifth of the statement's cost in pgbench):
 *   whether last_seen_at is due a write (QW_STMT_SESSION_TOUCH): at most
 *   once per min(60 s, idle/10) per session, i.e. SEEN_AGO > that;
 *   how long this answer may be reused (cache.h): until the session's
 *   absolute expiry or its next due last-seen write, whichever is first
 *   (counting from now when the write is due, as authn.c then makes it).
 * Both sides of each comparison come from the database's clock, so every
 * node still applies the same one.
 * Aliases: s sessions, e enterprises, m members. */
#define QW_SESSION_COLS(X, L) \
    X(ENTERPRISE_ID, " s.enterprise_id") \
    X(SESSION_ID, " s.session_id") \
    X(MEMBER_ID, " s.member_id") \
    X(KIND, " s.kind") \
    X(AUTH_LEVEL, " s.auth_level") \
    X(ACCOUNT, " m.account") \
    X(DISPLAY_NAME, " m.display_name") \
    X(DEPARTMENTS, " m.access_departments") \
    X(DIRECT_DEPARTMENTS, " m.direct_departments") \
    X(ROLES, " m.access_roles") \
    X(IDLE_SECONDS, " s.idle_seconds") \
    X(SEEN_AGO, " date_part('epoch', now() - s.last_seen_at)") \
    L(EXPIRES_IN, " date_part('epoch', s.expires_at - now())")
#define QW_SESSION_COL_ENUM(name, expr) QW_SESSION_COL_##name,
enum {
    QW_SESSION_COLS(QW_SESSION_COL_ENUM, QW_SESSION_COL_ENUM)
    QW_SESSION_COLUMNS      /* how many; a longer statement's own start */
};
#define QW_SQL_SESSION_SELECT \
    "SELECT" QW_SESSION_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
#define QW_SQL_SESSION_FROM \
    "  FROM sessions s" \
    "  JOIN enterprises e ON e.enterprise_id = s.enterprise_id" \
    "  JOIN members m ON m.enterprise_id = s.enterprise_id" \
    "                AND m.member_id = s.member_id"
#define QW_SQL_SESSION_WHERE \
    " WHERE e.code = $1 AND s.token_hash = $2" \
    "   AND m.status = 'active'"
/* QW_STMT_SESSION_MANY: the same for several sessions at once ($2 an array
 * of hashes), for qw_db_lookup(); the same columns, then the row's hash in
 * hex (the key qw_db_lookup matches rows to requests by). */
#define QW_SQL_SESSION_MANY \
    QW_SQL_SESSION_SELECT ", encode(s.token_hash, 'hex')" \
    QW_SQL_SESSION_FROM \
    " WHERE e.code = $1 AND s.token_hash = ANY($2::bytea[])" \
    "   AND m.status = 'active'"

/* QW_STMT_LOGIN ($1 enterprise code, $2 account): the member's row, if
 * any.  PASSWORD_HASH is NULL for a member who has not set one. */
#define QW_LOGIN_COLS(X, L) \
    X(ENTERPRISE_ID, " m.enterprise_id") \
    X(MEMBER_ID, " m.member_id") \
    X(PASSWORD_HASH, " m.password_hash") \
    L(STATUS, " m.status")
#define QW_LOGIN_COL_ENUM(name, expr) QW_LOGIN_COL_##name,
enum { QW_LOGIN_COLS(QW_LOGIN_COL_ENUM, QW_LOGIN_COL_ENUM) };

/* QW_STMT_ACTIVATION ($1 enterprise code, $2 token hash): the invited
 * member an unused, unexpired activation token is for. */
#define QW_ACTIVATION_COLS(X, L) \
    X(ENTERPRISE_ID, " a.enterprise_id") \
    X(MEMBER_ID, " a.member_id") \
    X(ACCOUNT, " m.account") \
    L(DISPLAY_NAME, " m.display_name")
#define QW_ACTIVATION_COL_ENUM(name, expr) QW_ACTIVATION_COL_##name,
enum { QW_ACTIVATION_COLS(QW_ACTIVATION_COL_ENUM, QW_ACTIVATION_COL_ENUM) };

/* Flags of a registered statement. */
#define QW_DB_WRITES 0
#define QW_DB_IDEMPOTENT 1  /* running it twice is the same as once: db.c
                             * may repeat it on a fresh connection when the
                             * one it ran on was lost */

/* Add a statement prepared on every new connection (call from
 * register_hooks; the strings must be static).  0 on success. */
int qw_db_register_statement(const char *name, const char *sql, int flags);

/* Create the pools of every server that has QiweiDatabase (child_init). */
void qw_db_child_init(apr_pool_t *pchild, server_rec *s);

/* THE RULE: db.c is the only owner of a database connection.  Nothing
 * outside it holds or passes a PGconn.  A connection is taken from the
 * pool for one statement, or for one unit of work (BEGIN .. COMMIT), and
 * returned the moment that is done: never across a password hash, a
 * remote call, or while a response is written.
 *
 * Run one registered (prepared) statement on a connection taken from the
 * pool for it and returned before this returns.  NULL on failure (logged);
 * a lost connection is discarded, and the statement is repeated once on a
 * fresh one only if it was registered QW_DB_IDEMPOTENT.  The result is the
 * caller's (PQclear). */
PGresult *qw_db_exec(request_rec *r, const char *stmt, int nparams,
                     const char *const *values, const int *lengths,
                     const int *formats);

/* A key lookup that concurrent requests of this child may share (issue 14:
 * strict mode's session statement).  ONE is a registered statement of
 * ($1 group, $2 key, binary) that returns the key's row or none; MANY the
 * same for ($1 group, $2 an array of keys, bytea[]) returning one row per
 * key found, with the key in hex as its last column.
 *
 * A request whose lane (this pool, MANY, GROUP) has no statement out runs
 * ONE at once, as qw_db_exec would.  One that arrives while a statement of
 * its lane is out waits; when that statement is answered (or has been out
 * for 50 ms: a hung connection holds only its own statement's requests),
 * the first waiter runs MANY once for every waiter queued by then (up to
 * QW_DB_LOOKUP_SLOTS).  Every request is therefore answered by a statement
 * sent after it arrived: what a committed revocation refuses, a waiting
 * request is refused too.  The connection rule is unchanged: the statement
 * takes a connection from the pool and returns it before anyone is
 * answered.
 *
 * Returns the result (*row: the request's row, or -1 when there is none)
 * or NULL when the statement failed (logged once, by the request that ran
 * it; every request it was for gets NULL).  The result is shared and
 * read-only: qw_db_release(*hold) when done with it, never PQclear. */
#define QW_DB_LOOKUP_SLOTS 32
#define QW_DB_LOOKUP_MAX_KEY 64
typedef struct qw_db_shared qw_db_shared;
PGresult *qw_db_lookup(request_rec *r, const char *one, const char *many,
                       const char *group, const unsigned char *key,
                       size_t keylen, int *row, qw_db_shared **hold);
void qw_db_release(qw_db_shared *hold);

/* The store's view of the database for this request (store/store.h): a
 * handle, not a connection.  Statements outside a unit each take and
 * return a connection; txn(BEGIN) pins one until COMMIT or ROLLBACK (a unit
 * left open is rolled back when r->pool is cleared, and logged).  NULL
 * when this server has no QiweiDatabase. */
qw_sql *qw_db_sql(request_rec *r);

/* A store for this request: its database handle (qw_db_sql), r->pool, the
 * key ring, the server's hashing parameters, and who acts (actor and role,
 * role may be NULL; the client address, User-Agent made fit for the
 * database, the request's log id).  0, or -1 when this server has no
 * QiweiDatabase (st->db is then NULL). */
int qw_db_store(request_rec *r, qw_store *st, const char *actor,
                const char *role);

/* After this request has committed a change that takes access away (a
 * logout, a password change, anything the admin API changes): wait, at
 * most QiweiRevocationWait, until no node's cache can still serve a
 * decision from before it (store.h, qw_revocation_barrier).  OK when that
 * is confirmed, or when QiweiRevocationWait is 0; HTTP_ACCEPTED when the
 * change is committed but not confirmed everywhere: *why then names the
 * listeners that did not answer, or the database error (logged QW0119). */
int qw_db_revocation_barrier(request_rec *r, const char **why);

/* Check the schema version once at start-up (post_config).  Returns OK, or
 * !OK if the database answered with a schema older than this build needs.
 * An unreachable database only warns: the module then answers 503 until it
 * is back. */
int qw_db_check_schema(apr_pool_t *ptemp, server_rec *s);

/* The cache listener's connection (cache.c): one per listener thread, never
 * lent to a request.  Not thread-safe: one thread uses a listener. */
typedef struct qw_db_listener qw_db_listener;

/* Connect to conninfo (3 s timeout, TCP keepalives), LISTEN on channel,
 * take the name 'mod_qiwei listener HOST:PID' (the revocation barrier
 * counts the connections so named) and make the connection non-blocking.  NULL on failure, with a short reason
 * in *why. */
qw_db_listener *qw_db_listen_open(const char *conninfo, const char *channel,
                                  const char **why);

/* Send the heartbeat (SELECT 1, every 500 ms) when one is due, wait up to
 * timeout_ms for the database, and hand every NOTIFY payload that arrived
 * to on_message(baton, payload).  0, or -1 with the reason in *why when
 * the connection is lost (closed, or the heartbeat unanswered for 5 s):
 * then close it and open a new one. */
int qw_db_listen_wait(qw_db_listener *l, int timeout_ms,
                      void (*on_message)(void *baton, const char *payload),
                      void *baton, const char **why);

/* Answer a revocation barrier (its hex id, from a 'b:<id>' message) on
 * channel qiwei_ack as soon as the connection is free: call it only after
 * every message that came before the barrier has been applied.  The answer
 * doubles as a heartbeat. */
void qw_db_listen_ack(qw_db_listener *l, const char *barrier);

/* When the last answered heartbeat was sent (or the connect began): the
 * database has delivered every notification committed before then. */
apr_time_t qw_db_listen_answered(const qw_db_listener *l);

/* Close the connection and free l (NULL is allowed). */
void qw_db_listen_close(qw_db_listener *l);

#endif

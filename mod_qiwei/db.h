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
#define QW_STMT_LOGIN        "qw_login"
#define QW_STMT_SESSION_NEW  "qw_session_new"
#define QW_STMT_SESSION_DEL  "qw_session_del"
#define QW_STMT_SESSION_TOUCH "qw_session_touch"
#define QW_STMT_REHASH       "qw_rehash"
#define QW_STMT_ACTIVATION   "qw_activation"

/* The hot-path statement (QW_STMT_SESSION): one round trip from cookie hash
 * to everything the providers need, as one plain join, in three parts so
 * that a statement which needs more in the same round trip (article.c)
 * starts with the same columns, joins and conditions.  $1 is the enterprise
 * code, $2 the SHA-256 of the session token (binary).  Timeouts and status
 * are checked here, not in C, so every node applies the same clock.  The
 * member's departments (with ancestors) and roles are read from columns
 * that triggers keep up to date (sql/008_access_columns.sql): sub-selects
 * and a data-modifying CTE here cost PostgreSQL several times a static
 * request in executor start-up alone.  Columns (authn.c parses them by
 * index; QW_SESSION_COLUMNS in qiwei.h):
 *   0 enterprise_id  1 session_id  2 member_id  3 kind  4 auth_level
 *   5 account  6 display_name  7 departments with ancestors
 *   8 direct departments  9 roles
 *   10 whether last_seen_at is due a write (QW_STMT_SESSION_TOUCH), at
 *      most once per min(60 s, idle/10) per session
 *   11 seconds this answer may be reused (cache.h): until the session's
 *      absolute expiry or its next due last-seen write, whichever is first
 *      (counting from now when the write is due, as authn.c then makes it)
 * Aliases: s sessions, e enterprises, m members. */
#define QW_SQL_SESSION_SELECT \
    "SELECT s.enterprise_id, s.session_id, s.member_id, s.kind," \
    "       s.auth_level, m.account, m.display_name," \
    "       m.access_departments, m.direct_departments, m.access_roles," \
    "       s.last_seen_at < now() - make_interval(secs =>" \
    "           least(60, s.idle_seconds / 10))," \
    "       extract(epoch FROM least(s.expires_at," \
    "           CASE WHEN s.last_seen_at < now() - make_interval(secs =>" \
    "                         least(60, s.idle_seconds / 10))" \
    "                THEN now() ELSE s.last_seen_at END" \
    "           + make_interval(secs => least(60, s.idle_seconds / 10)))" \
    "           - now())"
#define QW_SQL_SESSION_FROM \
    "  FROM sessions s" \
    "  JOIN enterprises e ON e.enterprise_id = s.enterprise_id" \
    "  JOIN members m ON m.enterprise_id = s.enterprise_id" \
    "                AND m.member_id = s.member_id"
#define QW_SQL_SESSION_WHERE \
    " WHERE e.code = $1 AND s.token_hash = $2" \
    "   AND s.expires_at > now()" \
    "   AND s.last_seen_at + make_interval(secs => s.idle_seconds) > now()" \
    "   AND m.status = 'active'"

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

/* The store's view of the database for this request (store/store.h): a
 * handle, not a connection.  Statements outside a unit each take and
 * return a connection; txn(BEGIN) pins one until COMMIT or ROLLBACK (a unit
 * left open is rolled back when r->pool is cleared, and logged).  NULL
 * when this server has no QiweiDatabase. */
qw_sql *qw_db_sql(request_rec *r);

/* Check the schema version once at start-up (post_config).  Returns OK, or
 * !OK if the database answered with a schema older than this build needs.
 * An unreachable database only warns: the module then answers 503 until it
 * is back. */
int qw_db_check_schema(apr_pool_t *ptemp, server_rec *s);

#endif

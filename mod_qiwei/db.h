/* Per-process pool of PostgreSQL connections (apr_reslist), shared by the
 * threads of one httpd child.  Each connection has the module's statements
 * prepared once, and its schema version checked, when it is made. */
#ifndef QW_DB_H
#define QW_DB_H

#include <libpq-fe.h>
#include "httpd.h"

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

/* Add a statement prepared on every new connection (call from
 * register_hooks; the strings must be static).  0 on success. */
int qw_db_register_statement(const char *name, const char *sql);

/* Create the pools of every server that has QiweiDatabase (child_init). */
void qw_db_child_init(apr_pool_t *pchild, server_rec *s);

/* A connection for this request, released by a cleanup on r->pool.  Returns
 * NULL (and logs why) when no healthy connection can be had. */
PGconn *qw_db_get(request_rec *r);

/* Tell the pool the connection r got has failed (it will be discarded when
 * released instead of reused). */
void qw_db_mark_broken(request_rec *r);

/* Run a prepared statement; NULL on failure (logged, connection marked
 * broken when libpq says it is). */
PGresult *qw_db_exec(request_rec *r, PGconn *conn, const char *stmt,
                     int nparams, const char *const *values,
                     const int *lengths, const int *formats);

/* Check the schema version once at start-up (post_config).  Returns OK, or
 * !OK if the database answered with a schema older than this build needs.
 * An unreachable database only warns: the module then answers 503 until it
 * is back. */
int qw_db_check_schema(apr_pool_t *ptemp, server_rec *s);

/* The cache listener's connection (cache.c): one per listener thread, never
 * lent to a request.  Not thread-safe: one thread uses a listener. */
typedef struct qw_db_listener qw_db_listener;

/* Connect to conninfo (3 s timeout, TCP keepalives), LISTEN on channel and
 * make the connection non-blocking.  NULL on failure, with a short reason
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

/* When the database last answered the heartbeat (or the connect). */
apr_time_t qw_db_listen_answered(const qw_db_listener *l);

/* Close the connection and free l (NULL is allowed). */
void qw_db_listen_close(qw_db_listener *l);

#endif

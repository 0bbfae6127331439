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

#endif

/* qiweictl's database handle (tools/ctl_db.h).
 *
 * A command-line run is one short session on one connection, so there is
 * no pool and no retry: a lost connection fails the command, and the
 * operator runs it again (every write is one transaction, so nothing is
 * left half done). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <apr_strings.h>
#include "ctl_db.h"

typedef struct {
    qw_sql sql;               /* first: what the store sees */
    PGconn *conn;
    apr_pool_t *pool;
    const char *msg;
} ctl_db;

static const char *chomped(ctl_db *h)
{
    const char *m = PQerrorMessage(h->conn);
    size_t n = strlen(m);

    while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ')) {
        n--;
    }
    return apr_pstrndup(h->pool, m, n);
}

static PGresult *done(ctl_db *h, PGresult *res)
{
    h->msg = PQstatus(h->conn) == CONNECTION_BAD || res == NULL
             ? chomped(h) : "";
    if (PQstatus(h->conn) == CONNECTION_BAD) {
        PQclear(res);
        return NULL;
    }
    return res;
}

static PGresult *ctl_exec(qw_sql *db, const char *sql, int n,
                          const char *const *params, int flags)
{
    ctl_db *h = (ctl_db *)db;

    (void)flags;
    return done(h, PQexecParams(h->conn, sql, n, NULL, params, NULL, NULL,
                                0));
}

static PGresult *ctl_txn(qw_sql *db, qw_sql_txn what)
{
    ctl_db *h = (ctl_db *)db;
    const char *sql = what == QW_SQL_BEGIN ? "BEGIN"
                      : what == QW_SQL_COMMIT ? "COMMIT" : "ROLLBACK";

    if (what == QW_SQL_PIN || what == QW_SQL_UNPIN) {
        /* one connection for the whole command: always pinned */
        return done(h, PQmakeEmptyPGresult(h->conn, PGRES_COMMAND_OK));
    }
    return done(h, PQexec(h->conn, sql));
}

static PGresult *ctl_script(qw_sql *db, const char *text)
{
    ctl_db *h = (ctl_db *)db;

    return done(h, PQexec(h->conn, text));
}

static const char *ctl_message(qw_sql *db)
{
    ctl_db *h = (ctl_db *)db;

    return h->msg ? h->msg : "";
}

static int ctl_lost(qw_sql *db)
{
    ctl_db *h = (ctl_db *)db;

    return PQstatus(h->conn) == CONNECTION_BAD;
}

static int ctl_deliver(ctl_db *h,
                       void (*each)(void *, const char *, const char *),
                       void *baton)
{
    PGnotify *n;
    int got = 0;

    while ((n = PQnotifies(h->conn)) != NULL) {
        each(baton, n->relname, n->extra);
        PQfreemem(n);
        got = 1;
    }
    return got;
}

static int ctl_wait(qw_sql *db, int timeout_ms,
                    void (*each)(void *, const char *, const char *),
                    void *baton)
{
    ctl_db *h = (ctl_db *)db;
    struct pollfd pfd;

    if (ctl_deliver(h, each, baton)) {
        return 0;
    }
    pfd.fd = PQsocket(h->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0
        || (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        || !PQconsumeInput(h->conn)) {
        h->msg = chomped(h);
        return -1;
    }
    ctl_deliver(h, each, baton);
    return 0;
}

static const qw_sql_ops ctl_ops = {
    ctl_exec, ctl_txn, ctl_script, ctl_message, ctl_lost, ctl_wait
};

qw_sql *qw_ctl_db_open(apr_pool_t *p, const char *dsn, const char **err)
{
    const char *keys[3], *vals[3];
    int k = 0;
    ctl_db *h = apr_pcalloc(p, sizeof(*h));

    if (dsn != NULL && *dsn != '\0') {
        keys[k] = "dbname";
        vals[k++] = dsn;
    }
    keys[k] = "application_name";
    vals[k++] = "qiweictl";
    keys[k] = NULL;
    vals[k] = NULL;
    h->pool = p;
    h->conn = PQconnectdbParams(keys, vals, 1);
    if (h->conn == NULL) {
        *err = "out of memory";
        return NULL;
    }
    if (PQstatus(h->conn) != CONNECTION_OK) {
        *err = chomped(h);
        PQfinish(h->conn);
        return NULL;
    }
    h->sql.ops = &ctl_ops;
    return &h->sql;
}

void qw_ctl_db_close(qw_sql *db)
{
    ctl_db *h = (ctl_db *)db;

    if (h && h->conn) {
        PQfinish(h->conn);
        h->conn = NULL;
    }
}

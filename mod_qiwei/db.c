/* Per-process PostgreSQL connection pool.
 *
 * Like mod_dbd: an apr_reslist per server that has QiweiDatabase, made in
 * child_init; statements prepared once per connection; a connection that
 * libpq reports broken, or that is left inside a transaction, is discarded
 * instead of reused; the request's connection goes back through a cleanup on
 * r->pool.  Unlike mod_dbd it fails fast: after a failed connect it answers
 * "unavailable" at once for QiweiDatabaseRetryInterval seconds instead of
 * making every request wait for the connect timeout. */
#include <poll.h>
#include "apr_strings.h"
#include "apr_reslist.h"
#include "apr_thread_mutex.h"
#include "http_core.h"
#include "http_request.h"

#include "qiwei.h"
#include "db.h"
#include "cfg/config.h"
#include "qw_version.h"

struct qw_db_pool {
    server_rec *s;
    const char *conninfo;
    const char *timeout;
    apr_reslist_t *list;
    apr_thread_mutex_t *mutex;
    apr_time_t last_fail;
    apr_interval_time_t retry;
};

typedef struct {
    qw_db_pool *pool;
    PGconn *conn;
    int broken;
} db_hold;

/* The hot-path statement (db.h). */
static const char sql_session[] =
    QW_SQL_SESSION_SELECT QW_SQL_SESSION_FROM QW_SQL_SESSION_WHERE;

/* The last-seen write, only when sql_session said it is due.  The repeated
 * condition keeps concurrent requests of one session from writing twice. */
static const char sql_session_touch[] =
    "UPDATE sessions SET last_seen_at = now()"
    " WHERE enterprise_id = $1 AND session_id = $2"
    "   AND last_seen_at < now() - make_interval(secs =>"
    "       least(60, idle_seconds / 10))";

static const char sql_login[] =
    "SELECT m.enterprise_id, m.member_id, m.password_hash, m.status"
    "  FROM members m JOIN enterprises e ON e.enterprise_id = m.enterprise_id"
    " WHERE e.code = $1 AND m.account = $2";

/* New session; expired sessions of the same member are swept on the way. */
static const char sql_session_new[] =
    "WITH gc AS ("
    " DELETE FROM sessions WHERE enterprise_id = $1 AND member_id = $3"
    "    AND (expires_at < now() OR last_seen_at +"
    "         make_interval(secs => idle_seconds) < now())"
    ")"
    " INSERT INTO sessions (enterprise_id, token_hash, member_id, kind,"
    "   auth_level, idle_seconds, expires_at, source_ip, user_agent)"
    " VALUES ($1, $2, $3, $4, $5, $6,"
    "   now() + make_interval(secs => $7::int), $8, $9)"
    " RETURNING session_id";

static const char sql_session_del[] =
    "DELETE FROM sessions s USING enterprises e"
    " WHERE e.enterprise_id = s.enterprise_id AND e.code = $1"
    "   AND s.token_hash = $2"
    " RETURNING s.member_id";

static const char sql_rehash[] =
    "UPDATE members SET password_hash = $3"
    " WHERE enterprise_id = $1 AND member_id = $2";

static const char sql_activation[] =
    "SELECT a.enterprise_id, a.member_id, m.account, m.display_name"
    "  FROM activation_tokens a"
    "  JOIN enterprises e ON e.enterprise_id = a.enterprise_id"
    "  JOIN members m ON m.enterprise_id = a.enterprise_id"
    "                AND m.member_id = a.member_id"
    " WHERE e.code = $1 AND a.token_hash = $2 AND a.used_at IS NULL"
    "   AND a.expires_at > now() AND m.status = 'invited'";

typedef struct {
    const char *name;
    const char *sql;
} statement;

static const statement statements[] = {
    { QW_STMT_SESSION, sql_session },
    { QW_STMT_LOGIN, sql_login },
    { QW_STMT_SESSION_NEW, sql_session_new },
    { QW_STMT_SESSION_DEL, sql_session_del },
    { QW_STMT_SESSION_TOUCH, sql_session_touch },
    { QW_STMT_REHASH, sql_rehash },
    { QW_STMT_ACTIVATION, sql_activation },
};

/* Statements other parts of the module add at register_hooks time (before
 * any child exists, so no locking). */
#define QW_MAX_EXTRA_STATEMENTS 32
static statement extra[QW_MAX_EXTRA_STATEMENTS];
static int n_extra;

int qw_db_register_statement(const char *name, const char *sql)
{
    int i;
    for (i = 0; i < n_extra; i++) {
        if (!strcmp(extra[i].name, name)) {
            extra[i].sql = sql;     /* register_hooks may run again */
            return 0;
        }
    }
    if (n_extra == QW_MAX_EXTRA_STATEMENTS) {
        return -1;
    }
    extra[n_extra].name = name;
    extra[n_extra].sql = sql;
    n_extra++;
    return 0;
}

static PGconn *connect_db(const char *conninfo, const char *timeout)
{
    const char *kw[] = { "connect_timeout", "application_name",
                         "dbname", NULL };
    const char *val[] = { timeout, "mod_qiwei", conninfo, NULL };
    /* expand_dbname: the operator's conninfo overrides our defaults */
    return PQconnectdbParams(kw, val, 1);
}

/* First line of a libpq message, without the trailing newline. */
static const char *pq_msg(apr_pool_t *p, const char *m)
{
    const char *nl;
    if (!m || !*m) {
        return "unknown error";
    }
    nl = strchr(m, '\n');
    return nl ? apr_pstrmemdup(p, m, nl - m) : m;
}

static int schema_version(PGconn *c)
{
    PGresult *res = PQexec(c, "SELECT coalesce(max(version), 0)"
                              " FROM qw_schema_version");
    int v = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        v = atoi(PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    return v;
}

static apr_status_t conn_make(void **resource, void *params,
                              apr_pool_t *pool)
{
    qw_db_pool *dp = params;
    PGconn *c;
    apr_time_t now = apr_time_now();
    int v;
    size_t i;

    apr_thread_mutex_lock(dp->mutex);
    if (dp->last_fail && now - dp->last_fail < dp->retry) {
        apr_thread_mutex_unlock(dp->mutex);
        return APR_EAGAIN;
    }
    apr_thread_mutex_unlock(dp->mutex);

    c = connect_db(dp->conninfo, dp->timeout);
    if (PQstatus(c) != CONNECTION_OK) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, dp->s,
                     "QW0101: cannot connect to the database: %s",
                     pq_msg(pool, PQerrorMessage(c)));
        goto fail;
    }
    v = schema_version(c);
    if (v < QW_SCHEMA_VERSION) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, dp->s,
                     "QW0102: database schema is at version %d, mod_qiwei "
                     "%s needs %d: run 'qiweictl migrate'", v,
                     QW_VERSION_STRING, QW_SCHEMA_VERSION);
        goto fail;
    }
    for (i = 0; i < sizeof(statements) / sizeof(statements[0])
                    + (size_t)n_extra; i++) {
        const statement *st = i < sizeof(statements) / sizeof(statements[0])
            ? &statements[i]
            : &extra[i - sizeof(statements) / sizeof(statements[0])];
        PGresult *res = PQprepare(c, st->name, st->sql, 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, dp->s,
                         "QW0103: cannot prepare %s: %s", st->name,
                         pq_msg(pool, PQresultErrorMessage(res)));
            PQclear(res);
            goto fail;
        }
        PQclear(res);
    }
    apr_thread_mutex_lock(dp->mutex);
    dp->last_fail = 0;
    apr_thread_mutex_unlock(dp->mutex);
    *resource = c;
    return APR_SUCCESS;

fail:
    PQfinish(c);
    apr_thread_mutex_lock(dp->mutex);
    dp->last_fail = apr_time_now();
    apr_thread_mutex_unlock(dp->mutex);
    return APR_EGENERAL;
}

static apr_status_t conn_free(void *resource, void *params, apr_pool_t *pool)
{
    PQfinish(resource);
    return APR_SUCCESS;
}

static apr_status_t pool_destroy(void *data)
{
    qw_db_pool *dp = data;
    if (dp->list) {
        apr_reslist_destroy(dp->list);
        dp->list = NULL;
    }
    return APR_SUCCESS;
}

void qw_db_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *sp;
    for (sp = s; sp; sp = sp->next) {
        qw_srv_cfg *c = qw_srv(sp);
        qw_db_pool *dp;
        server_rec *prev;
        int max;
        apr_status_t rv;

        if (!c->db_conninfo || c->db) {
            continue;
        }
        /* virtual hosts that inherit the same conninfo share one pool */
        for (prev = s; prev != sp; prev = prev->next) {
            qw_srv_cfg *pc = qw_srv(prev);
            if (pc->db && !strcmp(pc->db_conninfo, c->db_conninfo)) {
                c->db = pc->db;
                break;
            }
        }
        if (c->db) {
            continue;
        }
        dp = apr_pcalloc(pchild, sizeof(*dp));
        dp->s = sp;
        dp->conninfo = c->db_conninfo;
        dp->timeout = apr_itoa(pchild, c->db_connect_timeout != QW_UNSET
                               ? c->db_connect_timeout
                               : QW_DEFAULT_CONN_TIMEOUT);
        dp->retry = apr_time_from_sec(c->db_retry_interval != QW_UNSET
                                      ? c->db_retry_interval
                                      : QW_DEFAULT_RETRY);
        max = c->db_pool_max != QW_UNSET ? c->db_pool_max
                                         : QW_DEFAULT_POOL_MAX;
        apr_thread_mutex_create(&dp->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
        rv = apr_reslist_create(&dp->list, 0, max, max,
                                apr_time_from_sec(300), conn_make, conn_free,
                                dp, pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, sp,
                         "QW0104: cannot create the database pool");
            continue;
        }
        /* a request waits at most this long for a free connection */
        apr_reslist_timeout_set(dp->list, apr_time_from_sec(5));
        apr_pool_cleanup_register(pchild, dp, pool_destroy,
                                  apr_pool_cleanup_null);
        c->db = dp;
    }
}

static apr_status_t hold_release(void *data)
{
    db_hold *h = data;
    if (h->conn && h->pool->list) {
        if (h->broken || PQstatus(h->conn) != CONNECTION_OK
            || PQtransactionStatus(h->conn) != PQTRANS_IDLE) {
            apr_reslist_invalidate(h->pool->list, h->conn);
        }
        else {
            apr_reslist_release(h->pool->list, h->conn);
        }
    }
    h->conn = NULL;
    return APR_SUCCESS;
}

#define QW_MAX_POOL_TRIES 1025

/* An idle pooled connection has nothing to read: if its socket is readable,
 * the server most likely closed it (a restart sends "terminating
 * connection" and then EOF, and libpq may still say CONNECTION_OK after
 * reading only the first).  Such a connection is not worth keeping: at
 * worst a healthy one that received an asynchronous notice is replaced.
 * One non-blocking poll() per request. */
static int conn_alive(PGconn *c)
{
    struct pollfd pfd;

    if (PQstatus(c) != CONNECTION_OK) {
        return 0;
    }
    pfd.fd = PQsocket(c);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0) {
        return 0;
    }
    return poll(&pfd, 1, 0) == 0;
}

static db_hold *hold_of(request_rec *r)
{
    qw_req *q = qw_req_get(r, 1);
    return q->db;
}

PGconn *qw_db_get(request_rec *r)
{
    qw_req *q = qw_req_get(r, 1);
    qw_srv_cfg *c = qw_srv(r->server);
    db_hold *h = q->db;
    void *res = NULL;
    apr_status_t rv;
    int tries;

    if (h && h->conn) {
        return h->conn;
    }
    if (!c->db || !c->db->list) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0105: no database configured for this server "
                      "(QiweiDatabase)");
        return NULL;
    }
    /* After a server restart or fail-over every idle connection in the
     * pool is dead: discard them all here rather than failing a request on
     * each.  Bounded by the pool size (plus one new connection). */
    for (tries = 0; tries <= QW_MAX_POOL_TRIES; tries++) {
        rv = apr_reslist_acquire(c->db->list, &res);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                          "QW0106: no database connection available");
            return NULL;
        }
        if (conn_alive(res)) {
            break;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0111: discarding a pooled connection the server "
                      "has closed");
        apr_reslist_invalidate(c->db->list, res);
        res = NULL;
    }
    if (!res) {
        return NULL;
    }
    if (!h) {
        h = apr_pcalloc(r->pool, sizeof(*h));
        q->db = h;
        h->pool = c->db;
        apr_pool_cleanup_register(r->pool, h, hold_release,
                                  apr_pool_cleanup_null);
    }
    h->conn = res;
    h->broken = 0;
    return res;
}

void qw_db_mark_broken(request_rec *r)
{
    db_hold *h = hold_of(r);
    if (h) {
        h->broken = 1;
    }
}

PGresult *qw_db_exec(request_rec *r, PGconn *conn, const char *stmt,
                     int nparams, const char *const *values,
                     const int *lengths, const int *formats)
{
    PGresult *res;
    ExecStatusType st;
    int idle = PQtransactionStatus(conn) == PQTRANS_IDLE;

    res = PQexecPrepared(conn, stmt, nparams, values, lengths, formats, 0);
    st = PQresultStatus(res);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        return res;
    }
    if (PQstatus(conn) == CONNECTION_BAD && idle) {
        /* The server closed an idle pooled connection (restart, fail-over):
         * retry once on a fresh one.  Only outside a transaction, so
         * nothing half-done is repeated. */
        db_hold *h = hold_of(r);
        PQclear(res);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0107: pooled database connection was closed; "
                      "reconnecting");
        if (h) {
            h->broken = 1;
            hold_release(h);
        }
        conn = qw_db_get(r);
        if (!conn) {
            return NULL;
        }
        res = PQexecPrepared(conn, stmt, nparams, values, lengths, formats,
                             0);
        st = PQresultStatus(res);
        if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            return res;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW0108: database statement %s failed: %s", stmt,
                  pq_msg(r->pool, PQresultErrorMessage(res)));
    if (PQstatus(conn) != CONNECTION_OK) {
        qw_db_mark_broken(r);
    }
    PQclear(res);
    return NULL;
}

int qw_db_check_schema(apr_pool_t *ptemp, server_rec *s)
{
    qw_srv_cfg *c = qw_srv(s);
    PGconn *conn;
    int v;

    if (!c->db_conninfo) {
        return OK;
    }
    conn = connect_db(c->db_conninfo, "3");
    if (PQstatus(conn) != CONNECTION_OK) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "QW0109: database not reachable at start-up (%s); "
                     "protected locations answer 503 until it is",
                     pq_msg(ptemp, PQerrorMessage(conn)));
        PQfinish(conn);
        return OK;
    }
    v = schema_version(conn);
    PQfinish(conn);
    if (v < QW_SCHEMA_VERSION) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW0110: database schema is at version %d, mod_qiwei %s "
                     "needs %d: run 'qiweictl migrate' before starting httpd",
                     v, QW_VERSION_STRING, QW_SCHEMA_VERSION);
        return !OK;
    }
    return OK;
}

/* ---- the cache listener's connection ---- */

/* The cache listener (cache.c) gets its own connection, outside the request
 * pool: it does nothing but LISTEN and answer a heartbeat, and it must never
 * be lent to a request.  Owned here like every other connection. */
#include <errno.h>

/* The heartbeat: a SELECT 1 every HEARTBEAT_EVERY (cache.c trusts its cache
 * only while an answer came within 1.5 s), and a connection whose heartbeat
 * stays unanswered for GIVE_UP_AFTER is reported lost. */
#define LISTEN_HEARTBEAT_EVERY apr_time_from_msec(500)
#define LISTEN_GIVE_UP_AFTER apr_time_from_sec(5)

struct qw_db_listener {
    PGconn *conn;
    apr_time_t sent;           /* when the pending heartbeat was sent */
    apr_time_t answered;       /* last heartbeat answer, or the connect */
    int pending;               /* a heartbeat is on its way */
};

qw_db_listener *qw_db_listen_open(const char *conninfo, const char *channel,
                                  const char **why)
{
    /* TCP keepalives and a user timeout so a dead peer is noticed even
     * when nothing is sent; the heartbeat covers the rest */
    const char *kw[] = { "connect_timeout", "application_name",
                         "keepalives_idle", "keepalives_interval",
                         "keepalives_count", "dbname", NULL };
    const char *val[] = { "3", "mod_qiwei listener", "2", "1", "2",
                          conninfo, NULL };
    PGconn *conn = PQconnectdbParams(kw, val, 1);
    qw_db_listener *l;
    PGresult *res;
    char *ident, *sql;

    *why = "out of memory";
    if (PQstatus(conn) != CONNECTION_OK) {
        *why = "cannot connect";
        PQfinish(conn);
        return NULL;
    }
    ident = PQescapeIdentifier(conn, channel, strlen(channel));
    sql = ident ? malloc(strlen(ident) + sizeof("LISTEN ")) : NULL;
    if (!sql) {
        PQfreemem(ident);
        PQfinish(conn);
        return NULL;
    }
    strcpy(sql, "LISTEN ");
    strcat(sql, ident);
    PQfreemem(ident);
    res = PQexec(conn, sql);
    free(sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        *why = "LISTEN failed";
        PQclear(res);
        PQfinish(conn);
        return NULL;
    }
    PQclear(res);
    if (PQsetnonblocking(conn, 1) != 0) {
        *why = "cannot make the connection non-blocking";
        PQfinish(conn);
        return NULL;
    }
    /* malloc, not a pool: the listener thread opens one after every lost
     * connection for the life of the child, and a pool would either grow
     * or share an allocator with the child's other threads */
    l = calloc(1, sizeof(*l));
    if (!l) {
        PQfinish(conn);
        return NULL;
    }
    l->conn = conn;
    l->answered = apr_time_now();
    *why = NULL;
    return l;
}

int qw_db_listen_wait(qw_db_listener *l, int timeout_ms,
                      void (*on_message)(void *baton, const char *payload),
                      void *baton, const char **why)
{
    struct pollfd pfd;
    PGnotify *n;
    apr_time_t now = apr_time_now();

    if (!l->pending && now - l->sent >= LISTEN_HEARTBEAT_EVERY) {
        if (!PQsendQuery(l->conn, "SELECT 1")) {
            *why = "heartbeat send failed";
            return -1;
        }
        PQflush(l->conn);
        l->pending = 1;
        l->sent = now;
    }
    pfd.fd = PQsocket(l->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR) {
        *why = "poll failed";
        return -1;
    }
    if (!PQconsumeInput(l->conn)) {
        *why = "connection closed";
        return -1;
    }
    if (l->pending && !PQisBusy(l->conn)) {
        PGresult *res;
        while ((res = PQgetResult(l->conn)) != NULL) {
            PQclear(res);
        }
        l->pending = 0;
        l->answered = apr_time_now();
    }
    while ((n = PQnotifies(l->conn)) != NULL) {
        on_message(baton, n->extra);
        PQfreemem(n);
    }
    if (l->pending && apr_time_now() - l->sent > LISTEN_GIVE_UP_AFTER) {
        *why = "heartbeat unanswered for 5 s";
        return -1;
    }
    return 0;
}

apr_time_t qw_db_listen_answered(const qw_db_listener *l)
{
    return l->answered;
}

void qw_db_listen_close(qw_db_listener *l)
{
    if (l) {
        PQfinish(l->conn);
        free(l);
    }
}

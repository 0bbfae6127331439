/* Per-process PostgreSQL connection pool, and the only owner of a
 * database connection in the module (db.h states the rule).
 *
 * Like mod_dbd: an apr_reslist per server that has QiweiDatabase, made in
 * child_init; statements prepared once per connection.  Unlike mod_dbd:
 *  - nobody else sees a connection.  A statement takes one from the pool
 *    and gives it back before returning; a unit of work (the store's
 *    BEGIN .. COMMIT) keeps one pinned to its handle until it ends.  So a
 *    connection is never held across a password hash or while a response
 *    is written, and a connection that breaks is discarded here, where
 *    nobody else can still point at it;
 *  - it fails fast: after a failed connect it answers "unavailable" at once
 *    for QiweiDatabaseRetryInterval seconds instead of making every
 *    request wait for the connect timeout;
 *  - the retry rule is in one place (repeatable()): a statement whose
 *    connection was lost is repeated once on a fresh connection only when
 *    running it again cannot change the outcome: libpq could not send it,
 *    or it is idempotent (or BEGIN) and outside a unit.  Inside a unit
 *    nothing is repeated. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_reslist.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "http_core.h"
#include "http_request.h"

#include "qiwei.h"
#include "db.h"
#include "cfg/config.h"
#include "util/text.h"
#include "util/token.h"
#include "qw_version.h"
#include "metrics.h"

/* Combined lookups (qw_db_lookup, db.h): per pool, a few lanes, one per
 * (statement, group) in use; each has a statement out and a queue of the
 * requests waiting for the next one.  A second statement goes out only
 * when the one out has taken QW_DB_LOOKUP_PATIENCE: a connection that
 * hangs (a half-open socket after a fail-over) then holds the requests of
 * its own statement, as it would without sharing, not the whole child. */
#define QW_DB_LOOKUP_LANES 8
#define QW_DB_LOOKUP_PATIENCE apr_time_from_msec(50)

typedef struct lookup_waiter lookup_waiter;
struct lookup_waiter {
    lookup_waiter *next;
    const unsigned char *key;
    size_t keylen;
    apr_thread_cond_t *cv;          /* in the waiter's r->pool */
    enum { W_QUEUED, W_TAKEN, W_DONE } state;
    qw_db_shared *shared;           /* W_DONE: the result, or NULL */
    int row;
};

typedef struct {
    const char *many;               /* NULL: the lane is free */
    const char *group;
    int out;                        /* statements of the lane out */
    apr_time_t sent;                /* when the last of them was sent */
    lookup_waiter *head, *tail;
} lookup_lane;

struct qw_db_shared {
    PGresult *res;
    volatile apr_uint32_t refs;
};

struct qw_db_pool {
    server_rec *s;
    const char *conninfo;
    const char *timeout;
    apr_reslist_t *list;
    apr_thread_mutex_t *mutex;
    apr_time_t last_fail;
    apr_interval_time_t retry;
    apr_thread_mutex_t *lanes_mutex;
    lookup_lane lanes[QW_DB_LOOKUP_LANES];
};


/* ---- repeated errors: one line, then a count ----
 *
 * While the database is down every request fails the same way, and one
 * error line per refused request buried the log (28,609 lines in 7 s under
 * load).  So, per child and per tag, the first occurrence is logged as
 * before; repeats within QW_LOG_REPEAT_SECONDS are only counted, and the
 * next line logged after that (or the child's exit) is preceded by one
 * QW0118 line with the count.  Lock-free: a compare-and-swap on the time of
 * the last logged line decides which thread logs; the others count. */
#define QW_LOG_REPEAT_SECONDS 5

enum {
    LIM_QW0101, LIM_QW0106, LIM_QW0108, LIM_QW0116, LIM_QW0117, LIM_N
};

typedef struct {
    const char *tag;
    int level;
    volatile apr_uint32_t last;        /* apr_time_sec of the last line */
    volatile apr_uint32_t repeats;     /* counted, not logged, since then */
} log_limit;

/* the level of the QW0118 line: that of the lines it stands for */
static log_limit limits[LIM_N] = {
    { "QW0101", APLOG_ERR, 0, 0 },
    { "QW0106", APLOG_ERR, 0, 0 },
    { "QW0108", APLOG_ERR, 0, 0 },
    { "QW0116", APLOG_ERR, 0, 0 },
    { "QW0117", APLOG_ERR, 0, 0 },
};

static void log_repeats(server_rec *s, log_limit *l, apr_uint32_t n,
                        apr_uint32_t seconds)
{
    if (n) {
        ap_log_error(APLOG_MARK, l->level, 0, s,
                     "QW0118: %s repeated %u more times in the last %u s "
                     "(each logged at most once per %d s per process)",
                     l->tag, n, seconds, QW_LOG_REPEAT_SECONDS);
    }
}

/* 1: log this occurrence (any repeats counted before it are reported
 * first); 0: it was counted, log nothing. */
static int log_due(server_rec *s, int which)
{
    log_limit *l = &limits[which];
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&l->last);

    if ((last && now - last < QW_LOG_REPEAT_SECONDS)
        || apr_atomic_cas32(&l->last, now, last) != last) {
        apr_atomic_inc32(&l->repeats);
        return 0;
    }
    log_repeats(s, l, apr_atomic_xchg32(&l->repeats, 0), now - last);
    return 1;
}

/* At the child's exit: the counts nobody has reported yet. */
static apr_status_t log_repeats_at_exit(void *data)
{
    server_rec *s = data;
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    int i;

    for (i = 0; i < LIM_N; i++) {
        log_repeats(s, &limits[i], apr_atomic_xchg32(&limits[i].repeats, 0),
                    now - apr_atomic_read32(&limits[i].last));
    }
    return APR_SUCCESS;
}

/* The hot-path statement (db.h). */
static const char sql_session[] =
    QW_SQL_SESSION_SELECT QW_SQL_SESSION_FROM QW_SQL_SESSION_WHERE;
static const char sql_session_many[] = QW_SQL_SESSION_MANY;

/* The last-seen write, only when sql_session said it is due.  The repeated
 * condition keeps concurrent requests of one session from writing twice
 * (a fresh row is not written at all).  A written row turns
 * synchronous_commit off for this statement's own transaction only
 * (set_config(..., true) is SET LOCAL; RETURNING runs only for a row
 * written, before the commit): the commit does not wait for the WAL
 * flush.  It is only a last-seen time: a crash can lose the latest write,
 * and the idle timeout then counts from the one before, at most
 * min(60 s, idle/10) earlier.  Nothing else on the connection changes. */
static const char sql_session_touch[] =
    "UPDATE sessions SET last_seen_at = now()"
    " WHERE enterprise_id = $1 AND session_id = $2"
    "   AND last_seen_at < now() - make_interval(secs =>"
    "       least(60, idle_seconds / 10))"
    " RETURNING set_config('synchronous_commit', 'off', true)";

static const char sql_login[] =
    "SELECT" QW_LOGIN_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
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
    "SELECT" QW_ACTIVATION_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM activation_tokens a"
    "  JOIN enterprises e ON e.enterprise_id = a.enterprise_id"
    "  JOIN members m ON m.enterprise_id = a.enterprise_id"
    "                AND m.member_id = a.member_id"
    " WHERE e.code = $1 AND a.token_hash = $2 AND a.used_at IS NULL"
    "   AND a.expires_at > now() AND m.status = 'invited'";

typedef struct {
    const char *name;
    const char *sql;
    int flags;                 /* QW_DB_* */
} statement;

/* The deletion is idempotent too: a repeat finds no row, which the caller
 * reads as "no session", the state the first run left. */
static const statement statements[] = {
    { QW_STMT_SESSION, sql_session, QW_DB_IDEMPOTENT },
    { QW_STMT_SESSION_MANY, sql_session_many, QW_DB_IDEMPOTENT },
    { QW_STMT_LOGIN, sql_login, QW_DB_IDEMPOTENT },
    { QW_STMT_SESSION_NEW, sql_session_new, QW_DB_WRITES },
    { QW_STMT_SESSION_DEL, sql_session_del, QW_DB_IDEMPOTENT },
    { QW_STMT_SESSION_TOUCH, sql_session_touch, QW_DB_IDEMPOTENT },
    { QW_STMT_REHASH, sql_rehash, QW_DB_IDEMPOTENT },
    { QW_STMT_ACTIVATION, sql_activation, QW_DB_IDEMPOTENT },
};
#define N_BUILTIN (sizeof(statements) / sizeof(statements[0]))

/* Statements other parts of the module add at register_hooks time (before
 * any child exists, so no locking). */
#define QW_MAX_EXTRA_STATEMENTS 32
static statement extra[QW_MAX_EXTRA_STATEMENTS];
static int n_extra;

int qw_db_register_statement(const char *name, const char *sql, int flags)
{
    int i;
    for (i = 0; i < n_extra; i++) {
        if (!strcmp(extra[i].name, name)) {
            extra[i].sql = sql;     /* register_hooks may run again */
            extra[i].flags = flags;
            return 0;
        }
    }
    if (n_extra == QW_MAX_EXTRA_STATEMENTS) {
        return -1;
    }
    extra[n_extra].name = name;
    extra[n_extra].sql = sql;
    extra[n_extra].flags = flags;
    n_extra++;
    return 0;
}

static int statement_flags(const char *name)
{
    size_t i;
    for (i = 0; i < N_BUILTIN; i++) {
        if (!strcmp(statements[i].name, name)) {
            return statements[i].flags;
        }
    }
    for (i = 0; i < (size_t)n_extra; i++) {
        if (!strcmp(extra[i].name, name)) {
            return extra[i].flags;
        }
    }
    return QW_DB_WRITES;
}

static PGconn *connect_db(const char *conninfo, const char *timeout)
{
    /* TCP keepalives, so an idle pooled connection to a primary whose
     * machine died is noticed in about 16 s, not the kernel's 2 hours */
    const char *kw[] = { "connect_timeout", "application_name",
                         "keepalives_idle", "keepalives_interval",
                         "keepalives_count", "dbname", NULL };
    const char *val[] = { timeout, "mod_qiwei", "10", "2", "3", conninfo,
                          NULL };
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

/* Every line of a failed connect's message: with several hosts in the
 * conninfo, libpq says why each was rejected, one line each (hint lines,
 * which start with a tab, are left out).  "; " joins them. */
static const char *pq_connect_msg(apr_pool_t *p, const char *m)
{
    const char *out = NULL, *line = m, *nl;

    if (!m || !*m) {
        return "unknown error";
    }
    for (; *line; line = nl ? nl + 1 : line + strlen(line)) {
        const char *piece;
        nl = strchr(line, '\n');
        if (*line == '\t' || line == nl) {
            continue;
        }
        piece = nl ? apr_pstrmemdup(p, line, nl - line) : line;
        out = out ? apr_pstrcat(p, out, "; ", piece, NULL) : piece;
        if (!nl) {
            break;
        }
    }
    return out ? out : "unknown error";
}

static int schema_version(PGconn *c)
{
    PGresult *res = PQexec(c, "SELECT coalesce(max(version), 0)"
                              " FROM qw_schema_version");
    int v = -1;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
        v = atoi(PQgetvalue(res, 0, QW_COL_ONLY));
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
        if (log_due(dp->s, LIM_QW0101)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, dp->s,
                         "QW0101: cannot connect to the database: %s",
                         pq_connect_msg(pool, PQerrorMessage(c)));
        }
        goto fail;
    }
    v = schema_version(c);
    if (v < 0) {
        /* not an old schema: the connection failed while being set up
         * (killed, network) or the version table cannot be read */
        if (log_due(dp->s, LIM_QW0117)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, dp->s,
                         "QW0117: cannot read the schema version on a new "
                         "database connection: %s",
                         pq_msg(pool, PQerrorMessage(c)));
        }
        goto fail;
    }
    if (v < QW_SCHEMA_VERSION) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, dp->s,
                     "QW0102: database schema is at version %d, mod_qiwei "
                     "%s needs %d: run 'qiweictl migrate'", v,
                     QW_VERSION_STRING, QW_SCHEMA_VERSION);
        goto fail;
    }
    for (i = 0; i < N_BUILTIN + (size_t)n_extra; i++) {
        const statement *st = i < N_BUILTIN ? &statements[i]
                                            : &extra[i - N_BUILTIN];
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
    qw_metrics_inc(QW_C_DB_CONNECTS);
    qw_metrics_gauge_add(QW_G_DB_OPEN, 1);
    return APR_SUCCESS;

fail:
    qw_metrics_inc(QW_C_DB_CONNECT_FAILURES);
    PQfinish(c);
    apr_thread_mutex_lock(dp->mutex);
    dp->last_fail = apr_time_now();
    apr_thread_mutex_unlock(dp->mutex);
    return APR_EGENERAL;
}

static apr_status_t conn_free(void *resource, void *params, apr_pool_t *pool)
{
    qw_metrics_gauge_add(QW_G_DB_OPEN, -1);
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

    apr_pool_cleanup_register(pchild, s, log_repeats_at_exit,
                              apr_pool_cleanup_null);
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
        apr_thread_mutex_create(&dp->lanes_mutex, APR_THREAD_MUTEX_DEFAULT,
                                pchild);
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

#define QW_MAX_POOL_TRIES 1025

/* An idle pooled connection has nothing to read: if its socket is readable,
 * the server most likely closed it (a restart sends "terminating
 * connection" and then EOF, and libpq may still say CONNECTION_OK after
 * reading only the first).  Such a connection is not worth keeping: at
 * worst a healthy one that received an asynchronous notice is replaced.
 * One non-blocking poll() per statement. */
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

static qw_db_pool *pool_of(request_rec *r)
{
    qw_srv_cfg *c = qw_srv(r->server);

    if (!c->db || !c->db->list) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0105: no database configured for this server "
                      "(QiweiDatabase)");
        return NULL;
    }
    return c->db;
}

/* A live connection from the pool, or NULL (logged).  After a server
 * restart or fail-over every idle connection in the pool is dead: they are
 * all discarded here rather than failing a request on each.  Bounded by
 * the pool size (plus one new connection). */
static PGconn *take(request_rec *r, qw_db_pool *dp)
{
    void *res = NULL;
    apr_status_t rv;
    int tries;

    for (tries = 0; tries <= QW_MAX_POOL_TRIES; tries++) {
        apr_time_t t0 = apr_time_now();
        rv = apr_reslist_acquire(dp->list, &res);
        qw_metrics_observe(QW_H_POOL_WAIT, apr_time_now() - t0);
        if (rv != APR_SUCCESS) {
            qw_metrics_inc(QW_C_DB_POOL_EXHAUSTED);
            if (log_due(r->server, LIM_QW0106)) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                              "QW0106: no database connection available");
            }
            return NULL;
        }
        if (conn_alive(res)) {
            qw_metrics_gauge_add(QW_G_DB_IN_USE, 1);
            return res;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0111: discarding a pooled connection the server "
                      "has closed");
        apr_reslist_invalidate(dp->list, res);
    }
    return NULL;
}

/* Back to the pool: reused only when healthy and outside a transaction;
 * otherwise closed (apr_reslist_invalidate -> PQfinish).  After this the
 * caller has no connection: every caller is in this file. */
static void give_back(qw_db_pool *dp, PGconn *conn)
{
    qw_metrics_gauge_add(QW_G_DB_IN_USE, -1);
    if (PQstatus(conn) != CONNECTION_OK
        || PQtransactionStatus(conn) != PQTRANS_IDLE) {
        apr_reslist_invalidate(dp->list, conn);
    }
    else {
        apr_reslist_release(dp->list, conn);
    }
}

/* A lent connection that is lost or unusable: closed, never reused. */
static void discard(qw_db_pool *dp, PGconn *conn)
{
    qw_metrics_gauge_add(QW_G_DB_IN_USE, -1);
    apr_reslist_invalidate(dp->list, conn);
}

/* One statement on conn: prepared (name) or plain (sql text).  *lost says
 * whether the connection is unusable afterwards, *sent whether libpq sent
 * the statement at all (if not, it cannot have run).  Returns the result,
 * an error result, or NULL. */
static PGresult *run(PGconn *conn, int prepared, const char *what, int n,
                     const char *const *values, const int *lengths,
                     const int *formats, int *lost, int *sent)
{
    PGresult *res = NULL, *next;
    apr_time_t t0 = apr_time_now();

    *sent = prepared
        ? PQsendQueryPrepared(conn, what, n, values, lengths, formats, 0)
        : PQsendQueryParams(conn, what, n, NULL, values, lengths, formats,
                            0);
    if (*sent) {
        /* the last result, or the first error (the simple protocol of a
         * script stops at it) */
        while ((next = PQgetResult(conn)) != NULL) {
            ExecStatusType st = res ? PQresultStatus(res) : PGRES_EMPTY_QUERY;
            if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR) {
                PQclear(next);
                continue;
            }
            PQclear(res);
            res = next;
        }
    }
    *lost = PQstatus(conn) != CONNECTION_OK;
    qw_metrics_observe(QW_H_DB_STATEMENT, apr_time_now() - t0);
    if (*lost) {
        qw_metrics_inc(QW_C_DB_ERR_LOST);
    }
    return res;
}

/* THE retry rule.  A statement whose connection was lost on attempt
 * (0 or 1) is repeated on a fresh connection when this says so: only once,
 * and only when libpq could not send it (it cannot have run) or when the
 * caller vouches that running it again is the same as once (safe: a
 * statement registered QW_DB_IDEMPOTENT or sent with QW_SQL_READ outside a
 * unit, or the BEGIN that opens one).  A statement of an open unit is
 * never repeated: h_run fails the rest of the unit before asking. */
static int repeatable(int attempt, int sent, int safe)
{
    return attempt == 0 && (!sent || safe);
}

static int succeeded(PGresult *res)
{
    ExecStatusType st;

    if (!res) {
        return 0;
    }
    st = PQresultStatus(res);
    return st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
}

/* Why a lost connection failed, copied before the connection goes. */
static const char *lost_msg(request_rec *r, PGconn *conn, PGresult *res)
{
    const char *m = res ? PQresultErrorMessage(res) : NULL;
    return pq_msg(r->pool, m && *m ? m : PQerrorMessage(conn));
}

PGresult *qw_db_exec(request_rec *r, const char *stmt, int nparams,
                     const char *const *values, const int *lengths,
                     const int *formats)
{
    qw_db_pool *dp = pool_of(r);
    int attempt, lost, sent;

    if (!dp) {
        return NULL;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        PGconn *conn = take(r, dp);
        PGresult *res;
        const char *why;

        if (!conn) {
            return NULL;
        }
        res = run(conn, 1, stmt, nparams, values, lengths, formats, &lost,
                  &sent);
        if (!lost) {
            give_back(dp, conn);
            if (succeeded(res)) {
                return res;
            }
            qw_metrics_inc(QW_C_DB_ERR_STATEMENT);
            if (log_due(r->server, LIM_QW0108)) {
                ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                              "QW0108: database statement %s failed: %s",
                              stmt, pq_msg(r->pool,
                                           res ? PQresultErrorMessage(res)
                                               : NULL));
            }
            PQclear(res);
            return NULL;
        }
        why = lost_msg(r, conn, res);
        PQclear(res);
        discard(dp, conn);
        if (repeatable(attempt, sent,
                       statement_flags(stmt) & QW_DB_IDEMPOTENT)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW0107: database connection lost (%s); repeating "
                          "%s on a fresh one", why, stmt);
            continue;
        }
        if (log_due(r->server, LIM_QW0116)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "QW0116: database statement %s failed: connection "
                          "lost (%s)", stmt, why);
        }
        return NULL;
    }
    return NULL;
}

/* ---- combined lookups (db.h, qw_db_lookup) ----
 *
 * Why (issue 14, docs/performance.md "Strict mode: combined lookups"):
 * PostgreSQL's cost of the session statement is mostly executor set-up,
 * paid per statement, not per row; one statement for sixteen sessions
 * costs the backend about a sixth of what sixteen statements cost.
 *
 * Why MANY's array is padded to QW_DB_LOOKUP_SLOTS with repeats of its
 * first key: PostgreSQL plans a prepared statement's first five runs with
 * their values and then keeps a generic plan only if that does not look
 * dearer than those.  With two or three keys it did (a generic ANY($2) is
 * costed for ten), and it planned every run anew: more than a whole
 * statement's work each time.  Padded, the custom plans look at least as
 * dear and the generic plan is kept; the index scan sorts the array and
 * drops the repeats, so they cost nothing when run. */

static void put32(unsigned char *o, apr_uint32_t v)
{
    o[0] = (unsigned char)(v >> 24);
    o[1] = (unsigned char)(v >> 16);
    o[2] = (unsigned char)(v >> 8);
    o[3] = (unsigned char)v;
}

#define BYTEA_OID 17    /* pg_type.dat: fixed since PostgreSQL 7 */

/* A one-dimensional bytea[] in PostgreSQL's binary format (array_recv):
 * ndim, has-nulls, element type, then length and lower bound, then each
 * element as its length and bytes. */
static char *key_array(apr_pool_t *p, lookup_waiter *const *w, int n,
                       size_t keylen, int *len)
{
    int i;
    size_t size = 20 + QW_DB_LOOKUP_SLOTS * (4 + keylen);
    unsigned char *b = apr_palloc(p, size), *o = b + 20;

    put32(b, 1);
    put32(b + 4, 0);
    put32(b + 8, BYTEA_OID);
    put32(b + 12, QW_DB_LOOKUP_SLOTS);
    put32(b + 16, 1);
    for (i = 0; i < QW_DB_LOOKUP_SLOTS; i++) {
        put32(o, (apr_uint32_t)keylen);
        memcpy(o + 4, w[i < n ? i : 0]->key, keylen);
        o += 4 + keylen;
    }
    *len = (int)size;
    return (char *)b;
}

static qw_db_shared *share(PGresult *res, apr_uint32_t refs)
{
    qw_db_shared *sh;

    if (!res) {
        return NULL;
    }
    sh = malloc(sizeof(*sh));
    if (!sh) {
        PQclear(res);
        return NULL;
    }
    sh->res = res;
    sh->refs = refs;
    return sh;
}

void qw_db_release(qw_db_shared *hold)
{
    if (hold && apr_atomic_dec32(&hold->refs) == 0) {
        PQclear(hold->res);
        free(hold);
    }
}

/* Run the statement for the N waiters W (the caller's own among them), on
 * the leader's request R, and fill in each waiter's result and row.  Not
 * under the lanes' mutex; the waiters taken are this thread's until their
 * state is W_DONE. */
static void run_lookup(request_rec *r, const char *one, const char *many,
                       const char *group, lookup_waiter *const *w, int n)
{
    const char *values[2];
    int lengths[2] = { 0, 0 }, formats[2] = { 0, 1 };
    PGresult *res;
    qw_db_shared *sh;
    const char *hex[QW_DB_LOOKUP_SLOTS];
    int i, t, nt;

    values[0] = group;
    if (n == 1) {
        values[1] = (const char *)w[0]->key;
        lengths[1] = (int)w[0]->keylen;
        res = qw_db_exec(r, one, 2, values, lengths, formats);
        qw_metrics_inc(QW_C_DB_LOOKUP_ALONE);
    }
    else {
        values[1] = key_array(r->pool, w, n, w[0]->keylen, &lengths[1]);
        res = qw_db_exec(r, many, 2, values, lengths, formats);
        qw_metrics_inc(QW_C_DB_LOOKUP_BATCHES);
        qw_metrics_add(QW_C_DB_LOOKUP_COMBINED, (apr_uint32_t)n);
    }
    sh = share(res, (apr_uint32_t)n);
    for (i = 0; i < n; i++) {
        w[i]->shared = sh;
        w[i]->row = -1;
    }
    if (!sh) {
        return;
    }
    nt = PQntuples(res);
    if (n == 1) {
        w[0]->row = nt == 1 ? 0 : -1;
        return;
    }
    /* each waiter's key as the statement writes it back (encode 'hex') */
    for (i = 0; i < n; i++) {
        hex[i] = qw_hex(r->pool, w[i]->key, w[i]->keylen);
    }
    for (t = 0; t < nt; t++) {
        const char *row_key = PQgetvalue(res, t, PQnfields(res) - 1);
        for (i = 0; i < n; i++) {
            if (!strcmp(row_key, hex[i])) {
                w[i]->row = t;     /* a key twice: both get the row */
            }
        }
    }
}

/* The active lane of (MANY, GROUP), else a free one claimed for it, else
 * NULL (all in use by other groups: the caller goes alone).  Under the
 * lanes' mutex. */
static lookup_lane *lane_of(qw_db_pool *dp, const char *many,
                            const char *group)
{
    lookup_lane *free_lane = NULL;
    int i;

    for (i = 0; i < QW_DB_LOOKUP_LANES; i++) {
        lookup_lane *l = &dp->lanes[i];
        if (!l->many) {
            if (!free_lane) {
                free_lane = l;
            }
        }
        else if (l->many == many && !strcmp(l->group, group)) {
            return l;
        }
    }
    if (free_lane) {
        free_lane->many = many;
        free_lane->group = group;
    }
    return free_lane;
}

/* A statement of LANE was answered: the first waiter leads, or the lane
 * is free.  Under the lanes' mutex. */
static void lane_next(lookup_lane *lane)
{
    lane->out--;
    if (lane->head) {
        apr_thread_cond_signal(lane->head->cv);
    }
    else if (!lane->out) {
        lane->many = NULL;
        lane->group = NULL;
    }
}

PGresult *qw_db_lookup(request_rec *r, const char *one, const char *many,
                       const char *group, const unsigned char *key,
                       size_t keylen, int *row, qw_db_shared **hold)
{
    qw_db_pool *dp = pool_of(r);
    lookup_waiter me, *batch[QW_DB_LOOKUP_SLOTS], *self = &me;
    lookup_lane *lane;
    int n;

    *row = -1;
    *hold = NULL;
    if (!dp) {
        return NULL;
    }
    memset(&me, 0, sizeof(me));
    me.key = key;
    me.keylen = keylen;
    me.row = -1;
    if (!dp->lanes_mutex || keylen > QW_DB_LOOKUP_MAX_KEY) {
        run_lookup(r, one, many, group, &self, 1);
        goto done;
    }
    for (;;) {
        apr_thread_mutex_lock(dp->lanes_mutex);
        lane = lane_of(dp, many, group);
        if (!lane) {
            apr_thread_mutex_unlock(dp->lanes_mutex);
            run_lookup(r, one, many, group, &self, 1);
            goto done;
        }
        if (!lane->out && !lane->head) {
            /* nothing out and nobody waiting: at once, alone */
            lane->out = 1;
            lane->sent = apr_time_now();
            apr_thread_mutex_unlock(dp->lanes_mutex);
            run_lookup(r, one, many, group, &self, 1);
            apr_thread_mutex_lock(dp->lanes_mutex);
            lane_next(lane);
            apr_thread_mutex_unlock(dp->lanes_mutex);
            goto done;
        }
        if (me.cv) {
            break;                          /* queue, with the mutex */
        }
        /* made outside the mutex; then look again */
        apr_thread_mutex_unlock(dp->lanes_mutex);
        if (apr_thread_cond_create(&me.cv, r->pool) != APR_SUCCESS) {
            run_lookup(r, one, many, group, &self, 1);
            goto done;
        }
    }
    if (lane->tail) {
        lane->tail->next = &me;
    }
    else {
        lane->head = &me;
    }
    lane->tail = &me;
    while (me.state != W_DONE) {
        apr_time_t now;
        if (me.state != W_QUEUED || lane->head != &me) {
            apr_thread_cond_wait(me.cv, dp->lanes_mutex);
            continue;
        }
        now = apr_time_now();
        if (lane->out && now - lane->sent < QW_DB_LOOKUP_PATIENCE) {
            /* first in line: until the statement out is answered, or has
             * taken too long */
            apr_thread_cond_timedwait(me.cv, dp->lanes_mutex,
                                      lane->sent + QW_DB_LOOKUP_PATIENCE
                                      - now);
            continue;
        }
        {
            /* lead: everyone queued by now, in one statement */
            int i;
            for (n = 0; n < QW_DB_LOOKUP_SLOTS && lane->head; n++) {
                batch[n] = lane->head;
                lane->head = lane->head->next;
                batch[n]->next = NULL;
                batch[n]->state = W_TAKEN;
            }
            if (!lane->head) {
                lane->tail = NULL;
            }
            else {
                /* more than a statement's worth: the next first in line
                 * starts counting its patience */
                apr_thread_cond_signal(lane->head->cv);
            }
            lane->out++;
            lane->sent = now;
            apr_thread_mutex_unlock(dp->lanes_mutex);
            run_lookup(r, one, many, group, batch, n);
            apr_thread_mutex_lock(dp->lanes_mutex);
            for (i = 0; i < n; i++) {
                batch[i]->state = W_DONE;
                if (batch[i] != &me) {
                    apr_thread_cond_signal(batch[i]->cv);
                }
            }
            lane_next(lane);
            break;
        }
    }
    apr_thread_mutex_unlock(dp->lanes_mutex);
done:
    *hold = me.shared;
    *row = me.row;
    return me.shared ? me.shared->res : NULL;
}

/* ---- the store's handle (qw_sql) ---- */

typedef struct {
    qw_sql sql;             /* first: what the store sees */
    request_rec *r;
    qw_db_pool *dp;
    PGconn *conn;           /* pinned between BEGIN and COMMIT/ROLLBACK,
                             * or between PIN and UNPIN */
    int in_unit;
    int pinned;             /* conn is pinned outside a transaction */
    int unit_lost;          /* the pinned connection was lost: the rest of
                             * the unit fails without running anywhere */
    int lost;               /* the last failure was the connection's */
    const char *msg;
} db_handle;

static PGresult *h_fail(db_handle *h, const char *msg)
{
    h->lost = 1;
    h->msg = msg;
    return NULL;
}

/* A statement on the handle: on the unit's connection, or on one taken and
 * returned for it. */
static PGresult *h_run(db_handle *h, const char *sql, int n,
                       const char *const *params, int may_repeat)
{
    request_rec *r = h->r;
    int attempt, lost, sent;

    h->lost = 0;
    h->msg = "";
    if (h->unit_lost) {
        return h_fail(h, "the transaction's database connection was lost; "
                         "nothing of it was committed");
    }
    for (attempt = 0; attempt < 2; attempt++) {
        PGconn *conn = h->conn ? h->conn : take(r, h->dp);
        PGresult *res;
        const char *why;

        if (!conn) {
            return h_fail(h, "no database connection available");
        }
        res = run(conn, 0, sql, n, params, NULL, NULL, &lost, &sent);
        if (!lost) {
            if (!h->conn) {
                give_back(h->dp, conn);
            }
            return res;                 /* errors are the store's to map */
        }
        why = lost_msg(r, conn, res);
        PQclear(res);
        discard(h->dp, conn);
        if (h->conn) {
            h->conn = NULL;
            h->unit_lost = 1;
            if (h->pinned) {
                /* nothing was in a transaction; UNPIN reports it */
                return h_fail(h, why);
            }
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                          "QW0112: database connection lost inside a "
                          "transaction (%s): the server rolls it back",
                          why);
            return h_fail(h, why);
        }
        if (repeatable(attempt, sent, may_repeat)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW0107: database connection lost (%s); repeating "
                          "%s on a fresh one", why, "a store statement");
            continue;
        }
        return h_fail(h, why);
    }
    return NULL;
}

static PGresult *h_exec(qw_sql *db, const char *sql, int n,
                        const char *const *params, int flags)
{
    db_handle *h = (db_handle *)db;
    return h_run(h, sql, n, params, !h->conn && (flags & QW_SQL_READ));
}

static void h_end_unit(db_handle *h)
{
    if (h->conn) {
        give_back(h->dp, h->conn);   /* closed if left in a transaction */
        h->conn = NULL;
    }
    h->in_unit = 0;
    h->unit_lost = 0;
}

static PGresult *h_txn(qw_sql *db, qw_sql_txn what)
{
    db_handle *h = (db_handle *)db;
    PGresult *res;
    PGconn *conn;
    int attempt;

    switch (what) {
    case QW_SQL_PIN:
        if (h->in_unit || h->pinned) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, h->r,
                          "QW0122: a connection pinned inside an open unit "
                          "of work or pin");
            return h_fail(h, "a connection is already pinned");
        }
        h->lost = 0;
        h->msg = "";
        conn = take(h->r, h->dp);
        if (!conn) {
            return h_fail(h, "no database connection available");
        }
        h->conn = conn;
        h->pinned = 1;
        return PQmakeEmptyPGresult(conn, PGRES_COMMAND_OK);
    case QW_SQL_UNPIN:
        if (!h->pinned) {
            return h_fail(h, "no connection is pinned");
        }
        conn = h->conn;
        h->conn = NULL;
        h->pinned = 0;
        if (h->unit_lost || !conn) {
            h->unit_lost = 0;
            return h_fail(h, "the pinned database connection was lost");
        }
        /* whatever it listened to ends here; a connection on which that
         * fails is closed, never lent out still listening */
        {
            int lost, sent;
            res = run(conn, 0, "UNLISTEN *", 0, NULL, NULL, NULL, &lost,
                      &sent);
        }
        if (!succeeded(res)) {
            PQclear(res);
            discard(h->dp, conn);
            return h_fail(h, "UNLISTEN failed");
        }
        {
            PGnotify *n;
            while ((n = PQnotifies(conn)) != NULL) {
                PQfreemem(n);
            }
        }
        give_back(h->dp, conn);
        return res;
    case QW_SQL_BEGIN:
        if (h->in_unit || h->pinned) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, h->r,
                          "QW0113: BEGIN inside an open unit of work");
            return h_fail(h, "a transaction is already open");
        }
        /* pin a connection; BEGIN changes nothing, so a connection
         * that is lost on it is replaced once */
        h->lost = 0;
        h->msg = "";
        for (attempt = 0; attempt < 2; attempt++) {
            int lost, sent;

            conn = take(h->r, h->dp);
            if (!conn) {
                return h_fail(h, "no database connection available");
            }
            res = run(conn, 0, "BEGIN", 0, NULL, NULL, NULL, &lost, &sent);
            if (!lost) {
                if (succeeded(res)) {
                    h->conn = conn;
                    h->in_unit = 1;
                    h->unit_lost = 0;
                }
                else {
                    give_back(h->dp, conn);
                }
                return res;
            }
            h->msg = lost_msg(h->r, conn, res);
            PQclear(res);
            discard(h->dp, conn);
            if (!repeatable(attempt, sent, 1)) {
                break;
            }
        }
        return h_fail(h, h->msg);
    case QW_SQL_COMMIT:
        if (!h->in_unit) {
            return h_fail(h, "COMMIT without a transaction");
        }
        if (h->unit_lost) {
            h_end_unit(h);
            return h_fail(h, "the transaction's database connection was "
                             "lost; nothing of it was committed");
        }
        res = h_run(h, "COMMIT", 0, NULL, 0);
        if (!res && h->lost) {
            /* the answer to COMMIT was lost with the connection: the
             * outcome is unknown, and said so */
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, h->r,
                          "QW0114: database connection lost during COMMIT "
                          "(%s): the change may or may not have been "
                          "made", h->msg);
        }
        h_end_unit(h);
        return res;
    case QW_SQL_ROLLBACK:
    default:
        res = NULL;
        if (h->conn && !h->unit_lost) {
            res = h_run(h, "ROLLBACK", 0, NULL, 0);
        }
        h_end_unit(h);
        return res;
    }
}

static const char *h_message(qw_sql *db)
{
    db_handle *h = (db_handle *)db;
    return h->msg ? h->msg : "";
}

static int h_lost(qw_sql *db)
{
    return ((db_handle *)db)->lost;
}

/* Hand over the notifications libpq has queued; whether there were any. */
static int h_deliver(PGconn *conn,
                     void (*each)(void *, const char *, const char *),
                     void *baton)
{
    PGnotify *n;
    int got = 0;

    while ((n = PQnotifies(conn)) != NULL) {
        each(baton, n->relname, n->extra);
        PQfreemem(n);
        got = 1;
    }
    return got;
}

static int h_wait(qw_sql *db, int timeout_ms,
                  void (*each)(void *, const char *, const char *),
                  void *baton)
{
    db_handle *h = (db_handle *)db;
    struct pollfd pfd;

    if (!h->pinned || !h->conn) {
        h_fail(h, "no connection is pinned");
        return -1;
    }
    if (h_deliver(h->conn, each, baton)) {
        return 0;
    }
    pfd.fd = PQsocket(h->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0
        || (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
        || !PQconsumeInput(h->conn)) {
        h_fail(h, lost_msg(h->r, h->conn, NULL));
        discard(h->dp, h->conn);
        h->conn = NULL;
        h->unit_lost = 1;
        return -1;
    }
    h_deliver(h->conn, each, baton);
    return 0;
}

static const qw_sql_ops handle_ops = {
    h_exec, h_txn, NULL, h_message, h_lost, h_wait
};

int qw_db_store(request_rec *r, qw_store *st, const char *actor,
                const char *role)
{
    memset(st, 0, sizeof(*st));
    st->pool = r->pool;
    st->keys = qw_keys();
    st->pw = qw_pw_cfg;
    st->who.actor = actor;
    st->who.actor_role = role;
    st->who.source_ip = r->useragent_ip;
    st->who.user_agent = qw_sanitize_text(r->pool, apr_table_get(
        r->headers_in, "User-Agent"), QW_UA_MAX);
    st->who.request_id = r->log_id;
    st->db = qw_db_sql(r);
    return st->db ? 0 : -1;
}

int qw_db_revocation_barrier(request_rec *r, const char **why)
{
    qw_srv_cfg *c = qw_srv(r->server);
    long wait_ms = c->revocation_wait_ms != QW_UNSET
                   ? c->revocation_wait_ms : QW_BARRIER_DEFAULT_WAIT_MS;
    qw_store st;
    qw_barrier b;
    qw_status rc;

    *why = NULL;
    if (wait_ms == 0) {
        return OK;
    }
    if (qw_db_store(r, &st, NULL, NULL) != 0) {
        *why = "no database configured";
        return HTTP_ACCEPTED;
    }
    rc = qw_revocation_barrier(&st, wait_ms, &b);
    qw_metrics_observe(QW_H_BARRIER, apr_time_from_msec(b.elapsed_ms));
    qw_metrics_inc(rc != QW_OK ? QW_C_BARRIER_FAILED
                   : !b.confirmed ? QW_C_BARRIER_UNCONFIRMED
                   : b.expired ? QW_C_BARRIER_EXPIRED
                   : QW_C_BARRIER_CONFIRMED);
    if (rc != QW_OK) {
        *why = st.err ? st.err : "database error";
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW0119: change committed, but not confirmed by the "
                      "cache listeners: %s", *why);
        return HTTP_ACCEPTED;
    }
    if (!b.confirmed) {
        *why = b.pending;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW0119: change committed, but not confirmed by the "
                      "cache listeners: %s",
                      apr_psprintf(r->pool, "%d of %d did not answer within "
                                   "%ld ms: %s",
                                   b.listeners - b.acked - b.expired,
                                   b.listeners, wait_ms, b.pending));
        return HTTP_ACCEPTED;
    }
    if (b.expired) {
        /* a node connected to the database that did not answer: stuck,
         * cut off, or an older mod_qiwei; its cache is out of service */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0120: %d of %d cache listeners did not answer the "
                      "revocation barrier; counted as out of service after "
                      "%ld ms: %s", b.expired, b.listeners, b.elapsed_ms,
                      b.pending);
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0121: revocation barrier: %d cache listeners, %d "
                  "answered, in %ld ms", b.listeners, b.acked, b.elapsed_ms);
    return OK;
}

/* A unit still open when the request ends is a bug of its caller: its
 * connection is closed (the server rolls back), never reused. */
static apr_status_t handle_cleanup(void *data)
{
    db_handle *h = data;

    if (h->conn) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, h->r,
                      "QW0115: a unit of work was left open at the end of "
                      "the request: rolled back");
        discard(h->dp, h->conn);
        h->conn = NULL;
    }
    return APR_SUCCESS;
}

qw_sql *qw_db_sql(request_rec *r)
{
    qw_db_pool *dp = pool_of(r);
    db_handle *h;

    if (!dp) {
        return NULL;
    }
    h = apr_pcalloc(r->pool, sizeof(*h));
    h->sql.ops = &handle_ops;
    h->r = r;
    h->dp = dp;
    apr_pool_cleanup_register(r->pool, h, handle_cleanup,
                              apr_pool_cleanup_null);
    return &h->sql;
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
                     pq_connect_msg(ptemp, PQerrorMessage(conn)));
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

/* The heartbeat: a SELECT 1 every HEARTBEAT_EVERY (cache.c trusts its cache
 * only while an answer came within 1.5 s), and a connection whose heartbeat
 * stays unanswered for GIVE_UP_AFTER is reported lost. */
#define LISTEN_HEARTBEAT_EVERY apr_time_from_msec(500)
#define LISTEN_GIVE_UP_AFTER apr_time_from_sec(5)

/* Barrier answers waiting to be sent (qw_db_listen_ack); more than this
 * between two round trips are dropped: their writers then wait for the
 * heartbeat bound instead. */
#define LISTEN_MAX_ACKS 16
#define LISTEN_ACK_ID_MAX 32
#define LISTEN_NAME "mod_qiwei listener"

struct qw_db_listener {
    PGconn *conn;
    apr_time_t sent;           /* when the pending heartbeat was sent */
    apr_time_t answered;       /* when the last answered heartbeat was
                                * sent (or the connect began) */
    int pending;               /* a heartbeat is on its way */
    int nacks;
    char acks[LISTEN_MAX_ACKS][LISTEN_ACK_ID_MAX + 1];
};

/* 'mod_qiwei listener HOST:PID', the name the revocation barrier looks for
 * (sql/014_revocation_barrier.sql); PostgreSQL keeps 63 bytes of it. */
static void listener_name(char *buf, size_t size)
{
    char host[256];

    if (gethostname(host, sizeof(host)) != 0) {
        strcpy(host, "unknown");
    }
    host[sizeof(host) - 1] = '\0';
    host[32] = '\0';
    apr_snprintf(buf, size, LISTEN_NAME " %s:%ld", host, (long)getpid());
}

qw_db_listener *qw_db_listen_open(const char *conninfo, const char *channel,
                                  const char **why)
{
    /* TCP keepalives and a user timeout so a dead peer is noticed even
     * when nothing is sent; the heartbeat covers the rest */
    const char *kw[] = { "connect_timeout", "application_name",
                         "keepalives_idle", "keepalives_interval",
                         "keepalives_count", "dbname", NULL };
    const char *val[] = { "3", LISTEN_NAME, "2", "1", "2",
                          conninfo, NULL };
    apr_time_t began = apr_time_now();
    char name[64];
    const char *name_param[1];
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
    /* only now, with the LISTEN in place, does the barrier count it */
    listener_name(name, sizeof(name));
    name_param[0] = name;
    res = PQexecParams(conn, "SELECT set_config('application_name', $1,"
                             " false)", 1, NULL, name_param, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        *why = "cannot set application_name";
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
    l->answered = began;
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

    if (!l->pending
        && (l->nacks || now - l->sent >= LISTEN_HEARTBEAT_EVERY)) {
        int ok;
        if (l->nacks) {
            /* the answers to barriers, which are heartbeats as well:
             * '{id,id,...}' (the ids are hex, checked when queued) */
            char arr[LISTEN_MAX_ACKS * (LISTEN_ACK_ID_MAX + 1) + 3];
            const char *param[1];
            int i;
            strcpy(arr, "{");
            for (i = 0; i < l->nacks; i++) {
                if (i) {
                    strcat(arr, ",");
                }
                strcat(arr, l->acks[i]);
            }
            strcat(arr, "}");
            param[0] = arr;
            l->nacks = 0;
            ok = PQsendQueryParams(l->conn,
                "SELECT pg_notify('qiwei_ack', b || ':' || pg_backend_pid())"
                "  FROM unnest($1::text[]) b", 1, NULL, param, NULL, NULL, 0);
        }
        else {
            ok = PQsendQuery(l->conn, "SELECT 1");
        }
        if (!ok) {
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
        /* the time it was sent, not received: PostgreSQL delivers every
         * notification signalled before it read the heartbeat ahead of
         * its answer, so an answered heartbeat sent at t proves that
         * everything committed before t (the slack aside) has arrived */
        l->answered = l->sent;
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

void qw_db_listen_ack(qw_db_listener *l, const char *barrier)
{
    size_t n = strlen(barrier);

    if (n == 0 || n > LISTEN_ACK_ID_MAX
        || strspn(barrier, "0123456789abcdef") != n
        || l->nacks == LISTEN_MAX_ACKS) {
        return;
    }
    memcpy(l->acks[l->nacks++], barrier, n + 1);
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

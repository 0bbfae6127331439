/* The revocation barrier (store.h, sql/014_revocation_barrier.sql).
 *
 * Why it is enough to wait for the listeners the barrier lists, and for no
 * longer than the heartbeat bound:
 *   - NOTIFY is delivered to each listening backend in commit order, and a
 *     listener (cache.c) applies every message before it answers the
 *     barrier: an answer means the change is applied there.
 *   - A listener takes its 'mod_qiwei listener HOST:PID' name only after
 *     its LISTEN is in place, so every listener the barrier lists receives
 *     the barrier.  One that connects later wipes its cache when it does.
 *   - A listener that stays silent is, QW_CACHE_HEALTHY_WITHIN_MS after
 *     the commit (plus QW_BARRIER_SLACK_MS for PostgreSQL to signal it),
 *     either cut off or stuck: its cache is then out of service, because a
 *     child uses its cache only while a heartbeat it sent within that bound
 *     has been answered, and PostgreSQL delivers pending notifications
 *     before it answers a later query.
 * The caller's connection is pinned for the LISTEN, the barrier and the
 * wait, and returned at the end. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include "store/store.h"

#define ACK_CHANNEL "qiwei_ack"

/* One row per listener the barrier was sent to (sql/014). */
#define BARRIER_COLS(X, L) \
    X(BARRIER, " barrier") \
    X(BACKEND_PID, " backend_pid") \
    L(LISTENER, " listener")
#define BARRIER_COL_ENUM(name, expr) BARRIER_COL_##name,
enum { BARRIER_COLS(BARRIER_COL_ENUM, BARRIER_COL_ENUM) };
static const char sql_barrier[] =
    "SELECT" BARRIER_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM qw_revocation_barrier()";

typedef struct {
    const char *barrier;       /* hex id from qw_revocation_barrier() */
    int n;
    int *pid;                  /* backend pid of each listener */
    const char **name;         /* its HOST:PID */
    int *acked;
    int left;                  /* not acked yet */
} waiting;

static void on_ack(void *baton, const char *channel, const char *payload)
{
    waiting *w = baton;
    size_t blen = strlen(w->barrier);
    char *end;
    long pid;
    int i;

    /* '<barrier>:<backend pid>' */
    if (strcmp(channel, ACK_CHANNEL) != 0
        || strncmp(payload, w->barrier, blen) != 0 || payload[blen] != ':') {
        return;                 /* another writer's barrier */
    }
    pid = strtol(payload + blen + 1, &end, 10);
    if (*end != '\0') {
        return;
    }
    for (i = 0; i < w->n; i++) {
        if (w->pid[i] == pid && !w->acked[i]) {
            w->acked[i] = 1;
            w->left--;
        }
    }
}

static qw_status pinned_exec(qw_store *st, const char *sql, PGresult **out)
{
    qw_status rc;
    PGresult *res = qw_store_exec(st, sql, 0, NULL, &rc);

    if (out) {
        *out = res;
    }
    else {
        PQclear(res);
    }
    return rc;
}

static qw_status barrier_once(qw_store *st, long wait_ms, qw_barrier *out)
{
    qw_sql *db = st->db;
    PGresult *res;
    waiting w;
    apr_time_t committed, deadline, expiry, now;
    qw_status rc;
    int i;

    memset(out, 0, sizeof(*out));
    memset(&w, 0, sizeof(w));
    res = db->ops->txn(db, QW_SQL_PIN);
    if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_DB, "database unavailable: %s",
                              db->ops->message(db));
    }
    PQclear(res);
    rc = pinned_exec(st, "LISTEN " ACK_CHANNEL, NULL);
    if (rc == QW_OK) {
        rc = pinned_exec(st, sql_barrier, &res);
    }
    if (rc != QW_OK) {
        goto done;
    }
    committed = apr_time_now();
    w.n = PQntuples(res);
    w.barrier = w.n ? apr_pstrdup(st->pool,
                                  PQgetvalue(res, 0, BARRIER_COL_BARRIER))
                    : "";
    w.pid = apr_pcalloc(st->pool, sizeof(int) * (w.n + 1));
    w.name = apr_pcalloc(st->pool, sizeof(char *) * (w.n + 1));
    w.acked = apr_pcalloc(st->pool, sizeof(int) * (w.n + 1));
    for (i = 0; i < w.n; i++) {
        w.pid[i] = atoi(PQgetvalue(res, i, BARRIER_COL_BACKEND_PID));
        w.name[i] = apr_pstrdup(st->pool,
                                PQgetvalue(res, i, BARRIER_COL_LISTENER));
    }
    PQclear(res);
    w.left = w.n;
    out->listeners = w.n;
    deadline = committed + apr_time_from_msec(wait_ms);
    expiry = committed + apr_time_from_msec(QW_CACHE_HEALTHY_WITHIN_MS
                                            + QW_BARRIER_SLACK_MS);
    while (w.left > 0) {
        apr_time_t until;

        now = apr_time_now();
        if (now >= expiry || now >= deadline) {
            break;
        }
        until = expiry < deadline ? expiry : deadline;
        if (db->ops->wait(db, (int)((until - now + 999) / 1000), on_ack,
                          &w) < 0) {
            rc = qw_store_error(st, QW_ERR_DB, "database connection lost "
                                "while waiting for the cache listeners: %s",
                                db->ops->message(db));
            goto done;
        }
    }
    now = apr_time_now();
    out->elapsed_ms = (long)apr_time_as_msec(now - committed);
    out->acked = w.n - w.left;
    if (w.left > 0 && now >= expiry) {
        out->expired = w.left;
    }
    out->confirmed = out->acked + out->expired == w.n;
    if (w.left > 0) {
        const char *list = NULL;
        for (i = 0; i < w.n; i++) {
            if (!w.acked[i]) {
                list = list ? apr_pstrcat(st->pool, list, ", ", w.name[i],
                                          NULL)
                            : w.name[i];
            }
        }
        out->pending = list;
    }
    /* UNLISTEN before the connection goes back; the result is the
     * barrier's, whatever this answers (an owner whose connection outlives
     * the command, db.c, also ends the LISTEN itself on unpinning, and
     * closes a connection on which it cannot) */
    (void)pinned_exec(st, "UNLISTEN " ACK_CHANNEL, NULL);
done:
    res = db->ops->txn(db, QW_SQL_UNPIN);
    PQclear(res);
    if (rc != QW_OK) {
        out->confirmed = 0;
    }
    return rc;
}

qw_status qw_revocation_barrier(qw_store *st, long wait_ms, qw_barrier *out)
{
    qw_status rc = barrier_once(st, wait_ms, out);

    /* A connection lost on the way (a restarted or failed-over database,
     * an idle-session killer) says nothing about the listeners: a new
     * barrier on a fresh connection is just as good, since it too is sent
     * after the change has committed. */
    if (rc == QW_ERR_DB && st->db->ops->lost(st->db)) {
        rc = barrier_once(st, wait_ms, out);
    }
    return rc;
}

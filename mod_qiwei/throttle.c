/* Login throttling: per account in PostgreSQL, per address in mod_socache.
 * See throttle.h. */
#include <arpa/inet.h>
#include "apr_strings.h"
#include "apr_global_mutex.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "http_core.h"
#include "http_protocol.h"
#include "util_mutex.h"

#include "req.h"
#include "db.h"
#include "throttle.h"
#include "cfg/config.h"
#include "store/store.h"
#include "util/text.h"
#include "metrics.h"

const qw_throttle_rule qw_throttle_member = { 5, 60, 900, 0, 0, 43200,
                                              0, 0 };
/* per (account, source network): today's waits and the 30 min lock at 10;
 * per account: a 30 min lock at 100 only (ASVS 4 2.2.1: no more than 100
 * failures an hour per account) */
const qw_throttle_rule qw_throttle_admin = { 5, 60, 900, 10, 1800, 43200,
                                            100, 1800 };

#define QW_THROTTLE_MUTEX "qiwei-throttle"
/* a network gets this many times an address's allowance: one office NAT
 * is many people */
#define QW_NET_FACTOR 5

/* One failure counted ($1 enterprise code, $2 account, $3 kind, $4..$9
 * the rule): the seconds the account must now wait (0: none) and its
 * failures so far. */
#define HIT_COLS(X, L) \
    X(WAIT_SECONDS, " wait_seconds") \
    L(FAILURES, " failures")
#define HIT_COL_ENUM(name, expr) HIT_COL_##name,
enum { HIT_COLS(HIT_COL_ENUM, HIT_COL_ENUM) };
static const char sql_hit[] =
    "SELECT" HIT_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM qw_throttle_hit($1, $2, $3,"
    " $4::int, $5::int, $6::int, nullif($7::int, 0), $8::int, $9::int)";
/* The same per (account, source) and per account (sql/012): $4 the
 * source network, $5..$10 the source's rule, $11, $12 the account's lock;
 * also the account's failures and the lock this attempt started. */
#define HIT_SRC_COLS(X, L) \
    X(WAIT_SECONDS, " wait_seconds") \
    X(FAILURES, " failures") \
    X(ACCOUNT_FAILURES, " account_failures") \
    L(LOCK_SCOPE, " lock_scope")
#define HIT_SRC_COL_ENUM(name, expr) HIT_SRC_COL_##name,
enum { HIT_SRC_COLS(HIT_SRC_COL_ENUM, HIT_SRC_COL_ENUM) };
static const char sql_hit_source[] =
    "SELECT" HIT_SRC_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM qw_throttle_hit_source($1, $2, $3, $4,"
    " $5::int, $6::int, $7::int, nullif($8::int, 0), $9::int, $10::int,"
    " $11::int, $12::int)";
static const char sql_clear[] =
    "DELETE FROM login_throttle t USING enterprises e"
    " WHERE e.enterprise_id = t.enterprise_id AND e.code = $1"
    "   AND t.account = $2 AND t.kind = $3 AND t.source = ''";
/* A success of a per-source counter clears its own source's row only and
 * takes back the attempt it reserved in the account-wide row: that count
 * decays with quiet, so that logging in from one place does not reset
 * what others tried. */
static const char sql_clear_source[] =
    "WITH s AS (DELETE FROM login_throttle t USING enterprises e"
    "            WHERE e.enterprise_id = t.enterprise_id AND e.code = $1"
    "              AND t.account = $2 AND t.kind = $3 AND t.source = $4)"
    " UPDATE login_throttle t SET failures = greatest(t.failures - 1, 0)"
    "   FROM enterprises e"
    "  WHERE e.enterprise_id = t.enterprise_id AND e.code = $1"
    "    AND t.account = $2 AND t.kind = $3 AND t.source = ''";
#define STMT_HIT "qw_throttle_hit"
#define STMT_HIT_SOURCE "qw_throttle_hit_source"
#define STMT_CLEAR "qw_throttle_clear"
#define STMT_CLEAR_SOURCE "qw_throttle_clear_source"

/* Set in post_config (before children), attached in child_init. */
static const ap_socache_provider_t *cache_provider;
static ap_socache_instance_t *cache;
static apr_global_mutex_t *cache_mutex;
static int cache_ok;

typedef struct {
    apr_uint32_t count;
    apr_uint32_t pad;
    apr_time_t window_start;
    apr_time_t blocked_until;
} addr_entry;

int qw_throttle_refuse(request_rec *r, long seconds, const char *why)
{
    qw_req *q = qw_req_get(r, 1);

    if (seconds < 1) {
        seconds = 1;
    }
    qw_metrics_inc(QW_C_LOGIN_THROTTLED);
    /* QW1202 is the line fail2ban matches (conf/fail2ban) */
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW1202: attempt throttled for enterprise %s from %s: %s; "
                  "retry after %ld s", qw_dir(r)->enterprise,
                  r->useragent_ip, why, seconds);
    apr_table_setn(r->err_headers_out, "Retry-After",
                   apr_psprintf(r->pool, "%ld", seconds));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    /* the 429 page is ours (render/page.c's error page); a JSON caller
     * answers in its own shape */
    q->ours = 1;
    return HTTP_TOO_MANY_REQUESTS;
}

const char *qw_addr_network(apr_pool_t *p, const char *ip)
{
    unsigned char b[16];
    char out[INET6_ADDRSTRLEN];

    if (!ip) {
        return NULL;
    }
    if (strchr(ip, ':')) {
        if (inet_pton(AF_INET6, ip, b) != 1) {
            return NULL;
        }
        if (!memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
            /* IPv4-mapped: its /24 */
            return apr_psprintf(p, "%u.%u.%u.0/24", b[12], b[13], b[14]);
        }
        memset(b + 8, 0, 8);
        if (!inet_ntop(AF_INET6, b, out, sizeof(out))) {
            return NULL;
        }
        return apr_pstrcat(p, out, "/64", NULL);
    }
    if (inet_pton(AF_INET, ip, b) != 1) {
        return NULL;
    }
    return apr_psprintf(p, "%u.%u.%u.0/24", b[0], b[1], b[2]);
}

/* Read (and optionally count a failure on) one key under the mutex.
 * Returns the seconds still blocked (0: not blocked). */
static long addr_touch(request_rec *r, const char *key, int max, int window,
                       int block, int fail)
{
    addr_entry e;
    unsigned int len = sizeof(e);
    apr_time_t now = apr_time_now();
    long left = 0;
    apr_status_t rv;

    rv = cache_provider->retrieve(cache, r->server,
                                  (const unsigned char *)key,
                                  (unsigned int)strlen(key),
                                  (unsigned char *)&e, &len, r->pool);
    if (rv != APR_SUCCESS || len != sizeof(e)) {
        memset(&e, 0, sizeof(e));
    }
    if (e.blocked_until > now) {
        left = (long)apr_time_sec(e.blocked_until - now) + 1;
    }
    if (!fail || left) {
        return left;
    }
    if (e.window_start + apr_time_from_sec(window) < now) {
        e.window_start = now;
        e.count = 0;
    }
    e.count++;
    if (e.count >= (apr_uint32_t)max) {
        e.blocked_until = now + apr_time_from_sec(block);
        e.count = 0;
        e.window_start = now;
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1203: %s blocked for %d s after %d failures in "
                      "%d s", key, block, max, window);
    }
    cache_provider->store(cache, r->server, (const unsigned char *)key,
                          (unsigned int)strlen(key),
                          now + apr_time_from_sec(window + block),
                          (unsigned char *)&e, sizeof(e), r->pool);
    return 0;
}

/* Check (fail = 0) or count a failure (fail = 1) for the address and its
 * network; returns the longest remaining block in seconds. */
static long addr_op(request_rec *r, int fail)
{
    qw_dir_cfg *d = qw_dir(r);
    int max, window, block;
    const char *ip = r->useragent_ip, *net;
    long a, n;

    qw_sec_addr_limits(&d->sec, &max, &window, &block);
    if (max == 0 || !cache_ok || !ip) {
        return 0;
    }
    net = qw_addr_network(r->pool, ip);
    if (apr_global_mutex_lock(cache_mutex) != APR_SUCCESS) {
        return 0;
    }
    a = addr_touch(r, apr_pstrcat(r->pool, "a|", d->enterprise, "|", ip,
                                  NULL), max, window, block, fail);
    n = net ? addr_touch(r, apr_pstrcat(r->pool, "n|", d->enterprise, "|",
                                        net, NULL),
                         max * QW_NET_FACTOR, window, block, fail) : 0;
    apr_global_mutex_unlock(cache_mutex);
    return a > n ? a : n;
}

int qw_throttle_addr_check(request_rec *r)
{
    long left = addr_op(r, 0);
    if (left > 0) {
        return qw_throttle_refuse(r, left, "source address blocked");
    }
    return OK;
}

void qw_throttle_addr_fail(request_rec *r)
{
    (void)addr_op(r, 1);
}

/* The start of waits and a lock go to the audit log too, once per
 * threshold crossed (not per attempt): "a lock is logged".  Its own unit
 * of work on its own handle: a caller's transaction is never touched. */
static void audit_throttle(request_rec *r, const char *ent,
                           const char *account, const char *kind,
                           const char *action, int n)
{
    qw_store st;
    qw_status rc;
    int64_t eid;
    const char *object;

    if (!qw_keys()) {
        return;
    }
    if (qw_db_store(r, &st, "system", NULL) != 0) {
        return;
    }
    eid = qw_store_enterprise_id(&st, ent, &rc);
    if (eid <= 0 || qw_store_begin(&st) != QW_OK) {
        return;
    }
    /* never the name as typed: a member by id, a name nobody holds as a
     * keyed MAC (the log outlives members and keeps no guessed names) */
    if (qw_audit_account_object(&st, eid, account,
                                strncmp(kind, "admin_", 6) == 0,
                                &object) != QW_OK
        || qw_audit_append(&st, eid, "auth", action, object,
                           "refused", apr_psprintf(r->pool,
                                                   "%d failures (%s)",
                                                   n, kind), NULL) != QW_OK
        || qw_store_commit(&st) != QW_OK) {
        qw_store_rollback(&st);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW1212: cannot audit the throttling of account "
                      "\"%s\" of %s: %s", ap_escape_logitem(r->pool,
                      account), ent, st.err ? st.err : "database error");
    }
}

/* The source a per-source counter is kept under: the network of the
 * client's address ("?" when it cannot be parsed: counted together). */
static const char *throttle_source(request_rec *r)
{
    const char *net = qw_addr_network(r->pool, r->useragent_ip);
    return net ? net : "?";
}

/* Kinds counted per source (their rule has account_lock_after). */
static int kind_per_source(const char *kind)
{
    return !strcmp(kind, QW_THROTTLE_ADMIN_PASSWORD)
           || !strcmp(kind, QW_THROTTLE_ADMIN_TOTP);
}

static PGresult *hit_exec(request_rec *r, const char *ent,
                          const char *account, const char *kind,
                          const qw_throttle_rule *rule, const char *source)
{
    const char *v[12];
    int n = 0;

    v[n++] = ent;
    v[n++] = account;
    v[n++] = kind;
    if (source) {
        v[n++] = source;
    }
    v[n++] = apr_itoa(r->pool, rule->threshold);
    v[n++] = apr_itoa(r->pool, rule->base);
    v[n++] = apr_itoa(r->pool, rule->cap);
    v[n++] = apr_itoa(r->pool, rule->lock_after);
    v[n++] = apr_itoa(r->pool, rule->lock_secs);
    v[n++] = apr_itoa(r->pool, rule->quiet);
    if (source) {
        v[n++] = apr_itoa(r->pool, rule->account_lock_after);
        v[n++] = apr_itoa(r->pool, rule->account_lock_secs);
    }
    return qw_db_exec(r, source ? STMT_HIT_SOURCE : STMT_HIT, n, v, NULL,
                      NULL);
}

int qw_throttle_account_hit_info(request_rec *r, const char *ent,
                                 const char *account, const char *kind,
                                 const qw_throttle_rule *rule,
                                 qw_throttle_info *info)
{
    const char *source = NULL, *scope;
    PGresult *res;
    long wait;
    int n, na = 0, locked = 0;

    if (rule->account_lock_after > 0) {
        source = throttle_source(r);
    }
    res = hit_exec(r, ent, account, kind, rule, source);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    wait = atol(PQgetvalue(res, 0, HIT_COL_WAIT_SECONDS));
    n = atoi(PQgetvalue(res, 0, HIT_COL_FAILURES));
    if (source) {
        na = atoi(PQgetvalue(res, 0, HIT_SRC_COL_ACCOUNT_FAILURES));
        scope = PQgetvalue(res, 0, HIT_SRC_COL_LOCK_SCOPE);
        locked = !strcmp(scope, "account") ? QW_LOCK_ACCOUNT
                 : !strcmp(scope, "source") ? QW_LOCK_SOURCE : 0;
    }
    else if (rule->lock_after && n == rule->lock_after) {
        locked = QW_LOCK_ACCOUNT;
    }
    PQclear(res);
    if (info) {
        info->failures = n;
        info->account_failures = source ? na : n;
        info->locked = wait > 0 ? 0 : locked;
        info->source = source;
    }
    if (wait > 0) {
        return qw_throttle_refuse(r, wait, apr_psprintf(r->pool,
                                  "account \"%s\" (%s) waits after %d "
                                  "failures", ap_escape_logitem(r->pool,
                                  account), kind, n));
    }
    if (locked == QW_LOCK_ACCOUNT && source) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1214: account \"%s\" of %s locked for every "
                      "address for %d s after %d failures (%s)",
                      ap_escape_logitem(r->pool, account), ent,
                      rule->account_lock_secs, na, kind);
        audit_throttle(r, ent, account, kind, "account_locked", na);
    }
    else if (locked == QW_LOCK_SOURCE) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1213: account \"%s\" of %s locked for %s for %d "
                      "s after %d failures from there (%s)",
                      ap_escape_logitem(r->pool, account), ent, source,
                      rule->lock_secs, n, kind);
        audit_throttle(r, ent, account, kind, "account_locked_source", n);
    }
    else if (locked) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1204: account \"%s\" of %s locked for %d s after "
                      "%d failures (%s)", ap_escape_logitem(r->pool,
                      account), ent, rule->lock_secs, n, kind);
        audit_throttle(r, ent, account, kind, "account_locked", n);
    }
    else if (n >= rule->threshold) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1205: account \"%s\" of %s: attempt %d (%s); the "
                      "next one must wait", ap_escape_logitem(r->pool,
                      account), ent, n, kind);
        if (n == rule->threshold) {
            audit_throttle(r, ent, account, kind, "login_throttled",
                           n);
        }
    }
    return OK;
}

int qw_throttle_account_hit(request_rec *r, const char *ent,
                            const char *account, const char *kind,
                            const qw_throttle_rule *rule, int *failures)
{
    qw_throttle_info info;
    int rc = qw_throttle_account_hit_info(r, ent, account, kind, rule,
                                          &info);

    if (failures) {
        *failures = info.failures;
    }
    return rc;
}

void qw_throttle_account_clear(request_rec *r, const char *ent,
                               const char *account, const char *kind)
{
    const char *v[4] = { ent, account, kind, NULL };
    PGresult *res;

    if (kind_per_source(kind)) {
        v[3] = throttle_source(r);
        res = qw_db_exec(r, STMT_CLEAR_SOURCE, 4, v, NULL, NULL);
    }
    else {
        res = qw_db_exec(r, STMT_CLEAR, 3, v, NULL, NULL);
    }
    if (res) {
        PQclear(res);
    }
}

/* ---- the shared cache ---- */

static int throttle_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp)
{
    apr_status_t rv = ap_mutex_register(pconf, QW_THROTTLE_MUTEX, NULL,
                                        APR_LOCK_DEFAULT, 0);
    if (rv != APR_SUCCESS) {
        ap_log_perror(APLOG_MARK, APLOG_CRIT, rv, plog,
                      "QW1206: cannot register the throttle mutex");
        return 500;
    }
    cache_ok = 0;
    cache = NULL;
    cache_mutex = NULL;
    return OK;
}

static apr_status_t cache_destroy(void *data)
{
    if (cache && cache_provider) {
        cache_provider->destroy(cache, (server_rec *)data);
    }
    cache = NULL;
    cache_ok = 0;
    return APR_SUCCESS;
}

static int throttle_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    static struct ap_socache_hints hints = { 48, sizeof(addr_entry),
                                             1800 * APR_USEC_PER_SEC };
    const char *err;
    apr_status_t rv;
    server_rec *sp;
    int used = 0;

    for (sp = s; sp; sp = sp->next) {
        if (qw_srv(sp)->db_conninfo) {
            used = 1;
        }
    }
    if (!used || ap_state_query(AP_SQ_MAIN_STATE)
                     == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    cache_provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                                        AP_SOCACHE_PROVIDER_VERSION);
    if (!cache_provider) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW1207: per-address login throttling needs "
                     "mod_socache_shmcb: LoadModule socache_shmcb_module "
                     "(a2enmod socache_shmcb)");
        return !OK;
    }
    err = cache_provider->create(&cache, NULL, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW1208: cannot create the throttle cache: %s", err);
        return !OK;
    }
    rv = ap_global_mutex_create(&cache_mutex, NULL, QW_THROTTLE_MUTEX, NULL,
                                s, pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "QW1209: cannot create the throttle mutex");
        return !OK;
    }
    rv = cache_provider->init(cache, "qiwei-throttle", &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "QW1210: cannot initialise the throttle cache");
        return !OK;
    }
    apr_pool_cleanup_register(pconf, s, cache_destroy,
                              apr_pool_cleanup_null);
    cache_ok = 1;
    return OK;
}

static void throttle_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (!cache_ok) {
        return;
    }
    rv = apr_global_mutex_child_init(&cache_mutex,
                                     apr_global_mutex_lockfile(cache_mutex),
                                     p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s,
                     "QW1211: cannot attach the throttle mutex: per-address "
                     "throttling is off in this child");
        cache_ok = 0;
    }
}

void qw_throttle_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(throttle_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(throttle_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(throttle_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    qw_db_register_statement(STMT_HIT, sql_hit, QW_DB_WRITES);
    qw_db_register_statement(STMT_HIT_SOURCE, sql_hit_source, QW_DB_WRITES);
    qw_db_register_statement(STMT_CLEAR, sql_clear, QW_DB_IDEMPOTENT);
    /* not idempotent: it takes back one reserved attempt */
    qw_db_register_statement(STMT_CLEAR_SOURCE, sql_clear_source,
                             QW_DB_WRITES);
}

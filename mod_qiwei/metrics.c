/* See metrics.h. */
#include "apr_atomic.h"
#include "apr_shm.h"
#include "apr_strings.h"
#include "httpd.h"
#include "http_log.h"

#include "qiwei.h"
#include "metrics.h"
#include "qw_version.h"

/* Upper bounds of the histogram buckets, microseconds (+Inf after). */
static const apr_uint64_t bounds_us[] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000
};
#define NBUCKETS (sizeof(bounds_us) / sizeof(bounds_us[0]))

#define LAYOUT_MAGIC APR_UINT64_C(0x5157454d45545202)   /* "QWEMETR" v2 */

/* The log tags a refusal is counted under (QW_REASON sites, and the
 * handler's refusals that call qw_metrics_refusal themselves); the label
 * set stays bounded whatever happens. */
static const char *const refusal_tags[] = {
    "QW0201", "QW0202", "QW0203", "QW0204", "QW0206",
    "QW0701", "QW0702", "QW0703",
    "QW0902", "QW0903", "QW0904", "QW0906", "QW0907", "QW0913", "QW0915",
    "QW0916",
    "QW1001", "QW1006", "QW1007", "QW1009",
    /* the mailbox's JSON API (handle/api_mailbox.c, handle/api.c) */
    "QW0721", "QW0722", "QW0723", "QW0724", "QW0725", "QW0729", "QW0730",
    "QW0731", "QW0732", "QW0734", "QW0735", "QW0736",
    /* the mailbox's pages (handle/mailbox_pages.c) */
    "QW0737"
};
#define NREFUSALS (sizeof(refusal_tags) / sizeof(refusal_tags[0]))

typedef struct {
    apr_uint64_t magic;
    apr_uint64_t size;
    volatile apr_uint64_t counters[QW_C_N];
    volatile apr_uint64_t gate[QW_GATE_OUTCOMES][QW_PROVIDERS];
    volatile apr_uint64_t gauges[QW_G_N];     /* two's complement */
    volatile apr_uint64_t refusals[NREFUSALS + 1];   /* last: other */
    volatile apr_uint64_t buckets[QW_H_N][NBUCKETS + 1];  /* not cumulative */
    volatile apr_uint64_t sum_us[QW_H_N];
    volatile apr_uint64_t count[QW_H_N];
} shared;

static shared *M;

#define SHM_KEY "qiwei-metrics-shm"

void qw_metrics_init(server_rec *s)
{
    apr_pool_t *keep = s->process->pool;   /* outlives graceful restarts */
    apr_shm_t *shm = NULL;
    apr_status_t rv;
    shared *m;

    apr_pool_userdata_get((void **)&shm, SHM_KEY, keep);
    if (shm) {
        m = apr_shm_baseaddr_get(shm);
        if (apr_shm_size_get(shm) >= sizeof(shared) && m->magic == LAYOUT_MAGIC
            && m->size == sizeof(shared)) {
            M = m;
            return;
        }
        /* another layout (a new build after a graceful restart): start
         * afresh, the old segment stays with the process pool */
    }
    rv = apr_shm_create(&shm, sizeof(shared), NULL, keep);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s,
                     "QW0010: cannot create the shared memory for the "
                     "metrics: the qiwei-metrics handler reports nothing");
        M = NULL;
        return;
    }
    m = apr_shm_baseaddr_get(shm);
    memset((void *)m, 0, sizeof(*m));
    m->magic = LAYOUT_MAGIC;
    m->size = sizeof(shared);
    apr_pool_userdata_set(shm, SHM_KEY, apr_pool_cleanup_null, keep);
    M = m;
}

void qw_metrics_inc(qw_counter c)
{
    if (M && (unsigned)c < QW_C_N) {
        apr_atomic_inc64(&M->counters[c]);
    }
}

void qw_metrics_add(qw_counter c, apr_uint32_t n)
{
    if (M && (unsigned)c < QW_C_N) {
        apr_atomic_add64(&M->counters[c], n);
    }
}

void qw_metrics_gauge_add(qw_gauge g, int delta)
{
    if (M && (unsigned)g < QW_G_N) {
        apr_atomic_add64(&M->gauges[g], (apr_uint64_t)(apr_int64_t)delta);
    }
}

void qw_metrics_observe(qw_histogram h, apr_interval_time_t t)
{
    apr_uint64_t us = t > 0 ? (apr_uint64_t)t : 0;
    unsigned i;

    if (!M || (unsigned)h >= QW_H_N) {
        return;
    }
    for (i = 0; i < NBUCKETS && us > bounds_us[i]; i++) {
        ;
    }
    apr_atomic_inc64(&M->buckets[h][i]);
    apr_atomic_add64(&M->sum_us[h], us);
    apr_atomic_inc64(&M->count[h]);
}

void qw_metrics_gate(qw_gate_outcome o, qw_gate_provider p)
{
    if (M && (unsigned)o < QW_GATE_OUTCOMES && (unsigned)p < QW_PROVIDERS) {
        apr_atomic_inc64(&M->gate[o][p]);
    }
}

void qw_metrics_refusal(const char *tag)
{
    unsigned i;

    if (!M) {
        return;
    }
    for (i = 0; i < NREFUSALS && (!tag || strcmp(tag, refusal_tags[i]));
         i++) {
        ;
    }
    apr_atomic_inc64(&M->refusals[i]);
}

const char *qw_gate_outcome_name(qw_gate_outcome o)
{
    static const char *const n[] = { "allowed", "unauthenticated",
                                      "forbidden", "unavailable", "error" };
    return (unsigned)o < QW_GATE_OUTCOMES ? n[o] : "error";
}

const char *qw_gate_provider_name(qw_gate_provider p)
{
    static const char *const n[] = { "none", "member", "department", "role",
                                     "article", "admin" };
    return (unsigned)p < QW_PROVIDERS ? n[p] : "none";
}

/* ---- the text format ---- */

typedef struct {
    const char *family;
    const char *help;
} family_help;

static const family_help helps[] = {
    { "qiwei_logins_total", "Logins by kind and result." },
    { "qiwei_login_throttled_total",
      "Login and verification attempts refused by throttling (429)." },
    { "qiwei_two_step_failures_total", "Wrong two-step codes, by kind." },
    { "qiwei_scan_logins_total", "Scan-to-login requests decided on the "
      "phone, by result." },
    { "qiwei_cache_lookups_total", "Session and article-decision cache "
      "lookups (cached mode), by table and result." },
    { "qiwei_cache_invalidations_total", "Invalidation messages applied by "
      "the cache listeners (every child counts its own)." },
    { "qiwei_cache_listener_connects_total", "Cache listener connections "
      "made (one per child at start, then one per reconnect)." },
    { "qiwei_cache_listener_losses_total", "Cache listener connections "
      "lost (the cache is bypassed until the next connect)." },
    { "qiwei_cache_barriers_answered_total", "Revocation barriers this "
      "server's listeners applied and answered." },
    { "qiwei_revocation_barriers_total", "Revocation barriers run by "
      "changes made through this server, by result." },
    { "qiwei_db_connects_total", "Request-pool database connections "
      "opened, by result." },
    { "qiwei_db_pool_exhausted_total", "Requests that found no database "
      "connection (pool full or database down: QW0106)." },
    { "qiwei_db_errors_total", "Database statements that failed, by "
      "class." },
    { "qiwei_db_lookups_total", "Session lookups by a statement of their "
      "own (alone) or shared with other requests (combined)." },
    { "qiwei_db_lookup_batches_total", "Statements that answered several "
      "session lookups at once." },
    { "qiwei_watermark_total", "Responses of QiweiWatermark locations, "
      "watermarked or not." },
    { "qiwei_share_links_total", "Article requests carrying a share link, "
      "by result." },
    { NULL, NULL }
};

static const char *help_of(const char *family)
{
    int i;
    for (i = 0; helps[i].family; i++) {
        if (!strcmp(helps[i].family, family)) {
            return helps[i].help;
        }
    }
    return "";
}

#define QW_COUNTER_FAMILY(name, family, labels) family,
#define QW_COUNTER_LABELS(name, family, labels) labels,
static const char *const c_family[] = { QW_COUNTERS(QW_COUNTER_FAMILY) };
static const char *const c_labels[] = { QW_COUNTERS(QW_COUNTER_LABELS) };

static void add(apr_array_header_t *out, const char *s)
{
    APR_ARRAY_PUSH(out, const char *) = s;
}

static void histogram(apr_pool_t *p, apr_array_header_t *out,
                      qw_histogram h, const char *name, const char *help)
{
    apr_uint64_t cum = 0;
    unsigned i;

    add(out, apr_psprintf(p, "# HELP %s %s\n# TYPE %s histogram\n", name,
                          help, name));
    for (i = 0; i <= NBUCKETS; i++) {
        cum += apr_atomic_read64(&M->buckets[h][i]);
        if (i < NBUCKETS) {
            add(out, apr_psprintf(p, "%s_bucket{le=\"%g\"} %" APR_UINT64_T_FMT
                                  "\n", name, bounds_us[i] / 1e6, cum));
        }
        else {
            add(out, apr_psprintf(p, "%s_bucket{le=\"+Inf\"} %"
                                  APR_UINT64_T_FMT "\n", name, cum));
        }
    }
    add(out, apr_psprintf(p, "%s_sum %.6f\n%s_count %" APR_UINT64_T_FMT "\n",
                          name, apr_atomic_read64(&M->sum_us[h]) / 1e6, name,
                          apr_atomic_read64(&M->count[h])));
}

char *qw_metrics_text(apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, 128, sizeof(const char *));
    const char *last = "";
    int i, j;

    add(out, "# HELP qiwei_build_info mod_qiwei's version and the schema "
             "version it needs.\n# TYPE qiwei_build_info gauge\n"
             "qiwei_build_info{version=\"" QW_VERSION_STRING "\","
             "schema_version=\"" APR_STRINGIFY(QW_SCHEMA_VERSION) "\"} 1\n");
    add(out, apr_psprintf(p, "# HELP qiwei_metrics_available Whether the "
                          "shared counters exist (0: QW0010 at start-up).\n"
                          "# TYPE qiwei_metrics_available gauge\n"
                          "qiwei_metrics_available %d\n", M ? 1 : 0));
    if (!M) {
        return apr_array_pstrcat(p, out, 0);
    }
    add(out, "# HELP qiwei_gate_decisions_total Requests of AuthType Qiwei "
             "locations, by the gate's outcome and the Require provider "
             "that decided last.\n# TYPE qiwei_gate_decisions_total "
             "counter\n");
    for (i = 0; i < QW_GATE_OUTCOMES; i++) {
        for (j = 0; j < QW_PROVIDERS; j++) {
            add(out, apr_psprintf(p, "qiwei_gate_decisions_total{outcome="
                                  "\"%s\",provider=\"%s\"} %"
                                  APR_UINT64_T_FMT "\n",
                                  qw_gate_outcome_name(i),
                                  qw_gate_provider_name(j),
                                  apr_atomic_read64(&M->gate[i][j])));
        }
    }
    add(out, "# HELP qiwei_refusals_total Requests the gate refused, by the "
             "log tag of the reason (docs/http.md).\n"
             "# TYPE qiwei_refusals_total counter\n");
    for (i = 0; i <= (int)NREFUSALS; i++) {
        add(out, apr_psprintf(p, "qiwei_refusals_total{tag=\"%s\"} %"
                              APR_UINT64_T_FMT "\n",
                              i < (int)NREFUSALS ? refusal_tags[i] : "other",
                              apr_atomic_read64(&M->refusals[i])));
    }
    for (i = 0; i < QW_C_N; i++) {
        if (strcmp(last, c_family[i])) {
            last = c_family[i];
            add(out, apr_psprintf(p, "# HELP %s %s\n# TYPE %s counter\n",
                                  last, help_of(last), last));
        }
        add(out, apr_psprintf(p, "%s%s%s%s %" APR_UINT64_T_FMT "\n",
                              c_family[i], *c_labels[i] ? "{" : "",
                              c_labels[i], *c_labels[i] ? "}" : "",
                              apr_atomic_read64(&M->counters[i])));
    }
    add(out, apr_psprintf(p, "# HELP qiwei_db_connections Request-pool "
                          "database connections of all children, open and "
                          "lent to a request now.\n"
                          "# TYPE qiwei_db_connections gauge\n"
                          "qiwei_db_connections{state=\"open\"} %"
                          APR_INT64_T_FMT "\n"
                          "qiwei_db_connections{state=\"in_use\"} %"
                          APR_INT64_T_FMT "\n",
                          (apr_int64_t)apr_atomic_read64(
                              &M->gauges[QW_G_DB_OPEN]),
                          (apr_int64_t)apr_atomic_read64(
                              &M->gauges[QW_G_DB_IN_USE])));
    histogram(p, out, QW_H_DB_STATEMENT, "qiwei_db_statement_seconds",
              "Time of one database statement, sent to answered.");
    histogram(p, out, QW_H_BARRIER, "qiwei_revocation_barrier_seconds",
              "Time a change waited for the cache listeners after its "
              "commit.");
    histogram(p, out, QW_H_POOL_WAIT, "qiwei_db_pool_wait_seconds",
              "Time a request waited for a connection from its child's "
              "pool (a new connection's connect included).");
    histogram(p, out, QW_H_NOTIFY_DELAY, "qiwei_cache_notify_delay_seconds",
              "Time from a revocation barrier's commit (the database's "
              "clock) to its arrival at a cache listener (this host's "
              "clock): every invalidation before it had arrived by then.");
    return apr_array_pstrcat(p, out, 0);
}

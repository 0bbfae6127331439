/* Operator metrics (layer 2): counters and histograms shared by every child
 * of the server, in one anonymous shared-memory segment made by the parent
 * at start-up and kept across graceful restarts (the counters only go up;
 * Prometheus sees a reset only when httpd is stopped and started).  The
 * request path pays one relaxed atomic add per event, no lock.
 *
 * Rendered in the Prometheus text format by the qiwei-metrics handler
 * (handle/metrics.c) and as a section of mod_status's page.  Names, labels
 * and what each counts: docs/monitoring.md. */
#ifndef QW_METRICS_H
#define QW_METRICS_H

#include "httpd.h"

/* The gate's decision on a request of an AuthType Qiwei location. */
typedef enum {
    QW_GATE_ALLOWED,          /* authenticated and authorised */
    QW_GATE_UNAUTHENTICATED,  /* no valid session: 401 or the login page */
    QW_GATE_FORBIDDEN,        /* a Require said no: 403 */
    QW_GATE_UNAVAILABLE,      /* the database could not be asked: 503 */
    QW_GATE_ERROR,            /* anything else (a 4xx/5xx of another
                               * module before the handler) */
    QW_GATE_OUTCOMES
} qw_gate_outcome;

/* The last of our Require providers that decided (none: AuthType Qiwei
 * with another module's Require, e.g. valid-user). */
typedef enum {
    QW_PROV_NONE,
    QW_PROV_MEMBER,
    QW_PROV_DEPARTMENT,
    QW_PROV_ROLE,
    QW_PROV_ARTICLE,
    QW_PROV_ADMIN,
    QW_PROVIDERS
} qw_gate_provider;

/* Plain counters: NAME, family, labels (a fixed, bounded set). */
#define QW_COUNTERS(X) \
    X(LOGIN_MEMBER_OK, "qiwei_logins_total", "kind=\"member\",result=\"success\"") \
    X(LOGIN_MEMBER_FAIL, "qiwei_logins_total", "kind=\"member\",result=\"failure\"") \
    X(LOGIN_ADMIN_OK, "qiwei_logins_total", "kind=\"admin\",result=\"success\"") \
    X(LOGIN_ADMIN_FAIL, "qiwei_logins_total", "kind=\"admin\",result=\"failure\"") \
    X(LOGIN_THROTTLED, "qiwei_login_throttled_total", "") \
    X(TWO_STEP_MEMBER_FAIL, "qiwei_two_step_failures_total", "kind=\"member\"") \
    X(TWO_STEP_ADMIN_FAIL, "qiwei_two_step_failures_total", "kind=\"admin\"") \
    X(SCAN_APPROVED, "qiwei_scan_logins_total", "result=\"approved\"") \
    X(SCAN_REFUSED, "qiwei_scan_logins_total", "result=\"refused\"") \
    X(CACHE_SESSION_HIT, "qiwei_cache_lookups_total", "table=\"session\",result=\"hit\"") \
    X(CACHE_SESSION_MISS, "qiwei_cache_lookups_total", "table=\"session\",result=\"miss\"") \
    X(CACHE_ARTICLE_HIT, "qiwei_cache_lookups_total", "table=\"article\",result=\"hit\"") \
    X(CACHE_ARTICLE_MISS, "qiwei_cache_lookups_total", "table=\"article\",result=\"miss\"") \
    X(CACHE_INVALIDATIONS, "qiwei_cache_invalidations_total", "") \
    X(CACHE_LISTENER_CONNECTS, "qiwei_cache_listener_connects_total", "") \
    X(CACHE_LISTENER_LOSSES, "qiwei_cache_listener_losses_total", "") \
    X(CACHE_BARRIERS_ANSWERED, "qiwei_cache_barriers_answered_total", "") \
    X(BARRIER_CONFIRMED, "qiwei_revocation_barriers_total", "result=\"confirmed\"") \
    X(BARRIER_EXPIRED, "qiwei_revocation_barriers_total", "result=\"confirmed_after_bound\"") \
    X(BARRIER_UNCONFIRMED, "qiwei_revocation_barriers_total", "result=\"unconfirmed\"") \
    X(BARRIER_FAILED, "qiwei_revocation_barriers_total", "result=\"failed\"") \
    X(DB_CONNECTS, "qiwei_db_connects_total", "result=\"success\"") \
    X(DB_CONNECT_FAILURES, "qiwei_db_connects_total", "result=\"failure\"") \
    X(DB_POOL_EXHAUSTED, "qiwei_db_pool_exhausted_total", "") \
    X(DB_ERR_STATEMENT, "qiwei_db_errors_total", "class=\"statement\"") \
    X(DB_ERR_LOST, "qiwei_db_errors_total", "class=\"connection_lost\"") \
    X(DB_LOOKUP_ALONE, "qiwei_db_lookups_total", "statement=\"alone\"") \
    X(DB_LOOKUP_COMBINED, "qiwei_db_lookups_total", "statement=\"combined\"") \
    X(DB_LOOKUP_BATCHES, "qiwei_db_lookup_batches_total", "") \
    X(WM_APPLIED, "qiwei_watermark_total", "result=\"applied\"") \
    X(WM_SKIP_NOT_HTML, "qiwei_watermark_total", "result=\"skipped\",reason=\"not_html\"") \
    X(WM_SKIP_COMPRESSED, "qiwei_watermark_total", "result=\"skipped\",reason=\"compressed\"") \
    X(WM_SKIP_NO_VIEWER, "qiwei_watermark_total", "result=\"skipped\",reason=\"no_viewer\"") \
    X(WM_SKIP_NO_PLACE, "qiwei_watermark_total", "result=\"skipped\",reason=\"no_place\"") \
    X(WM_SKIP_ERROR, "qiwei_watermark_total", "result=\"skipped\",reason=\"error\"") \
    X(SHARE_SERVED, "qiwei_share_links_total", "result=\"served\"") \
    X(SHARE_REFUSED, "qiwei_share_links_total", "result=\"refused\"")

#define QW_COUNTER_ENUM(name, family, labels) QW_C_##name,
typedef enum { QW_COUNTERS(QW_COUNTER_ENUM) QW_C_N } qw_counter;

/* Gauges (up and down): connections open / lent out, summed over the
 * children. */
typedef enum {
    QW_G_DB_OPEN,
    QW_G_DB_IN_USE,
    QW_G_N
} qw_gauge;

/* Histograms of seconds. */
typedef enum {
    QW_H_DB_STATEMENT,        /* one statement, send to last result */
    QW_H_BARRIER,             /* a revocation barrier, commit to answer */
    QW_H_POOL_WAIT,           /* taking a connection from the pool */
    QW_H_NOTIFY_DELAY,        /* a barrier's notification, sent (the
                               * database's clock) to received (ours) */
    QW_H_N
} qw_histogram;

/* post_config: make (or find again, after a graceful restart) the shared
 * segment.  Without it every call below does nothing and the endpoint says
 * so. */
void qw_metrics_init(server_rec *s);

void qw_metrics_inc(qw_counter c);
void qw_metrics_add(qw_counter c, apr_uint32_t n);
void qw_metrics_gauge_add(qw_gauge g, int delta);
void qw_metrics_observe(qw_histogram h, apr_interval_time_t t);
void qw_metrics_gate(qw_gate_outcome o, qw_gate_provider p);
/* A refused request, by the log tag of its reason (QW_REASON): one of a
 * fixed set (docs/monitoring.md), anything else counts as "other". */
void qw_metrics_refusal(const char *tag);

/* Names for notes and logs. */
const char *qw_gate_outcome_name(qw_gate_outcome o);
const char *qw_gate_provider_name(qw_gate_provider p);

/* Everything in the Prometheus text exposition format (version 0.0.4). */
char *qw_metrics_text(apr_pool_t *p);

#endif

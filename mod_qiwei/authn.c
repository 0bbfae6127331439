/* AuthType Qiwei: who is the viewer?  One database round trip from the
 * session cookie to member, status, departments and roles. */
#include "apr_strings.h"
#include "apr_lib.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"

#include "req.h"
#include "gate.h"
#include "db.h"
#include "cache.h"
#include "cfg/config.h"
#include "util/cookie.h"
#include "util/token.h"
#include "util/text.h"
#include "metrics.h"

static apr_array_header_t *split_csv(apr_pool_t *p, const char *s)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    char *copy, *tok, *last;
    if (!s || !*s) {
        return a;
    }
    copy = apr_pstrdup(p, s);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        APR_ARRAY_PUSH(a, const char *) = tok;
    }
    return a;
}

/* A viewer already established for the main request or the request we were
 * redirected from, for the same enterprise, saves a round trip. */
static qw_viewer *inherited_viewer(request_rec *r, const char *ent)
{
    request_rec *o;
    for (o = r->main ? r->main : r->prev; o; o = o->main ? o->main : o->prev) {
        qw_req *q = qw_req_get(o, 0);
        if (q && q->resolved && q->viewer
            && !strcmp(q->viewer->enterprise_code, ent)) {
            return q->viewer;
        }
    }
    return NULL;
}

/* Write the session's last_seen_at (the session statement said it is due:
 * at most once per min(60 s, idle/10) per session, so a separate cheap
 * statement rather than a data-modifying CTE on every request).  A failure
 * only means the idle timeout counts from the previous write: logged by
 * qw_db_exec, the request goes on.  1 if written (or already written by a
 * concurrent request of the same session). */
static int touch_session(request_rec *r, const qw_viewer *v)
{
    const char *values[2];
    PGresult *res;

    values[0] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                             (apr_int64_t)v->enterprise_id);
    values[1] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                             (apr_int64_t)v->session_id);
    res = qw_db_exec(r, QW_STMT_SESSION_TOUCH, 2, values, NULL, NULL);
    if (!res) {
        return 0;
    }
    PQclear(res);
    return 1;
}

/* The browser presented a well-formed session cookie that names no live
 * session: it was ended (by an admin, a password change, "sign out all
 * others", a mailbox wipe), timed out, or its member is no longer active.
 * Whatever this browser kept of our pages and their storage belongs to a
 * session that is over: the response, whatever it is (the login redirect,
 * the 401, the login page), asks it to drop them (a lost phone keeps
 * nothing readable).  A request without a cookie never gets this. */
static void session_over(request_rec *r, qw_req *q)
{
    q->session_over = 1;
    apr_table_setn(r->err_headers_out, "Clear-Site-Data",
                   "\"cache\", \"storage\"");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0750: session cookie of a session that is over, from "
                  "%s: Clear-Site-Data sent", r->useragent_ip);
}

int qw_viewer_resolve(request_rec *r, qw_viewer **out)
{
    return qw_viewer_resolve_with(r, out, NULL);
}

int qw_viewer_resolve_with(request_rec *r, qw_viewer **out,
                           qw_resolve_with *with)
{
    qw_req *q = qw_req_get(r, 1);
    qw_dir_cfg *d = qw_dir(r);
    const char *cookie, *name;
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    const char **values;
    int *lengths, *formats;
    int nvalues = 2 + (with ? with->nvalues : 0);
    PGresult *res;
    qw_db_shared *hold = NULL;
    qw_viewer *v;
    apr_uint64_t gen;
    apr_interval_time_t ttl;
    int touch, ncookies, row;

    *out = NULL;
    if (with) {
        with->res = NULL;
        with->gen = 0;
    }
    if (q->resolved) {
        *out = q->viewer;
        return q->db_failed ? HTTP_SERVICE_UNAVAILABLE : OK;
    }
    if (!d->enterprise) {
        QW_REASON(r, "QW0201");
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0201: no QiweiEnterprise for %s: refusing", r->uri);
        q->resolved = 1;
        return OK;
    }
    if ((v = inherited_viewer(r, d->enterprise)) != NULL) {
        q->viewer = v;
        q->resolved = 1;
        *out = v;
        return OK;
    }

    name = qw_session_cookie_name(r);
    cookie = qw_cookie_get_counted(r->pool,
                                   apr_table_get(r->headers_in, "Cookie"),
                                   name, &ncookies);
    if (cookie && ncookies > 1) {
        /* a second cookie of that name was planted (cookie tossing from a
         * sibling domain): we cannot tell which one is the browser's own */
        QW_REASON(r, "QW0206");
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0206: %d cookies named %s from %s: ignoring all; "
                      "serve over HTTPS so the __Host- prefix prevents this",
                      ncookies, name, r->useragent_ip);
        q->resolved = 1;
        return OK;
    }
    if (!cookie) {
        QW_REASON(r, "QW0202");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0202: no session cookie %s", name);
        q->resolved = 1;
        return OK;
    }
    if (qw_token_decode(cookie, strlen(cookie), raw, sizeof(raw)) != 0) {
        QW_REASON(r, "QW0203");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0203: malformed session cookie (%" APR_SIZE_T_FMT
                      " bytes) from %s: ignored", strlen(cookie),
                      r->useragent_ip);
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      qw_session_cookie(r, NULL));
        q->resolved = 1;
        return OK;
    }
    qw_token_hash(raw, sizeof(raw), hash);

    v = qw_cache_get(r, d->enterprise, hash, &gen);
    if (v) {
        v->token = cookie;
        q->viewer = v;
        q->resolved = 1;
        *out = v;
        return OK;
    }

    if (with) {
        values = apr_pcalloc(r->pool, nvalues * sizeof(*values));
        lengths = apr_pcalloc(r->pool, nvalues * sizeof(*lengths));
        formats = apr_pcalloc(r->pool, nvalues * sizeof(*formats));
        values[0] = d->enterprise;
        values[1] = (const char *)hash;
        lengths[1] = QW_TOKEN_HASH_LEN;
        formats[1] = 1;
        memcpy(values + 2, with->values, with->nvalues * sizeof(*values));
        res = qw_db_exec(r, with->stmt, nvalues, values, lengths, formats);
        row = res && PQntuples(res) == 1 ? 0 : -1;
    }
    else {
        /* maybe in one statement with other requests' sessions (db.h) */
        res = qw_db_lookup(r, QW_STMT_SESSION, QW_STMT_SESSION_MANY,
                           d->enterprise, hash, QW_TOKEN_HASH_LEN, &row,
                           &hold);
    }
    if (!res) {
        q->resolved = 1;
        return qw_unavailable(r);
    }
    q->resolved = 1;
#define COL(name) PQgetvalue(res, row, QW_SESSION_COL_##name)
    /* the two timeouts (db.h): expires_at > now() and last_seen_at +
     * idle_seconds > now(), on the database's clock: both columns are
     * differences from its now(), exact to the microsecond */
    if (row < 0 || PQnfields(res) < QW_SESSION_COLUMNS
        || !(strtod(COL(EXPIRES_IN), NULL) > 0)
        || !(strtod(COL(SEEN_AGO), NULL) < atoi(COL(IDLE_SECONDS)))) {
        QW_REASON(r, "QW0204");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0204: session %s... unknown, expired or not an "
                      "active member of %s", qw_hex(r->pool, hash, 4),
                      d->enterprise);
        if (hold) {
            qw_db_release(hold);
        }
        else {
            PQclear(res);
        }
        session_over(r, q);
        return OK;
    }
    v = apr_pcalloc(r->pool, sizeof(*v));
    v->enterprise_id = apr_atoi64(COL(ENTERPRISE_ID));
    v->enterprise_code = d->enterprise;
    v->session_id = apr_atoi64(COL(SESSION_ID));
    v->member_id = apr_atoi64(COL(MEMBER_ID));
    v->kind = apr_pstrdup(r->pool, COL(KIND));
    v->auth_level = atoi(COL(AUTH_LEVEL));
    v->account = apr_pstrdup(r->pool, COL(ACCOUNT));
    v->display_name = apr_pstrdup(r->pool, COL(DISPLAY_NAME));
    v->departments = split_csv(r->pool, COL(DEPARTMENTS));
    v->direct_departments = split_csv(r->pool, COL(DIRECT_DEPARTMENTS));
    v->roles = split_csv(r->pool, COL(ROLES));
    v->token = cookie;
    {
        /* the last-seen write is due once per min(60 s, idle/10) (db.h) */
        int every = atoi(COL(IDLE_SECONDS)) / 10;
        double ago = strtod(COL(SEEN_AGO), NULL);
        double left = strtod(COL(EXPIRES_IN), NULL), reuse;

        if (every > 60) {
            every = 60;
        }
        touch = ago > every;
        reuse = touch ? every : every - ago;
        if (left < reuse) {
            reuse = left;
        }
        ttl = reuse > 0 ? (apr_interval_time_t)(reuse * APR_USEC_PER_SEC)
                        : 0;
    }
#undef COL
    if (with) {
        with->res = res;          /* the caller's columns; it clears it */
        with->gen = gen;
    }
    else {
        qw_db_release(hold);
    }
    if (touch && !touch_session(r, v)) {
        /* the answer's lifetime assumed the write: do not keep it, so the
         * next request asks (and tries the write) again */
        ttl = 0;
    }
    qw_cache_put(r, d->enterprise, hash, v, gen, ttl);   /* ttl 0: not */
    q->viewer = v;
    *out = v;
    return OK;
}

static int wants_html(request_rec *r)
{
    const char *accept, *xrw, *mode;
    if (r->method_number != M_GET) {
        return 0;
    }
    xrw = apr_table_get(r->headers_in, "X-Requested-With");
    if (xrw && *xrw) {
        return 0;
    }
    mode = apr_table_get(r->headers_in, "Sec-Fetch-Mode");
    if (mode && !strcasecmp(mode, "navigate")) {
        return 1;
    }
    accept = apr_table_get(r->headers_in, "Accept");
    return accept && ap_strcasestr(accept, "text/html") != NULL;
}

const char *qw_login_location(request_rec *r, const char *next)
{
    const char *login = qw_cfg_login_url(qw_dir(r));

    return apr_pstrcat(r->pool, login, strchr(login, '?') ? "&" : "?",
                       "next=", qw_escape_urlc(r->pool, next), NULL);
}

static int unauthenticated(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    const char *login = qw_cfg_login_url(d);
    int action = qw_cfg_unauth(d);

    qw_req_get(r, 1)->ours = 1;
    qw_req_get(r, 1)->unauth = 1;
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (action == QW_UNAUTH_AUTO) {
        action = (wants_html(r) && !r->main) ? QW_UNAUTH_REDIRECT
                                             : QW_UNAUTH_401;
    }
    if (action == QW_UNAUTH_REDIRECT) {
        const char *loc = qw_login_location(r, r->unparsed_uri);
        apr_table_setn(r->err_headers_out, "Location", loc);
        return HTTP_MOVED_TEMPORARILY;
    }
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   apr_psprintf(r->pool, "Qiwei realm=\"%s\", login=\"%s\"",
                                d->enterprise ? d->enterprise : "",
                                qw_escape_urlc(r->pool, login)));
    return HTTP_UNAUTHORIZED;
}

static void set_identity(request_rec *r, const qw_viewer *v)
{
    apr_table_t *e = r->subprocess_env;
    const char *id = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, v->member_id);
    const char *depts = v->departments_csv ? v->departments_csv
                        : apr_array_pstrcat(r->pool, v->departments, ',');
    const char *roles = v->roles_csv ? v->roles_csv
                        : apr_array_pstrcat(r->pool, v->roles, ',');

    r->user = (char *)v->account;
    r->ap_auth_type = (char *)QW_AUTH_TYPE;
    apr_table_setn(e, "QIWEI_MEMBER_ID", id);
    apr_table_setn(e, "QIWEI_ACCOUNT", v->account);
    apr_table_setn(e, "QIWEI_MEMBER_NAME", v->display_name);
    apr_table_setn(e, "QIWEI_ENTERPRISE", v->enterprise_code);
    apr_table_setn(e, "QIWEI_DEPARTMENTS", depts);
    apr_table_setn(e, "QIWEI_ROLES", roles);
    apr_table_setn(e, "QIWEI_SESSION_KIND", v->kind);
    if (qw_cfg_identity_headers(qw_dir(r))) {
        apr_table_t *h = r->headers_in;
        apr_table_setn(h, "X-Qiwei-Member-Id", id);
        apr_table_setn(h, "X-Qiwei-Account", v->account);
        /* header values are ASCII: the UTF-8 name is percent-encoded */
        apr_table_setn(h, "X-Qiwei-Name",
                       qw_escape_urlc(r->pool, v->display_name));
        apr_table_setn(h, "X-Qiwei-Enterprise", v->enterprise_code);
        apr_table_setn(h, "X-Qiwei-Departments", depts);
        apr_table_setn(h, "X-Qiwei-Roles", roles);
    }
}

static int qw_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    qw_viewer *v;
    int rc;

    if (!type || strcasecmp(type, QW_AUTH_TYPE)) {
        return DECLINED;
    }
    qw_req_get(r, 1)->ours = 1;
    qw_req_get(r, 1)->gate = 1;
    rc = qw_viewer_resolve(r, &v);
    if (rc != OK) {
        return rc;
    }
    if (!v) {
        return unauthenticated(r);
    }
    set_identity(r, v);
    return OK;
}

/* Identity headers come only from us: drop whatever the client sent under
 * those names (either spelling, since some back-ends fold '_' to '-'). */
static int qw_strip_identity_headers(request_rec *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_array_header_t *doomed = NULL;
    int i;

    for (i = 0; i < arr->nelts; i++) {
        const char *k = e[i].key;
        if (k && !strncasecmp(k, "x", 1) && (k[1] == '-' || k[1] == '_')
            && !strncasecmp(k + 2, "qiwei", 5)
            && (k[7] == '-' || k[7] == '_')) {
            if (!doomed) {
                doomed = apr_array_make(r->pool, 4, sizeof(const char *));
            }
            APR_ARRAY_PUSH(doomed, const char *) = k;
        }
    }
    if (doomed) {
        for (i = 0; i < doomed->nelts; i++) {
            const char *k = APR_ARRAY_IDX(doomed, i, const char *);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW0205: dropped client header %s", k);
            apr_table_unset(r->headers_in, k);
        }
    }
    return DECLINED;
}

/* Claiming our AuthType here keeps httpd from logging that no module
 * handles it; the WWW-Authenticate header is set by unauthenticated(). */
static int qw_note_auth_failure_hook(request_rec *r, const char *auth_type)
{
    return strcasecmp(auth_type, QW_AUTH_TYPE) ? DECLINED : OK;
}

/* Past every access check: the gate let the request through. */
static int qw_gate_passed(request_rec *r)
{
    qw_req *q = qw_req_get(r, 0);

    if (q && q->gate) {
        q->allowed = 1;
    }
    return DECLINED;
}

/* At the end of every request of a location the gate guards: count the
 * decision (metrics.h) and leave it in the notes QIWEI_DECISION
 * (allowed, unauthenticated, forbidden, unavailable, error) and
 * QIWEI_PROVIDER (member, department, role, article, admin, none) for
 * LogFormat's %{QIWEI_DECISION}n.  Runs before mod_log_config writes the
 * line.  An error document is an internal redirect: the decision is the
 * original request's. */
static int qw_gate_log(request_rec *r)
{
    request_rec *orig = r;
    qw_req *q;
    qw_gate_outcome o;
    int status;
    const char *on, *pn;

    while (orig->prev) {
        orig = orig->prev;
    }
    q = qw_req_get(orig, 0);
    if (!q || !q->gate) {
        return DECLINED;
    }
    status = orig->status;
    if (q->allowed) {
        o = QW_GATE_ALLOWED;
    }
    else if (q->db_failed || status == HTTP_SERVICE_UNAVAILABLE) {
        o = QW_GATE_UNAVAILABLE;
    }
    else if (q->unauth || status == HTTP_UNAUTHORIZED) {
        o = QW_GATE_UNAUTHENTICATED;
    }
    else if (status == HTTP_FORBIDDEN) {
        o = QW_GATE_FORBIDDEN;
    }
    else {
        o = QW_GATE_ERROR;
    }
    qw_metrics_gate(o, (qw_gate_provider)q->provider);
    if (o != QW_GATE_ALLOWED) {
        qw_metrics_refusal(q->reason);
        if (q->reason) {
            apr_table_setn(r->notes, "QIWEI_REASON", q->reason);
        }
    }
    on = qw_gate_outcome_name(o);
    pn = qw_gate_provider_name((qw_gate_provider)q->provider);
    apr_table_setn(r->notes, "QIWEI_DECISION", on);
    apr_table_setn(r->notes, "QIWEI_PROVIDER", pn);
    if (orig != r) {
        apr_table_setn(orig->notes, "QIWEI_DECISION", on);
        apr_table_setn(orig->notes, "QIWEI_PROVIDER", pn);
    }
    return DECLINED;
}

void qw_authn_register_hooks(apr_pool_t *p)
{
    ap_hook_fixups(qw_gate_passed, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_log_transaction(qw_gate_log, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_post_read_request(qw_strip_identity_headers, NULL, NULL,
                              APR_HOOK_REALLY_FIRST);
    ap_hook_check_authn(qw_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(qw_note_auth_failure_hook, NULL, NULL,
                              APR_HOOK_MIDDLE);
}

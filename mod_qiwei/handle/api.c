/* The admin API: <handler>/api/v1/...  JSON in and out (jansson).
 *
 * Every call is decided here on the server: an admin session (cookie) for
 * the admin resources, a member session for the member-facing ones
 * (directory, me/reminders); the CSRF header on every state-changing call;
 * the module right of the resource, with a "refused" audit row when it is
 * missing.  Writes go through the store, which logs each change in the
 * transaction that makes it. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "qiwei.h"
#include "throttle.h"
#include "db.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/api.h"
#include "handle/admin.h"     /* ADMIN_PENDING_SECS */
#include "util/csrf.h"
#include "util/jbody.h"
#include "util/json.h"
#include "util/text.h"

static void api_headers(request_rec *r)
{
    apr_table_t *t = r->err_headers_out;
    apr_table_setn(t, "Cache-Control", "no-store");
    apr_table_setn(t, "X-Content-Type-Options", "nosniff");
    apr_table_setn(t, "Content-Security-Policy",
                   "default-src 'none'; frame-ancestors 'none'");
    apr_table_setn(t, "Referrer-Policy", "no-referrer");
}

/* A change succeeded (a 2xx answer to anything but GET and HEAD): before
 * it is reported, the revocation barrier (db.h).  Confirmed: the status
 * stays, with "Qiwei-Revocation: confirmed".  Committed but not confirmed
 * everywhere: 202, "Qiwei-Revocation: unconfirmed", and the body gains
 * {"revocation": {"confirmed": false, "pending": "..."}}. */
static int after_change(qw_api *a, int status, json_t **body)
{
    request_rec *r = a->r;
    const char *why;

    if (r->method_number == M_GET || status < 200 || status > 299
        || a->barrier_done) {
        return status;
    }
    a->barrier_done = 1;
    if (qw_db_revocation_barrier(r, &why) == OK) {
        apr_table_setn(r->err_headers_out, "Qiwei-Revocation", "confirmed");
        return status;
    }
    apr_table_setn(r->err_headers_out, "Qiwei-Revocation", "unconfirmed");
    if (!*body) {
        *body = json_object();
    }
    if (*body && json_is_object(*body)) {
        json_object_set_new(*body, "revocation",
                            json_pack("{s:b, s:s}", "confirmed", 0,
                                      "pending", why ? why : ""));
    }
    return HTTP_ACCEPTED;
}

int qw_api_json(qw_api *a, int status, json_t *body)
{
    request_rec *r = a->r;
    char *s;

    status = after_change(a, status, &body);
    s = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

    json_decref(body);
    r->status = status;
    api_headers(r);
    ap_set_content_type(r, "application/json; charset=utf-8");
    if (!s) {
        s = strdup("{}");
    }
    ap_set_content_length(r, strlen(s));
    if (!r->header_only) {
        ap_rwrite(s, strlen(s), r);
    }
    free(s);
    return OK;
}

int qw_api_error(qw_api *a, int status, const char *field,
                 const char *message)
{
    json_t *e = json_pack("{s:{s:s?, s:s}}", "error", "field", field,
                          "message", message ? message : "error");
    if (status == HTTP_UNAUTHORIZED) {
        apr_table_setn(a->r->err_headers_out, "WWW-Authenticate",
                       apr_psprintf(a->r->pool, "Qiwei-Admin realm=\"%s\"",
                                    qw_dir(a->r)->enterprise));
    }
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        apr_table_setn(a->r->err_headers_out, "Retry-After", "5");
    }
    return qw_api_json(a, status, e);
}

int qw_api_throttled(request_rec *r)
{
    /* the same words as the 429 page whatever the reason; throttle.c set
     * Retry-After and Cache-Control */
    json_t *e = json_pack("{s:{s:s}}", "error", "message",
                          "too many attempts");
    char *s = e ? json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

    json_decref(e);
    if (!s) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->status = HTTP_TOO_MANY_REQUESTS;
    ap_set_content_type(r, "application/json; charset=utf-8");
    ap_set_content_length(r, strlen(s));
    if (!r->header_only) {
        ap_rwrite(s, strlen(s), r);
    }
    free(s);
    return OK;
}

int qw_api_no_content(qw_api *a)
{
    json_t *body = NULL;

    if (after_change(a, HTTP_NO_CONTENT, &body) != HTTP_NO_CONTENT) {
        return qw_api_json(a, HTTP_ACCEPTED, body);
    }
    a->r->status = HTTP_NO_CONTENT;
    api_headers(a->r);
    return OK;
}

static int valid_json_text(const char *s)
{
    return s && qw_valid_utf8_text(s, strlen(s));
}

/* Field names the store's messages start with: the 400 names the field. */
static const char *field_of(const char *msg)
{
    static const char *const fields[] = {
        "display_name", "display name", "mobile", "email", "account",
        "admin account", "member account", "password", "status",
        "department", "role name", "module name", "directory_scope",
        "from", "parent", "code", "name", "admin_two_step", "member", NULL
    };
    int i;

    for (i = 0; msg && fields[i]; i++) {
        size_t n = strlen(fields[i]);
        if (!strncmp(msg, fields[i], n) && (msg[n] == ' ' || !msg[n])) {
            return fields[i];
        }
    }
    return NULL;
}

/* msg with every occurrence of name (as given and in lower case)
 * replaced by what. */
static const char *replace_name(apr_pool_t *p, const char *msg,
                                const char *name, const char *what)
{
    const char *names[2];
    int k;

    names[0] = name;
    names[1] = qw_ascii_lower(p, name);
    for (k = 0; k < 2; k++) {
        size_t n = strlen(names[k]);
        const char *hit, *out = "";
        if (n == 0) {
            continue;
        }
        while ((hit = strstr(msg, names[k])) != NULL) {
            out = apr_pstrcat(p, out, apr_pstrndup(p, msg, hit - msg), what,
                              NULL);
            msg = hit + n;
        }
        msg = apr_pstrcat(p, out, msg, NULL);
    }
    return msg;
}

int qw_api_store_error(qw_api *a, qw_status rc, const char *mod,
                       const char *action, const char *object)
{
    return qw_api_store_error_about(a, rc, mod, action, object, NULL);
}

int qw_api_store_error_about(qw_api *a, qw_status rc, const char *mod,
                             const char *action, const char *object,
                             const char *name)
{
    const char *msg = a->st.err ? a->st.err : qw_status_name(rc);
    int status;

    switch (rc) {
    case QW_ERR_INVALID:  status = HTTP_BAD_REQUEST; break;
    case QW_ERR_NOTFOUND: status = HTTP_NOT_FOUND; break;
    case QW_ERR_CONFLICT: status = HTTP_CONFLICT; break;
    default:              status = HTTP_SERVICE_UNAVAILABLE; break;
    }
    if (!valid_json_text(msg)) {
        msg = qw_status_name(rc);
    }
    if (status == HTTP_SERVICE_UNAVAILABLE) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, a->r,
                      "QW1101: %s %s %s failed: %s", mod, action,
                      object ? object : "", msg);
        return qw_api_error(a, status, NULL, "service unavailable");
    }
    /* the failed change left nothing behind; the attempt is logged */
    if (mod && action && a->admin) {
        const char *m = apr_pstrdup(a->r->pool, msg);
        qw_admin_store(a->r, &a->st, a->admin);
        if (a->st.db && a->st.keys) {
            /* the operation log outlives a member: no account in it */
            json_t *d = json_pack("{s:s}", "message", name
                                  ? replace_name(a->r->pool, m, name,
                                                 object ? object : "member")
                                  : m);
            char *ds = d ? json_dumps(d, JSON_COMPACT) : NULL;
            qw_audit_note(&a->st, a->admin->enterprise_id, mod, action,
                          object, "failure", qw_status_name(rc), ds);
            free(ds);
            json_decref(d);
        }
        msg = m;
    }
    return qw_api_error(a, status, status == HTTP_BAD_REQUEST
                        ? field_of(msg) : NULL, msg);
}

int qw_api_refuse(qw_api *a, const char *mod, const char *action,
                  const char *object, const char *reason)
{
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, a->r,
                  "QW1102: admin %s refused: %s %s %s (%s)",
                  a->admin ? a->admin->account : "-", mod, action,
                  object ? object : "", reason);
    if (a->admin) {
        qw_status rc;
        qw_admin_store(a->r, &a->st, a->admin);
        if (!a->st.db || !a->st.keys
            || (rc = qw_audit_note(&a->st, a->admin->enterprise_id, mod,
                                   action, object, "refused", reason,
                                   NULL)) != QW_OK) {
            /* a refusal we cannot log is still a refusal */
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, a->r,
                          "QW1103: cannot log the refusal");
        }
    }
    return qw_api_error(a, HTTP_FORBIDDEN, NULL,
                        "no permission for this action");
}

int qw_api_need(qw_api *a, const char *m, const char *action,
                const char *object, int *done)
{
    if (qw_admin_may(a->admin, m)) {
        return 0;
    }
    *done = qw_api_refuse(a, m, action, object,
                          apr_pstrcat(a->r->pool, "module ", m,
                                      " not granted", NULL));
    return 1;
}

int qw_api_need_step_up(qw_api *a, const char *mod, const char *action,
                        const char *object, int *done)
{
    json_t *e;

    if (a->admin && a->admin->step_up_left > 0) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, a->r,
                  "QW1104: admin %s refused: %s %s %s needs a step-up "
                  "(password or two-step code within %d s)",
                  a->admin ? a->admin->account : "-", mod, action,
                  object ? object : "", QW_ADMIN_STEP_UP);
    if (a->admin) {
        qw_admin_store(a->r, &a->st, a->admin);
        if (!a->st.db || !a->st.keys
            || qw_audit_note(&a->st, a->admin->enterprise_id, mod, action,
                             object, "refused", "step-up required",
                             NULL) != QW_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, a->r,
                          "QW1103: cannot log the refusal");
        }
    }
    e = json_pack("{s:{s:n, s:s, s:b}}", "error", "field", "message",
                  "step-up required", "step_up", 1);
    *done = qw_api_json(a, HTTP_FORBIDDEN, e);
    return 1;
}

int qw_api_keys(qw_api *a, const char *within, const char *const *keys,
                int *done)
{
    const char *bad;

    if (!a->body || qw_json_only_keys(a->body, keys, &bad)) {
        return 0;
    }
    /* a misspelt key must not read as "nothing to change": 400, no row */
    bad = qw_sanitize_text(a->r->pool, bad, 128);
    if (within) {
        bad = apr_pstrcat(a->r->pool, within, ".", bad, NULL);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, a->r,
                  "QW1121: admin API body refused: unknown key \"%s\" "
                  "(%s %s)", bad, a->r->method,
                  a->r->uri);
    *done = qw_api_error(a, HTTP_BAD_REQUEST, bad, "unknown key");
    return 1;
}

/* ---- request bodies ---- */

static apr_status_t body_free(void *j)
{
    json_decref(j);
    return APR_SUCCESS;
}

int qw_api_read_body(qw_api *a, int *done)
{
    return qw_api_read_body_max(a, QW_API_MAX_BODY, done);
}

int qw_api_read_body_max(qw_api *a, apr_size_t max, int *done)
{
    request_rec *r = a->r;
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    char *buf;
    apr_size_t len = 0, cap;
    long got;
    int rc;

    if (!ct || strncasecmp(ct, "application/json", 16)
        || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        *done = qw_api_error(a, HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                             "Content-Type must be application/json");
        return 1;
    }
    if (cl && (apr_atoi64(cl) > (apr_int64_t)max || apr_atoi64(cl) < 0)) {
        *done = qw_api_error(a, HTTP_REQUEST_ENTITY_TOO_LARGE, NULL,
                             "request body too large");
        return 1;
    }
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        *done = qw_api_error(a, rc, NULL, "unreadable request body");
        return 1;
    }
    /* as much as the Content-Length announces (httpd delivers no more), or
     * the bound for a chunked body: a small request never costs the bound
     * (the mailbox's is megabytes, for attachments) */
    cap = cl ? (apr_size_t)apr_atoi64(cl) : max;
    buf = apr_palloc(r->pool, cap + 1);
    if (ap_should_client_block(r)) {
        while ((got = ap_get_client_block(r, buf + len,
                                          cap + 1 - len)) > 0) {
            len += got;
            if (len > cap) {
                /* chunked bodies have no Content-Length to refuse early */
                *done = qw_api_error(a, HTTP_REQUEST_ENTITY_TOO_LARGE, NULL,
                                     "request body too large");
                r->connection->keepalive = AP_CONN_CLOSE;
                return 1;
            }
        }
        if (got < 0) {
            *done = qw_api_error(a, HTTP_BAD_REQUEST, NULL,
                                 "unreadable request body");
            return 1;
        }
    }
    switch (qw_jbody_parse_max(buf, len, max, &a->body)) {
    case QW_JBODY_OK:
        break;
    case QW_JBODY_TOO_LARGE:
        *done = qw_api_error(a, HTTP_REQUEST_ENTITY_TOO_LARGE, NULL,
                             "request body too large");
        return 1;
    case QW_JBODY_NOT_OBJECT:
        *done = qw_api_error(a, HTTP_BAD_REQUEST, NULL,
                             "request body must be a JSON object");
        return 1;
    default:
        *done = qw_api_error(a, HTTP_BAD_REQUEST, NULL,
                             "request body is not valid JSON");
        return 1;
    }
    apr_pool_cleanup_register(r->pool, a->body, body_free,
                              apr_pool_cleanup_null);
    return 0;
}

/* The 400 for a field that is missing or of the wrong type; 0 otherwise. */
static int field_reply(qw_api *a, const char *field, qw_jfield_status fs,
                       const char *want, int *done)
{
    switch (fs) {
    case QW_JFIELD_MISSING:
        *done = qw_api_error(a, HTTP_BAD_REQUEST, field,
                             apr_pstrcat(a->r->pool, field, " is required",
                                         NULL));
        return 1;
    case QW_JFIELD_TYPE:
        *done = qw_api_error(a, HTTP_BAD_REQUEST, field,
                             apr_pstrcat(a->r->pool, field, " must be ",
                                         want, NULL));
        return 1;
    default:
        return 0;
    }
}

int qw_api_str(qw_api *a, const char *field, int required, const char **out,
               int *done)
{
    const char *want;
    qw_jfield_status fs = qw_jbody_str(a->r->pool, a->body, field, required,
                                       out, &want);

    return field_reply(a, field, fs, want, done);
}

int qw_api_bool(qw_api *a, const char *field, int *out, int *done)
{
    const char *want;
    qw_jfield_status fs = qw_jbody_bool(a->body, field, out, &want);

    return field_reply(a, field, fs, want, done);
}

int qw_api_str_list(qw_api *a, const char *field, int required,
                    const char **csv, int *done)
{
    const char *want;
    qw_jfield_status fs = qw_jbody_str_list(a->r->pool, a->body, field,
                                            required, csv, &want);

    return field_reply(a, field, fs, want, done);
}

json_t *qw_api_csv_array(const char *csv)
{
    return qw_jbody_csv_array(csv);
}

/* ---- pagination ---- */

static int parse_paging(qw_api *a, int *done)
{
    apr_table_t *args;
    const char *l, *o;
    char *end;

    ap_args_to_table(a->r, &args);
    l = apr_table_get(args, "limit");
    o = apr_table_get(args, "offset");
    a->limit = 50;
    a->offset = 0;
    if (l) {
        a->limit = strtol(l, &end, 10);
        if (!*l || *end || a->limit < 1 || a->limit > 500) {
            *done = qw_api_error(a, HTTP_BAD_REQUEST, "limit",
                                 "limit must be 1 to 500");
            return 1;
        }
    }
    if (o) {
        a->offset = strtol(o, &end, 10);
        if (!*o || *end || a->offset < 0 || a->offset > 100000000) {
            *done = qw_api_error(a, HTTP_BAD_REQUEST, "offset",
                                 "offset must be 0 or more");
            return 1;
        }
    }
    return 0;
}

/* ---- /session: login, who am I (+ CSRF token), logout ---- */

static json_t *session_json(qw_api *a)
{
    return qw_admin_session_json(a);
}

static int api_session(qw_api *a)
{
    request_rec *r = a->r;
    int done = OK, rc;

    if (r->method_number == M_POST) {
        const char *account, *pw, *token, *pending;
        /* a cross-site page cannot send application/json without CORS,
         * and Origin / Sec-Fetch-Site must not name another site */
        if (!qw_same_origin(r)) {
            return qw_api_error(a, HTTP_FORBIDDEN, NULL,
                                "cross-site request refused");
        }
        /* per address, before the body is read (a JSON 429) */
        if (qw_throttle_addr_check(r) != OK) {
            return qw_api_throttled(r);
        }
        static const char *const keys[] = { "account", "password", NULL };
        if (qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys, &done)
            || qw_api_str(a, "account", 1, &account, &done)
            || qw_api_str(a, "password", 1, &pw, &done)) {
            return done;
        }
        rc = qw_admin_login(r, account, pw, strlen(pw), &token, &pending);
        if (rc == HTTP_TOO_MANY_REQUESTS) {
            return qw_api_throttled(r);
        }
        if (rc == HTTP_UNAUTHORIZED) {
            return qw_api_error(a, rc, NULL,
                                "wrong account or password");
        }
        if (rc != OK) {
            return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                "service unavailable");
        }
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      qw_admin_cookie(r, token));
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      qw_admin_cookie_legacy_clear(r));
        /* answer as the next request will see the new session */
        {
            qw_admin_session fresh;
            qw_admin ad;
            qw_store st;
            qw_settings set;

            memset(&fresh, 0, sizeof(fresh));
            fresh.token = token;
            fresh.account = qw_ascii_lower(r->pool, account);
            fresh.auth_level = 1;
            fresh.pending = pending;
            fresh.enterprise = qw_dir(r)->enterprise;
            fresh.modules = "";
            /* as admin_login.c made it */
            fresh.idle_timeout = fresh.idle_left = QW_ADMIN_IDLE;
            fresh.expires_left = pending ? ADMIN_PENDING_SECS
                                          : QW_ADMIN_MAX_AGE;
            qw_admin_store(r, &st, NULL);
            if (qw_admin_get(&st, qw_dir(r)->enterprise, fresh.account,
                             &ad) == QW_OK) {
                fresh.is_super = ad.is_super;
                fresh.modules = ad.modules;
            }
            /* required_level and usable as GET session will say them */
            if (qw_settings_get(&st, qw_dir(r)->enterprise, &set) == QW_OK) {
                fresh.two_step_optional = !strcmp(set.admin_two_step,
                                                  "optional");
            }
            a->admin = &fresh;
            rc = qw_api_json(a, HTTP_CREATED, session_json(a));
            a->admin = NULL;
            return rc;
        }
    }
    if (!a->admin) {
        return qw_api_error(a, HTTP_UNAUTHORIZED, NULL,
                            "admin login required");
    }
    if (r->method_number == M_GET) {
        return qw_api_json(a, HTTP_OK, session_json(a));
    }
    if (r->method_number == M_DELETE) {
        if (qw_admin_logout(r) != OK) {
            return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                "service unavailable");
        }
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      qw_admin_cookie(r, NULL));
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      qw_admin_cookie_legacy_clear(r));
        return qw_api_no_content(a);
    }
    return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                        "method not allowed");
}

static int split_path(qw_api *a, const char *rest)
{
    char *copy = apr_pstrdup(a->r->pool, rest), *tok, *last;

    a->nseg = 0;
    for (tok = apr_strtok(copy, "/", &last); tok;
         tok = apr_strtok(NULL, "/", &last)) {
        if (a->nseg == (int)(sizeof(a->seg) / sizeof(a->seg[0]))) {
            return -1;
        }
        a->seg[a->nseg++] = tok;
    }
    return 0;
}

int qw_handle_api(request_rec *r, const char *rest)
{
    qw_api *a = apr_pcalloc(r->pool, sizeof(*a));
    int done = OK, rc;
    int writes = r->method_number != M_GET;
    const char *csrf;

    a->r = r;
    if (r->method_number == M_OPTIONS) {
        /* no CORS: the API is same-origin only */
        return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                            "method not allowed");
    }
    /* r->uri is decoded: a %2F inside a segment was refused by httpd
     * (AllowEncodedSlashes Off), so splitting on '/' is exact */
    if (split_path(a, rest) != 0 || a->nseg == 0) {
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    if (parse_paging(a, &done)) {
        return done;
    }

    /* member-facing resources: a member session, read only */
    if (!strcmp(a->seg[0], "directory")
        || (!strcmp(a->seg[0], "me") && a->nseg == 2
            && !strcmp(a->seg[1], "reminders"))) {
        if (r->method_number != M_GET) {
            return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                                "method not allowed");
        }
        if (qw_viewer_resolve(r, &a->viewer) != OK) {
            return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                "service unavailable");
        }
        if (!a->viewer) {
            return qw_api_error(a, HTTP_UNAUTHORIZED, NULL,
                                "login required");
        }
        qw_admin_store(r, &a->st, NULL);
        a->st.who.actor = apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                       a->viewer->member_id);
        return a->seg[0][0] == 'd' ? qw_api_directory(a)
                                   : qw_api_my_reminders(a);
    }

    /* the member's mailbox: a member session, and on every change the
     * CSRF header bound to it (docs/mailbox.md) */
    if (!strcmp(a->seg[0], "me") && a->nseg >= 2 && a->nseg <= 5
        && !strcmp(a->seg[1], "mailbox")) {
        if (qw_viewer_resolve(r, &a->viewer) != OK) {
            return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                "service unavailable");
        }
        if (!a->viewer) {
            return qw_api_error(a, HTTP_UNAUTHORIZED, NULL,
                                "login required");
        }
        if (writes) {
            csrf = apr_table_get(r->headers_in, QW_API_CSRF_HEADER);
            if (!qw_csrf_key() || !csrf || !qw_same_origin(r)
                || !qw_csrf_check(qw_csrf_key(), QW_MAILBOX_CSRF_PURPOSE,
                                  a->viewer->token, csrf)) {
                ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                              "QW0725: mailbox %s %s of member %"
                              APR_INT64_T_FMT " refused: missing or wrong "
                              "CSRF token or another origin", r->method,
                              r->uri, a->viewer->member_id);
                qw_api_mailbox_refused(r, "QW0725");
                return qw_api_error(a, HTTP_FORBIDDEN, NULL,
                                    "missing or wrong CSRF token");
            }
        }
        qw_admin_store(r, &a->st, NULL);
        if (!a->st.db) {
            return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                "service unavailable");
        }
        a->st.who.actor = apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                       a->viewer->member_id);
        a->st.who.actor_role = "member";
        return qw_api_my_mailbox(a);
    }

    if (qw_admin_resolve(r, &a->admin) != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    if (!strcmp(a->seg[0], "session") && a->nseg == 1
        && (r->method_number == M_POST || r->method_number == M_GET)) {
        return api_session(a);
    }
    if (!a->admin) {
        return qw_api_error(a, HTTP_UNAUTHORIZED, NULL,
                            "admin login required");
    }
    /* the steps a pending session may take: session/totp,
     * session/totp-setup, session/password (CSRF like every change) */
    if (!strcmp(a->seg[0], "session") && a->nseg == 2) {
        if (writes) {
            csrf = apr_table_get(r->headers_in, QW_API_CSRF_HEADER);
            if (!qw_csrf_key() || !csrf || !qw_same_origin(r)
                || !qw_csrf_check(qw_csrf_key(), QW_API_CSRF_PURPOSE,
                                  a->admin->token, csrf)) {
                return qw_api_error(a, HTTP_FORBIDDEN, NULL,
                                    "missing or wrong CSRF token");
            }
        }
        return qw_admin_api_step(a, a->seg[1]);
    }
    if (!qw_admin_usable(r, a->admin)) {
        const char *p = a->admin->pending;
        /* a level-1 session where level 2 is required, or a step owed */
        return qw_api_error(a, HTTP_FORBIDDEN, "pending",
                            p && !strcmp(p, "expired")
                            ? "password change required"
                            : p && !strcmp(p, "enrol")
                            ? "two-step enrolment required"
                            : "two-step verification required");
    }
    if (writes) {
        /* a cookie rides along on cross-site requests: every change needs
         * the token only our own pages can read, and a same-site origin */
        csrf = apr_table_get(r->headers_in, QW_API_CSRF_HEADER);
        if (!qw_csrf_key() || !csrf || !qw_same_origin(r)
            || !qw_csrf_check(qw_csrf_key(), QW_API_CSRF_PURPOSE,
                              a->admin->token, csrf)) {
            return qw_api_refuse(a, "auth", "csrf",
                                 apr_pstrcat(r->pool, r->method, " ",
                                             r->uri, NULL),
                                 "missing or wrong CSRF token");
        }
    }
    qw_admin_store(r, &a->st, a->admin);
    if (!a->st.db) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    if (!strcmp(a->seg[0], "session")) {
        rc = api_session(a);
    }
    else if (!strcmp(a->seg[0], "departments")) {
        rc = qw_api_departments(a);
    }
    else if (!strcmp(a->seg[0], "members")) {
        rc = qw_api_members(a);
    }
    else if (!strcmp(a->seg[0], "roles")) {
        rc = qw_api_roles(a);
    }
    else if (!strcmp(a->seg[0], "admins")) {
        rc = qw_api_admins(a);
    }
    else if (!strcmp(a->seg[0], "audit")) {
        rc = qw_api_audit(a);
    }
    else if (!strcmp(a->seg[0], "settings")) {
        rc = qw_api_settings(a);
    }
    else if (!strcmp(a->seg[0], "articles")) {
        rc = qw_api_articles(a);
    }
    else if (!strcmp(a->seg[0], "mailbox")) {
        rc = qw_api_mailbox(a);
    }
    else {
        rc = qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    return rc;
}

/* Admin sessions: login and logout (form pages and the API's
 * POST/DELETE /api/v1/session share qw_admin_login), the per-request
 * lookup of the admin cookie, and `Require qiwei-admin MODULE...`.
 *
 * Admin sessions live in admin_sessions (sql/004_admin.sql says why), under
 * their own cookie (qiwei_admin, SameSite=Strict: the console is never
 * entered from another site), 15 min idle / 12 h absolute.
 *
 * Where issue 6 plugs in: admin_throttle() runs before the password is
 * hashed (per account and per address); a session starts at auth_level 1
 * and qw_admin_required_level() says what the API needs, so a second step
 * (TOTP) raises the level of the same row (with a new token) without
 * changing any caller. */
#include "apr_strings.h"
#include "ap_provider.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"

#include "qiwei.h"
#include "db.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/api.h"
#include "util/cookie.h"
#include "util/csrf.h"
#include "util/pwhash.h"
#include "util/rights.h"
#include "util/text.h"
#include "util/token.h"

#define QW_STMT_ADMIN_SESSION "qw_admin_session"
#define QW_STMT_ADMIN_LOGIN "qw_admin_login"
#define QW_UA_MAX 512
#define ADMIN_NOTE "qiwei-admin-session"

extern qw_pw_params qw_pw_cfg;

/* From cookie hash to everything an API call needs, in one round trip;
 * last_seen_at is written at most once a minute, as for members. */
static const char sql_admin_session[] =
    "WITH s AS ("
    " SELECT s.enterprise_id, s.session_id, s.admin_id, s.auth_level,"
    "        s.last_seen_at, s.idle_seconds"
    "   FROM admin_sessions s"
    "   JOIN enterprises e ON e.enterprise_id = s.enterprise_id"
    "  WHERE e.code = $1 AND s.token_hash = $2 AND s.expires_at > now()"
    "    AND s.last_seen_at + make_interval(secs => s.idle_seconds) > now()"
    "), touch AS ("
    " UPDATE admin_sessions t SET last_seen_at = now() FROM s"
    "  WHERE t.enterprise_id = s.enterprise_id"
    "    AND t.session_id = s.session_id"
    "    AND s.last_seen_at < now() - make_interval(secs =>"
    "        least(60, s.idle_seconds / 10))"
    " RETURNING 1"
    ")"
    " SELECT s.enterprise_id, s.session_id, s.admin_id, s.auth_level,"
    "        a.account, a.is_super, coalesce(a.bound_member_id, 0),"
    "  (SELECT coalesce(string_agg(DISTINCT u.m, ',' ORDER BY u.m), '')"
    "     FROM admin_account_roles ar"
    "     JOIN admin_roles r ON r.enterprise_id = ar.enterprise_id"
    "                       AND r.role_id = ar.role_id"
    "    CROSS JOIN LATERAL unnest(r.modules) AS u(m)"
    "    WHERE ar.enterprise_id = s.enterprise_id"
    "      AND ar.admin_id = s.admin_id),"
    "  (SELECT count(*) FROM touch)"
    "   FROM s JOIN admin_accounts a ON a.enterprise_id = s.enterprise_id"
    "                               AND a.admin_id = s.admin_id"
    "  WHERE a.status = 'active'";

static const char sql_admin_login[] =
    "SELECT a.enterprise_id, a.admin_id, a.password_hash, a.status,"
    "       coalesce(a.bound_member_id, 0)"
    "  FROM admin_accounts a"
    "  JOIN enterprises e ON e.enterprise_id = a.enterprise_id"
    " WHERE e.code = $1 AND a.account = $2";

const char *qw_admin_cookie_name(request_rec *r)
{
    return qw_cookie_is_secure(r) ? "__Host-" QW_ADMIN_COOKIE
                                  : QW_ADMIN_COOKIE;
}

const char *qw_admin_cookie(request_rec *r, const char *value)
{
    return apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly; SameSite=Strict"
                        "%s%s", qw_admin_cookie_name(r), value ? value : "",
                        qw_cookie_is_secure(r) ? "; Secure" : "",
                        value ? "" : "; Max-Age=0");
}

static const char *ua_of(request_rec *r)
{
    const char *ua = apr_table_get(r->headers_in, "User-Agent");
    if (ua && strlen(ua) > QW_UA_MAX) {
        ua = apr_pstrmemdup(r->pool, ua, QW_UA_MAX);
    }
    if (ua && !qw_valid_utf8_text(ua, strlen(ua))) {
        ua = NULL;
    }
    return ua;
}

void qw_admin_store(request_rec *r, qw_store *st, const qw_admin_session *a)
{
    memset(st, 0, sizeof(*st));
    st->pool = r->pool;
    st->keys = qw_keys();
    st->conn = qw_db_get(r);
    st->pw = qw_pw_cfg;
    st->who.actor = a ? apr_psprintf(r->pool, "admin:%" APR_INT64_T_FMT,
                                     a->admin_id)
                      : "anonymous";
    st->who.actor_role = a ? (a->is_super ? "super" : "admin") : NULL;
    st->who.source_ip = r->useragent_ip;
    st->who.user_agent = ua_of(r);
    st->who.request_id = r->log_id;
}

/* Token text of the admin cookie, or NULL (two cookies of that name count
 * as none: cookie tossing). */
static const char *admin_cookie_value(request_rec *r, unsigned char *hash)
{
    const char *h = apr_table_get(r->headers_in, "Cookie");
    const char *name = qw_admin_cookie_name(r);
    const char *v = qw_cookie_get(r->pool, h, name);
    unsigned char raw[QW_TOKEN_BYTES];

    if (!v || qw_cookie_count(h, name) != 1
        || qw_token_decode(v, strlen(v), raw, sizeof(raw)) != 0) {
        return NULL;
    }
    qw_token_hash(raw, sizeof(raw), hash);
    return v;
}

typedef struct {
    int done;
    int rc;
    qw_admin_session *a;
} admin_cache;

int qw_admin_resolve(request_rec *r, qw_admin_session **out)
{
    qw_dir_cfg *d = qw_dir(r);
    unsigned char hash[QW_TOKEN_HASH_LEN];
    const char *values[2];
    int lengths[2] = { 0, QW_TOKEN_HASH_LEN }, formats[2] = { 0, 1 };
    admin_cache *c = NULL;
    request_rec *m = r;
    const char *token;
    qw_admin_session *a;
    PGconn *conn;
    PGresult *res;

    while (m->main) {
        m = m->main;
    }
    apr_pool_userdata_get((void **)&c, ADMIN_NOTE, m->pool);
    if (c && c->done) {
        *out = c->a;
        return c->rc;
    }
    if (!c) {
        c = apr_pcalloc(m->pool, sizeof(*c));
        apr_pool_userdata_setn(c, ADMIN_NOTE, NULL, m->pool);
    }
    *out = NULL;
    c->done = 1;
    c->rc = OK;
    if (!d->enterprise || !(token = admin_cookie_value(r, hash))) {
        return OK;
    }
    conn = qw_db_get(r);
    if (!conn) {
        c->rc = HTTP_SERVICE_UNAVAILABLE;
        return c->rc;
    }
    values[0] = d->enterprise;
    values[1] = (const char *)hash;
    res = qw_db_exec(r, conn, QW_STMT_ADMIN_SESSION, 2, values, lengths,
                     formats);
    if (!res) {
        c->rc = HTTP_SERVICE_UNAVAILABLE;
        return c->rc;
    }
    if (PQntuples(res) != 1) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW1001: admin session %s... unknown, expired or "
                      "disabled in %s", qw_hex(r->pool, hash, 4),
                      d->enterprise);
        PQclear(res);
        return OK;
    }
    a = apr_pcalloc(m->pool, sizeof(*a));
    a->enterprise_id = apr_atoi64(PQgetvalue(res, 0, 0));
    a->session_id = apr_atoi64(PQgetvalue(res, 0, 1));
    a->admin_id = apr_atoi64(PQgetvalue(res, 0, 2));
    a->auth_level = atoi(PQgetvalue(res, 0, 3));
    a->account = apr_pstrdup(m->pool, PQgetvalue(res, 0, 4));
    a->is_super = !strcmp(PQgetvalue(res, 0, 5), "t");
    a->bound_member_id = apr_atoi64(PQgetvalue(res, 0, 6));
    a->modules = a->is_super ? QW_ADMIN_MODULES
                             : apr_pstrdup(m->pool, PQgetvalue(res, 0, 7));
    a->token = apr_pstrdup(m->pool, token);
    PQclear(res);
    c->a = a;
    *out = a;
    return OK;
}

int qw_admin_required_level(request_rec *r, const qw_admin_session *a)
{
    /* issue 6: 2 when two-step is on for admins (the default there) */
    return 1;
}

int qw_admin_may(const qw_admin_session *a, const char *m)
{
    if (!a || !m) {
        return 0;
    }
    return a->is_super || qw_modules_has(a->modules, m);
}

/* issue 6 inserts the throttle here: OK to go on, or 429 (with
 * Retry-After) before any hashing. */
static int admin_throttle(request_rec *r, const char *account)
{
    return OK;
}

static int login_failed(request_rec *r, const char *account,
                        int64_t eid_known)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_store st;
    qw_status rc;
    int64_t eid = eid_known;

    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW1002: admin login failed for account \"%s\" of "
                  "enterprise %s from %s",
                  account ? ap_escape_logitem(r->pool, account) : "-",
                  d->enterprise, r->useragent_ip);
    qw_admin_store(r, &st, NULL);
    if (!st.conn || !st.keys) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (eid <= 0) {
        eid = qw_store_enterprise_id(&st, d->enterprise, &rc);
        if (eid < 0) {
            /* no such enterprise: nothing to log it under */
            return rc == QW_ERR_DB ? HTTP_SERVICE_UNAVAILABLE
                                   : HTTP_UNAUTHORIZED;
        }
    }
    /* only a well-formed account name goes into the log: a password typed
     * into the account field must not */
    rc = qw_audit_note(&st, eid, "auth", "admin-login",
                       account ? apr_pstrcat(r->pool, "admin:", account,
                                             NULL) : NULL,
                       "failure", "bad credentials", NULL);
    if (rc != QW_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW1003: cannot log a failed admin login: %s",
                      st.err ? st.err : qw_status_name(rc));
        qw_db_mark_broken(r);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return HTTP_UNAUTHORIZED;
}

int qw_admin_login(request_rec *r, const char *account, const char *pw,
                   size_t pwlen, const char **token_out)
{
    qw_dir_cfg *d = qw_dir(r);
    const char *values[2], *encoded = NULL, *status = NULL, *token;
    const char *p[9];
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    unsigned char old[QW_TOKEN_HASH_LEN];
    int64_t eid = 0, aid = 0, bound = 0;
    qw_admin_session who;
    PGconn *conn;
    PGresult *res;
    qw_store st;
    qw_status rc;
    int ok, trc;

    *token_out = NULL;
    if (account) {
        account = qw_ascii_lower(r->pool, account);
        if (!qw_valid_account(account)) {
            account = NULL;
        }
    }
    if ((trc = admin_throttle(r, account)) != OK) {
        return trc;
    }
    conn = qw_db_get(r);
    if (!conn) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (account && pw && pwlen <= QW_PW_MAX_LEN) {
        values[0] = d->enterprise;
        values[1] = account;
        res = qw_db_exec(r, conn, QW_STMT_ADMIN_LOGIN, 2, values, NULL,
                         NULL);
        if (!res) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        if (PQntuples(res) == 1) {
            eid = apr_atoi64(PQgetvalue(res, 0, 0));
            aid = apr_atoi64(PQgetvalue(res, 0, 1));
            if (!PQgetisnull(res, 0, 2)) {
                encoded = apr_pstrdup(r->pool, PQgetvalue(res, 0, 2));
            }
            status = apr_pstrdup(r->pool, PQgetvalue(res, 0, 3));
            bound = apr_atoi64(PQgetvalue(res, 0, 4));
        }
        PQclear(res);
    }
    if (qw_pw_slot_acquire(r) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    /* unknown account: the same Argon2id work against a dummy hash */
    ok = qw_pw_verify(encoded, pw ? pw : "", pw ? pwlen : 0, &qw_pw_cfg);
    qw_pw_slot_release();
    if (!ok || !status || strcmp(status, "active")) {
        return login_failed(r, account, eid);
    }

    token = qw_token_new(r->pool, raw, sizeof(raw));
    if (!token) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    qw_token_hash(raw, sizeof(raw), hash);
    memset(&who, 0, sizeof(who));
    who.admin_id = aid;
    qw_admin_store(r, &st, &who);
    st.who.actor_role = NULL;
    if (!st.keys) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (qw_store_begin(&st) != QW_OK) {
        goto fail;
    }
    /* the session the browser held before is replaced, not kept */
    if (admin_cookie_value(r, old)) {
        p[0] = qw_i64(r->pool, eid);
        p[1] = qw_store_bytea(r->pool, old, sizeof(old));
        res = qw_store_exec(&st, "DELETE FROM admin_sessions WHERE "
                            "enterprise_id = $1 AND token_hash = $2::bytea",
                            2, p, &rc);
        if (!res) {
            goto fail;
        }
        PQclear(res);
    }
    p[0] = qw_i64(r->pool, eid);
    p[1] = qw_store_bytea(r->pool, hash, sizeof(hash));
    p[2] = qw_i64(r->pool, aid);
    p[3] = apr_itoa(r->pool, QW_ADMIN_IDLE);
    p[4] = apr_itoa(r->pool, QW_ADMIN_MAX_AGE);
    p[5] = r->useragent_ip;
    p[6] = st.who.user_agent;
    res = qw_store_exec(&st, "WITH gc AS (DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND admin_id = $3 AND "
                        "(expires_at < now() OR last_seen_at + "
                        "make_interval(secs => idle_seconds) < now())) "
                        "INSERT INTO admin_sessions (enterprise_id, "
                        "token_hash, admin_id, auth_level, idle_seconds, "
                        "expires_at, source_ip, user_agent) VALUES ($1, "
                        "$2::bytea, $3, 1, $4, now() + make_interval(secs "
                        "=> $5::int), $6, $7)", 7, p, &rc);
    if (!res) {
        goto fail;
    }
    PQclear(res);
    if (bound && (rc = qw_login_reminder_add(&st, eid, bound, aid, account,
                                             "login")) != QW_OK) {
        goto fail;
    }
    if ((rc = qw_audit_append(&st, eid, "auth", "admin-login",
                              apr_psprintf(r->pool, "admin:%"
                                           APR_INT64_T_FMT " %s", aid,
                                           account), "success", NULL,
                              bound ? "{\"reminder\": true}"
                                    : "{\"reminder\": false}")) != QW_OK
        || (rc = qw_store_commit(&st)) != QW_OK) {
        goto fail;
    }
    if (qw_pw_needs_rehash(encoded, &qw_pw_cfg)) {
        /* best effort, like the member login */
        char *fresh = NULL;
        if (qw_pw_slot_acquire(r) == APR_SUCCESS) {
            fresh = qw_pw_hash(r->pool, pw, pwlen, &qw_pw_cfg);
            qw_pw_slot_release();
        }
        if (fresh) {
            p[2] = fresh;
            p[1] = qw_i64(r->pool, aid);
            res = qw_store_exec(&st, "UPDATE admin_accounts SET "
                                "password_hash = $3 WHERE enterprise_id = $1"
                                " AND admin_id = $2", 3, p, &rc);
            PQclear(res);
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1004: admin %s of %s logged in from %s", account,
                  d->enterprise, r->useragent_ip);
    *token_out = token;
    return OK;

fail:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1005: admin login of %s could not be recorded: %s",
                  account, st.err ? st.err : "database error");
    qw_store_rollback(&st);
    qw_db_mark_broken(r);
    return HTTP_SERVICE_UNAVAILABLE;
}

int qw_admin_logout(request_rec *r)
{
    qw_admin_session *a;
    qw_store st;
    qw_status rc;
    const char *p[2];
    PGresult *res;
    int hrc = qw_admin_resolve(r, &a);

    if (hrc != OK) {
        return hrc;
    }
    if (!a) {
        return OK;
    }
    qw_admin_store(r, &st, a);
    if (!st.conn || !st.keys || qw_store_begin(&st) != QW_OK) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    p[0] = qw_i64(r->pool, a->enterprise_id);
    p[1] = qw_i64(r->pool, a->session_id);
    res = qw_store_exec(&st, "DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND session_id = $2", 2, p, &rc);
    if (!res) {
        qw_store_rollback(&st);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    PQclear(res);
    if (qw_audit_append(&st, a->enterprise_id, "auth", "admin-logout",
                        apr_psprintf(r->pool, "admin:%" APR_INT64_T_FMT
                                     " %s", a->admin_id, a->account),
                        "success", NULL, NULL) != QW_OK
        || qw_store_commit(&st) != QW_OK) {
        qw_store_rollback(&st);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return OK;
}

/* ---- the form pages ---- */

static int admin_form(request_rec *r, int status, const char *msg)
{
    qw_lang lang = qw_request_lang(r);
    const char *nonce = qw_page_nonce(r);
    const char *binding = qw_csrf_cookie(r, 1);
    const unsigned char *key = qw_csrf_key();
    const char *title = lang == QW_LANG_ZH ? "管理员登录" : "Admin sign-in";
    const char *body;

    if (!binding || !key || !nonce) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    body = apr_pstrcat(r->pool,
        "<h1>", title, "</h1>",
        msg ? "<p class=\"msg\" role=\"alert\">" : "",
        msg ? qw_escape_html(r->pool, msg) : "", msg ? "</p>" : "",
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"",
        qw_csrf_make(r->pool, key, "admin-login", binding), "\">"
        "<label for=\"account\">", qw_str(lang, QW_S_ACCOUNT), "</label>"
        "<input type=\"text\" id=\"account\" name=\"account\" "
        "autocapitalize=\"none\" autocomplete=\"username\" required "
        "maxlength=\"64\">"
        "<label for=\"password\">", qw_str(lang, QW_S_PASSWORD), "</label>"
        "<input type=\"password\" id=\"password\" name=\"password\" "
        "autocomplete=\"current-password\" required maxlength=\"1024\">"
        "<button type=\"submit\">", qw_str(lang, QW_S_SIGN_IN), "</button>"
        "</form>", NULL);
    return qw_page_send(r, status, lang, nonce, title, body);
}

int qw_handle_admin_login(request_rec *r)
{
    apr_table_t *form;
    const char *account, *pw, *token;
    int rc;

    if (r->method_number == M_GET) {
        return admin_form(r, HTTP_OK, NULL);
    }
    if (r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((rc = qw_read_form(r, &form)) != OK) {
        return rc;
    }
    if (!qw_csrf_ok(r, form, "admin-login", qw_csrf_cookie(r, 0))) {
        return admin_form(r, HTTP_FORBIDDEN,
                          qw_str(qw_request_lang(r), QW_S_FORM_EXPIRED));
    }
    account = apr_table_get(form, "account");
    pw = apr_table_get(form, "password");
    rc = qw_admin_login(r, account, pw, pw ? strlen(pw) : 0, &token);
    if (rc == HTTP_UNAUTHORIZED) {
        return admin_form(r, HTTP_UNAUTHORIZED,
                          qw_str(qw_request_lang(r), QW_S_LOGIN_FAILED));
    }
    if (rc != OK) {
        return rc == HTTP_SERVICE_UNAVAILABLE ? qw_unavailable(r) : rc;
    }
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  qw_admin_cookie(r, token));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    /* the console lives next to this page: <handler>/api/v1/session */
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ap_make_dirstr_parent(r->pool,
                                                              r->uri),
                               "api/v1/session", NULL));
    return HTTP_SEE_OTHER;
}

int qw_handle_admin_logout(request_rec *r)
{
    qw_admin_session *a;
    apr_table_t *form;
    int rc;

    if ((rc = qw_admin_resolve(r, &a)) != OK) {
        return qw_unavailable(r);
    }
    if (r->method_number == M_GET) {
        qw_lang lang = qw_request_lang(r);
        const char *nonce = qw_page_nonce(r);
        if (!a) {
            apr_table_setn(r->headers_out, "Location",
                           apr_pstrcat(r->pool, ap_make_dirstr_parent(
                                       r->pool, r->uri), "admin-login",
                                       NULL));
            return HTTP_SEE_OTHER;
        }
        return qw_page_send(r, HTTP_OK, lang, nonce,
                            qw_str(lang, QW_S_SIGN_OUT),
                            apr_pstrcat(r->pool, "<h1>",
                                        qw_str(lang, QW_S_SIGN_OUT),
                                        "</h1><form method=\"post\" "
                                        "action=\"",
                                        qw_escape_html(r->pool, r->uri),
                                        "\"><input type=\"hidden\" "
                                        "name=\"csrf\" value=\"",
                                        qw_csrf_make(r->pool, qw_csrf_key(),
                                                     QW_API_CSRF_PURPOSE,
                                                     a->token),
                                        "\"><button type=\"submit\">",
                                        qw_str(lang, QW_S_SIGN_OUT),
                                        "</button></form>", NULL));
    }
    if (r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if ((rc = qw_read_form(r, &form)) != OK) {
        return rc;
    }
    if (a && !qw_csrf_ok(r, form, QW_API_CSRF_PURPOSE, a->token)) {
        return HTTP_FORBIDDEN;
    }
    if (qw_admin_logout(r) != OK) {
        return qw_unavailable(r);
    }
    apr_table_add(r->err_headers_out, "Set-Cookie", qw_admin_cookie(r, NULL));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ap_make_dirstr_parent(r->pool,
                                                              r->uri),
                               "admin-login", NULL));
    return HTTP_SEE_OTHER;
}

/* ---- Require qiwei-admin MODULE... ----
 *
 * Decides from the admin cookie alone, so it works before (and without)
 * a member login: granted when the admin session holds one of the
 * modules; DENIED when an admin session lacks them; DENIED_NO_USER when
 * there is no admin session, so <RequireAny> can fall back to other
 * providers and AuthType Qiwei asks for a login.  The lookup is cached per
 * request: httpd may evaluate the provider several times. */

static const char *parse_admin(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    const char *t = line;
    const char *csv = "";
    char *w;

    while (*t && (w = ap_getword_conf(cmd->pool, &t)) && *w) {
        if (!qw_module_valid(w)) {
            return apr_psprintf(cmd->pool, "Require qiwei-admin: '%s' is "
                                "not a module name (a-z 0-9 _ -)", w);
        }
        csv = apr_pstrcat(cmd->pool, csv, *csv ? "," : "", w, NULL);
    }
    if (!*csv) {
        return "Require qiwei-admin needs at least one module";
    }
    *parsed = csv;
    return NULL;
}

static authz_status admin_check(request_rec *r, const char *line,
                                const void *parsed)
{
    qw_admin_session *a;
    const char *want = parsed;
    char *copy, *tok, *last;

    qw_req_get(r, 1)->ours = 1;
    if (qw_admin_resolve(r, &a) != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW1006: Require qiwei-admin: database unavailable");
        return AUTHZ_GENERAL_ERROR;
    }
    if (!a) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (a->auth_level < qw_admin_required_level(r, a)) {
        return AUTHZ_DENIED_NO_USER;
    }
    copy = apr_pstrdup(r->pool, want);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        if (qw_admin_may(a, tok)) {
            apr_table_setn(r->subprocess_env, "QIWEI_ADMIN", a->account);
            apr_table_setn(r->subprocess_env, "QIWEI_ADMIN_MODULES",
                           a->modules);
            return AUTHZ_GRANTED;
        }
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1007: admin %s holds none of modules [%s]",
                  a->account, line);
    return AUTHZ_DENIED;
}

static const authz_provider admin_provider = {
    &admin_check, &parse_admin
};

void qw_admin_register_hooks(apr_pool_t *p)
{
    qw_db_register_statement(QW_STMT_ADMIN_SESSION, sql_admin_session);
    qw_db_register_statement(QW_STMT_ADMIN_LOGIN, sql_admin_login);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "qiwei-admin",
                              AUTHZ_PROVIDER_VERSION, &admin_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}

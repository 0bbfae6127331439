/* Admin sessions: login and logout (form pages and the API's
 * POST/DELETE /api/v1/session share qw_admin_login), the per-request
 * lookup of the admin cookie, and `Require qiwei-admin MODULE...`.
 *
 * Admin sessions live in admin_sessions (sql/004_admin.sql says why), under
 * their own cookie (qiwei_admin, SameSite=Strict: the console is never
 * entered from another site), 15 min idle / 12 h absolute.
 *
 * Account security (sql/006): the address throttle is checked before the
 * body is read and the account throttle (admin_password, the admin rule:
 * waits after 5 failures, a 30 min lock at 10, the bound member reminded)
 * before any hashing.  A session starts at auth_level 1 with the step it
 * still owes in admin_sessions.pending: "totp" (enrolled admins), "enrol"
 * (two-step required, the default, and not set up), "expired" (password
 * older than the policy's maximum age).  Such a session can only do its
 * step (POST <api>/session/totp, GET/POST <api>/session/totp-setup, POST
 * <api>/session/password); each step rotates the token. */
#include <openssl/crypto.h>
#include "apr_strings.h"
#include "ap_provider.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "util_script.h"

#include "qiwei.h"
#include "db.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/api.h"
#include "handle/signin.h"
#include "util/cookie.h"
#include "util/csrf.h"
#include "util/json.h"
#include "util/pwhash.h"
#include "util/rights.h"
#include "util/text.h"
#include "util/token.h"
#include "util/totp.h"
#include "util/qr.h"
#include "throttle.h"

#define QW_STMT_ADMIN_SESSION "qw_admin_session"
#define QW_STMT_ADMIN_LOGIN "qw_admin_login"
#define QW_UA_MAX 512
#define ADMIN_NOTE "qiwei-admin-session"
/* a session that owes a step lives at most this long */
#define ADMIN_PENDING_SECS 600
#define ADMIN_RECOVERY_CODES 10

extern qw_pw_params qw_pw_cfg;

/* From cookie hash to everything an API call needs, in one round trip;
 * last_seen_at is written at most once a minute, as for members. */
static const char sql_admin_session[] =
    "WITH s AS ("
    " SELECT s.enterprise_id, s.session_id, s.admin_id, s.auth_level,"
    "        s.last_seen_at, s.idle_seconds, s.pending,"
    "        coalesce(e.settings->>'admin_two_step', '') AS two_step"
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
    "  (SELECT count(*) FROM touch), s.pending, s.two_step"
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
    st->db = qw_db_sql(r);
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
    const char *ent;           /* the enterprise the lookup was for */
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
    PGresult *res;

    while (m->main) {
        m = m->main;
    }
    apr_pool_userdata_get((void **)&c, ADMIN_NOTE, m->pool);
    /* the cache is per main request and per enterprise: a subrequest to
     * a location of another enterprise looks up again */
    if (c && c->done && c->ent && d->enterprise
        && !strcmp(c->ent, d->enterprise)) {
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
    c->a = NULL;
    c->ent = d->enterprise ? apr_pstrdup(m->pool, d->enterprise) : NULL;
    if (!d->enterprise || !(token = admin_cookie_value(r, hash))) {
        return OK;
    }
    values[0] = d->enterprise;
    values[1] = (const char *)hash;
    res = qw_db_exec(r, QW_STMT_ADMIN_SESSION, 2, values, lengths,
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
    a->pending = PQgetisnull(res, 0, 9) ? NULL
                 : apr_pstrdup(m->pool, PQgetvalue(res, 0, 9));
    a->two_step_optional = !strcmp(PQgetvalue(res, 0, 10), "optional");
    a->enterprise = apr_pstrdup(m->pool, d->enterprise);
    PQclear(res);
    c->a = a;
    *out = a;
    return OK;
}

int qw_admin_required_level(request_rec *r, const qw_admin_session *a)
{
    /* SECURITY-BASELINE: two-step mandatory for admins by default; only
     * an explicit "optional" in the enterprise's settings lowers it */
    return a && a->two_step_optional ? 1 : 2;
}

int qw_admin_usable(request_rec *r, const qw_admin_session *a)
{
    return a && !a->pending && a->auth_level >= qw_admin_required_level(r, a)
           && a->enterprise && qw_dir(r)->enterprise
           && !strcmp(a->enterprise, qw_dir(r)->enterprise);
}

int qw_admin_may(const qw_admin_session *a, const char *m)
{
    if (!a || !m) {
        return 0;
    }
    return a->is_super || qw_modules_has(a->modules, m);
}

/* One failure: the log line fail2ban matches (QW1002), the address
 * counter, an audit row; at the lock, the bound member is reminded (kind
 * 'failed', NOTIFY) in the same transaction. */
static int login_failed(request_rec *r, const char *account,
                        int64_t eid_known, int64_t aid, int64_t bound,
                        int failures)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_store st;
    qw_status rc;
    int64_t eid = eid_known;
    int locked = qw_throttle_admin.lock_after
                 && failures == qw_throttle_admin.lock_after;

    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW1002: admin login failed for account \"%s\" of "
                  "enterprise %s from %s%s",
                  account ? ap_escape_logitem(r->pool, account) : "-",
                  d->enterprise, r->useragent_ip, "");
    qw_throttle_addr_fail(r);
    qw_admin_store(r, &st, NULL);
    if (!st.db || !st.keys) {
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
    if ((rc = qw_store_begin(&st)) != QW_OK) {
        goto fail;
    }
    /* only a well-formed account name goes into the log: a password typed
     * into the account field must not */
    rc = qw_audit_append(&st, eid, "auth", "admin-login",
                         account ? apr_pstrcat(r->pool, "admin:", account,
                                               NULL) : NULL,
                         "failure", "bad credentials", NULL);
    if (rc == QW_OK && locked && account) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1008: admin account \"%s\" of %s locked for %d s "
                      "after %d failures", ap_escape_logitem(r->pool,
                      account), d->enterprise, qw_throttle_admin.lock_secs,
                      failures);
        rc = qw_audit_append(&st, eid, "auth", "admin-locked",
                             apr_pstrcat(r->pool, "admin:", account, NULL),
                             "refused", apr_psprintf(r->pool, "%d failures",
                                                     failures),
                             qw_json_text(r->pool, json_pack(
                                 "{s:i, s:b}", "lock_seconds",
                                 qw_throttle_admin.lock_secs,
                                 "reminder", bound != 0)));
        if (rc == QW_OK && bound) {
            rc = qw_login_reminder_add(&st, eid, bound, aid, account,
                                       "failed");
        }
    }
    if (rc == QW_OK) {
        rc = qw_store_commit(&st);
    }
    if (rc != QW_OK) {
        goto fail;
    }
    return HTTP_UNAUTHORIZED;

fail:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1003: cannot log a failed admin login: %s",
                  st.err ? st.err : qw_status_name(rc));
    qw_store_rollback(&st);
    return HTTP_SERVICE_UNAVAILABLE;
}

/* What an admin still owes after `level` (1: password; 2: also TOTP):
 * "totp" when enrolled and not given, "expired" when the password is older
 * than the policy allows, "enrol" when two-step is required and not set
 * up, else NULL.  *err set on a database error. */
static const char *admin_next_step(request_rec *r, qw_store *st,
                                   int64_t eid, int64_t aid, int level,
                                   int *err)
{
    const char *p[2];
    PGresult *res;
    qw_pwpolicy pol;
    qw_status rc;
    int enrolled, optional;
    double age;

    *err = 0;
    if (qw_admin_policy_of(st, eid, &pol) != QW_OK) {
        *err = 1;
        return NULL;
    }
    p[0] = qw_i64(r->pool, eid);
    p[1] = qw_i64(r->pool, aid);
    res = qw_store_exec(st,
        "SELECT coalesce((SELECT t.enabled FROM admin_totp t"
        "                  WHERE t.enterprise_id = a.enterprise_id"
        "                    AND t.admin_id = a.admin_id), false),"
        "       coalesce(e.settings->>'admin_two_step', '') = 'optional',"
        "       coalesce(extract(epoch FROM now() - a.password_changed_at)"
        "                / 86400, 0)"
        "  FROM admin_accounts a JOIN enterprises e"
        "    ON e.enterprise_id = a.enterprise_id"
        " WHERE a.enterprise_id = $1 AND a.admin_id = $2", 2, p, &rc);
    if (!res || PQntuples(res) != 1) {
        if (res) {
            PQclear(res);
        }
        *err = 1;
        return NULL;
    }
    enrolled = !strcmp(PQgetvalue(res, 0, 0), "t");
    optional = !strcmp(PQgetvalue(res, 0, 1), "t");
    age = atof(PQgetvalue(res, 0, 2));
    PQclear(res);
    if (enrolled && level < 2) {
        return "totp";
    }
    if (pol.max_age_days > 0 && age > pol.max_age_days) {
        return "expired";
    }
    if (!enrolled && !optional) {
        return "enrol";
    }
    return NULL;
}

int qw_admin_login(request_rec *r, const char *account, const char *pw,
                   size_t pwlen, const char **token_out,
                   const char **pending_out)
{
    qw_dir_cfg *d = qw_dir(r);
    const char *values[2], *encoded = NULL, *status = NULL, *token;
    const char *p[9];
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    unsigned char old[QW_TOKEN_HASH_LEN];
    int64_t eid = 0, aid = 0, bound = 0;
    qw_admin_session who;
    PGresult *res;
    qw_store st;
    qw_status rc;
    int ok, trc, failures = 0, err;
    const char *pending;

    *token_out = NULL;
    *pending_out = NULL;
    if (account) {
        account = qw_ascii_lower(r->pool, account);
        if (!qw_valid_account(account)) {
            account = NULL;
        }
    }
    /* per account, before any hashing; unknown and malformed accounts are
     * counted exactly like real ones (the same answer for every reason) */
    trc = qw_throttle_account_hit(r, d->enterprise,
                                  account ? account : "-",
                                  QW_THROTTLE_ADMIN_PASSWORD,
                                  &qw_throttle_admin, &failures);
    if (trc != OK) {
        return trc;
    }
    if (account && pw && pwlen <= QW_PW_MAX_LEN) {
        values[0] = d->enterprise;
        values[1] = account;
        res = qw_db_exec(r, QW_STMT_ADMIN_LOGIN, 2, values, NULL,
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
        return login_failed(r, account, eid, aid, bound, failures);
    }
    qw_throttle_account_clear(r, d->enterprise, account,
                              QW_THROTTLE_ADMIN_PASSWORD);

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
    pending = admin_next_step(r, &st, eid, aid, 1, &err);
    if (err) {
        goto fail;
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
    p[4] = apr_itoa(r->pool, pending ? ADMIN_PENDING_SECS
                                     : QW_ADMIN_MAX_AGE);
    p[5] = r->useragent_ip;
    p[6] = st.who.user_agent;
    p[7] = pending;
    res = qw_store_exec(&st, "WITH gc AS (DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND admin_id = $3 AND "
                        "(expires_at < now() OR last_seen_at + "
                        "make_interval(secs => idle_seconds) < now())) "
                        "INSERT INTO admin_sessions (enterprise_id, "
                        "token_hash, admin_id, auth_level, idle_seconds, "
                        "expires_at, source_ip, user_agent, pending) VALUES "
                        "($1, $2::bytea, $3, 1, $4, now() + make_interval("
                        "secs => $5::int), $6, $7, $8)", 8, p, &rc);
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
                              qw_json_text(r->pool, json_pack(
                                  "{s:b, s:s?}", "reminder", bound != 0,
                                  "pending", pending)))) != QW_OK
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
    *pending_out = pending;
    return OK;

fail:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1005: admin login of %s could not be recorded: %s",
                  account, st.err ? st.err : "database error");
    qw_store_rollback(&st);
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
    if (!st.db || !st.keys || qw_store_begin(&st) != QW_OK) {
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

static int admin_form(request_rec *r, int status, const char *msg,
                      const char *next)
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
        qw_csrf_make(r->pool, key, "admin-login", binding), "\">",
        next ? "<input type=\"hidden\" name=\"next\" value=\"" : "",
        next ? qw_escape_html(r->pool, next) : "", next ? "\">" : "",
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

static const char *step_next(request_rec *r, apr_table_t *form);
static const char *step_location(request_rec *r, const char *pending,
                                 const char *next);

int qw_handle_admin_login(request_rec *r)
{
    apr_table_t *form;
    const char *account, *pw, *token, *pending;
    int rc;

    if (r->method_number == M_GET) {
        return admin_form(r, HTTP_OK, NULL, step_next(r, NULL));
    }
    if (r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    /* per address, before the body is read */
    if (qw_throttle_addr_check(r) != OK) {
        return OK;                      /* the 429 page was sent */
    }
    if ((rc = qw_read_form(r, &form)) != OK) {
        return rc;
    }
    if (!qw_csrf_ok(r, form, "admin-login", qw_csrf_cookie(r, 0))) {
        return admin_form(r, HTTP_FORBIDDEN,
                          qw_str(qw_request_lang(r), QW_S_FORM_EXPIRED),
                          step_next(r, form));
    }
    account = apr_table_get(form, "account");
    pw = apr_table_get(form, "password");
    rc = qw_admin_login(r, account, pw, pw ? strlen(pw) : 0, &token,
                        &pending);
    if (rc == HTTP_TOO_MANY_REQUESTS) {
        return OK;                      /* the 429 page was sent */
    }
    if (rc == HTTP_UNAUTHORIZED) {
        return admin_form(r, HTTP_UNAUTHORIZED,
                          qw_str(qw_request_lang(r), QW_S_LOGIN_FAILED),
                          step_next(r, form));
    }
    if (rc != OK) {
        return rc == HTTP_SERVICE_UNAVAILABLE ? qw_unavailable(r) : rc;
    }
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  qw_admin_cookie(r, token));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    /* a step still owed has its page (<handler>/admin-twostep, ...);
     * then next, else the console's <handler>/api/v1/session */
    apr_table_setn(r->headers_out, "Location",
                   step_location(r, pending, step_next(r, form)));
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
    /* a session of another enterprise (the cookie name is shared by every
     * location of the host) or one that still owes a step is none */
    if (!a->enterprise || !qw_dir(r)->enterprise
        || strcmp(a->enterprise, qw_dir(r)->enterprise)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1009: admin session of %s presented to a location "
                      "of %s", a->enterprise ? a->enterprise : "-",
                      qw_dir(r)->enterprise ? qw_dir(r)->enterprise : "-");
        return AUTHZ_DENIED_NO_USER;
    }
    if (!qw_admin_usable(r, a)) {
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
    qw_db_register_statement(QW_STMT_ADMIN_SESSION, sql_admin_session,
                             QW_DB_IDEMPOTENT);
    qw_db_register_statement(QW_STMT_ADMIN_LOGIN, sql_admin_login,
                             QW_DB_IDEMPOTENT);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "qiwei-admin",
                              AUTHZ_PROVIDER_VERSION, &admin_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}

/* ---- the steps of a pending session (JSON, under <api>/session/) ---- */

json_t *qw_admin_session_json(qw_api *a)
{
    qw_admin_session *s = a->admin;
    int required = qw_admin_required_level(a->r, s);

    return json_pack("{s:{s:s, s:b, s:o, s:i, s:s?}, s:i, s:b, s:s, s:s}",
                     "admin", "account", s->account,
                     "super", s->is_super,
                     "modules", qw_api_csv_array(s->modules),
                     "auth_level", s->auth_level,
                     "pending", s->pending,
                     "required_level", required,
                     "usable", !s->pending && s->auth_level >= required,
                     "csrf", qw_csrf_make(a->r->pool, qw_csrf_key(),
                                          QW_API_CSRF_PURPOSE, s->token),
                     "csrf_header", QW_API_CSRF_HEADER);
}

/* In the caller's transaction: a new token for the same session row at
 * `level` owing `pending`; the cookie is set and s updated.  The old token
 * stops working (ASVS: new session id after every step-up). */
static qw_status admin_rotate(request_rec *r, qw_store *st,
                              qw_admin_session *s, int level,
                              const char *pending)
{
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    const char *p[7], *token;
    PGresult *res;
    qw_status rc;
    int n;

    token = qw_token_new(r->pool, raw, sizeof(raw));
    if (!token) {
        return QW_ERR_CRYPTO;
    }
    qw_token_hash(raw, sizeof(raw), hash);
    OPENSSL_cleanse(raw, sizeof(raw));
    p[0] = qw_i64(r->pool, s->enterprise_id);
    p[1] = qw_i64(r->pool, s->session_id);
    p[2] = qw_store_bytea(r->pool, hash, sizeof(hash));
    p[3] = apr_itoa(r->pool, level);
    p[4] = pending;
    p[5] = apr_itoa(r->pool, QW_ADMIN_MAX_AGE);
    p[6] = apr_itoa(r->pool, ADMIN_PENDING_SECS);
    res = qw_store_exec(st, "UPDATE admin_sessions SET token_hash = "
                        "$3::bytea, auth_level = $4::smallint, pending = $5,"
                        " last_seen_at = now(), expires_at = CASE WHEN "
                        "$5::text IS NULL THEN created_at + make_interval("
                        "secs => $6::int) ELSE least(expires_at, now() + "
                        "make_interval(secs => $7::int)) END"
                        " WHERE enterprise_id = $1 AND session_id = $2"
                        " RETURNING 1", 7, p, &rc);
    if (!res) {
        return rc;
    }
    n = PQntuples(res);
    PQclear(res);
    if (n != 1) {
        return QW_ERR_NOTFOUND;
    }
    s->token = token;
    s->auth_level = level;
    s->pending = pending;
    apr_table_add(r->err_headers_out, "Set-Cookie", qw_admin_cookie(r, token));
    return QW_OK;
}

/* 1 accepted (the step consumed when enabled), 0 wrong, -2 reused, -1
 * error; *step_out the matched step. */
static int admin_verify_code(request_rec *r, qw_store *st,
                             const qw_admin_session *s, const char *text,
                             int enabled_only, int64_t *step_out)
{
    unsigned char *secret;
    size_t n;
    int enabled;
    int64_t last, step;
    long code;
    qw_status rc;

    if (!text || qw_otp_parse(text, strlen(text), QW_TOTP_DIGITS,
                              &code) != 0) {
        return 0;
    }
    rc = qw_admin_totp_get(st, s->enterprise_id, s->admin_id, &secret, &n,
                           &enabled, &last);
    if (rc == QW_ERR_NOTFOUND) {
        return 0;
    }
    if (rc != QW_OK) {
        return -1;
    }
    if (enabled != enabled_only) {
        OPENSSL_cleanse(secret, n);
        return 0;
    }
    /* match without the replay guard first, to tell a reuse apart */
    step = qw_totp_match(secret, n, code, (int64_t)apr_time_sec(
                         apr_time_now()), -1, QW_TOTP_WINDOW, QW_TOTP_STEP,
                         QW_TOTP_DIGITS);
    OPENSSL_cleanse(secret, n);
    if (step < 0) {
        return 0;
    }
    *step_out = step;
    if (step <= last) {
        return -2;
    }
    if (!enabled) {
        return 1;                       /* enabling consumes it */
    }
    rc = qw_admin_totp_use_step(st, s->enterprise_id, s->admin_id, step);
    if (rc == QW_ERR_CONFLICT) {
        return -2;                      /* raced with another use */
    }
    return rc == QW_OK ? 1 : -1;
}

static const char *admin_obj(request_rec *r, const qw_admin_session *s)
{
    return apr_psprintf(r->pool, "admin:%" APR_INT64_T_FMT " %s",
                        s->admin_id, s->account);
}

/* A reused code means someone else saw it: log loudly, keep an audit row
 * and remind the bound member (kind totp_reuse, NOTIFY), as for logins to
 * the account, in one transaction. */
static void admin_replay_noted(request_rec *r, qw_store *st,
                               const qw_admin_session *s)
{
    int64_t bound = s->bound_member_id;
    qw_status rc;

    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "QW1011: admin two-step code reused for account "
                  "\"%s\" of %s from %s", ap_escape_logitem(r->pool,
                  s->account), s->enterprise, r->useragent_ip);
    if ((rc = qw_store_begin(st)) == QW_OK
        && (rc = qw_audit_append(st, s->enterprise_id, "auth",
                                 "admin-two-step-replay", admin_obj(r, s),
                                 "refused", "code reused",
                                 bound ? "{\"reminder\": true}"
                                       : "{\"reminder\": false}")) == QW_OK
        && (!bound
            || (rc = qw_login_reminder_add(st, s->enterprise_id, bound,
                                           s->admin_id, s->account,
                                           "totp_reuse")) == QW_OK)
        && (rc = qw_store_commit(st)) == QW_OK) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1015: reused two-step code of admin %s of %s could not"
                  " be recorded: %s", s->account, s->enterprise,
                  st->err ? st->err : qw_status_name(rc));
    qw_store_rollback(st);
}

/* A database error in a step: logged, rolled back; 503 for the caller. */
static int step_failed(request_rec *r, qw_store *st,
                       const qw_admin_session *s, const char *what)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1013: admin %s of %s: %s", what, s->account,
                  st->err ? st->err : "database error");
    qw_store_rollback(st);
    return HTTP_SERVICE_UNAVAILABLE;
}

/* The code (or a recovery code) of a session owing "totp", for the API
 * and the page: OK (token rotated, s updated), HTTP_TOO_MANY_REQUESTS
 * (the 429 was sent), HTTP_UNAUTHORIZED (wrong, reused, outside the
 * window) or HTTP_SERVICE_UNAVAILABLE. */
static int do_totp(request_rec *r, qw_store *st, qw_admin_session *s,
                   const char *code, const char *rec)
{
    const char *next;
    int v, n = 0, err;
    int64_t step = -1;
    qw_status rc;

    /* TOTP failures are counted on their own (admin_totp), before any
     * secret is opened */
    v = qw_throttle_account_hit(r, s->enterprise, s->account,
                                QW_THROTTLE_ADMIN_TOTP, &qw_throttle_admin,
                                &n);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return v;
    }
    if (v != OK) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (code && *code) {
        v = admin_verify_code(r, st, s, code, 1, &step);
    }
    else if (rec && *rec) {
        rc = qw_admin_recovery_use(st, s->enterprise_id, s->admin_id, rec);
        v = rc == QW_OK ? 1 : rc == QW_ERR_NOTFOUND ? 0 : -1;
    }
    else {
        v = 0;
    }
    if (v == -1) {
        return step_failed(r, st, s, "two-step check");
    }
    if (v != 1) {
        if (v == -2) {
            admin_replay_noted(r, st, s);
        }
        /* QW1010: matched by fail2ban like QW1002 */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1010: admin two-step verification failed for "
                      "account \"%s\" of enterprise %s from %s",
                      ap_escape_logitem(r->pool, s->account), s->enterprise,
                      r->useragent_ip);
        qw_throttle_addr_fail(r);
        return HTTP_UNAUTHORIZED;
    }
    qw_throttle_account_clear(r, s->enterprise, s->account,
                              QW_THROTTLE_ADMIN_TOTP);
    next = admin_next_step(r, st, s->enterprise_id, s->admin_id, 2, &err);
    if (err || qw_store_begin(st) != QW_OK
        || admin_rotate(r, st, s, 2, next) != QW_OK
        || qw_audit_append(st, s->enterprise_id, "auth", "admin-two-step",
                           admin_obj(r, s), "success",
                           code && *code ? NULL : "recovery code",
                           NULL) != QW_OK
        || qw_store_commit(st) != QW_OK) {
        return step_failed(r, st, s, "two-step success");
    }
    return OK;
}

static int step_totp(qw_api *a, qw_store *st)
{
    qw_admin_session *s = a->admin;
    const char *code = NULL, *rec = NULL;
    int done = OK, v;

    if (!s->pending || strcmp(s->pending, "totp")) {
        return qw_api_error(a, HTTP_CONFLICT, NULL,
                            "no two-step code is owed");
    }
    if (qw_api_read_body(a, &done)
        || qw_api_str(a, "code", 0, &code, &done)
        || qw_api_str(a, "recovery_code", 0, &rec, &done)) {
        return done;
    }
    v = do_totp(a->r, st, s, code, rec);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return OK;                      /* the JSON 429 was sent */
    }
    if (v == HTTP_UNAUTHORIZED) {
        return qw_api_error(a, HTTP_UNAUTHORIZED, "code", "wrong code");
    }
    if (v != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    return qw_api_json(a, HTTP_OK, qw_admin_session_json(a));
}

/* Who may enrol: a session that owes the enrolment, or a usable one (an
 * admin of an enterprise where it is optional). */
static int may_enrol(request_rec *r, const qw_admin_session *s)
{
    return s->pending ? !strcmp(s->pending, "enrol") : qw_admin_usable(r, s);
}

/* A new secret (not on yet): OK with its base32 text, otpauth URI and QR
 * code (SVG), HTTP_CONFLICT when two-step is already on, or 503. */
static int do_setup_begin(request_rec *r, qw_store *st,
                          const qw_admin_session *s, const char **b32,
                          const char **uri, const char **svg)
{
    unsigned char secret[QW_TOTP_SECRET_BYTES];
    qw_status rc;

    if (qw_random(secret, sizeof(secret)) != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    rc = qw_admin_totp_begin(st, s->enterprise_id, s->admin_id, secret,
                             sizeof(secret));
    *b32 = qw_base32_encode(r->pool, secret, sizeof(secret));
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc == QW_ERR_CONFLICT) {
        return HTTP_CONFLICT;
    }
    if (rc != QW_OK) {
        return step_failed(r, st, s, "two-step enrolment");
    }
    *uri = qw_totp_uri(r->pool, apr_pstrcat(r->pool, "Qiwei admin ",
                                            s->enterprise, NULL),
                       s->account, *b32);
    *svg = qw_qr_svg(r->pool, *uri, 220, NULL);
    return OK;
}

/* Confirm the enrolment with one valid code: OK (on, token rotated,
 * *codes the recovery codes to show once), HTTP_BAD_REQUEST (wrong code)
 * or 503. */
static int do_setup_confirm(request_rec *r, qw_store *st,
                            qw_admin_session *s, const char *code,
                            apr_array_header_t **codes)
{
    const char *next;
    int v, err;
    int64_t step = -1;

    v = admin_verify_code(r, st, s, code, 0, &step);
    if (v == -1) {
        return step_failed(r, st, s, "two-step enrolment");
    }
    if (v != 1) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1012: admin two-step enrolment code refused for "
                      "account \"%s\" of %s", s->account, s->enterprise);
        return HTTP_BAD_REQUEST;
    }
    if (qw_store_begin(st) != QW_OK
        || qw_admin_totp_enable(st, s->enterprise_id, s->admin_id, step,
                                ADMIN_RECOVERY_CODES, s->session_id,
                                codes) != QW_OK) {
        return step_failed(r, st, s, "two-step enrolment");
    }
    next = admin_next_step(r, st, s->enterprise_id, s->admin_id, 2, &err);
    if (err || admin_rotate(r, st, s, 2, next) != QW_OK
        || qw_store_commit(st) != QW_OK) {
        return step_failed(r, st, s, "two-step enrolment");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1014: two-step verification on for admin %s of %s",
                  s->account, s->enterprise);
    return OK;
}

static int step_setup(qw_api *a, qw_store *st)
{
    request_rec *r = a->r;
    qw_admin_session *s = a->admin;
    const char *code = NULL;
    int done = OK, v, i;
    apr_array_header_t *codes;
    json_t *list, *body;

    if (!may_enrol(r, s)) {
        return qw_api_error(a, HTTP_FORBIDDEN, "pending",
                            "finish the pending step first");
    }
    if (r->method_number == M_GET) {
        const char *b32, *uri, *svg;

        v = do_setup_begin(r, st, s, &b32, &uri, &svg);
        if (v == HTTP_CONFLICT) {
            return qw_api_error(a, HTTP_CONFLICT, NULL,
                                "two-step verification is already on");
        }
        if (v != OK) {
            return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                "service unavailable");
        }
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:s, s:s, s:s?}", "secret", b32,
                                     "otpauth_uri", uri, "qr_svg", svg));
    }
    if (r->method_number != M_POST) {
        return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                            "method not allowed");
    }
    if (qw_api_read_body(a, &done)
        || qw_api_str(a, "code", 1, &code, &done)) {
        return done;
    }
    v = do_setup_confirm(r, st, s, code, &codes);
    if (v == HTTP_BAD_REQUEST) {
        return qw_api_error(a, HTTP_BAD_REQUEST, "code", "wrong code");
    }
    if (v != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    list = json_array();
    for (i = 0; i < codes->nelts; i++) {
        json_array_append_new(list, json_string(APR_ARRAY_IDX(codes, i,
                                                              const char *)));
    }
    body = qw_admin_session_json(a);
    json_object_set_new(body, "recovery_codes", list);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return qw_api_json(a, HTTP_OK, body);
}

static int may_change_password(request_rec *r, const qw_admin_session *s)
{
    return s->pending ? !strcmp(s->pending, "expired")
                      : qw_admin_usable(r, s);
}

/* Change the password (current one asked): OK (token rotated),
 * HTTP_TOO_MANY_REQUESTS (the 429 was sent), HTTP_UNAUTHORIZED (wrong
 * current password), HTTP_BAD_REQUEST (*why: the policy's reason) or
 * 503. */
static int do_password(request_rec *r, qw_store *st, qw_admin_session *s,
                       const char *cur, const char *pw, const char **why)
{
    const char *p[2], *next;
    char *encoded = NULL, *hash;
    PGresult *res;
    qw_status rc;
    int v, ok, err;

    *why = NULL;
    /* the current password is a password guess like a login's */
    v = qw_throttle_account_hit(r, s->enterprise, s->account,
                                QW_THROTTLE_ADMIN_PASSWORD,
                                &qw_throttle_admin, NULL);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return v;
    }
    if (v != OK) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    p[0] = qw_i64(r->pool, s->enterprise_id);
    p[1] = qw_i64(r->pool, s->admin_id);
    res = qw_store_exec(st, "SELECT password_hash FROM admin_accounts WHERE"
                        " enterprise_id = $1 AND admin_id = $2", 2, p, &rc);
    if (!res) {
        return step_failed(r, st, s, "password change");
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        encoded = apr_pstrdup(r->pool, PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    if (strlen(cur) > QW_PW_MAX_LEN
        || qw_pw_slot_acquire(r) != APR_SUCCESS) {
        return HTTP_UNAUTHORIZED;
    }
    ok = qw_pw_verify(encoded, cur, strlen(cur), &qw_pw_cfg);
    qw_pw_slot_release();
    if (!ok) {
        /* QW1002's words: the same fail2ban line as a failed login */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1002: admin login failed for account \"%s\" of "
                      "enterprise %s from %s%s",
                      ap_escape_logitem(r->pool, s->account), s->enterprise,
                      r->useragent_ip, " (password change)");
        qw_throttle_addr_fail(r);
        (void)qw_audit_note(st, s->enterprise_id, "auth",
                            "admin_password_change", admin_obj(r, s),
                            "failure", "wrong current password", NULL);
        return HTTP_UNAUTHORIZED;
    }
    qw_throttle_account_clear(r, s->enterprise, s->account,
                              QW_THROTTLE_ADMIN_PASSWORD);
    qw_admin_blocklist_set(qw_sec_blocklist());
    rc = qw_admin_password_check(st, s->enterprise_id, s->admin_id,
                                 s->account, pw, strlen(pw));
    if (rc == QW_ERR_INVALID) {
        *why = st->err ? st->err : "password refused";
        return HTTP_BAD_REQUEST;
    }
    if (rc != QW_OK) {
        return step_failed(r, st, s, "password change");
    }
    if (qw_pw_slot_acquire(r) != APR_SUCCESS) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    hash = qw_pw_hash(r->pool, pw, strlen(pw), &qw_pw_cfg);
    qw_pw_slot_release();
    if (!hash) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (qw_store_begin(st) != QW_OK
        || qw_admin_password_store(st, s->enterprise_id, s->admin_id, hash,
                                   s->session_id, admin_obj(r, s)) != QW_OK) {
        return step_failed(r, st, s, "password change");
    }
    next = admin_next_step(r, st, s->enterprise_id, s->admin_id,
                           s->auth_level, &err);
    if (err || admin_rotate(r, st, s, s->auth_level, next) != QW_OK
        || qw_store_commit(st) != QW_OK) {
        return step_failed(r, st, s, "password change");
    }
    return OK;
}

static int step_password(qw_api *a, qw_store *st)
{
    request_rec *r = a->r;
    qw_admin_session *s = a->admin;
    const char *cur = NULL, *pw = NULL, *why;
    int done = OK, v;

    if (!may_change_password(r, s)) {
        return qw_api_error(a, HTTP_FORBIDDEN, "pending",
                            "finish the pending step first");
    }
    if (r->method_number != M_POST) {
        return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                            "method not allowed");
    }
    if (qw_api_read_body(a, &done)
        || qw_api_str(a, "current_password", 1, &cur, &done)
        || qw_api_str(a, "new_password", 1, &pw, &done)) {
        return done;
    }
    v = do_password(r, st, s, cur, pw, &why);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return OK;                      /* the JSON 429 was sent */
    }
    if (v == HTTP_UNAUTHORIZED) {
        return qw_api_error(a, HTTP_UNAUTHORIZED, "current_password",
                            "wrong password");
    }
    if (v == HTTP_BAD_REQUEST) {
        return qw_api_error(a, HTTP_BAD_REQUEST, "new_password", why);
    }
    if (v != OK) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    return qw_api_json(a, HTTP_OK, qw_admin_session_json(a));
}

int qw_admin_api_step(qw_api *a, const char *step)
{
    qw_store *st = &a->st;

    qw_admin_store(a->r, st, a->admin);
    if (!st->db || !st->keys) {
        return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                            "service unavailable");
    }
    if (!strcmp(step, "totp")) {
        return step_totp(a, st);
    }
    if (!strcmp(step, "totp-setup")) {
        return step_setup(a, st);
    }
    if (!strcmp(step, "password")) {
        return step_password(a, st);
    }
    return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
}

/* ---- the steps as pages, for the form login ----
 *
 * <handler>/admin-twostep (code or recovery code), admin-twostep-setup
 * (QR code, secret, one code to confirm; the recovery codes shown once),
 * admin-password (forced change).  The same work as the JSON steps above
 * (do_totp, do_setup_*, do_password); CSRF bound to the admin session's
 * token, which every step rotates.  `next` (a local path) is carried from
 * the login form to the page the admin wanted. */

#define ADMIN_STEP_CSRF "admin-step"

static const char *step_next(request_rec *r, apr_table_t *form)
{
    const char *n = form ? apr_table_get(form, "next") : NULL;

    if (!n && r->args) {
        apr_table_t *args;
        ap_args_to_table(r, &args);
        n = apr_table_get(args, "next");
    }
    return n && qw_safe_local_path(n) ? n : NULL;
}

/* Where a login goes once it owes `pending` (NULL: nothing): the page of
 * that step, else next, else the console's session resource. */
static const char *step_location(request_rec *r, const char *pending,
                                 const char *next)
{
    const char *base = ap_make_dirstr_parent(r->pool, r->uri);
    const char *page;

    if (!pending) {
        return next ? next : apr_pstrcat(r->pool, base, "api/v1/session",
                                         NULL);
    }
    page = !strcmp(pending, "totp") ? "admin-twostep"
           : !strcmp(pending, "enrol") ? "admin-twostep-setup"
           : "admin-password";
    return apr_pstrcat(r->pool, base, page, next ? "?next=" : "",
                       next ? qw_escape_urlc(r->pool, next) : "", NULL);
}

static int step_redirect(request_rec *r, const char *pending,
                         const char *next)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location",
                   step_location(r, pending, next));
    return HTTP_SEE_OTHER;
}

/* A page with a form posting back to itself: message, intro HTML, the
 * fields, the CSRF and next fields. */
static int step_page(request_rec *r, int status, const qw_admin_session *s,
                     const char *next, const char *msg, const char *intro,
                     const char *fields, const char *button)
{
    qw_lang lang = qw_request_lang(r);
    const char *title = qw_str(lang, QW_S_TWOSTEP_TITLE);
    const char *nonce = qw_page_nonce(r);

    if (!qw_csrf_key() || !nonce) {
        return qw_unavailable(r);
    }
    if (s->pending && !strcmp(s->pending, "expired")) {
        title = qw_str(lang, QW_S_PW_CHANGE_TITLE);
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return qw_page_send(r, status, lang, nonce, title, apr_pstrcat(r->pool,
        "<h1>", title, "</h1>",
        msg ? "<p class=\"msg\" role=\"alert\">" : "",
        msg ? qw_escape_html(r->pool, msg) : "", msg ? "</p>" : "",
        intro ? intro : "",
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"",
        qw_csrf_make(r->pool, qw_csrf_key(), ADMIN_STEP_CSRF, s->token),
        "\">", next ? "<input type=\"hidden\" name=\"next\" value=\"" : "",
        next ? qw_escape_html(r->pool, next) : "", next ? "\">" : "",
        fields, "<button type=\"submit\">", button, "</button></form>",
        NULL));
}

static int page_totp(request_rec *r, qw_store *st, qw_admin_session *s,
                     apr_table_t *form, const char *next)
{
    qw_lang lang = qw_request_lang(r);
    const char *fields = apr_pstrcat(r->pool,
        "<label for=\"code\">", qw_str(lang, QW_S_TWOSTEP_CODE), "</label>"
        "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\""
        " autocomplete=\"one-time-code\" maxlength=\"16\" autofocus>"
        "<label for=\"recovery\">", qw_str(lang, QW_S_TWOSTEP_RECOVERY),
        "</label><input type=\"text\" id=\"recovery\" name=\"recovery\" "
        "autocomplete=\"off\" maxlength=\"32\">", NULL);
    const char *intro = apr_pstrcat(r->pool, "<p class=\"hint\">",
                                    qw_str(lang, QW_S_TWOSTEP_PROMPT),
                                    "</p>", NULL);
    int v;

    if (!form) {
        return step_page(r, HTTP_OK, s, next, NULL, intro, fields,
                         qw_str(lang, QW_S_TWOSTEP_VERIFY));
    }
    v = do_totp(r, st, s, apr_table_get(form, "code"),
                apr_table_get(form, "recovery"));
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return OK;                      /* the 429 page was sent */
    }
    if (v == HTTP_UNAUTHORIZED) {
        return step_page(r, HTTP_UNAUTHORIZED, s, next,
                         qw_str(lang, QW_S_TWOSTEP_FAILED), intro, fields,
                         qw_str(lang, QW_S_TWOSTEP_VERIFY));
    }
    if (v != OK) {
        return qw_unavailable(r);
    }
    return step_redirect(r, s->pending, next);
}

static int send_setup_page(request_rec *r, int status,
                           const qw_admin_session *s, const char *next,
                           const char *b32, const char *msg)
{
    qw_lang lang = qw_request_lang(r);
    const char *uri, *svg;

    uri = qw_totp_uri(r->pool, apr_pstrcat(r->pool, "Qiwei admin ",
                                           s->enterprise, NULL),
                      s->account, b32);
    svg = qw_qr_svg(r->pool, uri, 220, NULL);
    if (!svg) {
        return qw_unavailable(r);
    }
    return step_page(r, status, s, next, msg, apr_pstrcat(r->pool,
        s->pending ? "<p class=\"msg\">" : "",
        s->pending ? qw_str(lang, QW_S_TWOSTEP_REQUIRED) : "",
        s->pending ? "</p>" : "",
        "<p class=\"hint\">", qw_str(lang, QW_S_TWOSTEP_SETUP_INTRO), "</p>"
        "<p id=\"qr\">", svg, "</p>"
        "<p class=\"hint\">", qw_str(lang, QW_S_TWOSTEP_SECRET),
        " <code id=\"secret\">", b32, "</code></p>", NULL),
        apr_pstrcat(r->pool, "<label for=\"code\">",
                    qw_str(lang, QW_S_TWOSTEP_CODE), "</label>"
                    "<input type=\"text\" id=\"code\" name=\"code\" "
                    "inputmode=\"numeric\" autocomplete=\"one-time-code\" "
                    "maxlength=\"16\" required>", NULL),
        qw_str(lang, QW_S_TWOSTEP_VERIFY));
}

static int page_setup(request_rec *r, qw_store *st, qw_admin_session *s,
                      apr_table_t *form, const char *next)
{
    qw_lang lang = qw_request_lang(r);
    apr_array_header_t *codes;
    const char *list = "";
    int v, i;

    if (!form) {
        const char *b32, *uri, *svg;

        v = do_setup_begin(r, st, s, &b32, &uri, &svg);
        if (v == HTTP_CONFLICT) {
            apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
            return qw_page_send(r, HTTP_OK, lang, qw_page_nonce(r),
                qw_str(lang, QW_S_TWOSTEP_TITLE), apr_pstrcat(r->pool,
                "<h1>", qw_str(lang, QW_S_TWOSTEP_TITLE), "</h1>"
                "<p class=\"msg ok\">", qw_str(lang, QW_S_TWOSTEP_ALREADY),
                "</p>", NULL));
        }
        if (v != OK) {
            return qw_unavailable(r);
        }
        return send_setup_page(r, HTTP_OK, s, next, b32, NULL);
    }
    v = do_setup_confirm(r, st, s, apr_table_get(form, "code"), &codes);
    if (v == HTTP_BAD_REQUEST) {
        /* the same secret again, so the app already set up still fits */
        unsigned char *secret;
        size_t n;
        int enabled;
        int64_t last;
        const char *b32;

        if (qw_admin_totp_get(st, s->enterprise_id, s->admin_id, &secret,
                              &n, &enabled, &last) != QW_OK) {
            return qw_unavailable(r);
        }
        b32 = qw_base32_encode(r->pool, secret, n);
        OPENSSL_cleanse(secret, n);
        return send_setup_page(r, HTTP_BAD_REQUEST, s, next, b32,
                               qw_str(lang, QW_S_TWOSTEP_FAILED));
    }
    if (v != OK) {
        return qw_unavailable(r);
    }
    for (i = 0; i < codes->nelts; i++) {
        list = apr_pstrcat(r->pool, list, "<li><code>",
                           APR_ARRAY_IDX(codes, i, const char *),
                           "</code></li>", NULL);
    }
    /* shown once: the codes are stored hashed */
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return qw_page_send(r, HTTP_OK, lang, qw_page_nonce(r),
        qw_str(lang, QW_S_TWOSTEP_TITLE), apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, QW_S_TWOSTEP_TITLE), "</h1>"
        "<p class=\"msg ok\">", qw_str(lang, QW_S_TWOSTEP_ON), "</p>"
        "<ul id=\"recovery-codes\">", list, "</ul>"
        "<p><a id=\"continue\" href=\"",
        qw_escape_html(r->pool, step_location(r, s->pending, next)), "\">",
        qw_str(lang, QW_S_CONTINUE), "</a></p>", NULL));
}

static int page_password(request_rec *r, qw_store *st, qw_admin_session *s,
                         apr_table_t *form, const char *next)
{
    qw_lang lang = qw_request_lang(r);
    const char *fields = apr_pstrcat(r->pool,
        "<label for=\"current\">", qw_str(lang, QW_S_PW_CURRENT), "</label>"
        "<input type=\"password\" id=\"current\" name=\"current\" "
        "autocomplete=\"current-password\" required maxlength=\"1024\">"
        "<label for=\"password\">", qw_str(lang, QW_S_NEW_PASSWORD),
        "</label><input type=\"password\" id=\"password\" name=\"password\""
        " autocomplete=\"new-password\" required maxlength=\"1024\">"
        "<label for=\"password2\">", qw_str(lang, QW_S_REPEAT_PASSWORD),
        "</label><input type=\"password\" id=\"password2\" "
        "name=\"password2\" autocomplete=\"new-password\" required "
        "maxlength=\"1024\">", NULL);
    const char *intro = s->pending
        ? apr_pstrcat(r->pool, "<p class=\"msg\">",
                      qw_str(lang, QW_S_PW_EXPIRED), "</p>", NULL) : NULL;
    const char *button = qw_str(lang, QW_S_PW_CHANGE_TITLE);
    const char *cur, *pw, *pw2, *why;
    int v;

    if (!form) {
        return step_page(r, HTTP_OK, s, next, NULL, intro, fields, button);
    }
    cur = apr_table_get(form, "current");
    pw = apr_table_get(form, "password");
    pw2 = apr_table_get(form, "password2");
    if (!cur || !pw || !pw2 || strcmp(pw, pw2)) {
        return step_page(r, HTTP_BAD_REQUEST, s, next,
                         qw_str(lang, QW_S_ACTIVATE_MISMATCH), intro, fields,
                         button);
    }
    v = do_password(r, st, s, cur, pw, &why);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return OK;                      /* the 429 page was sent */
    }
    if (v == HTTP_UNAUTHORIZED) {
        return step_page(r, HTTP_UNAUTHORIZED, s, next,
                         qw_str(lang, QW_S_PW_CURRENT_WRONG), intro, fields,
                         button);
    }
    if (v == HTTP_BAD_REQUEST) {
        return step_page(r, HTTP_BAD_REQUEST, s, next, why, intro, fields,
                         button);
    }
    if (v != OK) {
        return qw_unavailable(r);
    }
    return step_redirect(r, s->pending, next);
}

int qw_handle_admin_step(request_rec *r, const char *name)
{
    qw_admin_session *s;
    apr_table_t *form = NULL;
    const char *next;
    qw_store st;
    int rc;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    /* per address, before the body is read */
    if (r->method_number == M_POST && qw_throttle_addr_check(r) != OK) {
        return OK;                      /* the 429 page was sent */
    }
    if (qw_admin_resolve(r, &s) != OK) {
        return qw_unavailable(r);
    }
    if (r->method_number == M_POST && (rc = qw_read_form(r, &form)) != OK) {
        return rc;
    }
    next = step_next(r, form);
    if (!s) {
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, ap_make_dirstr_parent(r->pool,
                                   r->uri), "admin-login",
                                   next ? "?next=" : "",
                                   next ? qw_escape_urlc(r->pool, next) : "",
                                   NULL));
        return HTTP_SEE_OTHER;
    }
    /* a session may only do the step it owes (or, usable, enrol or change
     * its password); anything else goes to the page of its step */
    if (!strcmp(name, "admin-twostep")
        ? !(s->pending && !strcmp(s->pending, "totp"))
        : !strcmp(name, "admin-twostep-setup") ? !may_enrol(r, s)
        : !may_change_password(r, s)) {
        return step_redirect(r, s->pending, next);
    }
    if (form && !qw_csrf_ok(r, form, ADMIN_STEP_CSRF, s->token)) {
        return HTTP_FORBIDDEN;
    }
    qw_admin_store(r, &st, s);
    if (!st.db || !st.keys) {
        return qw_unavailable(r);
    }
    if (!strcmp(name, "admin-twostep")) {
        return page_totp(r, &st, s, form, next);
    }
    if (!strcmp(name, "admin-twostep-setup")) {
        return page_setup(r, &st, s, form, next);
    }
    return page_password(r, &st, s, form, next);
}

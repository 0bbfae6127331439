/* Admin sessions: the per-request lookup of the admin cookie (cached per
 * main request), the cookie itself, what a session may do, the
 * step still owed after a login step, and the rotation of the token at
 * every step.
 *
 * Admin sessions live in admin_sessions (sql/004_admin.sql says why), under
 * their own cookie (qiwei_admin, SameSite=Strict: the console is never
 * entered from another site), 15 min idle / 12 h absolute.  A session
 * starts at auth_level 1 with the step it still owes in
 * admin_sessions.pending: "totp" (enrolled admins), "enrol" (two-step
 * required, the default, and not set up), "expired" (password older than
 * the policy's maximum age). */
#include <openssl/crypto.h>
#include "apr_lib.h"
#include "apr_strings.h"
#include "httpd.h"
#include "http_log.h"

#include "qiwei.h"
#include "req.h"
#include "db.h"
#include "cfg/config.h"
#include "util/cookie.h"
#include "util/csrf.h"
#include "util/rights.h"
#include "util/token.h"

#include "handle/admin.h"

#define QW_STMT_ADMIN_SESSION "qw_admin_session"
#define ADMIN_NOTE "qiwei-admin-session"
/* with Max-Age=0, for clients that know only Expires */
#define QW_COOKIE_EPOCH "Expires=Thu, 01 Jan 1970 00:00:00 GMT"

/* From cookie hash to everything an API call needs, in one round trip;
 * last_seen_at is written at most once a minute, as for members.  $1
 * enterprise code, $2 the SHA-256 of the session token (binary).
 * Columns (ADMIN_SESSION_COL_*):
 *   BOUND_MEMBER_ID  0 when the account is bound to no member
 *   MODULES        the modules its roles grant, comma separated
 *   TOUCHED        whether last_seen_at was written (not read: selecting
 *                  it makes PostgreSQL run the touch)
 *   PENDING        NULL, or the step the session still waits for
 *   TWO_STEP       the enterprise's admin_two_step setting ('' if none)
 *   STEP_UP_LEFT   seconds the last step-up still counts (0: none)
 *   IDLE_SECONDS   the session's idle timeout
 *   IDLE_LEFT      seconds until it ends idle, counting this request
 *                  (the full timeout when this request touched it)
 *   EXPIRES_LEFT   seconds until its absolute end */
#define ADMIN_SESSION_COLS(X, L) \
    X(ENTERPRISE_ID, " s.enterprise_id") \
    X(SESSION_ID, " s.session_id") \
    X(ADMIN_ID, " s.admin_id") \
    X(AUTH_LEVEL, " s.auth_level") \
    X(ACCOUNT, "        a.account") \
    X(IS_SUPER, " a.is_super") \
    X(BOUND_MEMBER_ID, " coalesce(a.bound_member_id, 0)") \
    X(MODULES, \
      "  (SELECT coalesce(string_agg(DISTINCT u.m, ',' ORDER BY u.m), '')" \
      "     FROM admin_account_roles ar" \
      "     JOIN admin_roles r ON r.enterprise_id = ar.enterprise_id" \
      "                       AND r.role_id = ar.role_id" \
      "    CROSS JOIN LATERAL unnest(r.modules) AS u(m)" \
      "    WHERE ar.enterprise_id = s.enterprise_id" \
      "      AND ar.admin_id = s.admin_id)") \
    X(TOUCHED, "  (SELECT count(*) FROM touch)") \
    X(PENDING, " s.pending") \
    X(TWO_STEP, " s.two_step") \
    X(STEP_UP_LEFT, \
      "  coalesce(greatest(0, ceil(extract(epoch FROM s.step_up_at" \
      "    + make_interval(secs => " APR_STRINGIFY(QW_ADMIN_STEP_UP) ")" \
      "    - now())))::int, 0)") \
    X(IDLE_SECONDS, " s.idle_seconds") \
    X(IDLE_LEFT, \
      "  CASE WHEN (SELECT count(*) FROM touch) > 0 THEN s.idle_seconds" \
      "  ELSE greatest(0, floor(extract(epoch FROM s.last_seen_at" \
      "    + make_interval(secs => s.idle_seconds) - now())))::int END") \
    L(EXPIRES_LEFT, \
      "  greatest(0, floor(extract(epoch FROM s.expires_at - now())))::int")
#define ADMIN_SESSION_COL_ENUM(name, expr) ADMIN_SESSION_COL_##name,
enum { ADMIN_SESSION_COLS(ADMIN_SESSION_COL_ENUM, ADMIN_SESSION_COL_ENUM) };
static const char sql_admin_session[] =
    "WITH s AS ("
    " SELECT s.enterprise_id, s.session_id, s.admin_id, s.auth_level,"
    "        s.last_seen_at, s.idle_seconds, s.pending, s.step_up_at,"
    "        s.expires_at,"
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
    " SELECT" ADMIN_SESSION_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "   FROM s JOIN admin_accounts a ON a.enterprise_id = s.enterprise_id"
    "                               AND a.admin_id = s.admin_id"
    "  WHERE a.status = 'active'";

/* HTTPS: "__Secure-" (sent only over HTTPS, set only by a secure origin).
 * Not "__Host-": that prefix requires Path=/, and the admin cookie is
 * scoped to the handler's path. */
const char *qw_admin_cookie_name(request_rec *r)
{
    return qw_cookie_is_secure(r) ? "__Secure-" QW_ADMIN_COOKIE
                                  : QW_ADMIN_COOKIE;
}

/* The path of the SetHandler qiwei location the request came to, with a
 * trailing slash: "/qiwei/" for /qiwei/api/v1/session and for
 * /qiwei/admin-login.  The admin pages and the API live there and nowhere
 * else, so the admin cookie is not handed to the pages, back-ends and
 * stored bodies at other paths of the host.  Every byte outside a safe set
 * is percent-encoded: a path must not add attributes to the cookie. */
const char *qw_admin_cookie_path(request_rec *r)
{
    static const char hexd[] = "0123456789ABCDEF";
    const char *u = r->uri ? r->uri : "/";
    const char *api = strstr(u, "/api/v1/");
    const char *slash = api ? api : strrchr(u, '/');
    size_t n = slash ? (size_t)(slash - u) + 1 : 0, i;
    char *out, *o;

    if (n == 0 || u[0] != '/') {
        return "/";
    }
    o = out = apr_palloc(r->pool, 3 * n + 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (apr_isalnum(c) || strchr("/-._~", c)) {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hexd[c >> 4];
            *o++ = hexd[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *qw_admin_cookie(request_rec *r, const char *value)
{
    return apr_psprintf(r->pool, "%s=%s; Path=%s; HttpOnly; SameSite=Strict"
                        "%s%s", qw_admin_cookie_name(r), value ? value : "",
                        qw_admin_cookie_path(r),
                        qw_cookie_is_secure(r) ? "; Secure" : "",
                        value ? "" : "; Max-Age=0; " QW_COOKIE_EPOCH);
}

/* Earlier versions set the admin cookie with Path=/ (and the "__Host-"
 * prefix on HTTPS).  A browser that still holds one would send two
 * cookies of the same name to the handler, which counts as none: remove
 * it at login and logout. */
const char *qw_admin_cookie_legacy_clear(request_rec *r)
{
    int sec = qw_cookie_is_secure(r);

    return apr_psprintf(r->pool, "%s" QW_ADMIN_COOKIE "=; Path=/; HttpOnly;"
                        " SameSite=Strict%s; Max-Age=0; " QW_COOKIE_EPOCH,
                        sec ? "__Host-" : "", sec ? "; Secure" : "");
}

void qw_admin_store(request_rec *r, qw_store *st, const qw_admin_session *a)
{
    (void)qw_db_store(r, st, a ? apr_psprintf(r->pool, "admin:%"
                                              APR_INT64_T_FMT, a->admin_id)
                               : "anonymous",
                      a ? (a->is_super ? "super" : "admin") : NULL);
}

/* Token text of the admin cookie, or NULL (two cookies of that name count
 * as none: cookie tossing). */
const char *qw_admin_cookie_token(request_rec *r, unsigned char *hash)
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
        if (c->a) {
            qw_req_get(r, 1)->admin = 1;    /* Cache-Control: private */
        }
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
    if (!d->enterprise || !(token = qw_admin_cookie_token(r, hash))) {
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
        QW_REASON(r, "QW1001");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW1001: admin session %s... unknown, expired or "
                      "disabled in %s", qw_hex(r->pool, hash, 4),
                      d->enterprise);
        PQclear(res);
        return OK;
    }
    a = apr_pcalloc(m->pool, sizeof(*a));
#define COL(name) PQgetvalue(res, 0, ADMIN_SESSION_COL_##name)
    a->enterprise_id = apr_atoi64(COL(ENTERPRISE_ID));
    a->session_id = apr_atoi64(COL(SESSION_ID));
    a->admin_id = apr_atoi64(COL(ADMIN_ID));
    a->auth_level = atoi(COL(AUTH_LEVEL));
    a->account = apr_pstrdup(m->pool, COL(ACCOUNT));
    a->is_super = !strcmp(COL(IS_SUPER), "t");
    a->bound_member_id = apr_atoi64(COL(BOUND_MEMBER_ID));
    a->modules = a->is_super ? QW_ADMIN_MODULES
                             : apr_pstrdup(m->pool, COL(MODULES));
    a->token = apr_pstrdup(m->pool, token);
    a->pending = PQgetisnull(res, 0, ADMIN_SESSION_COL_PENDING) ? NULL
                 : apr_pstrdup(m->pool, COL(PENDING));
    a->two_step_optional = !strcmp(COL(TWO_STEP), "optional");
    a->step_up_left = atoi(COL(STEP_UP_LEFT));
    a->idle_timeout = atoi(COL(IDLE_SECONDS));
    a->idle_left = atoi(COL(IDLE_LEFT));
    a->expires_left = atoi(COL(EXPIRES_LEFT));
#undef COL
    a->enterprise = apr_pstrdup(m->pool, d->enterprise);
    PQclear(res);
    c->a = a;
    *out = a;
    qw_req_get(r, 1)->admin = 1;            /* Cache-Control: private */
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

json_t *qw_admin_session_json(qw_api *a)
{
    qw_admin_session *s = a->admin;
    int required = qw_admin_required_level(a->r, s);

    return json_pack("{s:{s:s, s:b, s:o, s:i, s:s?}, s:i, s:b, s:s, s:s,"
                     " s:i, s:i, s:i, s:i}",
                     "admin", "account", s->account,
                     "super", s->is_super,
                     "modules", qw_api_csv_array(s->modules),
                     "auth_level", s->auth_level,
                     "pending", s->pending,
                     "required_level", required,
                     "usable", !s->pending && s->auth_level >= required,
                     "csrf", qw_csrf_make(a->r->pool, qw_csrf_key(),
                                          QW_API_CSRF_PURPOSE, s->token),
                     "csrf_header", QW_API_CSRF_HEADER,
                     "step_up_seconds", s->step_up_left,
                     "idle_timeout", s->idle_timeout,
                     "idle_seconds_left", s->idle_left,
                     "expires_in", s->expires_left);
}

/* $1 enterprise id, $2 admin id: whether the admin has two-step on,
 * whether the enterprise makes it optional, and the password's age in
 * days (0 when never changed). */
#define ADMIN_SEC_COLS(X, L) \
    X(TOTP_ENABLED, \
      " coalesce((SELECT t.enabled FROM admin_totp t" \
      "                  WHERE t.enterprise_id = a.enterprise_id" \
      "                    AND t.admin_id = a.admin_id), false)") \
    X(TWO_STEP_OPTIONAL, \
      "       coalesce(e.settings->>'admin_two_step', '') = 'optional'") \
    L(PASSWORD_AGE_DAYS, \
      "       coalesce(extract(epoch FROM now() - a.password_changed_at)" \
      "                / 86400, 0)")
#define ADMIN_SEC_COL_ENUM(name, expr) ADMIN_SEC_COL_##name,
enum { ADMIN_SEC_COLS(ADMIN_SEC_COL_ENUM, ADMIN_SEC_COL_ENUM) };
static const char sql_admin_security[] =
    "SELECT" ADMIN_SEC_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM admin_accounts a JOIN enterprises e"
    "    ON e.enterprise_id = a.enterprise_id"
    " WHERE a.enterprise_id = $1 AND a.admin_id = $2";

/* What an admin still owes after `level` (1: password; 2: also TOTP):
 * "totp" when enrolled and not given, "expired" when the password is older
 * than the policy allows, "enrol" when two-step is required and not set
 * up, else NULL.  *err set on a database error. */
const char *qw_admin_next_step(request_rec *r, qw_store *st,
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
    res = qw_store_exec(st, sql_admin_security, 2, p, &rc);
    if (!res || PQntuples(res) != 1) {
        if (res) {
            PQclear(res);
        }
        *err = 1;
        return NULL;
    }
    enrolled = !strcmp(PQgetvalue(res, 0, ADMIN_SEC_COL_TOTP_ENABLED), "t");
    optional = !strcmp(PQgetvalue(res, 0, ADMIN_SEC_COL_TWO_STEP_OPTIONAL),
                       "t");
    age = atof(PQgetvalue(res, 0, ADMIN_SEC_COL_PASSWORD_AGE_DAYS));
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

/* In the caller's transaction: a new token for the same session row at
 * `level` owing `pending`; the cookie is set and s updated.  The old token
 * stops working (ASVS: new session id after every step-up). */
qw_status qw_admin_rotate(request_rec *r, qw_store *st,
                              qw_admin_session *s, int level,
                              const char *pending)
{
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    const char *p[7], *token;
    PGresult *res;
    qw_status rc;
    int n;

    enum { ROTATED_COL_IDLE, ROTATED_COL_EXPIRES_LEFT };

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
                        " RETURNING idle_seconds, greatest(0, floor("
                        "extract(epoch FROM expires_at - now())))::int",
                        7, p, &rc);
    if (!res) {
        return rc;
    }
    n = PQntuples(res);
    if (n != 1) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
    /* touched now: the whole idle timeout is left */
    s->idle_timeout = s->idle_left = atoi(PQgetvalue(res, 0,
                                                     ROTATED_COL_IDLE));
    s->expires_left = atoi(PQgetvalue(res, 0, ROTATED_COL_EXPIRES_LEFT));
    PQclear(res);
    s->token = token;
    s->auth_level = level;
    s->pending = pending;
    apr_table_add(r->err_headers_out, "Set-Cookie", qw_admin_cookie(r, token));
    return QW_OK;
}

void qw_admin_session_register(apr_pool_t *p)
{
    qw_db_register_statement(QW_STMT_ADMIN_SESSION, sql_admin_session,
                             QW_DB_IDEMPOTENT);
}

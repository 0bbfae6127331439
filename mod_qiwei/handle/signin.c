/* Between the password and the session: see signin.h. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "ap_provider.h"

#include "qiwei.h"
#include "db.h"
#include "throttle.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/signin.h"
#include "util/cookie.h"
#include "util/token.h"
#include "util/text.h"
#include "metrics.h"

int qw_handle_twostep(request_rec *r);
int qw_handle_twostep_setup(request_rec *r);
int qw_handle_twostep_off(request_rec *r);
int qw_handle_password(request_rec *r);
int qw_handle_scan(request_rec *r);
int qw_handle_scan_poll(request_rec *r);
int qw_handle_scan_approve(request_rec *r);


/* Loaded in post_config into pconf; read-only in children. */
static const qw_blocklist *blocklist;

const qw_blocklist *qw_sec_blocklist(void)
{
    return blocklist;
}

qw_store *qw_sec_store(request_rec *r, const char *actor)
{
    qw_store *st = apr_palloc(r->pool, sizeof(*st));

    return qw_db_store(r, st, actor ? actor : "system", NULL) == 0 ? st
                                                                   : NULL;
}

const char *qw_sec_page_url(request_rec *r, const char *name)
{
    const char *slash = strrchr(r->uri, '/');
    size_t n = slash ? (size_t)(slash - r->uri) + 1 : 0;
    return apr_pstrcat(r->pool, apr_pstrmemdup(r->pool, r->uri, n), name,
                       NULL);
}

int qw_sec_delegated(request_rec *r)
{
    return qw_sec_providers(&qw_dir(r)->sec) != NULL;
}

int qw_sec_delegated_check(request_rec *r, const char *account,
                           const char *password)
{
    const apr_array_header_t *names = qw_sec_providers(&qw_dir(r)->sec);
    int i;

    for (i = 0; names && i < names->nelts; i++) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        const authn_provider *prov = ap_lookup_provider(
            AUTHN_PROVIDER_GROUP, name, AUTHN_PROVIDER_VERSION);
        authn_status st;

        if (!prov || !prov->check_password) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "QW1220: authn provider %s not available", name);
            return -1;
        }
        /* providers log under r->user; the account is all they get */
        apr_table_setn(r->notes, AUTHN_PROVIDER_NAME_NOTE, name);
        st = prov->check_password(r, account, password);
        apr_table_unset(r->notes, AUTHN_PROVIDER_NAME_NOTE);
        if (st == AUTH_GRANTED) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "QW1221: password of \"%s\" accepted by provider "
                          "%s", ap_escape_logitem(r->pool, account), name);
            return 1;
        }
        if (st == AUTH_GENERAL_ERROR) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "QW1222: authn provider %s failed", name);
            return -1;
        }
        /* AUTH_DENIED, AUTH_USER_NOT_FOUND: ask the next provider */
    }
    return 0;
}

void qw_sec_policy_for(request_rec *r, const qw_member_security *ms,
                       qw_pwpolicy *pol)
{
    qw_sec_dir_cfg *c = &qw_dir(r)->sec;

    /* the enterprise's own settings win over the location's defaults */
    qw_pwpolicy_resolve(pol, ms ? ms->policy : NULL, qw_sec_policy(c),
                        ms ? ms->max_age_days : -1, qw_sec_max_age(c),
                        ms && ms->totp_enabled);
}

int qw_sec_two_step_required_for(request_rec *r,
                                 const qw_member_security *ms)
{
    if (ms->two_step) {
        return !strcasecmp(ms->two_step, "required");
    }
    return qw_sec_two_step_required(&qw_dir(r)->sec);
}

const char *qw_sec_pending_cookie_value(request_rec *r)
{
    return qw_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"),
                         QW_PENDING_COOKIE);
}

static void pending_cookie_set(request_rec *r, const char *value)
{
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly; "
                               "SameSite=Strict; Max-Age=%d%s",
                               QW_PENDING_COOKIE, value ? value : "",
                               value ? QW_PENDING_TTL : 0,
                               qw_cookie_is_secure(r) ? "; Secure" : ""));
}

void qw_sec_pending_cookie_clear(request_rec *r)
{
    pending_cookie_set(r, NULL);
}

qw_status qw_sec_pending_of(request_rec *r, qw_store *st, qw_pending *out)
{
    const char *v = qw_sec_pending_cookie_value(r);
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];

    if (!v || qw_token_decode(v, strlen(v), raw, sizeof(raw)) != 0) {
        return QW_ERR_NOTFOUND;
    }
    qw_token_hash(raw, sizeof(raw), hash);
    return qw_sec_pending_get(st, qw_dir(r)->enterprise, hash, out);
}

static int redirect(request_rec *r, const char *to)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location", to);
    return HTTP_SEE_OTHER;
}

static int start_pending(request_rec *r, qw_store *st, int64_t ent,
                         int64_t member, const char *purpose, int level,
                         const char *next, const char *page)
{
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    const char *token = qw_token_new(r->pool, raw, sizeof(raw));
    const char *old = qw_sec_pending_cookie_value(r);

    if (!token) {
        return qw_unavailable(r);
    }
    /* the browser's previous pending login, if any, is replaced */
    if (old && qw_token_decode(old, strlen(old), raw, sizeof(raw)) == 0) {
        unsigned char oh[QW_TOKEN_HASH_LEN];
        qw_token_hash(raw, sizeof(raw), oh);
        (void)qw_sec_pending_end(st, ent, oh);
        qw_token_decode(token, strlen(token), raw, sizeof(raw));
    }
    qw_token_hash(raw, sizeof(raw), hash);
    if (qw_sec_pending_new(st, ent, member, purpose, level, next,
                           QW_PENDING_TTL, hash) != QW_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW1223: cannot store a pending login: %s",
                      st->err ? st->err : "database error");
        return qw_unavailable(r);
    }
    pending_cookie_set(r, token);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1224: member %" APR_INT64_T_FMT " of %s: password "
                  "accepted, next step: %s", member, qw_dir(r)->enterprise,
                  purpose);
    return redirect(r, qw_sec_page_url(r, page));
}

/* Decide the next step; DECLINED when a session may be issued now. */
static int route(request_rec *r, qw_store *st, int64_t ent, int64_t member,
                 int level, const char *next, int totp_done, int pw_changed)
{
    qw_member_security ms;
    qw_pwpolicy pol;
    qw_status rc = qw_sec_member_state(st, ent, member, &ms);

    if (rc != QW_OK) {
        return qw_unavailable(r);
    }
    if (!totp_done && ms.totp_enabled) {
        return start_pending(r, st, ent, member, "totp", level, next,
                             "twostep");
    }
    if (!totp_done && !ms.totp_enabled
        && qw_sec_two_step_required_for(r, &ms)) {
        return start_pending(r, st, ent, member, "enrol", level, next,
                             "twostep-setup");
    }
    qw_sec_policy_for(r, &ms, &pol);
    if (!pw_changed && !qw_sec_delegated(r) && pol.max_age_days > 0
        && ms.password_age_days > pol.max_age_days) {
        return start_pending(r, st, ent, member, "expired", level, next,
                             "password");
    }
    return DECLINED;
}

int qw_signin_after_password(request_rec *r, const char *ent_id,
                             const char *member_id, const char *next)
{
    qw_store *st = qw_sec_store(r, apr_pstrcat(r->pool, "member:",
                                               member_id, NULL));
    if (!st) {
        return qw_unavailable(r);
    }
    return route(r, st, apr_atoi64(ent_id), apr_atoi64(member_id), 1, next,
                 0, 0);
}

int qw_member_session_drop(request_rec *r)
{
    const char *cookie = qw_cookie_value_of_session(r);
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    const char *values[2];
    int lengths[2] = { 0, QW_TOKEN_HASH_LEN }, formats[2] = { 0, 1 };
    PGresult *res;

    if (!cookie || qw_token_decode(cookie, strlen(cookie), raw,
                                   sizeof(raw)) != 0) {
        return 0;
    }
    qw_token_hash(raw, sizeof(raw), hash);
    values[0] = qw_dir(r)->enterprise;
    values[1] = (const char *)hash;
    res = qw_db_exec(r, QW_STMT_SESSION_DEL, 2, values, lengths, formats);
    if (!res) {
        return -1;
    }
    PQclear(res);
    return 0;
}

int qw_member_session_new(request_rec *r, int64_t ent, int64_t member,
                          const char *kind, int level, int idle, int max_age)
{
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    const char *token = qw_token_new(r->pool, raw, sizeof(raw));
    const char *ua = qw_sanitize_text(r->pool, apr_table_get(
        r->headers_in, "User-Agent"), QW_UA_MAX);
    const char *values[9];
    int lengths[9] = { 0 }, formats[9] = { 0 };
    PGresult *res;

    if (!token) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    /* the session the browser presented is replaced */
    (void)qw_member_session_drop(r);
    qw_token_hash(raw, sizeof(raw), hash);
    values[0] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, ent);
    values[1] = (const char *)hash;
    lengths[1] = sizeof(hash);
    formats[1] = 1;
    values[2] = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, member);
    values[3] = kind;
    values[4] = apr_itoa(r->pool, level);
    values[5] = apr_itoa(r->pool, idle);
    values[6] = apr_itoa(r->pool, max_age);
    values[7] = r->useragent_ip;
    values[8] = ua;
    res = qw_db_exec(r, QW_STMT_SESSION_NEW, 9, values, lengths,
                     formats);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    PQclear(res);
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  qw_session_cookie(r, token));
    return OK;
}

int qw_sec_session_issue(request_rec *r, int64_t ent, int64_t member,
                         const char *kind, int level, int idle, int max_age)
{
    int rc = qw_member_session_new(r, ent, member, kind, level, idle,
                                   max_age);

    if (rc != OK) {
        return rc;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1225: member %" APR_INT64_T_FMT " of %s: %s session "
                  "(level %d) from %s", member, qw_dir(r)->enterprise, kind,
                  level, r->useragent_ip);
    return OK;
}

int qw_signin_finish(request_rec *r, int64_t ent, int64_t member, int level,
                     const char *next, int totp_done, int pw_changed)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_store *st = qw_sec_store(r, "system");
    int rc;

    if (!st) {
        return qw_unavailable(r);
    }
    rc = route(r, st, ent, member, level, next, totp_done, pw_changed);
    if (rc != DECLINED) {
        return rc;
    }
    if (qw_sec_session_issue(r, ent, member, "member", level,
                             qw_cfg_idle(d), qw_cfg_max_age(d)) != OK) {
        return qw_unavailable(r);
    }
    qw_metrics_inc(QW_C_LOGIN_MEMBER_OK);
    return redirect(r, next && qw_safe_local_path(next) ? next : "/");
}

/* ---- hooks ---- */

static int security_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    const char *path = qw_sec_blocklist_path, *err = NULL;
    const qw_blocklist *bl;
    server_rec *sp;
    int used = 0;

    for (sp = s; sp; sp = sp->next) {
        used |= qw_srv(sp)->db_conninfo != NULL;
    }
    blocklist = NULL;
    /* pconf's previous copy is gone after a restart */
    qw_admin_blocklist_set(NULL);
    if (!used || (path && !*path)) {
        return OK;
    }
    bl = qw_blocklist_load(pconf, path ? path
                           : QW_PKGDATADIR "/common-passwords.txt", &err);
    if (!bl) {
        if (path) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "QW1226: QiweiPasswordBlocklist %s: %s", path, err);
            return !OK;
        }
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "QW1227: no common-password blocklist at %s (%s): "
                     "new passwords are not checked against one; set "
                     "QiweiPasswordBlocklist", QW_PKGDATADIR
                     "/common-passwords.txt", err);
        return OK;
    }
    blocklist = bl;
    qw_admin_blocklist_set(bl);         /* admin passwords (store) */
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s,
                 "QW1228: %ld common passwords loaded", bl->count);
    return OK;
}

static int security_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp)
{
    qw_sec_global_reset();
    return OK;
}

void qw_security_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(security_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(security_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    qw_throttle_register_hooks(p);
}

int qw_security_dispatch(request_rec *r, const char *name)
{
    if (!strcmp(name, "twostep")) {
        return qw_handle_twostep(r);
    }
    if (!strcmp(name, "twostep-setup")) {
        return qw_handle_twostep_setup(r);
    }
    if (!strcmp(name, "twostep-off")) {
        return qw_handle_twostep_off(r);
    }
    if (!strcmp(name, "password")) {
        return qw_handle_password(r);
    }
    if (!strcmp(name, "scan")) {
        return qw_handle_scan(r);
    }
    if (!strcmp(name, "scan-poll")) {
        return qw_handle_scan_poll(r);
    }
    if (!strcmp(name, "scan-approve")) {
        return qw_handle_scan_approve(r);
    }
    return DECLINED;
}

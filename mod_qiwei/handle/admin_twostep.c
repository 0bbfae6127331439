/* What the steps of a pending admin session do, for the JSON API
 * (admin_api_session.c) and the pages (admin_pages.c): the two-step code
 * or a recovery code, two-step enrolment, the password change.  Each
 * success rotates the session's token (ASVS: new session id after every
 * step-up). */
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
#include "util/pwhash.h"
#include "util/rights.h"
#include "util/text.h"
#include "util/token.h"
#include "util/totp.h"
#include "util/qr.h"
#include "throttle.h"

#include "handle/admin.h"


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
int qw_admin_twostep_verify(request_rec *r, qw_store *st, qw_admin_session *s,
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
    next = qw_admin_next_step(r, st, s->enterprise_id, s->admin_id, 2, &err);
    if (err || qw_store_begin(st) != QW_OK
        || qw_admin_rotate(r, st, s, 2, next) != QW_OK
        || qw_audit_append(st, s->enterprise_id, "auth", "admin-two-step",
                           admin_obj(r, s), "success",
                           code && *code ? NULL : "recovery code",
                           NULL) != QW_OK
        || qw_store_commit(st) != QW_OK) {
        return step_failed(r, st, s, "two-step success");
    }
    return OK;
}

/* Who may enrol: a session that owes the enrolment, or a usable one (an
 * admin of an enterprise where it is optional). */
int qw_admin_may_enrol(request_rec *r, const qw_admin_session *s)
{
    return s->pending ? !strcmp(s->pending, "enrol") : qw_admin_usable(r, s);
}

/* A new secret (not on yet): OK with its base32 text, otpauth URI and QR
 * code (SVG), HTTP_CONFLICT when two-step is already on, or 503. */
int qw_admin_twostep_begin(request_rec *r, qw_store *st,
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
int qw_admin_twostep_confirm(request_rec *r, qw_store *st,
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
    next = qw_admin_next_step(r, st, s->enterprise_id, s->admin_id, 2, &err);
    if (err || qw_admin_rotate(r, st, s, 2, next) != QW_OK
        || qw_store_commit(st) != QW_OK) {
        return step_failed(r, st, s, "two-step enrolment");
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1014: two-step verification on for admin %s of %s",
                  s->account, s->enterprise);
    return OK;
}

int qw_admin_may_change_password(request_rec *r, const qw_admin_session *s)
{
    return s->pending ? !strcmp(s->pending, "expired")
                      : qw_admin_usable(r, s);
}

/* Change the password (current one asked): OK (token rotated),
 * HTTP_TOO_MANY_REQUESTS (the 429 was sent), HTTP_UNAUTHORIZED (wrong
 * current password), HTTP_BAD_REQUEST (*why: the policy's reason) or
 * 503. */
int qw_admin_password_change(request_rec *r, qw_store *st, qw_admin_session *s,
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
                      "enterprise %s from %s (password change)",
                      ap_escape_logitem(r->pool, s->account), s->enterprise,
                      r->useragent_ip);
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
    next = qw_admin_next_step(r, st, s->enterprise_id, s->admin_id,
                           s->auth_level, &err);
    if (err || qw_admin_rotate(r, st, s, s->auth_level, next) != QW_OK
        || qw_store_commit(st) != QW_OK) {
        return step_failed(r, st, s, "password change");
    }
    return OK;
}

/* What the steps of a pending admin session do, for the JSON API
 * (admin_api_session.c) and the pages (admin_pages.c): the two-step code
 * or a recovery code, two-step enrolment, the password change.  Each
 * success rotates the session's token (ASVS: new session id after every
 * step-up). */
#include "apr_strings.h"
#include "httpd.h"
#include "http_log.h"

#include "qiwei.h"
#include "handle/signin.h"
#include "util/totp.h"
#include "util/qr.h"

#include "handle/account.h"
#include "handle/admin.h"

static const char *admin_obj(request_rec *r, const qw_admin_session *s)
{
    return apr_psprintf(r->pool, "admin:%" APR_INT64_T_FMT " %s",
                        s->admin_id, s->account);
}

/* The admin behind s as an account of the shared flows; a reused code is
 * told to the bound member, as for logins to the account. */
static const qw_account *admin_account(request_rec *r,
                                       const qw_admin_session *s)
{
    qw_account *a = apr_pcalloc(r->pool, sizeof(*a));

    a->kind = &qw_account_admins;
    a->ent = s->enterprise_id;
    a->id = s->admin_id;
    a->enterprise = s->enterprise;
    a->account = s->account;
    a->log_name = apr_psprintf(r->pool, "admin %s of %s", s->account,
                               s->enterprise);
    a->object = admin_obj(r, s);
    a->remind_member = s->bound_member_id;
    a->remind_admin_id = s->admin_id;
    a->remind_admin_account = s->account;
    return a;
}

/* A database error in a step: logged (QW1013), rolled back; 503. */
static int step_failed(request_rec *r, qw_store *st,
                       const qw_admin_session *s, const char *what)
{
    return qw_account_step_error(r, st, admin_account(r, s), what);
}

/* The code (or a recovery code) of a session owing "totp", for the API
 * and the page: OK (token rotated, s updated), HTTP_TOO_MANY_REQUESTS
 * (refused, nothing sent), HTTP_UNAUTHORIZED (wrong, reused, outside the
 * window) or HTTP_SERVICE_UNAVAILABLE. */
int qw_admin_twostep_verify(request_rec *r, qw_store *st,
                            qw_admin_session *s, const char *code,
                            const char *rec)
{
    const char *next;
    int v, err;

    v = qw_account_twostep(r, st, admin_account(r, s), code, rec);
    if (v != OK) {
        return v;
    }
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
    qw_status rc = qw_account_totp_new(r, st, admin_account(r, s), b32);

    if (rc == QW_ERR_CONFLICT) {
        return HTTP_CONFLICT;
    }
    if (rc != QW_OK) {
        return *b32 ? step_failed(r, st, s, "two-step enrolment")
                    : HTTP_SERVICE_UNAVAILABLE;    /* no random bytes */
    }
    *uri = qw_totp_uri(r->pool, apr_pstrcat(r->pool, "Qiwei admin ",
                                            s->enterprise, NULL),
                       s->account, *b32);
    *svg = qw_qr_svg(r->pool, *uri, 220, NULL);
    return OK;
}

/* Confirm the enrolment with one valid code: OK (on, token rotated,
 * *codes the recovery codes to show once), HTTP_BAD_REQUEST (wrong code;
 * *b32 the enrolment's secret, to show again), HTTP_CONFLICT (two-step is
 * on already: its secret is never shown again) or 503. */
int qw_admin_twostep_confirm(request_rec *r, qw_store *st,
                            qw_admin_session *s, const char *code,
                            apr_array_header_t **codes, const char **b32)
{
    const qw_account *a = admin_account(r, s);
    const char *next;
    qw_status rc;
    int v, err;
    int64_t step = -1;

    *b32 = NULL;
    v = qw_account_code_check(r, st, a, code, 0, &step);
    if (v == -1) {
        return step_failed(r, st, s, "two-step enrolment");
    }
    if (v != 1) {
        rc = qw_account_totp_pending(r, st, a, b32);
        if (rc == QW_ERR_CONFLICT) {
            return HTTP_CONFLICT;
        }
        if (rc != QW_OK) {
            return step_failed(r, st, s, "two-step enrolment");
        }
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

/* Change the password: the current one asked, the new one (pw2: its
 * confirmation, NULL when there is none) checked as a member's is
 * (qw_account_new_password) under the enterprise's admin policy.  OK
 * (token rotated), HTTP_TOO_MANY_REQUESTS (refused, nothing sent),
 * HTTP_UNAUTHORIZED (wrong current password), HTTP_BAD_REQUEST (*why: the
 * API's words, "password refused (<reason>): ..."; *msg: the reason in
 * the request's language) or 503. */
int qw_admin_password_change(request_rec *r, qw_store *st,
                             qw_admin_session *s, const char *cur,
                             const char *pw, const char *pw2,
                             const char **why, const char **msg)
{
    const qw_blocklist *bl;
    const char *next;
    qw_pwpolicy pol;
    qw_pwp_result pr;
    char *hash;
    qw_status rc;
    int v, err;

    *why = *msg = NULL;
    rc = qw_admin_password_rules(st, s->enterprise_id, &pol, &bl);
    if (rc == QW_ERR_INVALID) {
        *why = *msg = st->err ? st->err : "password refused";
        return HTTP_BAD_REQUEST;        /* no blocklist: fail closed */
    }
    if (rc != QW_OK) {
        return step_failed(r, st, s, "password change");
    }
    v = qw_account_new_password(r, st, admin_account(r, s), &pol, bl, cur,
                                pw, pw2, &pr);
    if (v != OK) {
        return v;
    }
    if (pr != QW_PWP_OK) {
        *why = qw_admin_password_refused(r->pool, &pol, pr);
        *msg = qw_pwpolicy_message(r->pool, &pol, pr, qw_request_lang(r));
        return HTTP_BAD_REQUEST;
    }
    hash = qw_account_pw_hash(r, pw, strlen(pw));
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

/* The step-up of a usable session: the password (throttled like a login,
 * through the shared implementation) or a two-step code (throttled like
 * the second step; only when two-step is on).  On success the session
 * records the time (the privileged calls look at it for QW_ADMIN_STEP_UP
 * seconds) and gets a new token, in one transaction with the audit row.
 * OK (s updated), HTTP_TOO_MANY_REQUESTS (refused, nothing sent),
 * HTTP_UNAUTHORIZED (wrong password or code) or 503. */
int qw_admin_step_up(request_rec *r, qw_store *st, qw_admin_session *s,
                     const char *pw, const char *code)
{
    qw_account *acct = apr_pmemdup(r->pool, admin_account(r, s),
                                   sizeof(qw_account));
    const char *p[2];
    PGresult *res;
    qw_status rc;
    int v;

    acct->purpose = "step-up";
    acct->pw_wrong_action = "admin-step-up";
    v = pw ? qw_account_current_password(r, st, acct, pw)
           : qw_account_twostep(r, st, acct, code, NULL);
    if (v == HTTP_UNAUTHORIZED && !pw) {
        (void)qw_audit_note(st, s->enterprise_id, "auth", "admin-step-up",
                            admin_obj(r, s), "failure", "wrong code", NULL);
    }
    if (v != OK) {
        return v;
    }
    p[0] = qw_i64(r->pool, s->enterprise_id);
    p[1] = qw_i64(r->pool, s->session_id);
    if (qw_store_begin(st) != QW_OK
        || !(res = qw_store_exec(st, "UPDATE admin_sessions"
                                 " SET step_up_at = now()"
                                 " WHERE enterprise_id = $1"
                                 " AND session_id = $2", 2, p, &rc))) {
        return step_failed(r, st, s, "step-up");
    }
    PQclear(res);
    if (qw_admin_rotate(r, st, s, s->auth_level, s->pending) != QW_OK
        || qw_audit_append(st, s->enterprise_id, "auth", "admin-step-up",
                           admin_obj(r, s), "success",
                           pw ? "password" : "two-step code",
                           NULL) != QW_OK
        || qw_store_commit(st) != QW_OK) {
        return step_failed(r, st, s, "step-up");
    }
    s->step_up_left = QW_ADMIN_STEP_UP;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1016: admin %s of %s stepped up (%s) for %d s",
                  s->account, s->enterprise, pw ? "password" : "code",
                  QW_ADMIN_STEP_UP);
    return OK;
}

/* What member and admin accounts do alike: see account.h. */
#include <openssl/crypto.h>
#include "apr_strings.h"
#include "httpd.h"
#include "http_log.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/account.h"
#include "util/json.h"
#include "util/pwhash.h"
#include "util/token.h"
#include "util/totp.h"
#include "metrics.h"

extern qw_pw_params qw_pw_cfg;

const qw_account_kind qw_account_members = {
    .pr = &qw_member_principal,
    .rule = &qw_throttle_member,
    .throttle_password = QW_THROTTLE_PASSWORD,
    .throttle_totp = QW_THROTTLE_TOTP,
    .admin = 0,
    .replay_action = "two_step_replay",
    .need_password = 1
};

const qw_account_kind qw_account_admins = {
    .pr = &qw_admin_principal,
    .rule = &qw_throttle_admin,
    .throttle_password = QW_THROTTLE_ADMIN_PASSWORD,
    .throttle_totp = QW_THROTTLE_ADMIN_TOTP,
    .admin = 1,
    .replay_action = "admin-two-step-replay",
    .pw_wrong_action = "admin_password_change"
};

void qw_account_member(qw_account *a, request_rec *r, int64_t ent,
                       int64_t member, const char *account)
{
    memset(a, 0, sizeof(*a));
    a->kind = &qw_account_members;
    a->ent = ent;
    a->id = member;
    a->enterprise = qw_dir(r)->enterprise;
    a->account = account;
    a->log_name = apr_psprintf(r->pool, "member %" APR_INT64_T_FMT, member);
    a->object = apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT, member);
    /* a member's own reused code: the member is told */
    a->remind_member = member;
}

int qw_account_pw_verify(request_rec *r, const char *encoded,
                         const char *pw, size_t len, int *ok)
{
    if (qw_pw_slot_acquire(r) != APR_SUCCESS) {
        return -1;
    }
    *ok = qw_pw_verify(encoded, pw, len, &qw_pw_cfg);
    qw_pw_slot_release();
    return 0;
}

char *qw_account_pw_hash(request_rec *r, const char *pw, size_t len)
{
    char *hash;

    if (qw_pw_slot_acquire(r) != APR_SUCCESS) {
        return NULL;
    }
    hash = qw_pw_hash(r->pool, pw, len, &qw_pw_cfg);
    qw_pw_slot_release();
    return hash;
}

int qw_account_code_check(request_rec *r, qw_store *st, const qw_account *a,
                          const char *text, int enabled_only,
                          int64_t *step_out)
{
    const qw_principal *pr = a->kind->pr;
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
    rc = qw_psec_totp_get(st, pr, a->ent, a->id, &secret, &n, &enabled,
                          &last);
    if (rc == QW_ERR_NOTFOUND) {
        return 0;
    }
    if (rc != QW_OK) {
        if (!a->kind->admin) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "QW1230: two-step secret of %s: %s", a->log_name,
                          st->err ? st->err : "error");
        }
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
    rc = qw_psec_totp_use_step(st, pr, a->ent, a->id, step);
    if (rc == QW_ERR_CONFLICT) {
        return -2;                      /* raced with another use */
    }
    return rc == QW_OK ? 1 : -1;
}

int qw_account_step_error(request_rec *r, qw_store *st,
                          const qw_account *a, const char *what)
{
    if (a->kind->admin) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "QW1013: admin %s of %s: "
                      "%s", what, a->account,
                      st->err ? st->err : "database error");
        qw_store_rollback(st);
    }
    return HTTP_SERVICE_UNAVAILABLE;
}

/* One attempt at a secret of a, counted before the secret is checked:
 * OK, HTTP_TOO_MANY_REQUESTS (refused, nothing sent: the caller answers
 * it) or 503. */
static int account_hit(request_rec *r, const qw_account *a,
                       const char *counter, qw_throttle_info *info)
{
    int v = qw_throttle_account_hit_info(r, a->enterprise, a->account,
                                         counter, a->kind->rule, info);

    if (v == HTTP_TOO_MANY_REQUESTS) {
        return v;
    }
    return v == OK ? OK : HTTP_SERVICE_UNAVAILABLE;
}

/* A failed attempt that started a lock of an admin account (of one
 * source or of the whole account): an audit row and a reminder for the
 * bound member, like a locked login (admin_login.c), in one transaction.
 * Best effort: the failure's answer stands either way. */
static void lock_noted(request_rec *r, qw_store *st, const qw_account *a,
                       const qw_throttle_info *info)
{
    int wide = info->locked == QW_LOCK_ACCOUNT;
    qw_status rc;

    if (!a->kind->admin || !info->locked) {
        return;
    }
    if ((rc = qw_store_begin(st)) == QW_OK
        && (rc = qw_audit_append(st, a->ent, "auth", "admin-locked",
                                 apr_pstrcat(r->pool, "admin:", a->account,
                                             NULL), "refused",
                                 apr_psprintf(r->pool, "%d failures",
                                              wide ? info->account_failures
                                                   : info->failures),
                                 qw_json_text(r->pool, json_pack(
                                     "{s:s, s:s?, s:b}", "scope",
                                     wide ? "account" : "source", "source",
                                     wide ? NULL : info->source, "reminder",
                                     a->remind_member != 0)))) == QW_OK
        && (!a->remind_member
            || (rc = qw_login_reminder_add(st, a->ent, a->remind_member,
                                           a->remind_admin_id,
                                           a->remind_admin_account,
                                           "failed")) == QW_OK)
        && (rc = qw_store_commit(st)) == QW_OK) {
        return;
    }
    (void)qw_account_step_error(r, st, a, "lock reminder");
}

/* A reused code means someone else saw it: log loudly, keep an audit row
 * and remind the member (kind totp_reuse, NOTIFY), in one transaction. */
static void replay_noted(request_rec *r, qw_store *st, const qw_account *a)
{
    const qw_account_kind *k = a->kind;
    qw_status rc;

    if (k->admin) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1011: admin two-step code reused for account "
                      "\"%s\" of %s from %s",
                      ap_escape_logitem(r->pool, a->account), a->enterprise,
                      r->useragent_ip);
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1231: two-step code reused for account \"%s\" of "
                      "%s from %s", ap_escape_logitem(r->pool, a->account),
                      a->enterprise, r->useragent_ip);
    }
    if ((rc = qw_store_begin(st)) == QW_OK
        && (rc = qw_audit_append(st, a->ent, "auth", k->replay_action,
                                 a->object, "refused", "code reused",
                                 a->remind_member ? "{\"reminder\": true}"
                                 : "{\"reminder\": false}")) == QW_OK
        && (!a->remind_member
            || (rc = qw_login_reminder_add(st, a->ent, a->remind_member,
                                           a->remind_admin_id,
                                           a->remind_admin_account,
                                           "totp_reuse")) == QW_OK)
        && (rc = qw_store_commit(st)) == QW_OK) {
        return;
    }
    if (k->admin) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW1015: reused two-step code of %s could not be "
                      "recorded: %s", a->log_name,
                      st->err ? st->err : qw_status_name(rc));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW1236: reused two-step code of %s could not be "
                      "recorded: %s", a->log_name,
                      st->err ? st->err : qw_status_name(rc));
    }
    qw_store_rollback(st);
}

int qw_account_twostep(request_rec *r, qw_store *st, const qw_account *a,
                       const char *code, const char *rec)
{
    const qw_account_kind *k = a->kind;
    int64_t step = -1;
    qw_throttle_info info;
    qw_status rc;
    int v;

    /* TOTP failures are counted on their own, before any secret is
     * opened */
    if ((v = account_hit(r, a, k->throttle_totp, &info)) != OK) {
        return v;
    }
    if (code && *code) {
        v = qw_account_code_check(r, st, a, code, 1, &step);
    }
    else if (rec && *rec) {
        rc = qw_psec_recovery_use(st, k->pr, a->ent, a->id, rec);
        v = rc == QW_OK ? 1 : rc == QW_ERR_NOTFOUND ? 0 : -1;
        if (v == 1 && !k->admin) {
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "QW1232: recovery code used by account \"%s\" of "
                          "%s", ap_escape_logitem(r->pool, a->account),
                          a->enterprise);
        }
    }
    else {
        v = 0;
    }
    if (v == -1) {
        return qw_account_step_error(r, st, a, "two-step check");
    }
    if (v != 1) {
        if (v == -2) {
            replay_noted(r, st, a);
        }
        /* matched by fail2ban like a failed login */
        qw_metrics_inc(k->admin ? QW_C_TWO_STEP_ADMIN_FAIL
                                : QW_C_TWO_STEP_MEMBER_FAIL);
        if (k->admin) {
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "QW1010: admin two-step verification failed for "
                          "account \"%s\" of enterprise %s from %s",
                          ap_escape_logitem(r->pool, a->account),
                          a->enterprise, r->useragent_ip);
        }
        else {
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "QW1233: two-step verification failed for "
                          "account \"%s\" of enterprise %s from %s",
                          ap_escape_logitem(r->pool, a->account),
                          a->enterprise, r->useragent_ip);
        }
        qw_throttle_addr_fail(r);
        lock_noted(r, st, a, &info);
        return HTTP_UNAUTHORIZED;
    }
    qw_throttle_account_clear(r, a->enterprise, a->account,
                              k->throttle_totp);
    return OK;
}

qw_status qw_account_totp_new(request_rec *r, qw_store *st,
                              const qw_account *a, const char **b32)
{
    unsigned char secret[QW_TOTP_SECRET_BYTES];
    qw_status rc;

    *b32 = NULL;
    if (qw_random(secret, sizeof(secret)) != 0) {
        return QW_ERR_CRYPTO;
    }
    rc = qw_psec_totp_begin(st, a->kind->pr, a->ent, a->id, secret,
                            sizeof(secret));
    *b32 = qw_base32_encode(r->pool, secret, sizeof(secret));
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

qw_status qw_account_totp_pending(request_rec *r, qw_store *st,
                                  const qw_account *a, const char **b32)
{
    unsigned char *secret;
    size_t n;
    int enabled;
    int64_t last;
    qw_status rc;

    *b32 = NULL;
    rc = qw_psec_totp_get(st, a->kind->pr, a->ent, a->id, &secret, &n,
                          &enabled, &last);
    if (rc != QW_OK) {
        return rc;
    }
    if (!enabled) {
        *b32 = qw_base32_encode(r->pool, secret, n);
    }
    OPENSSL_cleanse(secret, n);
    if (enabled) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1237: two-step enrolment for %s, which has it on "
                      "already: refused (409)", a->log_name);
        return QW_ERR_CONFLICT;
    }
    return QW_OK;
}

/* The current password of a against its stored hash, counted first:
 * OK (the counter left as it is: the caller clears it), or
 * HTTP_TOO_MANY_REQUESTS, HTTP_UNAUTHORIZED (logged, audited, the address
 * counted, a lock noted), HTTP_SERVICE_UNAVAILABLE.  *hashes gets the
 * current hash and up to history older ones, *info what the count did. */
static int current_password(request_rec *r, qw_store *st,
                            const qw_account *a, const char *cur,
                            int history, apr_array_header_t **hashes,
                            qw_throttle_info *info)
{
    const qw_account_kind *k = a->kind;
    const char *encoded;
    int v, ok;

    /* the current password is a password guess like a login's */
    if ((v = account_hit(r, a, k->throttle_password, info)) != OK) {
        return v;
    }
    if (qw_psec_password_hashes(st, k->pr, a->ent, a->id, history,
                                hashes) != QW_OK) {
        return qw_account_step_error(r, st, a, "password change");
    }
    if (!(*hashes)->nelts && k->need_password) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    /* NULL (no password): the same work against a dummy hash */
    encoded = (*hashes)->nelts ? APR_ARRAY_IDX(*hashes, 0, const char *)
                               : NULL;
    if (!cur || strlen(cur) > QW_PW_MAX_LEN) {
        return HTTP_UNAUTHORIZED;
    }
    if (qw_account_pw_verify(r, encoded, cur, strlen(cur), &ok) != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (ok && encoded) {
        return OK;
    }
    if (k->admin) {
        qw_metrics_inc(QW_C_LOGIN_ADMIN_FAIL);
        /* QW1002's words: the same fail2ban line as a failed login */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1002: admin login failed for account \"%s\" of "
                      "enterprise %s from %s%s",
                      ap_escape_logitem(r->pool, a->account),
                      a->enterprise, r->useragent_ip,
                      apr_pstrcat(r->pool, " (", a->purpose ? a->purpose
                                  : "password change", ")", NULL));
    }
    else {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1240: password change: wrong current password "
                      "for account \"%s\" of enterprise %s from %s",
                      ap_escape_logitem(r->pool, a->account),
                      a->enterprise, r->useragent_ip);
    }
    qw_throttle_addr_fail(r);
    if (a->pw_wrong_action || k->pw_wrong_action) {
        (void)qw_audit_note(st, a->ent, "auth", a->pw_wrong_action
                            ? a->pw_wrong_action : k->pw_wrong_action,
                            a->object, "failure",
                            "wrong current password", NULL);
    }
    lock_noted(r, st, a, info);
    return HTTP_UNAUTHORIZED;
}

static void pw_cleared(request_rec *r, const qw_account *a)
{
    qw_throttle_account_clear(r, a->enterprise, a->account,
                              a->kind->throttle_password);
}

int qw_account_current_password(request_rec *r, qw_store *st,
                                const qw_account *a, const char *cur)
{
    apr_array_header_t *hashes;
    qw_throttle_info info;
    int v = current_password(r, st, a, cur, 0, &hashes, &info);

    if (v == OK) {
        pw_cleared(r, a);
    }
    return v;
}

/* qw_pw_history's verify in the module: in the hashing slot */
static int slot_verify(void *baton, const char *encoded, const char *pw,
                       size_t len, int *ok)
{
    return qw_account_pw_verify(baton, encoded, pw, len, ok);
}

int qw_account_new_password(request_rec *r, qw_store *st,
                            const qw_account *a, const qw_pwpolicy *pol,
                            const qw_blocklist *bl, const char *cur,
                            const char *pw, const char *pw2,
                            qw_pwp_result *pr)
{
    apr_array_header_t *hashes;
    qw_throttle_info info;
    qw_pw_history h;
    int v, compared = 0;

    *pr = QW_PWP_OK;
    /* the current password first, one hash, before anything else costs
     * one; then *hashes holds the history the policy compares */
    v = current_password(r, st, a, cur, pol->history < 0 ? 0
                         : pol->history > QW_PWP_HISTORY_MAX
                         ? QW_PWP_HISTORY_MAX : pol->history,
                         &hashes, &info);
    if (v != OK) {
        return v;
    }
    h.hashes = hashes;
    h.current = cur;
    h.verify = slot_verify;
    h.baton = r;
    if (qw_pwpolicy_new_password(pol, bl, r->pool, pw, pw ? strlen(pw) : 0,
                                 pw2, a->account, &h, pr, &compared)
        != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW1247: password change of %s: current password right, "
                  "%d earlier password(s) compared", a->log_name, compared);
    if (*pr == QW_PWP_OK || compared == 0) {
        pw_cleared(r, a);
    }
    else {
        /* the refusal cost hashes: it counts like a failed login */
        qw_throttle_addr_fail(r);
        lock_noted(r, st, a, &info);
    }
    if (*pr != QW_PWP_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1241: new password of %s refused: %s (policy %s)",
                      a->log_name, qw_pwpolicy_reason(*pr),
                      qw_pwpolicy_mode_name(pol->mode));
    }
    return OK;
}

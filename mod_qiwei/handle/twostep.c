/* Two-step verification pages (R12): the login's second step
 * (<handler>/twostep) and enrolment (<handler>/twostep-setup). */
#include <openssl/crypto.h>
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "qiwei.h"
#include "db.h"
#include "throttle.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/signin.h"
#include "util/csrf.h"
#include "util/qr.h"
#include "util/token.h"
#include "util/totp.h"

#define QW_RECOVERY_CODES 10

static const char *csrf_for(request_rec *r, const char *purpose,
                            const char *binding)
{
    return qw_csrf_make(r->pool, qw_csrf_key(), purpose, binding);
}

static int send_code_form(request_rec *r, int status, const char *binding,
                          const char *message)
{
    qw_lang lang = qw_request_lang(r);
    const char *body;

    if (!qw_csrf_key()) {
        return qw_unavailable(r);
    }
    body = apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, QW_S_TWOSTEP_TITLE), "</h1>",
        message ? "<p class=\"msg\" role=\"alert\">" : "",
        message ? qw_escape_html(r->pool, message) : "",
        message ? "</p>" : "",
        "<p class=\"hint\">", qw_str(lang, QW_S_TWOSTEP_PROMPT), "</p>"
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"",
        csrf_for(r, "twostep", binding), "\">"
        "<label for=\"code\">", qw_str(lang, QW_S_TWOSTEP_CODE), "</label>"
        "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\""
        " autocomplete=\"one-time-code\" maxlength=\"16\" autofocus>"
        "<label for=\"recovery\">", qw_str(lang, QW_S_TWOSTEP_RECOVERY),
        "</label><input type=\"text\" id=\"recovery\" name=\"recovery\" "
        "autocomplete=\"off\" maxlength=\"32\">"
        "<button type=\"submit\">", qw_str(lang, QW_S_TWOSTEP_VERIFY),
        "</button></form>", NULL);
    return qw_page_send(r, status, lang, qw_page_nonce(r),
                        qw_str(lang, QW_S_TWOSTEP_TITLE), body);
}

/* Verify a TOTP code for member: 1 accepted (step consumed), 0 wrong,
 * -2 replayed, -1 error. */
static int verify_code(request_rec *r, qw_store *st, int64_t ent,
                       int64_t member, const char *text, int enabled_only)
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
    rc = qw_sec_totp_get(st, ent, member, &secret, &n, &enabled, &last);
    if (rc == QW_ERR_NOTFOUND) {
        return 0;
    }
    if (rc != QW_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "QW1230: two-step secret "
                      "of member %" APR_INT64_T_FMT ": %s", member,
                      st->err ? st->err : "error");
        return -1;
    }
    if (enabled_only != enabled) {
        OPENSSL_cleanse(secret, n);
        return 0;
    }
    /* match ignoring the replay guard first, to tell a reuse apart */
    step = qw_totp_match(secret, n, code, (int64_t)apr_time_sec(
                         apr_time_now()), -1, QW_TOTP_WINDOW, QW_TOTP_STEP,
                         QW_TOTP_DIGITS);
    OPENSSL_cleanse(secret, n);
    if (step < 0) {
        return 0;
    }
    if (!enabled) {
        return step > last ? 1 : -2;   /* the caller enables with step */
    }
    if (step <= last) {
        return -2;
    }
    rc = qw_sec_totp_use_step(st, ent, member, step);
    if (rc == QW_ERR_CONFLICT) {
        return -2;                     /* raced with another use */
    }
    return rc == QW_OK ? 1 : -1;
}

static void replay_noted(request_rec *r, qw_store *st, int64_t ent,
                         int64_t member, const char *account)
{
    qw_status rc;

    /* a reused code means someone else saw it: log loudly, keep an audit
     * row and tell the member (a reminder on their "my reminders" page and
     * NOTIFY qiwei_login_reminder), all in one transaction */
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                  "QW1231: two-step code reused for account \"%s\" of %s "
                  "from %s", ap_escape_logitem(r->pool, account),
                  qw_dir(r)->enterprise, r->useragent_ip);
    if ((rc = qw_store_begin(st)) == QW_OK
        && (rc = qw_audit_append(st, ent, "auth", "two_step_replay",
                                 apr_psprintf(r->pool, "member:%"
                                              APR_INT64_T_FMT, member),
                                 "refused", "code reused",
                                 "{\"reminder\": true}")) == QW_OK
        && (rc = qw_login_reminder_add(st, ent, member, 0, NULL,
                                       "totp_reuse")) == QW_OK
        && (rc = qw_store_commit(st)) == QW_OK) {
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1236: reused two-step code of member %" APR_INT64_T_FMT
                  " could not be recorded: %s", member,
                  st->err ? st->err : qw_status_name(rc));
    qw_store_rollback(st);
}

int qw_handle_twostep(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_lang lang = qw_request_lang(r);
    const char *binding = qw_sec_pending_cookie_value(r);
    apr_table_t *form;
    qw_pending pd;
    qw_store *st;
    qw_status rc;
    int v, hrc;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (r->method_number == M_POST
        && (hrc = qw_throttle_addr_check(r)) != OK) {
        return hrc;                     /* 429: render/ draws the page */
    }
    st = qw_sec_store(r, NULL);
    if (!st) {
        return qw_unavailable(r);
    }
    rc = qw_sec_pending_of(r, st, &pd);
    if (rc == QW_ERR_DB) {
        return qw_unavailable(r);
    }
    if (rc != QW_OK || strcmp(pd.purpose, "totp")) {
        /* nothing pending (expired, done, never): back to the login */
        qw_sec_pending_cookie_clear(r);
        apr_table_setn(r->headers_out, "Location", qw_cfg_login_url(d));
        return HTTP_SEE_OTHER;
    }
    if (r->method_number == M_GET) {
        return send_code_form(r, HTTP_OK, binding, NULL);
    }
    if ((hrc = qw_read_form(r, &form)) != OK) {
        return hrc;
    }
    if (!qw_csrf_ok(r, form, "twostep", binding)) {
        return send_code_form(r, HTTP_FORBIDDEN, binding,
                              qw_str(lang, QW_S_FORM_EXPIRED));
    }
    hrc = qw_throttle_account_hit(r, d->enterprise, pd.account,
                                  QW_THROTTLE_TOTP, &qw_throttle_member,
                                  NULL);
    if (hrc == HTTP_TOO_MANY_REQUESTS) {
        return hrc;
    }
    if (hrc != OK) {
        return qw_unavailable(r);
    }
    st->who.actor = apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                 pd.member_id);
    {
        const char *code = apr_table_get(form, "code");
        const char *rec = apr_table_get(form, "recovery");
        if (code && *code) {
            v = verify_code(r, st, pd.enterprise_id, pd.member_id, code, 1);
        }
        else if (rec && *rec) {
            rc = qw_sec_recovery_use(st, pd.enterprise_id, pd.member_id,
                                     rec);
            v = rc == QW_OK ? 1 : rc == QW_ERR_NOTFOUND ? 0 : -1;
            if (v == 1) {
                ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                              "QW1232: recovery code used by account \"%s\""
                              " of %s", ap_escape_logitem(r->pool,
                              pd.account), d->enterprise);
            }
        }
        else {
            v = 0;
        }
    }
    if (v < 0 && v != -2) {
        return qw_unavailable(r);
    }
    if (v != 1) {
        if (v == -2) {
            replay_noted(r, st, pd.enterprise_id, pd.member_id, pd.account);
        }
        /* QW1233 is matched by fail2ban like QW0404 */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW1233: two-step verification failed for account "
                      "\"%s\" of enterprise %s from %s",
                      ap_escape_logitem(r->pool, pd.account), d->enterprise,
                      r->useragent_ip);
        qw_throttle_addr_fail(r);
        (void)qw_sec_pending_attempt(st, pd.enterprise_id, pd.hash,
                                     QW_PENDING_MAX_ATTEMPTS);
        return send_code_form(r, HTTP_UNAUTHORIZED, binding,
                              qw_str(lang, QW_S_TWOSTEP_FAILED));
    }
    qw_throttle_account_clear(r, d->enterprise, pd.account,
                              QW_THROTTLE_TOTP);
    (void)qw_sec_pending_end(st, pd.enterprise_id, pd.hash);
    qw_sec_pending_cookie_clear(r);
    return qw_signin_finish(r, pd.enterprise_id, pd.member_id, 2,
                            pd.next_url, 1, 0);
}

/* ---- enrolment ---- */

typedef struct {
    int64_t ent, member;
    const char *account;
    const char *binding;      /* CSRF binding: session or pending token */
    int via_pending;
    qw_pending pd;
    int level;
} who_t;

/* Who enrols: a session, or a login waiting for required enrolment.
 * OK, or a status to return. */
static int enrolling_member(request_rec *r, qw_store *st, who_t *w)
{
    qw_viewer *v;
    int rc = qw_viewer_resolve(r, &v);
    qw_status s;

    memset(w, 0, sizeof(*w));
    if (rc != OK) {
        return rc;
    }
    if (v && strcmp(v->kind, "scan")) {
        w->ent = v->enterprise_id;
        w->member = v->member_id;
        w->account = v->account;
        w->binding = v->token;
        w->level = v->auth_level;
        return OK;
    }
    s = qw_sec_pending_of(r, st, &w->pd);
    if (s == QW_OK && !strcmp(w->pd.purpose, "enrol")) {
        w->ent = w->pd.enterprise_id;
        w->member = w->pd.member_id;
        w->account = w->pd.account;
        w->binding = qw_sec_pending_cookie_value(r);
        w->via_pending = 1;
        return OK;
    }
    if (s == QW_ERR_DB) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, qw_cfg_login_url(qw_dir(r)),
                               "?next=", qw_escape_urlc(r->pool, r->uri),
                               NULL));
    return HTTP_SEE_OTHER;
}

static int send_setup(request_rec *r, int status, const who_t *w,
                      const char *secret_b32, const char *message)
{
    qw_lang lang = qw_request_lang(r);
    const char *uri, *svg;

    uri = qw_totp_uri(r->pool, apr_pstrcat(r->pool, "Qiwei ",
                                           qw_dir(r)->enterprise, NULL),
                      w->account, secret_b32);
    svg = qw_qr_svg(r->pool, uri, 220, NULL);
    if (!svg || !qw_csrf_key()) {
        return qw_unavailable(r);
    }
    return qw_page_send(r, status, lang, qw_page_nonce(r),
        qw_str(lang, QW_S_TWOSTEP_TITLE), apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, QW_S_TWOSTEP_TITLE), "</h1>",
        w->via_pending ? "<p class=\"msg\">" : "",
        w->via_pending ? qw_str(lang, QW_S_TWOSTEP_REQUIRED) : "",
        w->via_pending ? "</p>" : "",
        message ? "<p class=\"msg\" role=\"alert\">" : "",
        message ? qw_escape_html(r->pool, message) : "",
        message ? "</p>" : "",
        "<p class=\"hint\">", qw_str(lang, QW_S_TWOSTEP_SETUP_INTRO), "</p>"
        "<p id=\"qr\">", svg, "</p>"
        "<p class=\"hint\">", qw_str(lang, QW_S_TWOSTEP_SECRET),
        " <code id=\"secret\">", secret_b32, "</code></p>"
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"",
        csrf_for(r, "twostep-setup", w->binding), "\">"
        "<label for=\"code\">", qw_str(lang, QW_S_TWOSTEP_CODE), "</label>"
        "<input type=\"text\" id=\"code\" name=\"code\" inputmode=\"numeric\""
        " autocomplete=\"one-time-code\" maxlength=\"16\" required>"
        "<button type=\"submit\">", qw_str(lang, QW_S_TWOSTEP_VERIFY),
        "</button></form>", NULL));
}

int qw_handle_twostep_setup(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_lang lang = qw_request_lang(r);
    qw_store *st;
    who_t w;
    int rc;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    st = qw_sec_store(r, NULL);
    if (!st) {
        return qw_unavailable(r);
    }
    rc = enrolling_member(r, st, &w);
    if (rc == HTTP_SERVICE_UNAVAILABLE) {
        return qw_unavailable(r);
    }
    if (rc != OK) {
        return rc;
    }
    st->who.actor = apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                 w.member);
    if (r->method_number == M_GET) {
        unsigned char secret[QW_TOTP_SECRET_BYTES];
        qw_status s;
        const char *b32;

        if (qw_random(secret, sizeof(secret)) != 0) {
            return qw_unavailable(r);
        }
        s = qw_sec_totp_begin(st, w.ent, w.member, secret, sizeof(secret));
        b32 = qw_base32_encode(r->pool, secret, sizeof(secret));
        OPENSSL_cleanse(secret, sizeof(secret));
        if (s == QW_ERR_CONFLICT) {
            return qw_page_send(r, HTTP_OK, lang, qw_page_nonce(r),
                qw_str(lang, QW_S_TWOSTEP_TITLE), apr_pstrcat(r->pool,
                "<h1>", qw_str(lang, QW_S_TWOSTEP_TITLE), "</h1>"
                "<p class=\"msg ok\">", qw_str(lang, QW_S_TWOSTEP_ALREADY),
                "</p>", NULL));
        }
        if (s != QW_OK) {
            return qw_unavailable(r);
        }
        return send_setup(r, HTTP_OK, &w, b32, NULL);
    }
    {
        apr_table_t *form;
        apr_array_header_t *codes;
        const char *code;
        unsigned char *secret;
        size_t n;
        int enabled, v, i;
        int64_t last, step;
        long c;
        const char *list, *cont = "/";

        if ((rc = qw_read_form(r, &form)) != OK) {
            return rc;
        }
        if (!qw_csrf_ok(r, form, "twostep-setup", w.binding)) {
            return HTTP_FORBIDDEN;
        }
        code = apr_table_get(form, "code");
        if (qw_sec_totp_get(st, w.ent, w.member, &secret, &n, &enabled,
                            &last) != QW_OK) {
            return qw_unavailable(r);
        }
        if (enabled) {
            OPENSSL_cleanse(secret, n);
            return HTTP_CONFLICT;
        }
        step = -1;
        v = code && qw_otp_parse(code, strlen(code), QW_TOTP_DIGITS, &c) == 0;
        if (v) {
            step = qw_totp_match(secret, n, c, (int64_t)apr_time_sec(
                                 apr_time_now()), last, QW_TOTP_WINDOW,
                                 QW_TOTP_STEP, QW_TOTP_DIGITS);
        }
        if (step < 0) {
            const char *b32 = qw_base32_encode(r->pool, secret, n);
            OPENSSL_cleanse(secret, n);
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW1234: two-step enrolment code refused for "
                          "member %" APR_INT64_T_FMT, w.member);
            return send_setup(r, HTTP_BAD_REQUEST, &w, b32,
                              qw_str(lang, QW_S_TWOSTEP_FAILED));
        }
        OPENSSL_cleanse(secret, n);
        if (qw_sec_totp_enable(st, w.ent, w.member, step, QW_RECOVERY_CODES,
                               &codes) != QW_OK) {
            return qw_unavailable(r);
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1235: two-step verification on for member %"
                      APR_INT64_T_FMT " of %s", w.member, d->enterprise);
        if (w.via_pending) {
            /* the rest of the login, as after any second step: an expired
             * password still has to be changed before there is a session.
             * Its 303 becomes the "continue" link below, so the recovery
             * codes are shown first either way. */
            (void)qw_sec_pending_end(st, w.ent, w.pd.hash);
            qw_sec_pending_cookie_clear(r);
            rc = qw_signin_finish(r, w.ent, w.member, 2, w.pd.next_url, 1,
                                  0);
            if (rc != HTTP_SEE_OTHER
                || !(cont = apr_table_get(r->headers_out, "Location"))) {
                return rc == HTTP_SEE_OTHER ? qw_unavailable(r) : rc;
            }
            apr_table_unset(r->headers_out, "Location");
        }
        /* every session ended with the change: this browser gets a new
         * one, at level 2 */
        else if (qw_sec_session_issue(r, w.ent, w.member, "member", 2,
                                      qw_cfg_idle(d), qw_cfg_max_age(d))
                 != OK) {
            return qw_unavailable(r);
        }
        list = "";
        for (i = 0; i < codes->nelts; i++) {
            list = apr_pstrcat(r->pool, list, "<li><code>",
                               APR_ARRAY_IDX(codes, i, const char *),
                               "</code></li>", NULL);
        }
        return qw_page_send(r, HTTP_OK, lang, qw_page_nonce(r),
            qw_str(lang, QW_S_TWOSTEP_TITLE), apr_pstrcat(r->pool,
            "<h1>", qw_str(lang, QW_S_TWOSTEP_TITLE), "</h1>"
            "<p class=\"msg ok\">", qw_str(lang, QW_S_TWOSTEP_ON), "</p>"
            "<ul id=\"recovery-codes\">", list, "</ul>"
            "<p><a href=\"", qw_escape_html(r->pool, cont),
            "\">", qw_str(lang, QW_S_CONTINUE), "</a></p>", NULL));
    }
}

/* Two-step verification pages (R12): the login's second step
 * (<handler>/twostep) and enrolment (<handler>/twostep-setup). */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "qiwei.h"
#include "db.h"
#include "throttle.h"
#include "cfg/config.h"
#include "handle/account.h"
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
        csrf_for(r, "twostep", binding), "\">",
        qw_form_code_fields(r, lang),
        "<button type=\"submit\">", qw_str(lang, QW_S_TWOSTEP_VERIFY),
        "</button></form>", NULL);
    return qw_page_send(r, status, lang, qw_page_nonce(r),
                        qw_str(lang, QW_S_TWOSTEP_TITLE), body);
}

int qw_handle_twostep(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_lang lang = qw_request_lang(r);
    const char *binding = qw_sec_pending_cookie_value(r);
    apr_table_t *form;
    qw_account acc;
    qw_pending pd;
    qw_store *st;
    qw_status rc;
    int hrc;

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
    st->who.actor = apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                 pd.member_id);
    qw_account_member(&acc, r, pd.enterprise_id, pd.member_id, pd.account);
    hrc = qw_account_twostep(r, st, &acc, apr_table_get(form, "code"),
                             apr_table_get(form, "recovery"));
    if (hrc == HTTP_TOO_MANY_REQUESTS) {
        return hrc;
    }
    if (hrc == HTTP_UNAUTHORIZED) {
        (void)qw_sec_pending_attempt(st, pd.enterprise_id, pd.hash,
                                     QW_PENDING_MAX_ATTEMPTS);
        return send_code_form(r, HTTP_UNAUTHORIZED, binding,
                              qw_str(lang, QW_S_TWOSTEP_FAILED));
    }
    if (hrc != OK) {
        return qw_unavailable(r);
    }
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
        qw_form_enrol_intro(r, lang, svg, secret_b32),
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"",
        csrf_for(r, "twostep-setup", w->binding), "\">",
        qw_form_enrol_field(r, lang),
        "<button type=\"submit\">", qw_str(lang, QW_S_TWOSTEP_VERIFY),
        "</button></form>", NULL));
}

int qw_handle_twostep_setup(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_lang lang = qw_request_lang(r);
    qw_account acc;
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
        qw_status s;
        const char *b32;

        qw_account_member(&acc, r, w.ent, w.member, w.account);
        s = qw_account_totp_new(r, st, &acc, &b32);
        if (s == QW_ERR_CONFLICT) {
            return qw_page_twostep_on(r, HTTP_OK, "/");
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
        int v;
        int64_t step;
        const char *list, *cont = "/";

        if ((rc = qw_read_form(r, &form)) != OK) {
            return rc;
        }
        if (!qw_csrf_ok(r, form, "twostep-setup", w.binding)) {
            return HTTP_FORBIDDEN;
        }
        code = apr_table_get(form, "code");
        qw_account_member(&acc, r, w.ent, w.member, w.account);
        step = -1;
        v = qw_account_code_check(r, st, &acc, code, 0, &step);
        if (v == -1) {
            return qw_unavailable(r);
        }
        if (v != 1) {
            const char *b32;
            qw_status s = qw_account_totp_pending(r, st, &acc, &b32);

            if (s == QW_ERR_CONFLICT) {
                /* the secret is live: never shown again (admins alike) */
                return qw_page_twostep_on(r, HTTP_CONFLICT, "/");
            }
            if (s != QW_OK) {
                return qw_unavailable(r);
            }
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW1234: two-step enrolment code refused for "
                          "member %" APR_INT64_T_FMT, w.member);
            return send_setup(r, HTTP_BAD_REQUEST, &w, b32,
                              qw_str(lang, QW_S_TWOSTEP_FAILED));
        }
        if (qw_sec_totp_enable(st, w.ent, w.member, step, QW_RECOVERY_CODES,
                               &codes) != QW_OK) {
            return qw_unavailable(r);
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1235: two-step verification on for member %"
                      APR_INT64_T_FMT " of %s", w.member, d->enterprise);
        /* every session of the member ended with the change: refused on
         * every node before this page says so, as after a password
         * change (QW0119 is logged if that is not confirmed) */
        {
            const char *why;
            (void)qw_db_revocation_barrier(r, &why);
        }
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
        list = qw_form_recovery_list(r, codes);
        return qw_page_send(r, HTTP_OK, lang, qw_page_nonce(r),
            qw_str(lang, QW_S_TWOSTEP_TITLE), apr_pstrcat(r->pool,
            "<h1>", qw_str(lang, QW_S_TWOSTEP_TITLE), "</h1>"
            "<p class=\"msg ok\">", qw_str(lang, QW_S_TWOSTEP_ON), "</p>"
            "<ul id=\"recovery-codes\">", list, "</ul>"
            "<p><a href=\"", qw_escape_html(r->pool, cont),
            "\">", qw_str(lang, QW_S_CONTINUE), "</a></p>", NULL));
    }
}

/* ---- turning it off: <handler>/twostep-off ---- */

/* The page: the state, or the confirmation form.  The proof is the
 * current password (not offered when passwords are checked by the
 * company's own system) or a current code; recovery codes do not count
 * here. */
static int send_off(request_rec *r, int status, const qw_viewer *v,
                    const char *message, int ok, int form)
{
    qw_lang lang = qw_request_lang(r);
    const char *title = qw_str(lang, QW_S_HOME_TWOSTEP_TURN_OFF);
    int pw = !qw_sec_delegated(r);

    if (!qw_csrf_key()) {
        return qw_unavailable(r);
    }
    return qw_page_send(r, status, lang, qw_page_nonce(r), title,
        apr_pstrcat(r->pool, "<h1>", title, "</h1>",
        message ? (ok ? "<p class=\"msg ok\" role=\"status\">"
                      : "<p class=\"msg\" role=\"alert\">") : "",
        message ? qw_escape_html(r->pool, message) : "",
        message ? "</p>" : "",
        form ? "<p class=\"hint\">" : "",
        form ? qw_str(lang, pw ? QW_S_TWOSTEP_OFF_PROMPT
                               : QW_S_TWOSTEP_OFF_PROMPT_CODE) : "",
        form ? "</p><form method=\"post\" action=\"" : "",
        form ? qw_escape_html(r->pool, r->uri) : "",
        form ? "\"><input type=\"hidden\" name=\"csrf\" value=\"" : "",
        form ? csrf_for(r, "twostep-off", v->token) : "",
        form ? "\">" : "",
        form && pw ? "<label for=\"current\">" : "",
        form && pw ? qw_str(lang, QW_S_PW_CURRENT) : "",
        form && pw ? "</label><input type=\"password\" id=\"current\" "
                     "name=\"current\" autocomplete=\"current-password\" "
                     "maxlength=\"1024\">" : "",
        form ? "<label for=\"code\">" : "",
        form ? qw_str(lang, QW_S_TWOSTEP_CODE) : "",
        form ? "</label><input type=\"text\" id=\"code\" name=\"code\" "
               "inputmode=\"numeric\" autocomplete=\"one-time-code\" "
               "maxlength=\"16\">" : "",
        form ? "<button type=\"submit\">" : "",
        form ? title : "",
        form ? "</button></form>" : "",
        "<p><a href=\"", qw_escape_html(r->pool, qw_sec_page_url(r, "home")),
        "\">", qw_str(lang, QW_S_HOME_BACK), "</a></p>", NULL));
}

/* The proof of a POST: OK, HTTP_UNAUTHORIZED (wrong), HTTP_BAD_REQUEST
 * (none given), HTTP_TOO_MANY_REQUESTS or 503. */
static int off_proof(request_rec *r, qw_store *st, const qw_viewer *v,
                     apr_table_t *form)
{
    const char *cur = apr_table_get(form, "current");
    const char *code = apr_table_get(form, "code");
    qw_account acc;

    qw_account_member(&acc, r, v->enterprise_id, v->member_id, v->account);
    if (cur && *cur && !qw_sec_delegated(r)) {
        acc.purpose = "two-step off";
        return qw_account_current_password(r, st, &acc, cur);
    }
    if (code && *code) {
        /* counted, replay-guarded and logged like the login's second
         * step (QW1233 for fail2ban) */
        return qw_account_twostep(r, st, &acc, code, NULL);
    }
    return HTTP_BAD_REQUEST;
}

int qw_handle_twostep_off(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_lang lang = qw_request_lang(r);
    qw_member_security ms;
    apr_table_t *form;
    qw_viewer *v;
    qw_store *st;
    qw_status s;
    int rc;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (r->method_number == M_POST
        && (rc = qw_throttle_addr_check(r)) != OK) {
        return rc;                      /* 429: render/ draws the page */
    }
    if (qw_viewer_resolve(r, &v) != OK) {
        return qw_unavailable(r);
    }
    if (!v) {
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, qw_cfg_login_url(d), "?next=",
                                   qw_escape_urlc(r->pool, r->uri), NULL));
        return r->method_number == M_GET ? HTTP_MOVED_TEMPORARILY
                                         : HTTP_SEE_OTHER;
    }
    if (!strcmp(v->kind, "scan")) {
        /* a public computer's session changes no security setting */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0625: two-step off refused for member %"
                      APR_INT64_T_FMT " of %s: a scan session",
                      v->member_id, d->enterprise);
        return HTTP_FORBIDDEN;
    }
    st = qw_sec_store(r, apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                      v->member_id));
    if (!st || qw_sec_member_state(st, v->enterprise_id, v->member_id, &ms)
               != QW_OK) {
        return qw_unavailable(r);
    }
    if (r->method_number == M_GET) {
        if (!ms.totp_enabled) {
            return send_off(r, HTTP_OK, v,
                            qw_str(lang, QW_S_HOME_TWOSTEP_OFF), 1, 0);
        }
        if (qw_sec_two_step_required_for(r, &ms)) {
            return send_off(r, HTTP_OK, v,
                            qw_str(lang, QW_S_HOME_TWOSTEP_ENFORCED), 0, 0);
        }
        return send_off(r, HTTP_OK, v, NULL, 0, 1);
    }
    if ((rc = qw_read_form(r, &form)) != OK) {
        return rc;
    }
    if (!qw_csrf_ok(r, form, "twostep-off", v->token)) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0621: two-step off refused for member %"
                      APR_INT64_T_FMT " of %s: CSRF check failed",
                      v->member_id, d->enterprise);
        return send_off(r, HTTP_FORBIDDEN, v,
                        qw_str(lang, QW_S_FORM_EXPIRED), 0,
                        ms.totp_enabled);
    }
    if (!ms.totp_enabled) {
        return send_off(r, HTTP_CONFLICT, v,
                        qw_str(lang, QW_S_HOME_TWOSTEP_OFF), 0, 0);
    }
    if (qw_sec_two_step_required_for(r, &ms)) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0622: two-step off refused for member %"
                      APR_INT64_T_FMT " of %s: the enterprise requires "
                      "two-step for members", v->member_id, d->enterprise);
        return send_off(r, HTTP_FORBIDDEN, v,
                        qw_str(lang, QW_S_HOME_TWOSTEP_ENFORCED), 0, 0);
    }
    rc = off_proof(r, st, v, form);
    if (rc == HTTP_TOO_MANY_REQUESTS) {
        return rc;
    }
    if (rc == HTTP_UNAUTHORIZED || rc == HTTP_BAD_REQUEST) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0623: two-step off refused for member %"
                      APR_INT64_T_FMT " of %s from %s: %s", v->member_id,
                      d->enterprise, r->useragent_ip,
                      rc == HTTP_BAD_REQUEST ? "no password or code given"
                                             : "wrong password or code");
        return send_off(r, rc, v, qw_str(lang, rc == HTTP_BAD_REQUEST
                                               ? QW_S_TWOSTEP_OFF_NEED
                                               : QW_S_TWOSTEP_OFF_WRONG),
                        0, 1);
    }
    if (rc != OK) {
        return qw_unavailable(r);
    }
    s = qw_sec_totp_disable(st, v->enterprise_id, v->member_id);
    if (s == QW_ERR_CONFLICT) {
        /* turned off meanwhile, or the setting changed meanwhile */
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0626: two-step off refused for member %"
                      APR_INT64_T_FMT " of %s: %s", v->member_id,
                      d->enterprise, st->err ? st->err : "conflict");
        return send_off(r, HTTP_CONFLICT, v,
                        qw_str(lang, QW_S_HOME_TWOSTEP_ENFORCED), 0, 0);
    }
    if (s != QW_OK) {
        return qw_unavailable(r);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW0620: two-step verification off for member %"
                  APR_INT64_T_FMT " of %s from %s; every session ended",
                  v->member_id, d->enterprise, r->useragent_ip);
    /* the ended sessions are refused on every node before the page says
     * so (QW0119 is logged if that is not confirmed) */
    {
        const char *why;
        (void)qw_db_revocation_barrier(r, &why);
    }
    /* every session ended with the change: this browser gets a new one,
     * at the password's level */
    if (qw_sec_session_issue(r, v->enterprise_id, v->member_id, "member", 1,
                             qw_cfg_idle(d), qw_cfg_max_age(d)) != OK) {
        return qw_unavailable(r);
    }
    return send_off(r, HTTP_OK, v, qw_str(lang, QW_S_TWOSTEP_OFF_DONE), 1,
                    0);
}

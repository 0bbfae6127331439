/* The admin console's HTML pages: the login form, the logout form, and
 * the steps of a pending session (admin-twostep, admin-twostep-setup,
 * admin-password). */
#include "apr_strings.h"
#include "httpd.h"
#include "http_log.h"
#include "util_script.h"

#include "qiwei.h"
#include "db.h"
#include "handle/handle.h"
#include "util/csrf.h"
#include "util/totp.h"
#include "util/qr.h"

#include "handle/account.h"
#include "handle/admin.h"

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
    if ((rc = qw_throttle_addr_check(r)) != OK) {
        return rc;                      /* 429: render/ draws the page */
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
        return rc;                      /* render/ draws the 429 page */
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
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  qw_admin_cookie_legacy_clear(r));
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
    {
        const char *why;
        (void)qw_db_revocation_barrier(r, &why);
    }
    apr_table_add(r->err_headers_out, "Set-Cookie", qw_admin_cookie(r, NULL));
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  qw_admin_cookie_legacy_clear(r));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, ap_make_dirstr_parent(r->pool,
                                                              r->uri),
                               "admin-login", NULL));
    return HTTP_SEE_OTHER;
}

/* ---- the steps as pages, for the form login ----
 *
 * <handler>/admin-twostep (code or recovery code), admin-twostep-setup
 * (QR code, secret, one code to confirm; the recovery codes shown once),
 * admin-password (forced change).  The same work as the JSON steps
 * (admin_twostep.c); CSRF bound to the admin session's
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
    const char *fields = qw_form_code_fields(r, lang);
    const char *intro = apr_pstrcat(r->pool, "<p class=\"hint\">",
                                    qw_str(lang, QW_S_TWOSTEP_PROMPT),
                                    "</p>", NULL);
    int v;

    if (!form) {
        return step_page(r, HTTP_OK, s, next, NULL, intro, fields,
                         qw_str(lang, QW_S_TWOSTEP_VERIFY));
    }
    v = qw_admin_twostep_verify(r, st, s, apr_table_get(form, "code"),
                apr_table_get(form, "recovery"));
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return v;                       /* render/ draws the 429 page */
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
        qw_form_enrol_intro(r, lang, svg, b32), NULL),
        qw_form_enrol_field(r, lang),
        qw_str(lang, QW_S_TWOSTEP_VERIFY));
}

static int page_setup(request_rec *r, qw_store *st, qw_admin_session *s,
                      apr_table_t *form, const char *next)
{
    qw_lang lang = qw_request_lang(r);
    apr_array_header_t *codes;
    const char *list = "", *b32;
    int v;

    if (!form) {
        const char *uri, *svg;

        v = qw_admin_twostep_begin(r, st, s, &b32, &uri, &svg);
        if (v == HTTP_CONFLICT) {
            return qw_page_twostep_on(r, HTTP_OK,
                                      step_location(r, s->pending, next));
        }
        if (v != OK) {
            return qw_unavailable(r);
        }
        return send_setup_page(r, HTTP_OK, s, next, b32, NULL);
    }
    v = qw_admin_twostep_confirm(r, st, s, apr_table_get(form, "code"), &codes,
                                 &b32);
    if (v == HTTP_BAD_REQUEST) {
        /* the same secret again, so the app already set up still fits */
        return send_setup_page(r, HTTP_BAD_REQUEST, s, next, b32,
                               qw_str(lang, QW_S_TWOSTEP_FAILED));
    }
    if (v == HTTP_CONFLICT) {
        /* on already: its secret is never shown again, as for members */
        return qw_page_twostep_on(r, HTTP_CONFLICT,
                                  step_location(r, s->pending, next));
    }
    if (v != OK) {
        return qw_unavailable(r);
    }
    list = qw_form_recovery_list(r, codes);
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
    const char *fields = qw_form_password_fields(r, lang);
    const char *intro = s->pending
        ? apr_pstrcat(r->pool, "<p class=\"msg\">",
                      qw_str(lang, QW_S_PW_EXPIRED), "</p>", NULL) : NULL;
    const char *button = qw_str(lang, QW_S_PW_CHANGE_TITLE);
    const char *cur, *pw, *pw2, *why, *msg;
    int v;

    if (!form) {
        return step_page(r, HTTP_OK, s, next, NULL, intro, fields, button);
    }
    cur = apr_table_get(form, "current");
    pw = apr_table_get(form, "password");
    pw2 = apr_table_get(form, "password2");
    if (!cur || !pw || !pw2) {
        return step_page(r, HTTP_BAD_REQUEST, s, next,
                         qw_str(lang, QW_S_PW_CURRENT_WRONG), intro, fields,
                         button);
    }
    /* a mismatch too is the shared check's (after the current password,
     * as for members) */
    v = qw_admin_password_change(r, st, s, cur, pw, pw2, &why, &msg);
    if (v == HTTP_TOO_MANY_REQUESTS) {
        return v;                       /* render/ draws the 429 page */
    }
    if (v == HTTP_UNAUTHORIZED) {
        return step_page(r, HTTP_UNAUTHORIZED, s, next,
                         qw_str(lang, QW_S_PW_CURRENT_WRONG), intro, fields,
                         button);
    }
    if (v == HTTP_BAD_REQUEST) {
        return step_page(r, HTTP_BAD_REQUEST, s, next, msg, intro, fields,
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
        return HTTP_TOO_MANY_REQUESTS;  /* render/ draws the page */
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
        : !strcmp(name, "admin-twostep-setup") ? !qw_admin_may_enrol(r, s)
        : !qw_admin_may_change_password(r, s)) {
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

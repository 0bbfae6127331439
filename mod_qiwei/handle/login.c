/* Login and logout pages.
 *
 * Every failure reason (unknown enterprise or account, wrong password, member
 * not active) gets the same answer after the same work: an unknown account is
 * checked against a dummy Argon2id hash. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "qiwei.h"
#include "db.h"
#include "cfg/config.h"
#include "handle/account.h"
#include "handle/handle.h"
#include "handle/signin.h"    /* account security (issue 6) */
#include "throttle.h"
#include "util/csrf.h"
#include "util/pwhash.h"
#include "util/token.h"
#include "util/text.h"
#include "metrics.h"

extern qw_pw_params qw_pw_cfg;

/* Where a login without a (usable) next= lands: the member's home page
 * of this handler location. */
static const char *home_url(request_rec *r)
{
    return qw_sec_page_url(r, "home");
}

/* The enterprise's display name for the login page (NULL when it cannot
 * be read: the form works without it). */
static const char *enterprise_name(request_rec *r)
{
    qw_store *st = qw_sec_store(r, NULL);
    const char *name = NULL;

    if (!st || qw_enterprise_name(st, qw_dir(r)->enterprise, &name)
               != QW_OK) {
        return NULL;
    }
    return name;
}

static const char *arg_next(request_rec *r)
{
    apr_table_t *args;
    const char *next;
    ap_args_to_table(r, &args);
    next = apr_table_get(args, "next");
    return (next && qw_safe_local_path(next)) ? next : home_url(r);
}

static int send_login_form(request_rec *r, int status, const char *next,
                           const char *message, const char *account)
{
    qw_lang lang = qw_request_lang(r);
    const char *nonce = qw_page_nonce(r);
    const char *binding = qw_csrf_cookie(r, 1);
    const unsigned char *key = qw_csrf_key();
    const char *csrf, *body, *ent_name;

    if (!binding || !key || !nonce) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0401: cannot make a CSRF token (no key or RNG)");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    csrf = qw_csrf_make(r->pool, key, "login", binding);
    ent_name = enterprise_name(r);
    body = apr_pstrcat(r->pool,
        ent_name ? "<p class=\"enterprise\">" : "",
        ent_name ? qw_escape_html(r->pool, ent_name) : "",
        ent_name ? "</p>" : "",
        "<h1>", qw_escape_html(r->pool, qw_str(lang, QW_S_LOGIN_TITLE)),
        "</h1>",
        message ? "<p class=\"msg\" role=\"alert\">" : "",
        message ? qw_escape_html(r->pool, message) : "",
        message ? "</p>" : "",
        "<form method=\"post\" action=\"",
        qw_escape_html(r->pool, r->uri), "\" autocomplete=\"on\">"
        "<input type=\"hidden\" name=\"csrf\" value=\"", csrf, "\">"
        "<input type=\"hidden\" name=\"next\" value=\"",
        qw_escape_html(r->pool, next), "\">"
        "<label for=\"account\">", qw_str(lang, QW_S_ACCOUNT), "</label>"
        "<input type=\"text\" id=\"account\" name=\"account\" "
        "autocapitalize=\"none\" autocomplete=\"username\" required "
        "maxlength=\"64\" value=\"",
        account ? qw_escape_html(r->pool, account) : "", "\">"
        "<label for=\"password\">", qw_str(lang, QW_S_PASSWORD), "</label>"
        "<input type=\"password\" id=\"password\" name=\"password\" "
        "autocomplete=\"current-password\" required maxlength=\"1024\">"
        "<button type=\"submit\">", qw_str(lang, QW_S_SIGN_IN), "</button>"
        "</form>", NULL);
    if (status == HTTP_UNAUTHORIZED) {
        apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                       apr_psprintf(r->pool, "Qiwei realm=\"%s\"",
                                    qw_dir(r)->enterprise));
    }
    return qw_page_send(r, status, lang, nonce,
                        qw_str(lang, QW_S_LOGIN_TITLE), body);
}

static int csrf_refused(request_rec *r, const char *next)
{
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW0402: login form refused: CSRF token or origin check "
                  "failed for client %s", r->useragent_ip);
    return send_login_form(r, HTTP_FORBIDDEN, next,
                           qw_str(qw_request_lang(r), QW_S_FORM_EXPIRED),
                           NULL);
}

static void maybe_rehash(request_rec *r, const char *ent_id,
                         const char *member_id, const char *encoded,
                         const char *pw, size_t len)
{
    const char *values[3];
    char *fresh;
    PGresult *res;

    if (!qw_pw_needs_rehash(encoded, &qw_pw_cfg)) {
        return;
    }
    fresh = qw_account_pw_hash(r, pw, len);
    if (!fresh) {
        return;
    }
    values[0] = ent_id;
    values[1] = member_id;
    values[2] = fresh;
    res = qw_db_exec(r, QW_STMT_REHASH, 3, values, NULL, NULL);
    if (res) {
        PQclear(res);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0403: password hash of member %s upgraded",
                      member_id);
    }
}

static int login_post(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    apr_table_t *form;
    const char *account, *password, *next, *encoded = NULL;
    const char *ent_id = NULL, *member_id = NULL, *status = NULL;
    const char *values[2];
    PGresult *res;
    size_t pwlen;
    int rc, ok;

    /* issue 6: a blocked source address is refused before the body is
     * read and before any hashing */
    if ((rc = qw_throttle_addr_check(r)) != OK) {
        return rc;                      /* 429: render/ draws the page */
    }
    rc = qw_read_form(r, &form);
    if (rc != OK) {
        return rc;
    }
    next = apr_table_get(form, "next");
    if (!next || !qw_safe_local_path(next)) {
        next = home_url(r);
    }
    if (!qw_csrf_ok(r, form, "login", qw_csrf_cookie(r, 0))) {
        return csrf_refused(r, next);
    }
    account = apr_table_get(form, "account");
    password = apr_table_get(form, "password");
    if (!account || !password) {
        return send_login_form(r, HTTP_BAD_REQUEST, next,
                               qw_str(qw_request_lang(r),
                                      QW_S_LOGIN_FAILED), NULL);
    }
    account = qw_ascii_lower(r->pool, apr_pstrdup(r->pool, account));
    {
        /* trim the spaces phones like to add */
        char *a = (char *)account, *e;
        while (*a == ' ') {
            a++;
        }
        e = a + strlen(a);
        while (e > a && e[-1] == ' ') {
            *--e = '\0';
        }
        account = a;
    }
    pwlen = strlen(password);

    if (qw_valid_account(account) && pwlen <= QW_PW_MAX_LEN) {
        /* issue 6: per-account throttling, before any hashing */
        rc = qw_throttle_account_hit(r, d->enterprise, account,
                                     QW_THROTTLE_PASSWORD,
                                     &qw_throttle_member, NULL);
        if (rc == HTTP_TOO_MANY_REQUESTS) {
            return rc;                  /* render/ draws the 429 page */
        }
        if (rc != OK) {
            return qw_unavailable(r);
        }
        values[0] = d->enterprise;
        values[1] = account;
        res = qw_db_exec(r, QW_STMT_LOGIN, 2, values, NULL, NULL);
        if (!res) {
            return qw_unavailable(r);
        }
        if (PQntuples(res) == 1) {
            ent_id = apr_pstrdup(r->pool, PQgetvalue(res, 0,
                                 QW_LOGIN_COL_ENTERPRISE_ID));
            member_id = apr_pstrdup(r->pool, PQgetvalue(res, 0,
                                    QW_LOGIN_COL_MEMBER_ID));
            if (!PQgetisnull(res, 0, QW_LOGIN_COL_PASSWORD_HASH)) {
                encoded = apr_pstrdup(r->pool, PQgetvalue(res, 0,
                                      QW_LOGIN_COL_PASSWORD_HASH));
            }
            status = apr_pstrdup(r->pool, PQgetvalue(res, 0,
                                 QW_LOGIN_COL_STATUS));
        }
        PQclear(res);
    }

    if (qw_sec_delegated(r)) {
        /* issue 6 (R16): the company's own password system decides;
         * membership and status still come from us */
        ok = qw_valid_account(account)
             ? qw_sec_delegated_check(r, account, password) : 0;
        if (ok < 0) {
            return qw_unavailable(r);
        }
    }
    else {
        /* encoded == NULL: the same Argon2id work against a dummy hash */
        if (qw_account_pw_verify(r, encoded, password, pwlen, &ok) != 0) {
            return qw_unavailable(r);
        }
    }

    if (ok != 1 || !status || strcmp(status, "active")) {
        qw_throttle_addr_fail(r);       /* issue 6 */
        qw_metrics_inc(QW_C_LOGIN_MEMBER_FAIL);
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0404: login failed for account \"%s\" of "
                      "enterprise %s from %s",
                      ap_escape_logitem(r->pool, account), d->enterprise,
                      r->useragent_ip);
        return send_login_form(r, HTTP_UNAUTHORIZED, next,
                               qw_str(qw_request_lang(r), QW_S_LOGIN_FAILED),
                               account);
    }

    /* issue 6: counters cleared; a second step, forced change or
     * required enrolment may come before the session */
    qw_throttle_account_clear(r, d->enterprise, account,
                              QW_THROTTLE_PASSWORD);
    rc = qw_signin_after_password(r, ent_id, member_id, next);
    if (rc != DECLINED) {
        return rc;
    }
    if (qw_member_session_new(r, apr_atoi64(ent_id), apr_atoi64(member_id),
                              "member", 1, qw_cfg_idle(d),
                              qw_cfg_max_age(d)) != OK) {
        return qw_unavailable(r);
    }
    if (encoded && !qw_sec_delegated(r)) {
        maybe_rehash(r, ent_id, member_id, encoded, password, pwlen);
    }
    qw_metrics_inc(QW_C_LOGIN_MEMBER_OK);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0405: member %s of %s logged in from %s", member_id,
                  d->enterprise, r->useragent_ip);
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location", next);
    return HTTP_SEE_OTHER;
}

int qw_handle_login(request_rec *r)
{
    if (r->method_number == M_GET) {
        return send_login_form(r, HTTP_OK, arg_next(r), NULL, NULL);
    }
    if (r->method_number == M_POST) {
        return login_post(r);
    }
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    return HTTP_METHOD_NOT_ALLOWED;
}

/* ---- logout ---- */

static int send_logout_form(request_rec *r, int status, const char *binding)
{
    qw_lang lang = qw_request_lang(r);
    const char *nonce = qw_page_nonce(r);
    const char *csrf = qw_csrf_make(r->pool, qw_csrf_key(), "logout",
                                    binding);
    const char *body = apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, QW_S_SIGN_OUT), "</h1>"
        "<p class=\"hint\">", qw_str(lang, QW_S_SIGN_OUT_CONFIRM), "</p>"
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"", csrf, "\">"
        "<button type=\"submit\">", qw_str(lang, QW_S_SIGN_OUT),
        "</button></form>", NULL);
    return qw_page_send(r, status, lang, nonce, qw_str(lang, QW_S_SIGN_OUT),
                        body);
}

int qw_handle_logout(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    /* logout is bound to the session cookie itself: an attacker's page
     * cannot read it, so cannot forge the token */
    const char *binding = qw_cookie_value_of_session(r);
    apr_table_t *form;
    int rc;

    if (!qw_csrf_key()) {
        return qw_unavailable(r);
    }
    if (!binding) {
        /* no session: nothing to end */
        apr_table_setn(r->headers_out, "Location", qw_cfg_login_url(d));
        return HTTP_SEE_OTHER;
    }
    if (r->method_number == M_GET) {
        return send_logout_form(r, HTTP_OK, binding);
    }
    if (r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    rc = qw_read_form(r, &form);
    if (rc != OK) {
        return rc;
    }
    if (!qw_csrf_ok(r, form, "logout", binding)) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0406: logout refused: CSRF check failed for "
                      "client %s", r->useragent_ip);
        return send_logout_form(r, HTTP_FORBIDDEN, binding);
    }
    if (qw_member_session_drop(r) != 0) {
        return qw_unavailable(r);
    }
    /* the session is gone from the database; wait until no node serves
     * it from its cache (QW0119 is logged if that is not confirmed: the
     * browser's cookie goes either way) */
    {
        const char *why;
        (void)qw_db_revocation_barrier(r, &why);
    }
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  qw_session_cookie(r, NULL));
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location", qw_cfg_login_url(d));
    return HTTP_SEE_OTHER;
}

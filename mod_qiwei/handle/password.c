/* Change password (R11): <handler>/password.  Asks for the current
 * password, checks the policy and the history, ends every other session,
 * and is logged.  Also the forced change of an expired password, reached
 * from the login with a pending-login cookie instead of a session. */
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

typedef struct {
    int64_t ent, member;
    const char *account;
    const char *binding;
    int level;
    int via_pending;
    qw_pending pd;
} changer;

static int send_form(request_rec *r, int status, const changer *c,
                     const char *message, int ok)
{
    qw_lang lang = qw_request_lang(r);
    const char *title = qw_str(lang, QW_S_PW_CHANGE_TITLE);

    if (!qw_csrf_key()) {
        return qw_unavailable(r);
    }
    return qw_page_send(r, status, lang, qw_page_nonce(r), title,
        apr_pstrcat(r->pool, "<h1>", title, "</h1>",
        c->via_pending ? "<p class=\"msg\">" : "",
        c->via_pending ? qw_str(lang, QW_S_PW_EXPIRED) : "",
        c->via_pending ? "</p>" : "",
        message ? (ok ? "<p class=\"msg ok\" role=\"status\">"
                      : "<p class=\"msg\" role=\"alert\">") : "",
        message ? qw_escape_html(r->pool, message) : "",
        message ? "</p>" : "",
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"",
        qw_csrf_make(r->pool, qw_csrf_key(), "password", c->binding), "\">",
        qw_form_password_fields(r, lang),
        "<button type=\"submit\">", title, "</button></form>", NULL));
}

static int who_changes(request_rec *r, qw_store *st, changer *c)
{
    qw_viewer *v;
    int rc = qw_viewer_resolve(r, &v);
    qw_status s;

    memset(c, 0, sizeof(*c));
    if (rc != OK) {
        return rc;
    }
    /* a scan session on a public computer cannot change the password */
    if (v && strcmp(v->kind, "scan")) {
        c->ent = v->enterprise_id;
        c->member = v->member_id;
        c->account = v->account;
        c->binding = v->token;
        c->level = v->auth_level;
        return OK;
    }
    s = qw_sec_pending_of(r, st, &c->pd);
    if (s == QW_OK && !strcmp(c->pd.purpose, "expired")) {
        c->ent = c->pd.enterprise_id;
        c->member = c->pd.member_id;
        c->account = c->pd.account;
        c->binding = qw_sec_pending_cookie_value(r);
        c->level = c->pd.auth_level;
        c->via_pending = 1;
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

int qw_handle_password(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_lang lang = qw_request_lang(r);
    apr_table_t *form;
    qw_member_security ms;
    qw_pwpolicy pol;
    qw_pwp_result pr;
    const char *cur, *pw, *pw2;
    char *fresh;
    qw_account acc;
    qw_store *st;
    changer c;
    int rc;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (r->method_number == M_POST
        && (rc = qw_throttle_addr_check(r)) != OK) {
        return rc;                      /* 429: render/ draws the page */
    }
    st = qw_sec_store(r, NULL);
    if (!st) {
        return qw_unavailable(r);
    }
    rc = who_changes(r, st, &c);
    if (rc == HTTP_SERVICE_UNAVAILABLE) {
        return qw_unavailable(r);
    }
    if (rc != OK) {
        return rc;
    }
    st->who.actor = apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                 c.member);
    if (qw_sec_delegated(r)) {
        return qw_page_send(r, HTTP_CONFLICT, lang, qw_page_nonce(r),
            qw_str(lang, QW_S_PW_CHANGE_TITLE), apr_pstrcat(r->pool,
            "<h1>", qw_str(lang, QW_S_PW_CHANGE_TITLE), "</h1><p class=\""
            "msg\">", qw_str(lang, QW_S_PW_DELEGATED), "</p>", NULL));
    }
    if (r->method_number == M_GET) {
        return send_form(r, HTTP_OK, &c, NULL, 0);
    }
    if ((rc = qw_read_form(r, &form)) != OK) {
        return rc;
    }
    if (!qw_csrf_ok(r, form, "password", c.binding)) {
        return send_form(r, HTTP_FORBIDDEN, &c,
                         qw_str(lang, QW_S_FORM_EXPIRED), 0);
    }
    cur = apr_table_get(form, "current");
    pw = apr_table_get(form, "password");
    pw2 = apr_table_get(form, "password2");
    if (!cur || !pw || !pw2 || strlen(cur) > QW_PW_MAX_LEN) {
        return send_form(r, HTTP_BAD_REQUEST, &c,
                         qw_str(lang, QW_S_PW_CURRENT_WRONG), 0);
    }
    if (qw_sec_member_state(st, c.ent, c.member, &ms) != QW_OK) {
        return qw_unavailable(r);
    }
    qw_sec_policy_for(r, &ms, &pol);
    /* guessing the current password here is throttled like the login; the
     * new one is checked as an admin's is (account.c) */
    qw_account_member(&acc, r, c.ent, c.member, c.account);
    rc = qw_account_new_password(r, st, &acc, &pol, qw_sec_blocklist(), cur,
                                 pw, pw2, &pr);
    if (rc == HTTP_TOO_MANY_REQUESTS) {
        return rc;                      /* render/ draws the 429 page */
    }
    if (rc == HTTP_UNAUTHORIZED) {
        return send_form(r, HTTP_UNAUTHORIZED, &c,
                         qw_str(lang, QW_S_PW_CURRENT_WRONG), 0);
    }
    if (rc != OK) {
        return qw_unavailable(r);
    }
    if (pr != QW_PWP_OK) {
        return send_form(r, HTTP_BAD_REQUEST, &c,
                         qw_pwpolicy_message(r->pool, &pol, pr, lang), 0);
    }
    fresh = qw_account_pw_hash(r, pw, strlen(pw));
    if (!fresh || qw_sec_password_change(st, c.ent, c.member, fresh,
                                         pol.history) != QW_OK) {
        return qw_unavailable(r);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW1242: member %" APR_INT64_T_FMT " of %s changed the "
                  "password from %s; other sessions ended", c.member,
                  d->enterprise, r->useragent_ip);
    /* the other sessions end on every node before this page says so
     * (QW0119 is logged if that is not confirmed) */
    {
        const char *why;
        (void)qw_db_revocation_barrier(r, &why);
    }
    if (c.via_pending) {
        (void)qw_sec_pending_end(st, c.ent, c.pd.hash);
        qw_sec_pending_cookie_clear(r);
        return qw_signin_finish(r, c.ent, c.member, c.level, c.pd.next_url,
                                1, 1);
    }
    /* every session ended, this browser's too: it gets a fresh one */
    if (qw_sec_session_issue(r, c.ent, c.member, "member", c.level,
                             qw_cfg_idle(d), qw_cfg_max_age(d)) != OK) {
        return qw_unavailable(r);
    }
    c.binding = NULL;
    return qw_page_send(r, HTTP_OK, lang, qw_page_nonce(r),
        qw_str(lang, QW_S_PW_CHANGE_TITLE), apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, QW_S_PW_CHANGE_TITLE), "</h1>"
        "<p class=\"msg ok\" role=\"status\">", qw_str(lang, QW_S_PW_CHANGED),
        "</p><p><a href=\"/\">", qw_str(lang, QW_S_CONTINUE), "</a></p>",
        NULL));
}

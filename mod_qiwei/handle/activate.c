/* The activation page: an invited person follows the one-time link an admin
 * sent and sets a password.  This is the only way into an enterprise: there
 * is no sign-up. */
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
#include "handle/signin.h"    /* password policy (issue 6) */
#include "store/store.h"
#include "util/csrf.h"
#include "util/pwhash.h"
#include "util/token.h"
#include "util/text.h"

#define QW_MIN_PASSWORD_CHARS 12

typedef struct {
    const char *token;
    unsigned char hash[QW_TOKEN_HASH_LEN];
    const char *ent_id;
    const char *member_id;
    const char *display_name;
} invite;

static int send_form(request_rec *r, int status, const invite *inv,
                     const char *message)
{
    qw_lang lang = qw_request_lang(r);
    const char *nonce = qw_page_nonce(r);
    const char *binding = qw_csrf_cookie(r, 1);
    const char *csrf, *body;

    if (!binding || !nonce || !qw_csrf_key()) {
        return qw_unavailable(r);
    }
    csrf = qw_csrf_make(r->pool, qw_csrf_key(), "activate", binding);
    body = apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, QW_S_ACTIVATE_TITLE), "</h1>"
        "<p class=\"hint\">", qw_str(lang, QW_S_ACTIVATE_INTRO), "</p>"
        "<p><strong>", qw_escape_html(r->pool, inv->display_name),
        "</strong></p>",
        message ? "<p class=\"msg\" role=\"alert\">" : "",
        message ? qw_escape_html(r->pool, message) : "",
        message ? "</p>" : "",
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"", csrf, "\">"
        "<input type=\"hidden\" name=\"t\" value=\"",
        qw_escape_html(r->pool, inv->token), "\">"
        "<label for=\"password\">", qw_str(lang, QW_S_NEW_PASSWORD),
        "</label><input type=\"password\" id=\"password\" name=\"password\""
        " autocomplete=\"new-password\" required minlength=\"12\""
        " maxlength=\"1024\">"
        "<label for=\"password2\">", qw_str(lang, QW_S_REPEAT_PASSWORD),
        "</label><input type=\"password\" id=\"password2\" "
        "name=\"password2\" autocomplete=\"new-password\" required "
        "minlength=\"12\" maxlength=\"1024\">"
        "<button type=\"submit\">", qw_str(lang, QW_S_ACTIVATE_BUTTON),
        "</button></form>", NULL);
    return qw_page_send(r, status, lang, nonce,
                        qw_str(lang, QW_S_ACTIVATE_TITLE), body);
}

static int send_message(request_rec *r, int status, qw_string_id title,
                        qw_string_id text, int login_link)
{
    qw_lang lang = qw_request_lang(r);
    const char *body = apr_pstrcat(r->pool,
        "<h1>", qw_str(lang, title), "</h1>"
        "<p class=\"msg", status == HTTP_OK ? " ok" : "", "\">",
        qw_str(lang, text), "</p>",
        login_link ? "<p><a href=\"" : "",
        login_link ? qw_escape_html(r->pool, qw_cfg_login_url(qw_dir(r)))
                   : "",
        login_link ? "\">" : "",
        login_link ? qw_str(lang, QW_S_GO_TO_LOGIN) : "",
        login_link ? "</a></p>" : "", NULL);
    return qw_page_send(r, status, lang, qw_page_nonce(r),
                        qw_str(lang, title), body);
}

static int bad_link(request_rec *r)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0501: activation link invalid, used or expired "
                  "(client %s)", r->useragent_ip);
    return send_message(r, HTTP_GONE, QW_S_ACTIVATE_TITLE,
                        QW_S_ACTIVATE_BAD_LINK, 0);
}

/* Look the token up: OK with inv filled, HTTP_GONE, or 503. */
static int lookup(request_rec *r, const char *token, invite *inv)
{
    unsigned char raw[QW_LONG_TOKEN_BYTES];
    const char *values[2];
    int lengths[2] = { 0, QW_TOKEN_HASH_LEN }, formats[2] = { 0, 1 };
    PGresult *res;

    if (!token || qw_token_decode(token, strlen(token), raw,
                                  sizeof(raw)) != 0) {
        return HTTP_GONE;
    }
    inv->token = token;
    qw_token_hash(raw, sizeof(raw), inv->hash);
    values[0] = qw_dir(r)->enterprise;
    values[1] = (const char *)inv->hash;
    res = qw_db_exec(r, QW_STMT_ACTIVATION, 2, values, lengths,
                     formats);
    if (!res) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return HTTP_GONE;
    }
    inv->ent_id = apr_pstrdup(r->pool, PQgetvalue(res, 0,
                              QW_ACTIVATION_COL_ENTERPRISE_ID));
    inv->member_id = apr_pstrdup(r->pool, PQgetvalue(res, 0,
                                 QW_ACTIVATION_COL_MEMBER_ID));
    inv->display_name = apr_pstrdup(r->pool, PQgetvalue(res, 0,
                                    QW_ACTIVATION_COL_DISPLAY_NAME));
    PQclear(res);
    return OK;
}

/* Use the token and set the password in one transaction with its audit
 * row.  Returns OK, HTTP_GONE (raced: used meanwhile) or 503. */
static int activate(request_rec *r, const invite *inv, const char *hash)
{
    qw_store st;
    const char *p1[2];
    const char *p2[3];
    PGresult *res;
    qw_status rc;
    char *hexhash;

    if (qw_db_store(r, &st, apr_pstrcat(r->pool, "member:", inv->member_id,
                                        NULL), NULL) != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }

    if (qw_store_begin(&st) != QW_OK) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    hexhash = apr_pstrcat(r->pool, "\\x",
                          qw_hex(r->pool, inv->hash, sizeof(inv->hash)),
                          NULL);
    p1[0] = inv->ent_id;
    p1[1] = hexhash;
    res = qw_store_exec(&st, "UPDATE activation_tokens SET used_at = now()"
                        " WHERE enterprise_id = $1 AND token_hash = $2"
                        "   AND used_at IS NULL AND expires_at > now()"
                        " RETURNING member_id", 2, p1, &rc);
    if (!res) {
        goto fail;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        qw_store_rollback(&st);
        return HTTP_GONE;
    }
    PQclear(res);
    p2[0] = inv->ent_id;
    p2[1] = inv->member_id;
    p2[2] = hash;
    res = qw_store_exec(&st, "UPDATE members SET password_hash = $3,"
                        " status = 'active', activated_at = now(),"
                        " password_changed_at = now(),"
                        " status_changed_at = now(), updated_at = now()"
                        " WHERE enterprise_id = $1 AND member_id = $2"
                        "   AND status = 'invited' RETURNING 1", 3, p2, &rc);
    if (!res) {
        goto fail;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        qw_store_rollback(&st);
        return HTTP_GONE;
    }
    PQclear(res);
    if (qw_audit_append(&st, apr_atoi64(inv->ent_id), "directory",
                        "activate",
                        apr_pstrcat(r->pool, "member:", inv->member_id,
                                    NULL), "success", NULL, NULL) != QW_OK
        || qw_store_commit(&st) != QW_OK) {
        goto fail;
    }
    return OK;

fail:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW0502: activation of member %s failed: %s",
                  inv->member_id, st.err ? st.err : "database error");
    qw_store_rollback(&st);
    return HTTP_SERVICE_UNAVAILABLE;
}

int qw_handle_activate(request_rec *r)
{
    invite inv;
    qw_lang lang = qw_request_lang(r);
    int rc;

    memset(&inv, 0, sizeof(inv));
    if (r->method_number == M_GET) {
        apr_table_t *args;
        ap_args_to_table(r, &args);
        rc = lookup(r, apr_table_get(args, "t"), &inv);
        if (rc == HTTP_SERVICE_UNAVAILABLE) {
            return qw_unavailable(r);
        }
        if (rc != OK) {
            return bad_link(r);
        }
        return send_form(r, HTTP_OK, &inv, NULL);
    }
    if (r->method_number == M_POST) {
        apr_table_t *form;
        const char *pw, *pw2;
        char *hash;
        apr_size_t chars = 0;
        const char *c;

        rc = qw_read_form(r, &form);
        if (rc != OK) {
            return rc;
        }
        rc = lookup(r, apr_table_get(form, "t"), &inv);
        if (rc == HTTP_SERVICE_UNAVAILABLE) {
            return qw_unavailable(r);
        }
        if (rc != OK) {
            return bad_link(r);
        }
        if (!qw_csrf_ok(r, form, "activate", qw_csrf_cookie(r, 0))) {
            ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                          "QW0503: activation form refused: CSRF check "
                          "failed for client %s", r->useragent_ip);
            return send_form(r, HTTP_FORBIDDEN, &inv,
                             qw_str(lang, QW_S_FORM_EXPIRED));
        }
        pw = apr_table_get(form, "password");
        pw2 = apr_table_get(form, "password2");
        if (!pw || !pw2 || strcmp(pw, pw2)) {
            return send_form(r, HTTP_BAD_REQUEST, &inv,
                             qw_str(lang, QW_S_ACTIVATE_MISMATCH));
        }
        (void)c;
        (void)chars;
        {
            /* issue 6: the enterprise's password policy, with a reason */
            qw_store *sst = qw_sec_store(r, NULL);
            qw_member_security ms;
            qw_pwpolicy pol;
            qw_pwp_result pr;

            if (!sst || qw_sec_member_state(sst, apr_atoi64(inv.ent_id),
                                            apr_atoi64(inv.member_id),
                                            &ms) != QW_OK) {
                return qw_unavailable(r);
            }
            qw_sec_policy_for(r, &ms, &pol);
            pr = qw_pwpolicy_check(&pol, qw_sec_blocklist(), r->pool, pw,
                                   strlen(pw), ms.account);
            if (pr != QW_PWP_OK) {
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              "QW0505: activation password refused: %s",
                              qw_pwpolicy_reason(pr));
                return send_form(r, HTTP_BAD_REQUEST, &inv,
                                 qw_pwpolicy_message(r->pool, &pol, pr,
                                                     lang));
            }
        }
        hash = qw_account_pw_hash(r, pw, strlen(pw));
        if (!hash) {
            return qw_unavailable(r);
        }
        rc = activate(r, &inv, hash);
        if (rc == HTTP_SERVICE_UNAVAILABLE) {
            return qw_unavailable(r);
        }
        if (rc != OK) {
            return bad_link(r);
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0504: member %s activated from %s", inv.member_id,
                      r->useragent_ip);
        return send_message(r, HTTP_OK, QW_S_ACTIVATE_TITLE,
                            QW_S_ACTIVATE_DONE, 1);
    }
    r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
    return HTTP_METHOD_NOT_ALLOWED;
}

/* Member-facing API and page: the directory as a member may see it (R15)
 * and the member's own login reminders (R4).
 *
 * Privacy is decided in the store's query (qw_directory_visible, shared
 * with the home page): members outside the viewer's scope are not
 * selected, and a hidden mobile number (hidden for the member, or for
 * everyone by the enterprise) is not even read from the database, so it
 * cannot leave the server. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/api.h"
#include "util/text.h"

int qw_api_directory(qw_api *a)
{
    qw_viewer *v = a->viewer;
    apr_array_header_t *rows;
    json_t *items;
    qw_status rc;
    int i, total = 0;

    if (a->nseg != 1) {
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    /* the one implementation of the scope and privacy rules (the home
     * page uses it too) */
    rc = qw_directory_visible(&a->st, v->enterprise_id, v->member_id,
                              a->limit, a->offset, &rows, &total);
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    items = json_array();
    for (i = 0; i < rows->nelts; i++) {
        const qw_directory_entry *e = &APR_ARRAY_IDX(rows, i,
                                                     qw_directory_entry);
        /* a hidden number is absent, not null: nothing to tell */
        json_t *o = json_pack("{s:s, s:s, s:o}",
                              "account", e->account,
                              "display_name", e->display_name,
                              "departments", qw_api_csv_array(
                                  e->departments));
        if (o && e->mobile) {
            json_object_set_new(o, "mobile", json_string(e->mobile));
        }
        json_array_append_new(items, o);
    }
    return qw_api_json(a, HTTP_OK,
                       json_pack("{s:o, s:i, s:i, s:i}", "items", items,
                                 "total", total,
                                 "limit", (json_int_t)a->limit,
                                 "offset", (json_int_t)a->offset));
}

int qw_api_my_reminders(qw_api *a)
{
    apr_array_header_t *rows;
    json_t *items;
    qw_status rc;
    int i;

    rc = qw_login_reminder_list(&a->st, a->viewer->enterprise_id,
                                a->viewer->member_id, a->limit, a->offset,
                                &rows);
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    items = json_array();
    for (i = 0; i < rows->nelts; i++) {
        qw_reminder *m = &APR_ARRAY_IDX(rows, i, qw_reminder);
        json_array_append_new(items, json_pack(
            "{s:I, s:s, s:s, s:s?, s:s?, s:s?}", "id", (json_int_t)m->id,
            "at", m->at, "kind", m->kind, "admin", m->admin_account,
            "source_ip", m->source_ip, "user_agent", m->user_agent));
    }
    return qw_api_json(a, HTTP_OK,
                       json_pack("{s:o, s:i, s:i}", "items", items,
                                 "limit", (json_int_t)a->limit,
                                 "offset", (json_int_t)a->offset));
}

/* What a reminder is about, in the page's language. */
static const char *reminder_kind(qw_lang lang, const qw_reminder *m)
{
    int zh = lang == QW_LANG_ZH;

    if (!strcmp(m->kind, "login")) {
        return zh ? "管理员登录 " : "admin login ";
    }
    if (!strcmp(m->kind, "totp_reuse")) {
        /* a code already used was presented again: someone saw it */
        if (!m->admin_account) {
            return zh ? "您的两步验证码被重复使用"
                      : "your two-step code was used again";
        }
        return zh ? "两步验证码被重复使用：管理员 "
                  : "two-step code used again for admin ";
    }
    return zh ? "登录失败 " : "failed logins ";
}

const char *qw_reminders_html(request_rec *r, qw_lang lang,
                              const apr_array_header_t *rows)
{
    const char *body = "";
    int i;

    if (rows->nelts == 0) {
        return apr_pstrcat(r->pool, "<p class=\"hint\">",
                           qw_str(lang, QW_S_HOME_NO_REMINDERS), "</p>",
                           NULL);
    }
    for (i = 0; i < rows->nelts; i++) {
        qw_reminder *m = &APR_ARRAY_IDX(rows, i, qw_reminder);
        body = apr_pstrcat(r->pool, body, "<p class=\"msg\">",
                           qw_escape_html(r->pool, m->at), " UTC &middot; ",
                           reminder_kind(lang, m),
                           qw_escape_html(r->pool, m->admin_account
                                                   ? m->admin_account : ""),
                           " &middot; ",
                           qw_escape_html(r->pool, m->source_ip
                                                   ? m->source_ip : "-"),
                           " &middot; ",
                           qw_escape_html(r->pool, m->user_agent
                                                   ? m->user_agent : "-"),
                           "</p>", NULL);
    }
    return body;
}

/* <handler>/my-reminders: the same list as a page for the member. */
int qw_handle_my_reminders(request_rec *r)
{
    qw_lang lang = qw_request_lang(r);
    const char *nonce = qw_page_nonce(r);
    const char *title = qw_str(lang, QW_S_HOME_REMINDERS);
    const char *body;
    apr_array_header_t *rows;
    qw_viewer *v;
    qw_store st;

    if (r->method_number != M_GET) {
        r->allowed = AP_METHOD_BIT << M_GET;
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (qw_viewer_resolve(r, &v) != OK) {
        return qw_unavailable(r);
    }
    if (!v) {
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, qw_cfg_login_url(qw_dir(r)),
                                   "?next=", qw_escape_urlc(r->pool, r->uri),
                                   NULL));
        return HTTP_MOVED_TEMPORARILY;
    }
    qw_admin_store(r, &st, NULL);
    if (!st.db || qw_login_reminder_list(&st, v->enterprise_id,
                                           v->member_id, 50, 0, &rows)
                    != QW_OK) {
        return qw_unavailable(r);
    }
    body = apr_pstrcat(r->pool, "<h1>", title, "</h1>",
                       qw_reminders_html(r, lang, rows), NULL);
    return qw_page_send(r, HTTP_OK, lang, nonce, title, body);
}

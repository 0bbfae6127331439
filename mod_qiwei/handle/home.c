/* The member's home page, <handler>/home: the articles they may read by
 * module, their login reminders, and their security (password, two-step,
 * the sessions they are signed in with, which they may end).
 *
 * Server-rendered, no script.  Every value from the database (titles,
 * paths, names, addresses, User-Agents) is escaped here; the audience of
 * an article is decided by the store's one SQL text
 * (QW_SQL_ARTICLE_AUDIENCE), never in C.  Ending a session is a POST with
 * a CSRF token bound to the session cookie, deletes only rows of the
 * member's own, is audited, and is followed by the revocation barrier, so
 * the ended session is refused on every node when the page says so. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "qiwei.h"
#include "db.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/api.h"
#include "handle/signin.h"
#include "util/csrf.h"
#include "util/text.h"

#define HOME_PER_MODULE 50
#define HOME_REMINDERS 10
#define HOME_SESSIONS 50
#define HOME_UA_SHOWN 80     /* bytes of a User-Agent shown */
#define HOME_DIRECTORY 50    /* people per page of the directory */
#define HOME_DIRECTORY_MAX_OFFSET 100000

/* A path as an href: every byte but unreserved ones and '/' percent-
 * encoded (article paths are canonical: never "//", so never an
 * authority). */
static const char *path_href(apr_pool_t *p, const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path), i;
    char *out = apr_palloc(p, n * 3 + 1), *o = out;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~' || c == '/') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

static const char *module_label(request_rec *r, qw_lang lang,
                                const char *mod)
{
    if (!strcmp(mod, "news")) {
        return qw_str(lang, QW_S_HOME_MOD_NEWS);
    }
    if (!strcmp(mod, "wiki")) {
        return qw_str(lang, QW_S_HOME_MOD_WIKI);
    }
    if (!strcmp(mod, "minutes")) {
        return qw_str(lang, QW_S_HOME_MOD_MINUTES);
    }
    if (!strcmp(mod, "forms")) {
        return qw_str(lang, QW_S_HOME_MOD_FORMS);
    }
    return qw_escape_html(r->pool, mod);   /* a module the operator named */
}

static const char *articles_html(request_rec *r, qw_lang lang,
                                 const apr_array_header_t *rows)
{
    const char *html = "", *cur = NULL;
    int i;

    if (rows->nelts == 0) {
        return apr_pstrcat(r->pool, "<p class=\"hint\">",
                           qw_str(lang, QW_S_HOME_NO_ARTICLES), "</p>",
                           NULL);
    }
    for (i = 0; i < rows->nelts; i++) {
        const qw_article_entry *e = &APR_ARRAY_IDX(rows, i,
                                                   qw_article_entry);
        if (!cur || strcmp(cur, e->module)) {
            if (cur) {
                html = apr_pstrcat(r->pool, html, "</ul>", NULL);
            }
            html = apr_pstrcat(r->pool, html, "<h3>",
                               module_label(r, lang, e->module), "</h3>",
                               e->module_total > HOME_PER_MODULE
                               ? "<p class=\"hint\">" : "",
                               e->module_total > HOME_PER_MODULE
                               ? qw_str(lang, QW_S_HOME_MORE) : "",
                               e->module_total > HOME_PER_MODULE
                               ? "</p>" : "",
                               "<ul class=\"articles\">", NULL);
            cur = e->module;
        }
        html = apr_pstrcat(r->pool, html, "<li><a href=\"",
                           qw_escape_html(r->pool,
                                          path_href(r->pool, e->path)),
                           "\">", qw_escape_html(r->pool, e->title),
                           "</a> <small>",
                           qw_escape_html(r->pool, apr_pstrndup(
                               r->pool, e->created_at, 10)),
                           "</small></li>", NULL);
    }
    return apr_pstrcat(r->pool, html, "</ul>", NULL);
}

static const char *end_form(request_rec *r, qw_lang lang, const char *csrf,
                            const char *action, int64_t id,
                            qw_string_id label)
{
    return apr_pstrcat(r->pool,
        "<form method=\"post\" action=\"", qw_escape_html(r->pool, r->uri),
        "\"><input type=\"hidden\" name=\"csrf\" value=\"", csrf, "\">"
        "<input type=\"hidden\" name=\"action\" value=\"", action, "\">",
        id > 0 ? "<input type=\"hidden\" name=\"session\" value=\"" : "",
        id > 0 ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT, id) : "",
        id > 0 ? "\">" : "",
        "<button type=\"submit\">", qw_str(lang, label), "</button></form>",
        NULL);
}

static const char *sessions_html(request_rec *r, qw_lang lang,
                                 const qw_viewer *v,
                                 const apr_array_header_t *rows,
                                 const char *csrf)
{
    const char *html = "<ul class=\"sessions\">";
    int i, others = 0;

    for (i = 0; i < rows->nelts; i++) {
        const qw_session_info *s = &APR_ARRAY_IDX(rows, i, qw_session_info);
        int mine = s->id == v->session_id;
        const char *ua = s->user_agent
            ? qw_sanitize_text(r->pool, s->user_agent, HOME_UA_SHOWN) : "-";

        others += !mine;
        html = apr_pstrcat(r->pool, html,
            "<li id=\"session-", apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                              s->id), "\">",
            mine ? "<strong>" : "",
            mine ? qw_str(lang, QW_S_HOME_THIS_DEVICE) : "",
            mine ? "</strong><br>" : "",
            qw_str(lang, QW_S_HOME_DEVICE), ": ",
            qw_escape_html(r->pool, ua), "<br>",
            qw_str(lang, QW_S_HOME_ADDRESS), ": ",
            qw_escape_html(r->pool, s->source_ip ? s->source_ip : "-"),
            "<br>", qw_str(lang, QW_S_HOME_SIGNED_IN_AT), ": ",
            qw_escape_html(r->pool, s->created_at), "<br>",
            qw_str(lang, QW_S_HOME_LAST_SEEN), ": ",
            qw_escape_html(r->pool, s->last_seen_at),
            csrf ? end_form(r, lang, csrf, "end", s->id, QW_S_HOME_END_ONE)
                 : "",
            "</li>", NULL);
    }
    html = apr_pstrcat(r->pool, html, "</ul>", NULL);
    if (csrf && others > 0) {
        html = apr_pstrcat(r->pool, html, end_form(r, lang, csrf, "others",
                           0, QW_S_HOME_END_OTHERS), NULL);
    }
    return html;
}

/* A mobile number as a tel: target: its digits and a leading '+' only. */
static const char *tel_href(apr_pool_t *p, const char *mobile)
{
    char *out = apr_palloc(p, strlen(mobile) + 5), *o = out;
    const char *c;

    memcpy(o, "tel:", 4);
    o += 4;
    for (c = mobile; *c; c++) {
        if ((*c >= '0' && *c <= '9') || (*c == '+' && o == out + 4)) {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* text with its three "%d" replaced by a, b and c in turn (the text is
 * one of ours, from util/i18n.c; no printf with a variable format). */
static const char *fill_numbers(apr_pool_t *p, const char *text, long a,
                                long b, long c)
{
    const long n[3] = { a, b, c };
    const char *out = "", *at;
    int i = 0;

    while ((at = strstr(text, "%d")) && i < 3) {
        out = apr_pstrcat(p, out, apr_pstrmemdup(p, text, at - text),
                          apr_ltoa(p, n[i++]), NULL);
        text = at + 2;
    }
    return apr_pstrcat(p, out, text, NULL);
}

/* The directory section: one page of the people the viewer may see, as
 * the store decides (qw_directory_visible: the enterprise's scope, hidden
 * numbers never read), with links to the pages before and after. */
static const char *directory_html(request_rec *r, qw_lang lang,
                                  const apr_array_header_t *rows, int total,
                                  long offset)
{
    const char *html = "", *nav = "";
    int i;

    if (rows->nelts == 0) {
        html = apr_pstrcat(r->pool, "<p class=\"hint\">",
                           qw_str(lang, QW_S_HOME_DIR_EMPTY), "</p>", NULL);
    }
    else {
        html = apr_pstrcat(r->pool, "<p class=\"hint\">",
                           fill_numbers(r->pool,
                                        qw_str(lang, QW_S_HOME_DIR_RANGE),
                                        offset + 1, offset + rows->nelts,
                                        total),
                           "</p><ul class=\"people\">", NULL);
        for (i = 0; i < rows->nelts; i++) {
            const qw_directory_entry *e = &APR_ARRAY_IDX(rows, i,
                                                         qw_directory_entry);
            html = apr_pstrcat(r->pool, html, "<li><strong>",
                qw_escape_html(r->pool, e->display_name), "</strong> <small>",
                qw_escape_html(r->pool, e->account), "</small>",
                *e->department_names ? "<br>" : "",
                *e->department_names ? qw_str(lang, QW_S_HOME_DIR_DEPTS)
                                     : "",
                *e->department_names ? ": " : "",
                qw_escape_html(r->pool, e->department_names),
                e->mobile ? "<br>" : "",
                e->mobile ? qw_str(lang, QW_S_HOME_DIR_MOBILE) : "",
                e->mobile ? ": <a href=\"" : "",
                e->mobile ? qw_escape_html(r->pool,
                                           tel_href(r->pool, e->mobile)) : "",
                e->mobile ? "\">" : "",
                e->mobile ? qw_escape_html(r->pool, e->mobile) : "",
                e->mobile ? "</a>" : "", "</li>", NULL);
        }
        html = apr_pstrcat(r->pool, html, "</ul>", NULL);
    }
    if (offset > 0) {
        nav = apr_pstrcat(r->pool, "<a href=\"?dir=",
                          apr_ltoa(r->pool, offset > HOME_DIRECTORY
                                            ? offset - HOME_DIRECTORY : 0),
                          "#directory\">",
                          qw_str(lang, QW_S_HOME_DIR_PREV), "</a> ", NULL);
    }
    if (offset + rows->nelts < total) {
        nav = apr_pstrcat(r->pool, nav, "<a href=\"?dir=",
                          apr_ltoa(r->pool, offset + HOME_DIRECTORY),
                          "#directory\">",
                          qw_str(lang, QW_S_HOME_DIR_NEXT), "</a>", NULL);
    }
    return apr_pstrcat(r->pool, "<section id=\"directory\" aria-labelledby"
                       "=\"directory-h\"><h2 id=\"directory-h\">",
                       qw_str(lang, QW_S_HOME_DIRECTORY), "</h2>", html,
                       *nav ? "<p>" : "", nav, *nav ? "</p>" : "",
                       "</section>", NULL);
}

/* The directory page asked for (?dir=OFFSET): 0 when none, -1 when it is
 * not a number in range. */
static long directory_offset(request_rec *r)
{
    apr_table_t *args;
    const char *v;
    char *end = NULL;
    apr_int64_t n;

    if (!r->args) {
        return 0;
    }
    ap_args_to_table(r, &args);
    if (!(v = apr_table_get(args, "dir"))) {
        return 0;
    }
    n = apr_strtoi64(v, &end, 10);
    if (!*v || !end || *end || n < 0 || n > HOME_DIRECTORY_MAX_OFFSET) {
        return -1;
    }
    return (long)n;
}

static int to_login(request_rec *r, int status)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, qw_cfg_login_url(qw_dir(r)),
                               "?next=", qw_escape_urlc(r->pool, r->uri),
                               NULL));
    return status;
}

/* With two-step on: the way to turn it off (<handler>/twostep-off asks
 * for the password or a code), or why it stays on. */
static const char *twostep_off_html(request_rec *r, qw_lang lang,
                                    const qw_member_security *ms, int manage)
{
    if (!ms->totp_enabled) {
        return "";
    }
    if (qw_sec_two_step_required_for(r, ms)) {
        return qw_str(lang, QW_S_HOME_TWOSTEP_ENFORCED);
    }
    if (!manage) {
        return "";
    }
    return apr_pstrcat(r->pool, qw_str(lang, QW_S_HOME_TWOSTEP_OFF_HINT),
                       " <a href=\"",
                       qw_escape_html(r->pool,
                                      qw_sec_page_url(r, "twostep-off")),
                       "\">", qw_str(lang, QW_S_HOME_TWOSTEP_TURN_OFF),
                       "</a>", NULL);
}

static int send_home(request_rec *r, int status, const qw_viewer *v,
                     qw_store *st, const char *message, int ok)
{
    qw_lang lang = qw_request_lang(r);
    const char *title = qw_str(lang, QW_S_HOME_TITLE);
    /* a scan session (a public computer) cannot end sessions */
    int manage = strcmp(v->kind, "scan") != 0;
    const char *csrf = NULL;
    apr_array_header_t *articles, *reminders, *sessions, *people;
    qw_member_security ms;
    long dir_off = directory_offset(r);
    int people_total = 0;

    if (!qw_csrf_key()) {
        return qw_unavailable(r);
    }
    if (manage) {
        csrf = qw_csrf_make(r->pool, qw_csrf_key(), "home", v->token);
    }
    if (qw_article_readable(st, v->enterprise_id, v->member_id,
                            HOME_PER_MODULE, &articles) != QW_OK
        || qw_login_reminder_list(st, v->enterprise_id, v->member_id,
                                  HOME_REMINDERS, 0, &reminders) != QW_OK
        || qw_sec_member_state(st, v->enterprise_id, v->member_id, &ms)
           != QW_OK
        || qw_sec_sessions_list(st, v->enterprise_id, v->member_id,
                                HOME_SESSIONS, &sessions) != QW_OK
        || qw_directory_visible(st, v->enterprise_id, v->member_id,
                                HOME_DIRECTORY, dir_off < 0 ? 0 : dir_off,
                                &people, &people_total) != QW_OK) {
        return qw_unavailable(r);
    }
    return qw_page_send(r, status, lang, qw_page_nonce(r), title,
        apr_pstrcat(r->pool,
        "<h1>", title, "</h1>",
        "<p class=\"hint\">", qw_str(lang, QW_S_HOME_WELCOME), " ",
        qw_escape_html(r->pool, v->display_name ? v->display_name : ""),
        " (", qw_escape_html(r->pool, v->account), ") &middot; <a href=\"",
        qw_escape_html(r->pool, qw_sec_page_url(r, "logout")), "\">",
        qw_str(lang, QW_S_SIGN_OUT), "</a></p>",
        message ? (ok ? "<p class=\"msg ok\" role=\"status\">"
                      : "<p class=\"msg\" role=\"alert\">") : "",
        message ? qw_escape_html(r->pool, message) : "",
        message ? "</p>" : "",
        "<p id=\"mailbox\"><a href=\"",
        qw_escape_html(r->pool, qw_sec_page_url(r, "mailbox")), "\">",
        qw_str(lang, QW_S_MB_TITLE), "</a></p>",
        "<section id=\"articles\"><h2>", qw_str(lang, QW_S_HOME_ARTICLES),
        "</h2>", articles_html(r, lang, articles), "</section>",
        "<section id=\"reminders\"><h2>", qw_str(lang, QW_S_HOME_REMINDERS),
        "</h2>", qw_reminders_html(r, lang, reminders),
        "<p><a href=\"",
        qw_escape_html(r->pool, qw_sec_page_url(r, "my-reminders")), "\">",
        qw_str(lang, QW_S_HOME_ALL_REMINDERS), "</a></p></section>",
        directory_html(r, lang, people, people_total,
                       dir_off < 0 ? 0 : dir_off),
        "<section id=\"security\"><h2>", qw_str(lang, QW_S_HOME_SECURITY),
        "</h2>",
        manage ? "<p><a href=\"" : "",
        manage ? qw_escape_html(r->pool, qw_sec_page_url(r, "password"))
               : "",
        manage ? "\">" : "",
        manage ? qw_str(lang, QW_S_HOME_CHANGE_PASSWORD) : "",
        manage ? "</a></p>" : "",
        "<p id=\"twostep\">", qw_str(lang, ms.totp_enabled
                                          ? QW_S_HOME_TWOSTEP_ON
                                          : QW_S_HOME_TWOSTEP_OFF), " ",
        twostep_off_html(r, lang, &ms, manage),
        !ms.totp_enabled && manage ? "<a href=\"" : "",
        !ms.totp_enabled && manage
            ? qw_escape_html(r->pool, qw_sec_page_url(r, "twostep-setup"))
            : "",
        !ms.totp_enabled && manage ? "\">" : "",
        !ms.totp_enabled && manage ? qw_str(lang, QW_S_HOME_TWOSTEP_SETUP)
                                   : "",
        !ms.totp_enabled && manage ? "</a>" : "",
        "</p><h3>", qw_str(lang, QW_S_HOME_SESSIONS), "</h3>",
        manage ? "" : "<p class=\"hint\">",
        manage ? "" : qw_str(lang, QW_S_HOME_SCAN_SESSION),
        manage ? "" : "</p>",
        sessions_html(r, lang, v, sessions, csrf), "</section>", NULL));
}

/* POST: end one of the member's sessions, or every other one. */
static int home_post(request_rec *r, const qw_viewer *v, qw_store *st)
{
    qw_lang lang = qw_request_lang(r);
    apr_table_t *form;
    const char *action, *sid;
    int64_t id = 0;
    int rc, ended = 0;
    qw_status s;

    if ((rc = qw_read_form(r, &form)) != OK) {
        return rc;
    }
    if (!strcmp(v->kind, "scan")
        || !qw_csrf_ok(r, form, "home", v->token)) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0611: home page form refused: CSRF check failed "
                      "(or a scan session) for member %" APR_INT64_T_FMT
                      " from %s", v->member_id, r->useragent_ip);
        return send_home(r, HTTP_FORBIDDEN, v, st,
                         qw_str(lang, QW_S_FORM_EXPIRED), 0);
    }
    action = apr_table_get(form, "action");
    sid = apr_table_get(form, "session");
    if (action && !strcmp(action, "end")) {
        char *end = NULL;
        if (sid && *sid) {
            apr_int64_t n = apr_strtoi64(sid, &end, 10);
            id = (end && !*end && n > 0) ? n : 0;
        }
        if (id <= 0) {
            return send_home(r, HTTP_BAD_REQUEST, v, st,
                             qw_str(lang, QW_S_HOME_NO_SUCH_SESSION), 0);
        }
    }
    else if (!action || strcmp(action, "others")) {
        return send_home(r, HTTP_BAD_REQUEST, v, st,
                         qw_str(lang, QW_S_BAD_REQUEST), 0);
    }
    s = qw_sec_sessions_end(st, v->enterprise_id, v->member_id, id,
                            v->session_id, &ended);
    if (s == QW_ERR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0612: member %" APR_INT64_T_FMT " of %s asked to "
                      "end session %" APR_INT64_T_FMT ", which is not one "
                      "of theirs: refused", v->member_id,
                      qw_dir(r)->enterprise, id);
        return send_home(r, HTTP_NOT_FOUND, v, st,
                         qw_str(lang, QW_S_HOME_NO_SUCH_SESSION), 0);
    }
    if (s != QW_OK) {
        return qw_unavailable(r);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW0610: member %" APR_INT64_T_FMT " of %s ended %d "
                  "session(s) (%s) from %s", v->member_id,
                  qw_dir(r)->enterprise, ended,
                  id ? "one" : "all others", r->useragent_ip);
    /* the ended sessions are refused on every node before the page says
     * so (QW0119 is logged if that is not confirmed) */
    if (ended > 0) {
        const char *why;
        (void)qw_db_revocation_barrier(r, &why);
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    if (id && id == v->session_id) {
        /* this browser's own: signed out */
        apr_table_add(r->err_headers_out, "Set-Cookie",
                      qw_session_cookie(r, NULL));
        apr_table_setn(r->headers_out, "Location",
                       qw_cfg_login_url(qw_dir(r)));
        return HTTP_SEE_OTHER;
    }
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, r->uri, "?ended=",
                               apr_itoa(r->pool, ended), NULL));
    return HTTP_SEE_OTHER;
}

int qw_handle_home(request_rec *r)
{
    qw_viewer *v;
    qw_store *st;
    const char *msg = NULL;

    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (qw_viewer_resolve(r, &v) != OK) {
        return qw_unavailable(r);
    }
    if (!v) {
        return to_login(r, r->method_number == M_GET
                           ? HTTP_MOVED_TEMPORARILY : HTTP_SEE_OTHER);
    }
    st = qw_sec_store(r, apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                      v->member_id));
    if (!st) {
        return qw_unavailable(r);
    }
    if (r->method_number == M_POST) {
        return home_post(r, v, st);
    }
    if (r->args && !strncmp(r->args, "ended=", 6)) {
        msg = qw_str(qw_request_lang(r), QW_S_HOME_ENDED);
    }
    if (directory_offset(r) < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0624: home page: a malformed directory page "
                      "(dir=) from %s: 400", r->useragent_ip);
        return send_home(r, HTTP_BAD_REQUEST, v, st,
                         qw_str(qw_request_lang(r), QW_S_BAD_REQUEST), 0);
    }
    return send_home(r, HTTP_OK, v, st, msg, 1);
}

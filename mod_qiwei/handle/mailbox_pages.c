/* The member's private mailbox in the browser (R10): <handler>/mailbox
 * lists the member's messages (title, sender, time, never a body);
 * <handler>/mailbox/<id> is the confirmation step, and a POST to it
 * reveals the message or destroys the member's copy.
 *
 * Why a confirmation step: a GET never reveals, so a link preview,
 * prefetch or crawler that follows the link consumes nothing.  The reveal
 * is a POST with a CSRF token bound to the session cookie; the body is
 * decrypted by the store in the transaction that, for a read-once
 * message, destroys it (store/mailbox.c), and shown here as escaped text
 * only (a sender's HTML is never markup), with the viewer's watermark
 * whatever QiweiWatermark says.  Nothing of these pages may be kept by the
 * browser: no-store (which also keeps a page out of Chromium's
 * back/forward cache), Pragma, no referrer, a CSP without any script
 * (the pages need none).  A revealed page is the answer to a POST, so
 * going back to it asks the server again (or shows the browser's "confirm
 * resubmission"), never the text from memory.
 *
 * Another member's message and a message that does not exist get the same
 * 404: the pages never tell whether a message exists for someone else. */
#include <sodium.h>

#include "apr_strings.h"
#include "apr_lib.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "qiwei.h"
#include "metrics.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/signin.h"
#include "store/store.h"
#include "util/csrf.h"
#include "util/mailatt.h"
#include "util/text.h"

#define MB_LIST_MAX 100           /* messages listed */
#define MB_CSRF_PURPOSE "mailbox"

/* The answers of the JSON API (docs/mailbox.md): a read-once message that
 * was read, and one destroyed or expired. */
#define MB_STATUS_READ HTTP_GONE
#define MB_STATUS_GONE HTTP_GONE

static const char mb_css[] =
    "ul.mail{list-style:none;padding:0;margin:0}"
    "ul.mail li{background:#fff;border-radius:8px;padding:12px 14px;"
    "margin:0 0 10px}"
    "ul.mail a{text-decoration:none;font-weight:600}"
    ".meta{font-size:14px;color:#4e5969;margin:4px 0}"
    "h1,h2,p,li,dd,.body{overflow-wrap:anywhere}"
    "dl.meta dt{float:left;clear:left;margin-right:6px}"
    "dl.meta dd{margin:0 0 4px}"
    ".body{background:#fff;border-radius:8px;padding:14px;margin:16px 0;"
    "white-space:pre-wrap;font-size:17px}"
    "button.danger{background:#c4320a}"
    "figure.att{margin:0 0 12px}figure.att img{max-width:100%;height:auto;"
    "border-radius:6px}ul.att{padding-left:20px}"
    ".unread{color:#0958d9}";

typedef struct {
    request_rec *r;
    qw_lang lang;
    const char *nonce;
    const char *base;        /* the handler location, no trailing slash */
    qw_viewer *v;
    qw_store *st;
    int64_t id;              /* the message, 0 on the list */
} mb_ctx;

/* Headers for every answer of these pages, redirects and refusals too. */
static void never_kept(request_rec *r)
{
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Pragma", "no-cache");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->err_headers_out, "X-Robots-Tag", "noindex, nofollow");
}

static const char *list_url(const mb_ctx *c)
{
    return apr_pstrcat(c->r->pool, c->base, "/mailbox", NULL);
}

static const char *message_url(const mb_ctx *c, int64_t id)
{
    return apr_psprintf(c->r->pool, "%s/mailbox/%" APR_INT64_T_FMT, c->base,
                        id);
}

/* "2026-12-06T09:40:12Z" (or with an offset) as "2026-12-06 09:40 UTC". */
static const char *when(apr_pool_t *p, const char *iso)
{
    char *s;

    if (!iso || strlen(iso) < 16) {
        return iso ? qw_escape_html(p, iso) : "-";
    }
    s = apr_pstrndup(p, iso, 16);
    if (s[10] == 'T') {
        s[10] = ' ';
    }
    return apr_pstrcat(p, qw_escape_html(p, s), " UTC", NULL);
}

static const char *sender_html(const mb_ctx *c, const qw_mail_item *m)
{
    apr_pool_t *p = c->r->pool;

    if (m->sender_kind && !strcmp(m->sender_kind, "operator")) {
        return qw_str(c->lang, QW_S_MB_SENDER_OPERATOR);
    }
    if (m->sender_kind && !strcmp(m->sender_kind, "admin")) {
        return apr_pstrcat(p, qw_str(c->lang, QW_S_MB_SENDER_ADMIN),
                           m->sender ? " " : "",
                           m->sender ? qw_escape_html(p, m->sender) : "",
                           NULL);
    }
    return m->sender ? qw_escape_html(p, m->sender) : "-";
}

static const char *rule_html(const mb_ctx *c, const qw_mail_item *m)
{
    if (m->rule && !strcmp(m->rule, "read_once")) {
        return qw_str(c->lang, QW_S_MB_RULE_READ_ONCE);
    }
    if (m->rule && !strcmp(m->rule, "expires_at")) {
        return apr_pstrcat(c->r->pool, qw_str(c->lang, QW_S_MB_RULE_EXPIRES),
                           " ", when(c->r->pool, m->expires_at), NULL);
    }
    return qw_str(c->lang, QW_S_MB_RULE_KEPT);
}

/* Every page has the same document title: the browser's history keeps
 * titles (and Clear-Site-Data does not clear history), so a message's
 * title appears only in the page. */
static int send_page(mb_ctx *c, int status, const char *body)
{
    request_rec *r = c->r;

    never_kept(r);
    if (status == HTTP_OK) {
        /* titles and senders are the enterprise's too: every page of the
         * mailbox names its reader */
        qw_wm_require(r);
    }
    return qw_page_send(r, status, c->lang, c->nonce,
                        qw_str(c->lang, QW_S_MB_TITLE),
                        apr_pstrcat(r->pool,
                                    "<style nonce=\"", c->nonce, "\">",
                                    mb_css, "</style>", body, NULL));
}

static const char *back_link(const mb_ctx *c)
{
    return apr_pstrcat(c->r->pool, "<p><a href=\"",
                       qw_escape_html(c->r->pool, list_url(c)), "\">",
                       qw_str(c->lang, QW_S_MB_BACK), "</a></p>", NULL);
}

/* A page that says only what happened: no title, no sender. */
static int send_notice(mb_ctx *c, int status, qw_string_id title,
                       qw_string_id hint)
{
    const char *t = qw_str(c->lang, title);

    return send_page(c, status,
                     apr_pstrcat(c->r->pool, "<h1>", t, "</h1>",
                                 hint != QW_S_COUNT ? "<p class=\"hint\">"
                                                    : "",
                                 hint != QW_S_COUNT ? qw_str(c->lang, hint)
                                                    : "",
                                 hint != QW_S_COUNT ? "</p>" : "",
                                 back_link(c), NULL));
}

static int not_found(mb_ctx *c)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, c->r,
                  "QW0751: member %" APR_INT64_T_FMT " of %s asked for "
                  "mailbox message %" APR_INT64_T_FMT ", of which they have "
                  "no copy: 404", c->v->member_id, qw_dir(c->r)->enterprise,
                  c->id);
    return send_notice(c, HTTP_NOT_FOUND, QW_S_MB_NOT_FOUND, QW_S_COUNT);
}

static int store_failed(mb_ctx *c, const char *what)
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, c->r,
                  "QW0756: mailbox %s for member %" APR_INT64_T_FMT
                  " failed: %s", what, c->v->member_id,
                  c->st->err ? c->st->err : "database error");
    return qw_unavailable(c->r);
}

/* The message is gone for this member: why, in words and status. */
static int gone(mb_ctx *c, int already_read, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, c->r,
                  "QW0754: mailbox message %" APR_INT64_T_FMT " of member %"
                  APR_INT64_T_FMT " is gone (%s): %d", c->id,
                  c->v->member_id, why,
                  already_read ? MB_STATUS_READ : MB_STATUS_GONE);
    if (already_read) {
        return send_notice(c, MB_STATUS_READ, QW_S_MB_READ_TITLE,
                           QW_S_MB_READ_HINT);
    }
    return send_notice(c, MB_STATUS_GONE, QW_S_MB_GONE_TITLE,
                       QW_S_MB_GONE_HINT);
}

static int gone_item(mb_ctx *c, const qw_mail_item *m)
{
    int read = m->destroy_reason && !strcmp(m->destroy_reason, "read_once");
    return gone(c, read, m->destroy_reason ? m->destroy_reason
                                           : m->state ? m->state : "gone");
}

/* A session opened by scanning a code on another computer (a public one:
 * docs/account-security.md) does not reveal read-once messages
 * (docs/mailbox.md): they are read on the phone. */
static int scan_session(const mb_ctx *c)
{
    return c->v->kind && !strcmp(c->v->kind, "scan");
}

static const char *post_form(const mb_ctx *c, const char *csrf,
                             const char *action, qw_string_id label,
                             int danger)
{
    apr_pool_t *p = c->r->pool;

    return apr_pstrcat(p,
        "<form method=\"post\" action=\"",
        qw_escape_html(p, message_url(c, c->id)), "\">"
        "<input type=\"hidden\" name=\"csrf\" value=\"", csrf, "\">"
        "<input type=\"hidden\" name=\"action\" value=\"", action, "\">"
        "<button type=\"submit\" id=\"", action, "\"",
        danger ? " class=\"danger\"" : "", ">", qw_str(c->lang, label),
        "</button></form>", NULL);
}

static const char *meta_html(const mb_ctx *c, const qw_mail_item *m)
{
    return apr_pstrcat(c->r->pool, "<dl class=\"meta\"><dt>",
                       qw_str(c->lang, QW_S_MB_FROM), ":</dt><dd>",
                       sender_html(c, m), "</dd><dt>",
                       qw_str(c->lang, QW_S_MB_SENT_AT), ":</dt><dd>",
                       when(c->r->pool, m->created_at), "</dd><dt>",
                       qw_str(c->lang, QW_S_MB_RULE), ":</dt><dd>",
                       rule_html(c, m), "</dd></dl>", NULL);
}

/* GET <handler>/mailbox */
static int list_page(mb_ctx *c)
{
    request_rec *r = c->r;
    apr_array_header_t *rows;
    const char *title = qw_str(c->lang, QW_S_MB_TITLE);
    apr_array_header_t *items;
    int i, destroyed = r->args && !strcmp(r->args, "destroyed=1");

    if (qw_mailbox_list(c->st, c->v->enterprise_id, c->v->member_id,
                        MB_LIST_MAX + 1, 0, &rows) != QW_OK) {
        return store_failed(c, "list");
    }
    items = apr_array_make(r->pool, rows->nelts + 1, sizeof(const char *));
    for (i = 0; i < rows->nelts && i < MB_LIST_MAX; i++) {
        const qw_mail_item *m = &APR_ARRAY_IDX(rows, i, qw_mail_item);
        int unread = m->state && !strcmp(m->state, "unread");
        APR_ARRAY_PUSH(items, const char *) = apr_pstrcat(r->pool,
            "<li><a href=\"", qw_escape_html(r->pool, message_url(c, m->id)),
            "\">", qw_escape_html(r->pool, m->title ? m->title : ""),
            "</a><p class=\"meta\">", sender_html(c, m), " &middot; ",
            when(r->pool, m->created_at), " &middot; ",
            unread ? "<span class=\"unread\">" : "",
            qw_str(c->lang, unread ? QW_S_MB_UNREAD : QW_S_MB_READ),
            unread ? "</span>" : "", "<br>", rule_html(c, m),
            "</p></li>", NULL);
    }
    return send_page(c, HTTP_OK, apr_pstrcat(r->pool,
        "<h1>", title, "</h1>",
        "<p class=\"hint\"><a href=\"",
        qw_escape_html(r->pool, apr_pstrcat(r->pool, c->base, "/home",
                                            NULL)), "\">",
        qw_str(c->lang, QW_S_HOME_TITLE), "</a></p>",
        destroyed ? "<p class=\"msg ok\" role=\"status\">" : "",
        destroyed ? qw_str(c->lang, QW_S_MB_DESTROYED) : "",
        destroyed ? "</p>" : "",
        rows->nelts == 0 ? "<p class=\"hint\">" : "",
        rows->nelts == 0 ? qw_str(c->lang, QW_S_MB_EMPTY) : "",
        rows->nelts == 0 ? "</p>" : "",
        rows->nelts > MB_LIST_MAX ? "<p class=\"hint\">" : "",
        rows->nelts > MB_LIST_MAX ? qw_str(c->lang, QW_S_MB_MORE) : "",
        rows->nelts > MB_LIST_MAX ? "</p>" : "",
        rows->nelts ? "<ul class=\"mail\">" : "",
        apr_array_pstrcat(r->pool, items, 0),
        rows->nelts ? "</ul>" : "", NULL));
}

/* GET <handler>/mailbox/<id>: the confirmation step; never the body. */
static int confirm_page(mb_ctx *c)
{
    request_rec *r = c->r;
    qw_mail_item m;
    qw_status s;
    const char *csrf;
    int once;

    s = qw_mailbox_get(c->st, c->v->enterprise_id, c->v->member_id, c->id,
                       &m);
    if (s == QW_ERR_NOTFOUND) {
        return not_found(c);
    }
    if (s != QW_OK) {
        return store_failed(c, "lookup");
    }
    if (!m.state || !strcmp(m.state, "destroyed")
        || !strcmp(m.state, "expired")) {
        return gone_item(c, &m);
    }
    if (!qw_csrf_key()) {
        return qw_unavailable(r);
    }
    csrf = qw_csrf_make(r->pool, qw_csrf_key(), MB_CSRF_PURPOSE, c->v->token);
    once = m.rule && !strcmp(m.rule, "read_once");
    return send_page(c, HTTP_OK, apr_pstrcat(r->pool,
        "<h1>", qw_escape_html(r->pool, m.title ? m.title : ""), "</h1>",
        meta_html(c, &m),
        "<p class=\"hint\">",
        qw_str(c->lang, once && scan_session(c) ? QW_S_MB_SCAN_HINT
                        : once ? QW_S_MB_REVEAL_ONCE_HINT
                               : QW_S_MB_REVEAL_HINT), "</p>",
        once && scan_session(c) ? ""
            : post_form(c, csrf, "reveal", QW_S_MB_REVEAL, 0),
        "<p class=\"hint\">", qw_str(c->lang, QW_S_MB_DESTROY_HINT), "</p>",
        post_form(c, csrf, "destroy", QW_S_MB_DESTROY, 1),
        back_link(c), NULL));
}

static int scan_refused(mb_ctx *c)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, c->r,
                  "QW0737: member %" APR_INT64_T_FMT " asked to reveal "
                  "read-once mailbox message %" APR_INT64_T_FMT " on the "
                  "page, in a scan-to-login session: 403", c->v->member_id,
                  c->id);
    qw_metrics_refusal("QW0737");
    apr_table_setn(c->r->notes, "QIWEI_REASON", "QW0737");
    return send_notice(c, HTTP_FORBIDDEN, QW_S_MB_SCAN_TITLE,
                       QW_S_MB_SCAN_HINT);
}

/* The attachments of a revealed message (docs/mailbox.md#attachments):
 * images (only the four raster types, their signature checked when they
 * were sent) inline from this answer as data: URIs, which the page's CSP
 * allows for img-src and nothing else; other files as links to the
 * download (a kept or expires_at message: a read-once message carries
 * images only, and nothing of it can be fetched after this answer). */
static const char *atts_html(mb_ctx *c, const apr_array_header_t *atts,
                             int once)
{
    apr_pool_t *p = c->r->pool;
    const char *imgs = "", *files = "";
    int i;

    if (!atts || atts->nelts == 0) {
        return "";
    }
    for (i = 0; i < atts->nelts; i++) {
        const qw_mail_att *a = &APR_ARRAY_IDX(atts, i, qw_mail_att);
        const char *name = qw_escape_html(p, a->name ? a->name : "");

        if (qw_mailatt_inline(a->type)) {
            size_t n = sodium_base64_encoded_len(
                a->len, sodium_base64_VARIANT_ORIGINAL);
            char *b64 = apr_palloc(p, n);

            sodium_bin2base64(b64, n, a->data, a->len,
                              sodium_base64_VARIANT_ORIGINAL);
            imgs = apr_pstrcat(p, imgs, "<figure class=\"att\"><img src=\""
                               "data:", a->type, ";base64,", b64,
                               "\" alt=\"", name, "\"><figcaption>", name,
                               "</figcaption></figure>", NULL);
        }
        else if (!once) {
            files = apr_pstrcat(p, files, "<li><a href=\"",
                                qw_escape_html(p, apr_psprintf(p,
                                    "%s/api/v1/me/mailbox/%" APR_INT64_T_FMT
                                    "/attachments/%d", c->base, c->id,
                                    a->idx)),
                                "\" download>", name, "</a> (",
                                apr_psprintf(p, "%lu", (unsigned long)a->len),
                                " B)</li>", NULL);
        }
    }
    return apr_pstrcat(p, "<h2>", qw_str(c->lang, QW_S_MB_ATTACHMENTS),
                       "</h2>", imgs, *files ? "<ul class=\"att\">" : "",
                       files, *files ? "</ul>" : "", NULL);
}

/* The text as the sender typed it, as text: every character escaped,
 * line breaks kept by the style (white-space: pre-wrap). */
static const char *body_html(apr_pool_t *p, const char *body, size_t len)
{
    return qw_escape_html(p, apr_pstrmemdup(p, body, len));
}

static int reveal(mb_ctx *c)
{
    request_rec *r = c->r;
    qw_mail_item m;
    qw_mail_gone g = QW_MAIL_GONE_DESTROYED;
    const char *body = NULL, *csrf;
    apr_array_header_t *atts = NULL;
    size_t len = 0;
    qw_status s;
    int once;

    memset(&m, 0, sizeof(m));
    if (scan_session(c)) {
        /* a message's rule never changes: asking first is safe */
        s = qw_mailbox_get(c->st, c->v->enterprise_id, c->v->member_id,
                           c->id, &m);
        if (s == QW_OK && m.rule && !strcmp(m.rule, "read_once")) {
            return scan_refused(c);
        }
        if (s != QW_OK && s != QW_ERR_NOTFOUND) {
            return store_failed(c, "lookup");
        }
        memset(&m, 0, sizeof(m));
    }
    s = qw_mailbox_reveal_all(c->st, c->v->enterprise_id, c->v->member_id,
                              c->id, &m, &g, &body, &len, &atts);
    if (s == QW_ERR_NOTFOUND) {
        return not_found(c);
    }
    if (s != QW_OK) {
        return store_failed(c, "reveal");
    }
    if (g != QW_MAIL_REVEALED || !body) {
        return gone(c, g == QW_MAIL_GONE_READ,
                    g == QW_MAIL_GONE_READ ? "read once, already read"
                    : g == QW_MAIL_GONE_EXPIRED ? "expired" : "destroyed");
    }
    once = m.rule && !strcmp(m.rule, "read_once");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0753: mailbox message %" APR_INT64_T_FMT " revealed to "
                  "member %" APR_INT64_T_FMT " of %s (%s)", c->id,
                  c->v->member_id, qw_dir(r)->enterprise,
                  once ? "read once: destroyed" : m.rule ? m.rule : "-");
    if (once && m.open_minutes > 0) {
        /* the page closes itself: after open_minutes the browser asks for
         * the confirmation step, which says "already read" (no script) */
        apr_table_setn(r->err_headers_out, "Refresh",
                       apr_psprintf(r->pool, "%d; url=%s",
                                    m.open_minutes * 60,
                                    message_url(c, c->id)));
    }
    csrf = once ? NULL : qw_csrf_make(r->pool, qw_csrf_key(),
                                      MB_CSRF_PURPOSE, c->v->token);
    return send_page(c, HTTP_OK, apr_pstrcat(r->pool,
        "<h1>", qw_escape_html(r->pool, m.title ? m.title : ""), "</h1>",
        meta_html(c, &m),
        once ? "<p class=\"msg\" role=\"alert\">" : "",
        once ? qw_str(c->lang, QW_S_MB_SHOWN_ONCE) : "",
        once && m.open_minutes > 0 ? " " : "",
        once && m.open_minutes > 0 ? qw_str(c->lang, QW_S_MB_OPEN_MINUTES)
                                   : "",
        once && m.open_minutes > 0
            ? apr_psprintf(r->pool, " %d", m.open_minutes) : "",
        once ? "</p>" : "",
        "<div class=\"body\" id=\"body\">", body_html(r->pool, body, len),
        "</div>", atts_html(c, atts, once),
        csrf ? post_form(c, csrf, "destroy", QW_S_MB_DESTROY, 1) : "",
        back_link(c), NULL));
}

static int destroy(mb_ctx *c)
{
    request_rec *r = c->r;
    int changed = 0;
    qw_status s;

    s = qw_mailbox_destroy_copy(c->st, c->v->enterprise_id, c->v->member_id,
                                c->id, &changed);
    if (s == QW_ERR_NOTFOUND) {
        return not_found(c);
    }
    if (s != QW_OK) {
        return store_failed(c, "destroy");
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW0755: member %" APR_INT64_T_FMT " of %s destroyed their "
                  "copy of mailbox message %" APR_INT64_T_FMT "%s from %s",
                  c->v->member_id, qw_dir(r)->enterprise, c->id,
                  changed ? "" : " (already destroyed)", r->useragent_ip);
    never_kept(r);
    apr_table_setn(r->headers_out, "Location",
                   apr_pstrcat(r->pool, list_url(c), "?destroyed=1", NULL));
    return HTTP_SEE_OTHER;
}

/* POST <handler>/mailbox/<id>: action=reveal or action=destroy. */
static int message_post(mb_ctx *c)
{
    request_rec *r = c->r;
    apr_table_t *form;
    const char *action;
    int rc;

    if ((rc = qw_read_form(r, &form)) != OK) {
        never_kept(r);
        return rc;
    }
    if (!qw_csrf_key() || !qw_csrf_ok(r, form, MB_CSRF_PURPOSE,
                                      c->v->token)) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                      "QW0752: mailbox form refused: CSRF check failed for "
                      "member %" APR_INT64_T_FMT " (message %" APR_INT64_T_FMT
                      ") from %s: nothing revealed or destroyed",
                      c->v->member_id, c->id, r->useragent_ip);
        /* the same answer whether the message exists or not */
        return send_page(c, HTTP_FORBIDDEN,
                         apr_pstrcat(r->pool, "<p class=\"msg\" "
                                     "role=\"alert\">",
                                     qw_str(c->lang, QW_S_FORM_EXPIRED),
                                     "</p><p><a href=\"",
                                     qw_escape_html(r->pool,
                                                    message_url(c, c->id)),
                                     "\">", qw_str(c->lang, QW_S_CONTINUE),
                                     "</a></p>", back_link(c), NULL));
    }
    action = apr_table_get(form, "action");
    if (action && !strcmp(action, "reveal")) {
        return reveal(c);
    }
    if (action && !strcmp(action, "destroy")) {
        return destroy(c);
    }
    return send_notice(c, HTTP_BAD_REQUEST, QW_S_BAD_REQUEST, QW_S_COUNT);
}

/* A message id as it appears in the path: 1 to 18 digits, no leading
 * zero (one spelling per message); 0 when it is not one. */
static int64_t parse_id(const char *s)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > 18 || s[0] == '0') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (!apr_isdigit(s[i])) {
            return 0;
        }
    }
    return apr_atoi64(s);
}

int qw_mailbox_dispatch(request_rec *r)
{
    const char *uri = r->uri, *last = strrchr(uri, '/'), *prev;
    mb_ctx c;
    int post;

    if (!last) {
        return DECLINED;
    }
    memset(&c, 0, sizeof(c));
    c.r = r;
    if (!strcmp(last + 1, "mailbox")) {
        c.base = apr_pstrmemdup(r->pool, uri, last - uri);
    }
    else {
        for (prev = last; prev > uri && prev[-1] != '/'; prev--) {
        }
        if (prev == uri || (size_t)(last - prev) != 7
            || strncmp(prev, "mailbox", 7)) {
            return DECLINED;
        }
        if ((c.id = parse_id(last + 1)) == 0) {
            /* not a message: another page of a handler location that
             * itself ends in "mailbox" (/mailbox/login); but what starts
             * with a digit is no page name, only a malformed id (01, too
             * long, 12x): the mailbox's own 404 with its headers */
            if (!apr_isdigit(last[1])) {
                return DECLINED;
            }
            c.id = -1;
        }
        c.base = apr_pstrmemdup(r->pool, uri, (prev - 1) - uri);
    }
    never_kept(r);
    if (r->main) {
        /* a subrequest (an SSI include virtual, a filter's lookup) would
         * embed the member's titles or a message in another page */
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0742: mailbox page %s asked for in a subrequest "
                      "(of %s): 404", r->uri, r->main->uri);
        return HTTP_NOT_FOUND;
    }
    post = r->method_number == M_POST && c.id;
    if (r->method_number != M_GET && !post) {
        r->allowed = (AP_METHOD_BIT << M_GET)
                     | (c.id ? (AP_METHOD_BIT << M_POST) : 0);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (qw_viewer_resolve(r, &c.v) != OK) {
        return qw_unavailable(r);
    }
    if (!c.v) {
        apr_table_setn(r->headers_out, "Location",
                       qw_login_location(r, r->uri));
        return post ? HTTP_SEE_OTHER : HTTP_MOVED_TEMPORARILY;
    }
    c.lang = qw_request_lang(r);
    c.nonce = qw_page_nonce(r);
    c.st = qw_sec_store(r, apr_psprintf(r->pool, "member:%" APR_INT64_T_FMT,
                                        c.v->member_id));
    if (!c.st || !c.nonce) {
        return qw_unavailable(r);
    }
    if (!c.id) {
        return list_page(&c);
    }
    if (c.id < 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0739: member %" APR_INT64_T_FMT " asked for "
                      "mailbox message '%s', not a message id: 404",
                      c.v->member_id, qw_sanitize_text(r->pool, last + 1,
                                                       40));
        return send_notice(&c, HTTP_NOT_FOUND, QW_S_MB_NOT_FOUND,
                           QW_S_COUNT);
    }
    return post ? message_post(&c) : confirm_page(&c);
}

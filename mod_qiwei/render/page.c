/* Page rendering (layer 3) for the handlers and the error pages.  Pages
 * are small, mobile-first, self-contained (one nonce'd <style>), and never
 * cached.  No database, no authentication: what to draw is decided below
 * (the request context) or above (the handlers). */
#include "apr_strings.h"
#include "apr_buckets.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "req.h"
#include "cfg/config.h"
#include "render/page.h"
#include "util/token.h"

#define QW_ERROR_CHARSET_FILTER "QIWEI_ERROR_CHARSET"

static const char page_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.5 -apple-system,BlinkMacSystemFont,"
    "\"PingFang SC\",\"Microsoft YaHei\",\"Noto Sans CJK SC\",sans-serif;"
    "background:#f4f5f7;color:#1f2329}"
    "main{max-width:420px;margin:0 auto;padding:32px 20px}"
    "h1{font-size:22px;margin:0 0 20px}"
    "label{display:block;margin:14px 0 6px;font-size:14px;color:#4e5969}"
    "input[type=text],input[type=password]{width:100%;padding:12px;"
    "font-size:16px;border:1px solid #86909c;border-radius:8px;"
    "background:#fff}"
    "button{width:100%;margin-top:24px;padding:12px;font-size:16px;"
    "border:0;border-radius:8px;background:#0958d9;color:#fff}"
    ".msg{padding:10px 12px;border-radius:8px;background:#fff1f0;"
    "color:#a8071a;margin:0 0 12px}"
    ".ok{background:#f6ffed;color:#135200}"
    "p.hint{color:#4e5969}a{color:#0958d9}";

qw_lang qw_request_lang(request_rec *r)
{
    return qw_lang_pick(apr_table_get(r->headers_in, "Accept-Language"),
                        (qw_lang)qw_cfg_lang(qw_dir(r)));
}

const char *qw_page_nonce(request_rec *r)
{
    unsigned char raw[16];
    if (qw_random(raw, sizeof(raw)) != 0) {
        return NULL;
    }
    return qw_b64url(r->pool, raw, sizeof(raw));
}

void qw_page_security_headers(request_rec *r, apr_table_t *t,
                              const char *nonce)
{
    apr_table_setn(t, "Content-Security-Policy",
                   apr_pstrcat(r->pool, "default-src 'none'; style-src ",
                               nonce ? "'nonce-" : "'none'",
                               nonce ? nonce : "", nonce ? "'" : "",
                               "; img-src 'self' data:; form-action 'self';"
                               " frame-ancestors 'none'; base-uri 'none'",
                               NULL));
    apr_table_setn(t, "X-Frame-Options", "DENY");
    apr_table_setn(t, "X-Content-Type-Options", "nosniff");
    apr_table_setn(t, "Referrer-Policy", "no-referrer");
    apr_table_setn(t, "Cache-Control", "no-store");
    apr_table_mergen(t, "Vary", "Accept-Language");
}

const char *qw_page_html(request_rec *r, qw_lang lang, const char *nonce,
                         const char *title, const char *body_html)
{
    return apr_pstrcat(r->pool,
        "<!DOCTYPE html>\n<html lang=\"", qw_lang_tag(lang), "\"><head>"
        "<meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,"
        "initial-scale=1\">"
        "<meta name=\"robots\" content=\"noindex\">"
        "<title>", qw_escape_html(r->pool, title), "</title>"
        "<style", nonce ? " nonce=\"" : "", nonce ? nonce : "",
        nonce ? "\"" : "", ">", page_css, "</style>"
        "</head><body><main>", body_html, "</main></body></html>\n", NULL);
}

int qw_page_send(request_rec *r, int status, qw_lang lang, const char *nonce,
                 const char *title, const char *body_html)
{
    const char *html = qw_page_html(r, lang, nonce, title, body_html);
    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    qw_page_security_headers(r, r->err_headers_out, nonce);
    ap_set_content_length(r, strlen(html));
    if (!r->header_only) {
        ap_rwrite(html, strlen(html), r);
    }
    return OK;
}

int qw_page_twostep_on(request_rec *r, int status, const char *next)
{
    qw_lang lang = qw_request_lang(r);
    const char *title = qw_str(lang, QW_S_TWOSTEP_TITLE);

    return qw_page_send(r, status, lang, qw_page_nonce(r), title,
        apr_pstrcat(r->pool, "<h1>", title, "</h1>"
        "<p class=\"msg ok\" id=\"twostep-on\">",
        qw_str(lang, QW_S_TWOSTEP_ALREADY), "</p>",
        next ? "<p><a id=\"continue\" href=\"" : "",
        next ? qw_escape_html(r->pool, next) : "",
        next ? "\">" : "", next ? qw_str(lang, QW_S_CONTINUE) : "",
        next ? "</a></p>" : "", NULL));
}

const char *qw_error_page(request_rec *r, int status)
{
    qw_lang lang = qw_request_lang(r);
    const char *nonce = qw_page_nonce(r);
    const char *title, *body;

    switch (status) {
    case HTTP_FORBIDDEN:
        title = qw_str(lang, QW_S_NO_PERMISSION);
        body = apr_pstrcat(r->pool, "<h1>", qw_escape_html(r->pool, title),
                           "</h1><p class=\"hint\">",
                           qw_str(lang, QW_S_NO_PERMISSION_HINT), "</p>",
                           NULL);
        break;
    case HTTP_UNAUTHORIZED: {
        const char *login = qw_cfg_login_url(qw_dir(r));
        title = qw_str(lang, QW_S_LOGIN_TITLE);
        body = apr_pstrcat(r->pool, "<h1>", qw_escape_html(r->pool, title),
                           "</h1><p><a href=\"",
                           qw_escape_html(r->pool, login), "\">",
                           qw_str(lang, QW_S_GO_TO_LOGIN), "</a></p>", NULL);
        break;
    }
    case HTTP_TOO_MANY_REQUESTS:
        /* the same words whatever the reason (throttle.c logs why) */
        title = qw_str(lang, QW_S_TOO_MANY);
        body = apr_pstrcat(r->pool, "<h1>", qw_escape_html(r->pool, title),
                           "</h1>", NULL);
        break;
    case HTTP_SERVICE_UNAVAILABLE:
        title = qw_str(lang, QW_S_UNAVAILABLE);
        body = apr_pstrcat(r->pool, "<h1>", qw_escape_html(r->pool, title),
                           "</h1><p class=\"hint\">",
                           qw_str(lang, QW_S_UNAVAILABLE_HINT), "</p>",
                           NULL);
        break;
    default:
        return NULL;
    }
    /* ap_send_error_response sends err_headers_out (it runs the
     * insert_error_filter hook, our caller, before swapping the tables) */
    qw_page_security_headers(r, r->err_headers_out, nonce);
    return qw_page_html(r, lang, nonce, title, body);
}

/* Our own pages for the errors we cause: UTF-8, zh-CN or en, no hint of
 * what was refused. */
static void qw_insert_error_filter(request_rec *r)
{
    qw_req *q = qw_req_get(r, 0);
    const char *page;

    if (!q || !q->ours) {
        return;
    }
    if (r->status != HTTP_UNAUTHORIZED && r->status != HTTP_FORBIDDEN
        && r->status != HTTP_TOO_MANY_REQUESTS
        && r->status != HTTP_SERVICE_UNAVAILABLE) {
        return;
    }
    if (r->status == HTTP_UNAUTHORIZED && q->viewer) {
        /* mod_authz_core answers 401 when an authenticated user is refused
         * (unless AuthzSendForbiddenOnFailure), inviting other credentials.
         * A member is who they are: they get 403.  ap_send_error_response
         * looks up the custom response under the status it started with,
         * so the page is registered for 401 and the status line says 403. */
        r->status = HTTP_FORBIDDEN;
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
        page = qw_error_page(r, HTTP_FORBIDDEN);
        if (page) {
            apr_table_setn(r->subprocess_env, "suppress-error-charset", "1");
            ap_custom_response(r, HTTP_UNAUTHORIZED, page);
        }
        return;
    }
    page = qw_error_page(r, r->status);
    if (page) {
        apr_table_setn(r->subprocess_env, "suppress-error-charset", "1");
        ap_custom_response(r, r->status, page);
        if (r->status == HTTP_TOO_MANY_REQUESTS) {
            /* the throttle page was sent as a page of ours before it was
             * an error page: keep its explicit charset */
            ap_add_output_filter(QW_ERROR_CHARSET_FILTER, NULL, r,
                                 r->connection);
        }
    }
}

/* ap_send_error_response sets "text/html" after insert_error_filter ran;
 * this runs on the page's first brigade, before the headers go out. */
static apr_status_t error_charset_filter(ap_filter_t *f,
                                         apr_bucket_brigade *bb)
{
    ap_set_content_type(f->r, "text/html; charset=utf-8");
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

void qw_render_register_hooks(apr_pool_t *p)
{
    ap_register_output_filter(QW_ERROR_CHARSET_FILTER, error_charset_filter,
                              NULL, AP_FTYPE_CONTENT_SET);
    ap_hook_insert_error_filter(qw_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
}

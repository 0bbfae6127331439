/* Page rendering, forms and CSRF for the qiweI handler and error pages.
 * Pages are small, mobile-first, self-contained (one nonce'd <style>), and
 * never cached. */
#include "apr_strings.h"
#include "apr_buckets.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "util/cookie.h"
#include "util/csrf.h"
#include "util/token.h"

#define QW_FORM_MAX_BYTES 16384
#define QW_FORM_MAX_FIELDS 16
#define QW_FIELD_MAX_BYTES 4096

static const char page_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.5 -apple-system,BlinkMacSystemFont,"
    "\"PingFang SC\",\"Microsoft YaHei\",\"Noto Sans CJK SC\",sans-serif;"
    "background:#f4f5f7;color:#1f2329}"
    "main{max-width:420px;margin:0 auto;padding:32px 20px}"
    "h1{font-size:22px;margin:0 0 20px}"
    "label{display:block;margin:14px 0 6px;font-size:14px;color:#4e5969}"
    "input[type=text],input[type=password]{width:100%;padding:12px;"
    "font-size:16px;border:1px solid #c9cdd4;border-radius:8px;"
    "background:#fff}"
    "button{width:100%;margin-top:24px;padding:12px;font-size:16px;"
    "border:0;border-radius:8px;background:#1677ff;color:#fff}"
    ".msg{padding:10px 12px;border-radius:8px;background:#fff1f0;"
    "color:#a8071a;margin:0 0 12px}"
    ".ok{background:#f6ffed;color:#135200}"
    "p.hint{color:#4e5969}a{color:#1677ff}";

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

int qw_read_form(request_rec *r, apr_table_t **form)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_array_header_t *pairs;
    apr_table_t *t;
    int rc;

    *form = NULL;
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33)
        || (ct[33] && ct[33] != ';' && ct[33] != ' ')) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0301: form with content type %s refused",
                      ct ? ct : "(none)");
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    }
    if (cl && apr_atoi64(cl) > QW_FORM_MAX_BYTES) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0302: form of %s bytes refused", cl);
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    rc = ap_parse_form_data(r, NULL, &pairs, QW_FORM_MAX_FIELDS,
                            QW_FORM_MAX_BYTES);
    if (rc != OK) {
        return rc;
    }
    t = apr_table_make(r->pool, pairs->nelts);
    while (pairs && !apr_is_empty_array(pairs)) {
        ap_form_pair_t *pair = (ap_form_pair_t *)apr_array_pop(pairs);
        apr_off_t len;
        apr_size_t size;
        char *buf;

        apr_brigade_length(pair->value, 1, &len);
        if (len > QW_FIELD_MAX_BYTES) {
            return HTTP_REQUEST_ENTITY_TOO_LARGE;
        }
        size = (apr_size_t)len;
        buf = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, buf, &size);
        buf[size] = '\0';
        if (strlen(buf) != size) {
            /* embedded NUL: not something a browser form sends */
            return HTTP_BAD_REQUEST;
        }
        /* popping walks backwards: set() keeps the first occurrence */
        apr_table_set(t, pair->name, buf);
    }
    *form = t;
    return OK;
}

const char *qw_csrf_cookie(request_rec *r, int create)
{
    const char *v = qw_cookie_get(r->pool,
                                  apr_table_get(r->headers_in, "Cookie"),
                                  QW_CSRF_COOKIE);
    unsigned char raw[QW_TOKEN_BYTES];

    if (v && qw_token_decode(v, strlen(v), raw, sizeof(raw)) == 0) {
        return v;
    }
    if (!create) {
        return NULL;
    }
    v = qw_token_new(r->pool, raw, sizeof(raw));
    if (!v) {
        return NULL;
    }
    apr_table_add(r->err_headers_out, "Set-Cookie",
                  apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly; "
                               "SameSite=Strict%s", QW_CSRF_COOKIE, v,
                               qw_cookie_is_secure(r) ? "; Secure" : ""));
    return v;
}

int qw_same_origin(request_rec *r)
{
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *host = apr_table_get(r->headers_in, "Host");

    if (site && strcasecmp(site, "same-origin") && strcasecmp(site, "none")) {
        return 0;
    }
    if (origin && strcmp(origin, "null") && host) {
        /* Origin is scheme://host[:port]; compare its authority to Host */
        const char *auth = strstr(origin, "://");
        if (!auth || strcasecmp(auth + 3, host)) {
            return 0;
        }
    }
    return 1;
}

int qw_csrf_ok(request_rec *r, apr_table_t *form, const char *purpose,
               const char *binding)
{
    const unsigned char *key = qw_csrf_key();
    const char *token = apr_table_get(form, "csrf");

    if (!key || !binding || !token || !qw_same_origin(r)) {
        return 0;
    }
    return qw_csrf_check(key, purpose, binding, token);
}

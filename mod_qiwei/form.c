/* Forms and CSRF for our pages (layer 2: request context): a bounded
 * urlencoded body, the pre-login CSRF cookie, same-origin checks. */
#include "apr_strings.h"
#include "apr_buckets.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"

#include "req.h"
#include "form.h"
#include "util/cookie.h"
#include "util/csrf.h"
#include "util/token.h"

#define QW_FORM_MAX_BYTES 16384
#define QW_FORM_MAX_FIELDS 16
#define QW_FIELD_MAX_BYTES 4096

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

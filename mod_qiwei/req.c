/* The request context: per-request state and the session cookie.  See
 * req.h. */
#include "apr_strings.h"
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"

#include "req.h"
#include "cfg/config.h"
#include "util/cookie.h"

qw_req *qw_req_get(request_rec *r, int create)
{
    qw_req *q = ap_get_module_config(r->request_config, &qiwei_module);
    if (!q && create) {
        q = apr_pcalloc(r->pool, sizeof(*q));
        ap_set_module_config(r->request_config, &qiwei_module, q);
    }
    return q;
}

int qw_cookie_is_secure(request_rec *r)
{
    switch (qw_cfg_secure(qw_dir(r))) {
    case QW_SECURE_ON:
        return 1;
    case QW_SECURE_OFF:
        return 0;
    default:
        return !strcmp(ap_http_scheme(r), "https");
    }
}

const char *qw_session_cookie_name(request_rec *r)
{
    const char *name = qw_cfg_cookie_name(qw_dir(r));
    /* __Host-: Secure, Path=/, no Domain; a sibling subdomain cannot plant
     * or overwrite it */
    if (qw_cookie_is_secure(r) && strncmp(name, "__Host-", 7)) {
        return apr_pstrcat(r->pool, "__Host-", name, NULL);
    }
    return name;
}

const char *qw_session_cookie(request_rec *r, const char *value)
{
    qw_dir_cfg *d = qw_dir(r);
    return apr_psprintf(r->pool, "%s=%s; Path=/; HttpOnly; SameSite=%s%s%s",
                        qw_session_cookie_name(r), value ? value : "",
                        qw_cfg_samesite(d),
                        qw_cookie_is_secure(r) ? "; Secure" : "",
                        value ? "" : "; Max-Age=0");
}

const char *qw_cookie_value_of_session(request_rec *r)
{
    return qw_cookie_get(r->pool, apr_table_get(r->headers_in, "Cookie"),
                         qw_session_cookie_name(r));
}

int qw_unavailable(request_rec *r)
{
    qw_req *q = qw_req_get(r, 1);
    q->db_failed = 1;
    q->ours = 1;
    apr_table_setn(r->err_headers_out, "Retry-After", "5");
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    return HTTP_SERVICE_UNAVAILABLE;
}

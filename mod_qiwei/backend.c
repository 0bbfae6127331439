/* What the gate lets out besides the request: the Cookie header handed to
 * back-ends (CGI, mod_proxy, other handlers) loses mod_qiwei's own cookies,
 * and a response to a request a Qiwei session let through is marked
 * Cache-Control: private so that no shared cache (mod_cache, a proxy)
 * stores one viewer's page for the next, anonymous, request. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "req.h"
#include "gate.h"
#include "cfg/config.h"
#include "util/cookie.h"
#include "util/text.h"

#define PRIVATE_FILTER "QIWEI_PRIVATE"

static int is_our_handler(const request_rec *r)
{
    return r->handler && !strcmp(r->handler, QW_HANDLER);
}

/* Our cookies under every name they may carry in this location. */
static const char *const *our_cookie_names(request_rec *r)
{
    const char *session = qw_cfg_cookie_name(qw_dir(r));
    const char **n = apr_palloc(r->pool, 8 * sizeof(*n));

    n[0] = session;
    n[1] = strncmp(session, "__Host-", 7)
           ? apr_pstrcat(r->pool, "__Host-", session, NULL) : session + 7;
    n[2] = QW_ADMIN_COOKIE;
    n[3] = "__Secure-" QW_ADMIN_COOKIE;
    n[4] = QW_CSRF_COOKIE;
    n[5] = QW_SCAN_COOKIE;
    n[6] = NULL;
    return n;
}

/* Last fixup: authentication, authorization and our own checks have read
 * the cookies already (the viewer is kept in the request context, and
 * subrequests and internal redirects inherit it), so what is left of the
 * request goes to the handler.  A back-end never needs the bearer token:
 * whoever reads its logs or environment could replay it.  Our own handler
 * (SetHandler qiwei) keeps them: it is the one that reads them. */
static int strip_our_cookies(request_rec *r)
{
    const char *h, *out;

    if (!qw_srv(r->server)->db_conninfo || is_our_handler(r)
        || qw_cfg_forward_cookies(qw_dir(r))) {
        return DECLINED;
    }
    h = apr_table_get(r->headers_in, "Cookie");
    if (!h) {
        return DECLINED;
    }
    out = qw_cookie_remove(r->pool, h, our_cookie_names(r));
    if (out == h) {
        return DECLINED;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0240: mod_qiwei's cookies kept from the handler of %s "
                  "(QiweiForwardCookies Off)", r->uri);
    if (out) {
        apr_table_setn(r->headers_in, "Cookie", out);
    }
    else {
        apr_table_unset(r->headers_in, "Cookie");
    }
    return DECLINED;
}

/* Did a Qiwei session (member, share link, admin) let r through? */
static int authenticated(request_rec *r)
{
    qw_req *q = qw_req_get(r, 0);
    return q && (q->viewer || q->external_link_id || q->admin);
}

/* The Cache-Control values of both header tables as one list. */
static const char *cache_control_of(request_rec *r)
{
    const char *a = apr_table_get(r->headers_out, "Cache-Control");
    const char *b = apr_table_get(r->err_headers_out, "Cache-Control");

    if (a && b) {
        return apr_pstrcat(r->pool, a, ", ", b, NULL);
    }
    return a ? a : b;
}

/* Runs before mod_cache's CACHE_SAVE (AP_FTYPE_CONTENT_SET + 1) and before
 * the headers go out; the decision waits for the first brigade because an
 * admin session is only looked up by the handler. */
static apr_status_t private_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    if (authenticated(r)) {
        const char *cc = qw_cache_control_private(r->pool,
                                                  cache_control_of(r));
        /* one header, where mod_cache looks first (err_headers_out), and
         * it survives an error response */
        apr_table_unset(r->headers_out, "Cache-Control");
        apr_table_setn(r->err_headers_out, "Cache-Control", cc);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static void private_insert_filter(request_rec *r)
{
    const char *type = ap_auth_type(r);

    /* a subrequest's headers are not sent: its main request decides */
    if (r->main || !qw_srv(r->server)->db_conninfo
        || !qw_cfg_cache_private(qw_dir(r))) {
        return;
    }
    if ((type && !strcasecmp(type, QW_AUTH_TYPE)) || is_our_handler(r)
        || qw_req_get(r, 0)) {
        ap_add_output_filter(PRIVATE_FILTER, NULL, r, r->connection);
    }
}

void qw_backend_register_hooks(apr_pool_t *p)
{
    ap_hook_fixups(strip_our_cookies, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_register_output_filter(PRIVATE_FILTER, private_filter, NULL,
                              AP_FTYPE_CONTENT_SET - 1);
    ap_hook_insert_filter(private_insert_filter, NULL, NULL,
                          APR_HOOK_MIDDLE);
}

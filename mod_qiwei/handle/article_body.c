/* QiweiArticleStore On (or SetHandler qiwei-article): the body mod_qiwei
 * stores, decrypted.  article.c (the gate) decided who may read it and
 * fetched it with the decision; this handler only opens and sends it.
 *
 * A stored body is untrusted content: any admin holding the article's
 * module (say news) writes it, and it is served on the same origin as the
 * admin API.  A script in it, run in our origin by a super admin's
 * browser, could act as that super admin.  So every body is sent with
 * QW_BODY_CSP (a sandbox without allow-scripts or allow-same-origin: no
 * script runs, and the document gets an opaque origin that no cookie or
 * same-origin check recognises) and nosniff; only types that a browser
 * shows as a page or an image are shown inline, every other type is a
 * download (docs/articles.md). */
#include "apr_strings.h"
#include "apr_lib.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "store/store.h"
#include "util/envelope.h"

/* Images and inline styles of the site itself (and data: images, as the
 * watermark uses) are shown; scripts, plugins, frames, forms, fonts and
 * anything from other sites are not. */
#define QW_BODY_CSP "sandbox; default-src 'none'; img-src 'self' data:; " \
    "style-src 'self' 'unsafe-inline'; font-src 'self' data:; " \
    "media-src 'self'; form-action 'none'; base-uri 'none'; " \
    "frame-ancestors 'self'"

/* 1 when a body of type ct may be shown in the browser (sandboxed): an
 * HTML page, plain text, a raster image.  SVG, XML, PDF and everything
 * else may carry active content or open a viewer of its own. */
static int body_inline(const char *ct)
{
    static const char *const shown[] = {
        "text/html", "text/plain", "image/png", "image/jpeg", "image/gif",
        "image/webp", "image/avif", NULL
    };
    size_t n = strcspn(ct, "; \t");
    int i;

    for (i = 0; shown[i]; i++) {
        if (strlen(shown[i]) == n && !strncasecmp(ct, shown[i], n)) {
            return 1;
        }
    }
    return 0;
}

/* The type a download is sent with: the stored one, unless a browser
 * could take it as a script, a style sheet or a transform from our origin
 * or a document (nosniff blocks a <script> only when the type is not a
 * script's). */
static const char *download_type(const char *ct)
{
    /* an image (SVG included) stays one, so that <img> still shows it:
     * an image never runs scripts */
    if (!strncasecmp(ct, "image/", 6)) {
        return ct;
    }
    if (ap_strcasestr(ct, "script") || ap_strcasestr(ct, "css")
        || ap_strcasestr(ct, "xsl") || ap_strcasestr(ct, "wasm")
        || ap_strcasestr(ct, "json") || ap_strcasestr(ct, "html")
        || ap_strcasestr(ct, "xml")) {
        return "application/octet-stream";
    }
    return ct;
}

/* The last segment of the path as a quoted-string file name: only a safe
 * set of bytes, the rest as '_'. */
static const char *download_name(request_rec *r)
{
    const char *slash = strrchr(r->uri, '/');
    char *n = apr_pstrdup(r->pool, slash && slash[1] ? slash + 1 : "body"),
         *c;

    for (c = n; *c; c++) {
        if (!apr_isalnum(*c) && !strchr("-._", *c)) {
            *c = '_';
        }
    }
    return n;
}

static int article_body_handler(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    const qw_keyring *kr = qw_keys();
    qw_article_body st;
    unsigned char *body = NULL, *dek = NULL, *pt;
    size_t bodylen = 0, deklen = 0, ptlen;
    const char *ct;

    if (!qw_cfg_article_store(d)
        && (!r->handler || strcmp(r->handler, QW_ARTICLE_HANDLER))) {
        return DECLINED;
    }
    qw_req_get(r, 1)->ours = 1;
    qw_article_stored(r, &st);
    if (!st.decided || !qw_cfg_article_module(d)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0910: stored articles at %s need AuthType Qiwei, "
                      "QiweiArticleModule and Require qiwei-article", r->uri);
        return HTTP_FORBIDDEN;
    }
    /* a subrequest or redirect that inherited another path's decision
     * must not be answered with that article's body */
    if (!st.found || !st.body_hex || !st.dek_hex
        || strcmp(st.path, r->uri)) {
        return HTTP_NOT_FOUND;
    }
    r->allowed |= (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (qw_store_unhex(r->pool, st.body_hex, &body, &bodylen) != 0
        || qw_store_unhex(r->pool, st.dek_hex, &dek, &deklen) != 0
        || !kr
        || qw_env_open(r->pool, kr, st.enterprise_id, st.article_id,
                       body, bodylen, dek, deklen, &pt, &ptlen) != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0911: the stored body of article %" APR_INT64_T_FMT
                      " does not decrypt (key id %u missing from the key "
                      "file, or the row was altered)", st.article_id,
                      (unsigned)qw_env_kid(dek, deklen));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ct = st.body_type ? st.body_type : "text/html; charset=utf-8";
    apr_table_setn(r->headers_out, "Content-Security-Policy", QW_BODY_CSP);
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    if (body_inline(ct)) {
        ap_set_content_type(r, ct);
    }
    else {
        ap_set_content_type(r, download_type(ct));
        apr_table_setn(r->headers_out, "Content-Disposition",
                       apr_psprintf(r->pool, "attachment; filename=\"%s\"",
                                    download_name(r)));
    }
    ap_set_content_length(r, (apr_off_t)ptlen);
    if (!r->header_only) {
        ap_rwrite(pt, (int)ptlen, r);
    }
    return OK;
}

void qw_article_body_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(article_body_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

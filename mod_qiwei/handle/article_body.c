/* QiweiArticleStore On (or SetHandler qiwei-article): the body mod_qiwei
 * stores, decrypted.  article.c (the gate) decided who may read it and
 * fetched it with the decision; this handler only opens and sends it. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "store/store.h"
#include "util/envelope.h"

static int article_body_handler(request_rec *r)
{
    qw_dir_cfg *d = qw_dir(r);
    const qw_keyring *kr = qw_keys();
    qw_article_body st;
    unsigned char *body = NULL, *dek = NULL, *pt;
    size_t bodylen = 0, deklen = 0, ptlen;

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
    ap_set_content_type(r, st.body_type ? st.body_type
                                        : "text/html; charset=utf-8");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
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

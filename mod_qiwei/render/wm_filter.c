/* QIWEI_WATERMARK output filter: stamps the viewer's identity on HTML pages
 * (R9).  Streaming and zero-copy: buckets are scanned only until the
 * insertion point (wm/scan.h), which is split out; everything after it,
 * including file buckets (sendfile), passes through untouched. */
#include "apr_strings.h"
#include "apr_buckets.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "req.h"
#include "render/page.h"
#include "cfg/config.h"
#include "util/token.h"
#include "wm/scan.h"
#include "wm/csp.h"
#include "metrics.h"

#define WM_FILTER "QIWEI_WATERMARK"
#define WM_NOTE_AE "qiwei-accept-encoding"
/* files at least this large are mapped, smaller ones read (wm_filter) */
#define WM_MMAP_MIN (64 * 1024)

typedef enum { WM_SCANNING, WM_GAVE_UP, WM_DONE } wm_state;

typedef struct {
    qw_wm_scanner scan;
    wm_state state;
    const char *markup;
} wm_ctx;

static int is_html(const char *ct)
{
    return ct && (!strncasecmp(ct, "text/html", 9)
                  || !strncasecmp(ct, "application/xhtml+xml", 21));
}

static const char *short_id(request_rec *r, int64_t id)
{
    const char *s = apr_psprintf(r->pool, "%04" APR_INT64_T_FMT, id);
    size_t n = strlen(s);
    return apr_pstrcat(r->pool, "#", n > 4 ? s + n - 4 : s, NULL);
}

/* Is the watermark on for r?  An article's own setting (article.c)
 * overrides the location's QiweiWatermark. */
static int wm_enabled(request_rec *r)
{
    qw_req *q = qw_req_get(r, 0);

    if (q && q->watermark_override == QW_WM_ON) {
        return 1;
    }
    if (q && q->watermark_override == QW_WM_OFF) {
        return 0;
    }
    return qw_cfg_watermark(qw_dir(r));
}

/* Watermark text for this viewer, or NULL when nobody is known.  A reader
 * of a share link is "external" with the link's id. */
static const char *viewer_text(request_rec *r, const qw_dir_cfg *d)
{
    qw_req *q = qw_req_get(r, 0);
    qw_viewer *v = q ? q->viewer : NULL;
    apr_time_exp_t t;
    apr_size_t len;
    char when[32];

    if (!v && !(q && q->external_link_id)) {
        return NULL;
    }
    apr_time_exp_lt(&t, r->request_time);
    apr_strftime(when, &len, sizeof(when), "%Y-%m-%d %H:%M", &t);
    if (!v) {
        return qw_wm_format(r->pool, d->wm_text, "external",
                            q->external_link_id, when);
    }
    return qw_wm_format(r->pool, d->wm_text, v->display_name,
                        short_id(r, v->member_id), when);
}

static int adapt_csp(void *data, const char *key, const char *value)
{
    apr_array_header_t *vals = data;
    APR_ARRAY_PUSH(vals, const char *) = value;
    return 1;
}

/* Rewrite every CSP header of table t so that our <style nonce> and data:
 * image pass; returns the nonce to use. */
static const char *csp_nonce(request_rec *r, apr_table_t *t,
                             const char *nonce)
{
    apr_array_header_t *vals = apr_array_make(r->pool, 2,
                                              sizeof(const char *));
    int i;

    apr_table_do(adapt_csp, vals, t, "Content-Security-Policy", NULL);
    if (apr_is_empty_array(vals)) {
        return nonce;
    }
    /* the page's own style nonce if it has one, so its policy is kept */
    for (i = 0; i < vals->nelts; i++) {
        const char *n = qw_csp_style_nonce(r->pool,
                                           APR_ARRAY_IDX(vals, i, char *));
        if (n) {
            nonce = n;
            break;
        }
    }
    apr_table_unset(t, "Content-Security-Policy");
    for (i = 0; i < vals->nelts; i++) {
        apr_table_addn(t, "Content-Security-Policy",
                       qw_csp_allow_watermark(r->pool,
                                              APR_ARRAY_IDX(vals, i, char *),
                                              nonce));
    }
    return nonce;
}

/* Decide on the first brigade; returns the markup or NULL to step aside. */
static const char *wm_prepare(ap_filter_t *f)
{
    request_rec *r = f->r;
    qw_dir_cfg *d = qw_dir(r);
    const char *enc, *text, *nonce, *markup;
    qw_wm_style style;
    unsigned char raw[16];

    /* HEAD too: it gets the headers GET would (RFC 9110 9.3.2); httpd
     * drops the body after the header filter, so the Content-Length
     * counted is the marked page's, as for GET */
    if (r->main || r->status != HTTP_OK
        || !is_html(r->content_type)) {
        qw_metrics_inc(QW_C_WM_SKIP_NOT_HTML);
        return NULL;
    }
    if (apr_table_get(r->headers_out, "Content-Range")) {
        qw_metrics_inc(QW_C_WM_SKIP_NOT_HTML);   /* a part of a page */
        return NULL;
    }
    enc = apr_table_get(r->headers_out, "Content-Encoding");
    if (!enc) {
        enc = r->content_encoding;
    }
    if (enc && strcasecmp(enc, "identity")) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0801: %s response for %s left without watermark: "
                      "compressed by its producer", enc, r->uri);
        qw_metrics_inc(QW_C_WM_SKIP_COMPRESSED);
        return NULL;
    }
    text = viewer_text(r, d);
    if (!text) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0802: no viewer known for %s: no watermark "
                      "(use AuthType Qiwei)", r->uri);
        qw_metrics_inc(QW_C_WM_SKIP_NO_VIEWER);
        return NULL;
    }
    /* A nonce only where a policy is there to name it: without one the
     * <style> applies anyway, and a policy a later filter adds (mod_headers
     * runs after us) could not name ours either.  That saves a DRBG call
     * on most responses. */
    if (apr_table_get(r->headers_out, "Content-Security-Policy")
        || apr_table_get(r->err_headers_out, "Content-Security-Policy")) {
        if (qw_random(raw, sizeof(raw)) != 0) {
            qw_metrics_inc(QW_C_WM_SKIP_ERROR);
            return NULL;
        }
        nonce = qw_b64url(r->pool, raw, sizeof(raw));
        nonce = csp_nonce(r, r->headers_out, nonce);
        nonce = csp_nonce(r, r->err_headers_out, nonce);
    }
    else {
        nonce = NULL;
    }

    qw_wm_style_init(&style);
    if (d->wm_opacity_pct != QW_UNSET) {
        style.opacity = d->wm_opacity_pct / 100.0;
    }
    if (d->wm_angle != QW_UNSET_ANGLE) {
        style.angle = d->wm_angle;
    }
    if (d->wm_font_px != QW_UNSET) {
        style.font_px = d->wm_font_px;
    }
    if (d->wm_tile_w != QW_UNSET) {
        style.tile_w = d->wm_tile_w;
        style.tile_h = d->wm_tile_h;
    }
    if (d->wm_fill) {
        style.fill = d->wm_fill;
    }
    if (d->wm_stroke) {
        style.stroke = d->wm_stroke;
    }
    markup = qw_wm_render(r->pool, &style, text, nonce);
    if (!markup) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW0803: page CSP nonce unusable; no watermark on %s",
                      r->uri);
        qw_metrics_inc(QW_C_WM_SKIP_ERROR);
        return NULL;
    }

    /* one viewer's page must never be served to another */
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "Content-MD5");
    apr_table_unset(r->headers_out, "ETag");
    apr_table_unset(r->err_headers_out, "ETag");
    apr_table_unset(r->headers_out, "Last-Modified");
    apr_table_setn(r->headers_out, "Cache-Control", "private, no-store");
    apr_table_unset(r->err_headers_out, "Cache-Control");
    /* The byterange filter runs after us and would cut a 206 out of this
     * viewer's page, whose length and offsets no other response shares
     * (and a range must not be a way to an unmarked page): answer Range
     * with the whole page, as RFC 9110 allows. */
    apr_table_unset(r->headers_in, "Range");
    apr_table_unset(r->headers_in, "Request-Range");
    return markup;
}

static void insert_markup(ap_filter_t *f, apr_bucket *after,
                          const char *closer, wm_ctx *ctx)
{
    apr_bucket *b;
    const char *m = closer && *closer
                    ? apr_pstrcat(f->r->pool, closer, ctx->markup, NULL)
                    : ctx->markup;
    b = apr_bucket_pool_create(m, strlen(m), f->r->pool,
                               f->c->bucket_alloc);
    APR_BUCKET_INSERT_AFTER(after, b);
}

static apr_status_t wm_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    wm_ctx *ctx = f->ctx;
    apr_bucket *b;

    if (!ctx) {
        qw_dir_cfg *d = qw_dir(r);
        const char *ae = apr_table_get(r->notes, WM_NOTE_AE);
        const char *markup;

        /* give DEFLATE (after us) the client's Accept-Encoding back */
        if (ae) {
            apr_table_setn(r->headers_in, "Accept-Encoding", ae);
        }
        markup = wm_prepare(f);
        if (!markup) {
            /* counted by its reason in wm_prepare */
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ctx->markup = markup;
        qw_wm_scan_init(&ctx->scan);
        qw_wm_scan_set_limit(&ctx->scan, d->wm_scan_limit_kb == QW_UNSET
                             ? QW_WM_SCAN_LIMIT_DEFAULT
                             : (uint64_t)d->wm_scan_limit_kb * 1024);
    }
    if (ctx->state == WM_DONE) {
        return ap_pass_brigade(f->next, bb);
    }

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        const char *data;
        apr_size_t len, off;
        apr_status_t rv;
        int rc;

        if (APR_BUCKET_IS_EOS(b)) {
            const char *closer = qw_wm_scan_finish(&ctx->scan);
            if (ctx->state == WM_GAVE_UP) {
                closer = "";
            }
            if (closer) {
                insert_markup(f, APR_BUCKET_PREV(b), closer, ctx);
                qw_metrics_inc(QW_C_WM_APPLIED);
            }
            else {
                qw_metrics_inc(QW_C_WM_SKIP_NO_PLACE);
                ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                              "QW0804: no place for the watermark in %s",
                              r->uri);
            }
            ctx->state = WM_DONE;
            break;
        }
        if (APR_BUCKET_IS_METADATA(b) || ctx->state == WM_GAVE_UP) {
            continue;
        }
#if APR_HAS_MMAP
        /* A small file is read a buffer at a time rather than mapped: we
         * look at its first few KB only, and mapping then unmapping a file
         * in a threaded child costs a TLB shootdown across the other cores
         * on every request.  A large one is mapped as httpd would (if
         * EnableMMAP allows): one mapping beats copying it through read(),
         * and the part we do not read cannot be mapped on its own later
         * (its offset is not page-aligned, so APR falls back to read()). */
        if (APR_BUCKET_IS_FILE(b) && b->length < WM_MMAP_MIN) {
            apr_bucket_file_enable_mmap(b, 0);
        }
#endif
        rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                          "QW0805: reading the response for the watermark");
            return rv;
        }
        rc = qw_wm_scan_feed(&ctx->scan, data, len, &off);
        if (rc == QW_WM_FOUND) {
            if (off < len) {
                apr_bucket_split(b, off);
            }
            insert_markup(f, b, NULL, ctx);
            qw_metrics_inc(QW_C_WM_APPLIED);
            ctx->state = WM_DONE;
            break;
        }
        if (rc == QW_WM_GIVEUP) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "QW0806: no <body> within the scan limit of %s: "
                          "watermark goes at the end", r->uri);
            ctx->state = WM_GAVE_UP;
        }
    }
    return ap_pass_brigade(f->next, bb);
}

static void wm_insert_filter(request_rec *r)
{
    if (!r->main && wm_enabled(r)) {
        ap_add_output_filter(WM_FILTER, NULL, r, r->connection);
    }
}

void qw_wm_require(request_rec *r)
{
    ap_filter_t *f;

    qw_req_get(r, 1)->watermark_override = QW_WM_ON;
    if (r->main) {
        return;
    }
    for (f = r->output_filters; f; f = f->next) {
        if (f->frec && f->frec->name
            && !strcasecmp(f->frec->name, WM_FILTER)) {
            return;                /* insert_filter added it already */
        }
    }
    ap_add_output_filter(WM_FILTER, NULL, r, r->connection);
}

/* Could r's answer be an HTML page we mark?  A static file whose type
 * is known (mod_mime ran) and is not HTML cannot; anything a handler
 * makes (CGI, mod_proxy) may be. */
static int may_be_marked(request_rec *r)
{
    if (r->handler && strcmp(r->handler, "default-handler")) {
        return 1;
    }
    return !r->content_type || is_html(r->content_type);
}

/* The validators of a file or a back-end's page are not those of the
 * marked page (which has none): If-None-Match or If-Modified-Since
 * must never earn a 304 for it, whatever the client learnt (a HEAD
 * before this filter saw HEAD, an unmarked copy elsewhere). */
static void drop_conditionals(request_rec *r)
{
    static const char *const names[] = {
        "If-None-Match", "If-Modified-Since", "If-Range", NULL
    };
    int i, dropped = 0;

    if (r->method_number != M_GET || !may_be_marked(r)) {
        return;
    }
    for (i = 0; names[i]; i++) {
        if (apr_table_get(r->headers_in, names[i])) {
            apr_table_unset(r->headers_in, names[i]);
            dropped = 1;
        }
    }
    if (dropped) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0830: conditional request for %s answered in full: "
                      "a watermarked page has no validators", r->uri);
    }
}

/* Back-ends (mod_proxy, CGI) must send us text we can read: hold the
 * client's Accept-Encoding back from them; the filter restores it for
 * mod_deflate, which compresses after us. */
static int wm_fixups(request_rec *r)
{
    const char *ae;
    if (r->main || !wm_enabled(r)) {
        return DECLINED;
    }
    drop_conditionals(r);
    ae = apr_table_get(r->headers_in, "Accept-Encoding");
    if (ae) {
        apr_table_setn(r->notes, WM_NOTE_AE, ae);
        apr_table_unset(r->headers_in, "Accept-Encoding");
    }
    return DECLINED;
}

void qw_wm_register_hooks(apr_pool_t *p)
{
    /* Just before every AP_FTYPE_CONTENT_SET filter, whatever the order in
     * which they were added: DEFLATE (SetOutputFilter, mod_filter's
     * AddOutputFilterByType) must compress our output, never feed us
     * compressed bytes.  Still after the resource filters (SSI, INFLATE)
     * that make the HTML. */
    ap_register_output_filter(WM_FILTER, wm_filter, NULL,
                              AP_FTYPE_CONTENT_SET - 1);
    ap_hook_insert_filter(wm_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(wm_fixups, NULL, NULL, APR_HOOK_LAST);
}

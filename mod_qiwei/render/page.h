/* Rendering (layer 3): our pages, the error pages, the language of a
 * request, the watermark filter.  No database, no authentication. */
#ifndef QW_RENDER_PAGE_H
#define QW_RENDER_PAGE_H

#include "httpd.h"
#include "util/text.h"
#include "util/i18n.h"

/* Language for this request: Accept-Language, else QiweiDefaultLanguage. */
qw_lang qw_request_lang(request_rec *r);

/* A fresh CSP nonce (base64url, 128 bits). */
const char *qw_page_nonce(request_rec *r);

/* Security headers for one of our pages into table t: CSP allowing only our
 * nonce'd style, no framing, no referrer, no caching, nosniff. */
void qw_page_security_headers(request_rec *r, apr_table_t *t,
                              const char *nonce);

/* A complete UTF-8 HTML document.  title is plain text (escaped here);
 * body_html is markup the caller built with escaped values. */
const char *qw_page_html(request_rec *r, qw_lang lang, const char *nonce,
                         const char *title, const char *body_html);

/* Send a page with status: sets content type and security headers. */
int qw_page_send(request_rec *r, int status, qw_lang lang, const char *nonce,
                 const char *title, const char *body_html);

/* The two-step enrolment page once two-step is on already, members' and
 * admins' alike: says so and never shows the secret.  status: 200 for a
 * GET, 409 for a code posted to it; next: where its "continue" link
 * leads (NULL: none). */
int qw_page_twostep_on(request_rec *r, int status, const char *next);

/* Body for ap_custom_response for 401/403/429/503, headers set into
 * r->err_headers_out (called from insert_error_filter). NULL: httpd's
 * own. */
const char *qw_error_page(request_rec *r, int status);

/* insert_error_filter: our error pages for the requests we answered. */
void qw_render_register_hooks(apr_pool_t *p);

/* render/wm_filter.c */
void qw_wm_register_hooks(apr_pool_t *p);
/* The page a handler is about to send carries the viewer's watermark
 * whatever QiweiWatermark says for the location (a revealed mailbox
 * message): sets the request's override and adds the filter if the
 * insert_filter hook did not. */
void qw_wm_require(request_rec *r);

#endif

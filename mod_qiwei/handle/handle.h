/* The qiwei handler's pages (login, logout, activation) and page rendering
 * shared with the error pages. */
#ifndef QW_HANDLE_H
#define QW_HANDLE_H

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

/* Body for ap_custom_response for 401/403/503, headers set into
 * r->err_headers_out (called from insert_error_filter). NULL: httpd's
 * own. */
const char *qw_error_page(request_rec *r, int status);

/* Read an application/x-www-form-urlencoded body into a table (bounded).
 * Returns OK, or an HTTP status (400, 413, 415). */
int qw_read_form(request_rec *r, apr_table_t **form);

/* Check the CSRF token posted in the form against the binding. */
int qw_csrf_ok(request_rec *r, apr_table_t *form, const char *purpose,
               const char *binding);

/* The pre-login CSRF cookie value (creating and setting it when absent or
 * malformed). */
const char *qw_csrf_cookie(request_rec *r, int create);

/* Cross-site POSTs are refused whatever their token (Origin /
 * Sec-Fetch-Site). 1 if the request may be same-origin. */
int qw_same_origin(request_rec *r);

int qw_handle_login(request_rec *r);
int qw_handle_logout(request_rec *r);
int qw_handle_activate(request_rec *r);

#endif

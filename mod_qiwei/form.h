/* Forms and CSRF for our pages (layer 2: request context). */
#ifndef QW_FORM_H
#define QW_FORM_H

#include "httpd.h"

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

#endif

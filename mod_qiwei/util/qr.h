/* QR codes as inline SVG (libqrencode), for the two-step enrolment page and
 * scan-to-login.  Pure: no httpd types. */
#ifndef QW_QR_H
#define QW_QR_H

#include <apr_pools.h>

/* An <svg> element drawing text (UTF-8, byte mode, error correction level
 * M) with a 4-module quiet zone, px pixels wide, dark modules as one path.
 * The SVG contains no text from the input (nothing to escape) and no
 * script.  Returns NULL when text does not fit in a QR code or on failure.
 * If modules is not NULL it receives the symbol's width in modules. */
char *qw_qr_svg(apr_pool_t *p, const char *text, int px, int *modules);

#endif

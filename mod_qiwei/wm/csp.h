/* Content-Security-Policy adaptation for the watermark.  The watermark is a
 * <style> element plus a CSS background image (an SVG data: URI); a page's
 * CSP may forbid both.  Pure: unit tested and fuzzed.
 *
 * Rules (CSP Level 3): a <style> element is governed by style-src-elem,
 * else style-src, else default-src; a CSS image by img-src, else
 * default-src.  The first occurrence of a directive counts. 'unsafe-inline'
 * is void in a directive that also lists a nonce or hash.  We never add to
 * default-src (that would also allow scripts): when the governing directive
 * is default-src, a new style-src / img-src with default-src's sources plus
 * ours is added, so the page's own resources stay allowed.  A header value
 * holding several policies separated by commas is rewritten policy by
 * policy (each is enforced on its own). */
#ifndef QW_CSP_H
#define QW_CSP_H

#include <apr_pools.h>

/* The nonce of the directive that governs <style> elements, if it has one
 * ('nonce-XYZ' gives "XYZ"), else NULL. */
const char *qw_csp_style_nonce(apr_pool_t *p, const char *policy);

/* policy changed as little as needed so that <style nonce="nonce"> and
 * data: images are allowed.  Returns policy itself when nothing had to
 * change. */
const char *qw_csp_allow_watermark(apr_pool_t *p, const char *policy,
                                   const char *nonce);

#endif

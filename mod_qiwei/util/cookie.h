/* Cookie header parsing (RFC 6265 section 5.4 syntax, lenient about spaces,
 * strict about names).  Pure: fuzzed. */
#ifndef QW_COOKIE_H
#define QW_COOKIE_H

#include <stddef.h>
#include <apr_pools.h>

/* Value of the first cookie called name in a Cookie header, or NULL.  Quotes
 * around the value are removed.  Values longer than 4096 bytes are ignored. */
const char *qw_cookie_get(apr_pool_t *p, const char *header, const char *name);

/* Count of cookies called name (a cookie tossed from a sibling domain shows
 * up as a second value). */
int qw_cookie_count(const char *header, const char *name);

/* Both in one pass over the header (the session cookie on every request):
 * qw_cookie_get's answer, and qw_cookie_count's in *count. */
const char *qw_cookie_get_counted(apr_pool_t *p, const char *header,
                                  const char *name, int *count);

/* The Cookie header without the cookies called one of names (a NULL
 * terminated list): header itself when none is there, NULL when nothing is
 * left.  Other pairs, malformed ones included, are kept in order. */
const char *qw_cookie_remove(apr_pool_t *p, const char *header,
                             const char *const *names);

#endif

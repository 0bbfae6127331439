/* Attachments of private-mailbox messages (docs/mailbox.md#attachments):
 * what name and type one is kept and served under.  Pure functions, no
 * I/O; fuzzed by fuzz/fuzz_mailatt.c. */
#ifndef QW_MAILATT_H
#define QW_MAILATT_H

#include <stddef.h>
#include <apr_pools.h>

#define QW_MAILATT_NAME_MAX 200

/* 1 when type is one of the raster image types shown inline (image/png,
 * image/jpeg, image/gif, image/webp); 0 for anything else, NULL too. */
int qw_mailatt_inline(const char *type);

/* The type an attachment is stored and served as: the image type claimed
 * (case-insensitive; image/jpg is image/jpeg) when the bytes d[0..len)
 * start with that type's signature, else application/octet-stream.
 * Always one of the five constants, never the claimed string. */
const char *qw_mailatt_type(apr_pool_t *p, const char *claimed,
                            const unsigned char *d, size_t len);

/* The name kept for in (UTF-8 as the JSON parser checked it; NULL: none):
 * the last path component after / or \, leading dots and spaces dropped,
 * cut to QW_MAILATT_NAME_MAX bytes on a character boundary, control
 * characters and "*:<>?| replaced by _; "attachment" when nothing is left
 * or the result is not valid UTF-8 text.  Never NULL, never empty, never
 * holding / \ " or a control character. */
const char *qw_mailatt_name(apr_pool_t *p, const char *in);

#endif

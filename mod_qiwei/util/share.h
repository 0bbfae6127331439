/* External share links for articles (R8).
 *
 * A share token is 73 bytes, written as 98 characters of unpadded
 * base64url (the `qs` query parameter of a share URL):
 *
 *     byte  0      format version (1)
 *     bytes 1..4   kid of the master key that signed it, big endian
 *     bytes 5..12  enterprise id
 *     bytes 13..20 article id
 *     bytes 21..24 the article's share_version when the link was made
 *     bytes 25..32 expiry, Unix seconds (0: never)
 *     bytes 33..40 link id: 64 random bits naming this link in logs and
 *                  watermarks (it is not a secret and grants nothing)
 *     bytes 41..72 HMAC-SHA256 over bytes 0..40 with the key
 *                  qw_keyring_derive(kid, "share-link v1")
 *
 * Revocation needs no list: switching sharing off (or revoking) bumps the
 * article's share_version, and a link whose version differs is refused.
 * Everything but the database comparison is here, pure and fuzzed. */
#ifndef QW_SHARE_H
#define QW_SHARE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include "util/keyring.h"

#define QW_SHARE_VERSION 1
#define QW_SHARE_RAW_LEN 73
#define QW_SHARE_TEXT_LEN 98
#define QW_SHARE_PURPOSE "share-link v1"

typedef struct {
    uint32_t kid;
    int64_t enterprise_id;
    int64_t article_id;
    uint32_t share_version;
    int64_t expires;          /* Unix seconds, 0 = never */
    uint64_t link_id;
} qw_share;

typedef enum {
    QW_SHARE_OK = 0,
    QW_SHARE_INVALID,         /* malformed, unknown key or bad signature */
    QW_SHARE_EXPIRED          /* authentic, but past its expiry */
} qw_share_result;

/* Make a token for s (s->kid is ignored: the keyring's current key signs;
 * s->link_id is used as given, see qw_share_new_link_id).  Returns the
 * text from p, or NULL when the key is missing or a field is out of range
 * (ids must be positive, expires >= 0). */
char *qw_share_encode(apr_pool_t *p, const qw_keyring *kr, const qw_share *s);

/* Strictly decode and verify text s of length len (need not be
 * NUL-terminated).  The signature is checked in constant time before any
 * field is trusted; expiry is checked against now (Unix seconds) only for
 * an authentic token.  *out is filled only on QW_SHARE_OK or
 * QW_SHARE_EXPIRED.  Pure: fuzzed. */
qw_share_result qw_share_decode(const qw_keyring *kr, const char *s,
                                size_t len, int64_t now, qw_share *out);

/* A fresh random, non-zero link id; 0 when the RNG failed. */
uint64_t qw_share_new_link_id(void);

/* The link id as 16 lower-case hex digits. */
char *qw_share_link_hex(apr_pool_t *p, uint64_t link_id);

#endif

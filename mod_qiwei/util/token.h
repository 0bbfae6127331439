/* Random bearer tokens (session ids, activation links, CSRF cookies) and
 * their storage hashes.  A token is QW_TOKEN_BYTES random bytes from the
 * OpenSSL CSPRNG, written as unpadded base64url; only SHA-256 of the raw
 * bytes is stored. */
#ifndef QW_TOKEN_H
#define QW_TOKEN_H

#include <stddef.h>
#include <apr_pools.h>

#define QW_TOKEN_BYTES 16           /* sessions: 128 bits */
#define QW_LONG_TOKEN_BYTES 32      /* activation links: 256 bits */
#define QW_TOKEN_HASH_LEN 32

/* Fill raw with n random bytes.  0 on success, -1 if the RNG failed. */
int qw_random(unsigned char *raw, size_t n);

/* Base64url (no padding) text of n bytes, from pool p. */
char *qw_b64url(apr_pool_t *p, const unsigned char *raw, size_t n);

/* Strictly decode a token of exactly n raw bytes from text s of length len:
 * only the base64url alphabet, exact length, canonical trailing bits.
 * Returns 0 on success, -1 otherwise.  Pure: fuzzed. */
int qw_token_decode(const char *s, size_t len, unsigned char *raw, size_t n);

/* SHA-256 of raw bytes. */
void qw_token_hash(const unsigned char *raw, size_t n,
                   unsigned char out[QW_TOKEN_HASH_LEN]);

/* New token: writes raw bytes to raw (n bytes) and returns its text. NULL on
 * RNG failure. */
char *qw_token_new(apr_pool_t *p, unsigned char *raw, size_t n);

/* Lower-case hex of n bytes (for logs: callers log at most a prefix of a
 * hash, never a token). */
char *qw_hex(apr_pool_t *p, const unsigned char *raw, size_t n);

#endif

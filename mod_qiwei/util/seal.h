/* Authenticated encryption of small values (mobile numbers, e-mail, two-step
 * secrets) with AES-256-GCM.
 *
 * Blob layout (bytea in PostgreSQL):
 *     byte 0      format version (1)
 *     bytes 1..4  kid, big endian
 *     bytes 5..16 random 96-bit nonce
 *     ...         ciphertext
 *     last 16     GCM tag
 * Associated data = bytes 0..4 || caller's aad, so a blob cannot be moved to
 * another row/column (the caller's aad names enterprise, table, column and
 * row id: see qw_seal_aad) nor relabelled with another kid.
 * The AES key is qw_keyring_derive(kid, "field-seal v1"). */
#ifndef QW_SEAL_H
#define QW_SEAL_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include "util/keyring.h"

#define QW_SEAL_OVERHEAD (1 + 4 + 12 + 16)

/* "qw1|<table.column>|<enterprise_id>|<row_id>" */
const char *qw_seal_aad(apr_pool_t *p, const char *column, int64_t enterprise_id,
                        int64_t row_id);

/* Encrypt with the keyring's current key.  0 on success, -1 on failure. */
int qw_seal(apr_pool_t *p, const qw_keyring *kr, const char *aad,
            const unsigned char *pt, size_t ptlen,
            unsigned char **out, size_t *outlen);

/* Decrypt and verify.  Returns 0 on success; -1 on any failure (unknown kid,
 * bad version, short blob, tag mismatch).  *pt is NUL-terminated for
 * convenience (the NUL is not counted in *ptlen). */
int qw_unseal(apr_pool_t *p, const qw_keyring *kr, const char *aad,
              const unsigned char *blob, size_t bloblen,
              unsigned char **pt, size_t *ptlen);

/* kid of a blob, or 0 when the blob is malformed. */
uint32_t qw_seal_kid(const unsigned char *blob, size_t bloblen);

#endif

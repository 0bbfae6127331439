/* needs: mod_qiwei/util/token.c */
/* max_len: 256 */
/* libFuzzer harness for strict token decoding (session cookies, activation
 * links).  Property: whatever decodes re-encodes to exactly the input, so no
 * two texts name the same token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/token.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static void try_size(const char *s, size_t len, size_t n)
{
    /* exact size: an overrun of raw is caught too */
    unsigned char *raw = malloc(n ? n : 1);
    const char *back;

    if (raw == NULL) {
        return;
    }
    if (qw_token_decode(s, len, raw, n) == 0) {
        back = qw_b64url(pool, raw, n);
        if (strlen(back) != len || memcmp(back, s, len) != 0) {
            abort();
        }
    }
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy, no NUL: the decoder must honour len. */
    char *s = malloc(size ? size : 1);

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    try_size(s, size, QW_TOKEN_BYTES);
    try_size(s, size, QW_LONG_TOKEN_BYTES);
    /* the size whose text length this input has, if any */
    try_size(s, size, size * 3 / 4);
    free(s);
    apr_pool_clear(pool);
    return 0;
}

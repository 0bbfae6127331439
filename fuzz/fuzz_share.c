/* needs: mod_qiwei/util/share.c mod_qiwei/util/token.c mod_qiwei/util/keyring.c */
/* max_len: 512 */
/* libFuzzer harness for the share-link token parser (the qs= parameter of
 * an article URL, from anyone on the internet).  Properties: no crash or
 * overread for any input; whatever verifies re-encodes to exactly the
 * input (one text per token); an input that verifies under a key ring
 * without the signing key does not exist. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/keyring.h"
#include "util/share.h"

static apr_pool_t *pool;
static qw_keyring *kr, *other;

/* Fixed test keys (never used anywhere else), so the seed corpus holds
 * authentic tokens the fuzzer can mutate. */
static const char keys[] =
    "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
static const char other_keys[] =
    "key 1 HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    kr = qw_keyring_parse(pool, keys, strlen(keys), NULL);
    other = qw_keyring_parse(pool, other_keys, strlen(other_keys), NULL);
    if (kr == NULL || other == NULL) {
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy, no NUL: the decoder must honour len. */
    char *s = malloc(size ? size : 1);
    apr_pool_t *p;
    qw_share sh;
    qw_share_result r;

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    apr_pool_create(&p, pool);
    r = qw_share_decode(kr, s, size, 1700000000, &sh);
    if (r == QW_SHARE_OK || r == QW_SHARE_EXPIRED) {
        char *back = qw_share_encode(p, kr, &sh);
        if (back == NULL || strlen(back) != size
            || memcmp(back, s, size) != 0) {
            abort();
        }
        if (qw_share_decode(other, s, size, 0, &sh) != QW_SHARE_INVALID) {
            abort();
        }
    }
    apr_pool_destroy(p);
    free(s);
    return 0;
}

/* needs: mod_qiwei/util/keyring.c */
/* max_len: 8192 */
/* libFuzzer harness for the key file parser.  The file is trusted more than
 * a request, but a parser that crashes httpd at start-up on a typo is a bug.
 * Properties: a parsed keyring is consistent, and generate() output of it
 * parses back with one more key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/keyring.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy, no NUL: the parser must honour len. */
    char *text = malloc(size ? size : 1);
    const char *err = NULL;
    qw_keyring *kr;

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    kr = qw_keyring_parse(pool, text, size, &err);
    if (kr == NULL) {
        if (err == NULL) {
            abort();
        }
    }
    else {
        unsigned char out[QW_KEY_LEN];
        uint32_t cur = qw_keyring_current(kr);
        int n = qw_keyring_count(kr);
        char *gen;

        if (err != NULL || n < 1 || n > QW_KEYRING_MAX_KEYS
            || !qw_keyring_has(kr, cur)
            || qw_keyring_derive(kr, cur, "fuzz", out) != 0) {
            abort();
        }
        gen = qw_keyring_generate(pool, kr);
        if (gen != NULL) {
            qw_keyring *kr2 = qw_keyring_parse(pool, gen, strlen(gen), &err);

            if (kr2 == NULL || qw_keyring_count(kr2) != n + 1
                || !qw_keyring_has(kr2, cur)) {
                abort();
            }
        }
        else if (n < QW_KEYRING_MAX_KEYS
                 && !qw_keyring_has(kr, 2147483647u)) {
            /* generate may fail only when there is no room for a key (or
             * the RNG failed, which does not happen here) */
            abort();
        }
    }
    /* the cleanup wipes the keys */
    apr_pool_clear(pool);
    free(text);
    return 0;
}

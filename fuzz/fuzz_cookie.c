/* needs: mod_qiwei/util/cookie.c */
/* max_len: 12000 */
/* libFuzzer harness for the Cookie header parser (untrusted request input).
 * Checks, besides memory safety: a value found is at most 4096 cookie-octets
 * and the count agrees with it; removing our cookies leaves none of them
 * and never grows the header. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/cookie.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static int is_cookie_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a)
           || (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

static void check_name(const char *header, const char *name)
{
    const char *v = qw_cookie_get(pool, header, name);
    int n = qw_cookie_count(header, name);
    size_t i, len;

    if (v == NULL) {
        return;
    }
    if (n < 1) {
        abort();
    }
    len = strlen(v);
    if (len > 4096) {
        abort();
    }
    for (i = 0; i < len; i++) {
        if (!is_cookie_octet((unsigned char)v[i])) {
            abort();
        }
    }
}

static void check_remove(const char *header)
{
    static const char *const ours[] = { "qiwei_session",
                                        "__Host-qiwei_session", "a", NULL };
    const char *out = qw_cookie_remove(pool, header, ours);
    int i;

    if (out == NULL) {
        return;
    }
    if (strlen(out) > strlen(header)) {
        abort();
    }
    for (i = 0; ours[i]; i++) {
        if (qw_cookie_count(out, ours[i]) != 0) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy (plus the NUL the API needs): ASan sees any
     * read past the end. */
    char *header = malloc(size + 1);
    const char *nul;

    if (header == NULL) {
        return 0;
    }
    memcpy(header, data, size);
    header[size] = '\0';

    check_name(header, "qiwei_session");
    check_name(header, "__Host-qiwei_session");
    check_name(header, "a");
    check_remove(header);
    /* A name taken from the input itself: the text before the first '='. */
    nul = memchr(header, '=', size);
    if (nul != NULL && nul > header && nul - header < 64) {
        char name[64];

        memcpy(name, header, (size_t)(nul - header));
        name[nul - header] = '\0';
        check_name(header, name);
    }
    if (qw_cookie_get(pool, NULL, "a") != NULL
        || qw_cookie_count(NULL, "a") != 0) {
        abort();
    }
    free(header);
    apr_pool_clear(pool);
    return 0;
}

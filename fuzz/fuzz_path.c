/* needs: mod_qiwei/util/path.c */
/* max_len: 4096 */
/* libFuzzer harness for the canonical request path (util/path.h): the
 * input is a request target as sent.  Invariants: the canonical form of any
 * path starts with a single '/', passes the check and is its own canonical
 * form; a path that passes the check is its own canonical form; a raw path
 * holding an encoded '/' never passes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "util/path.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    const char *raw;
    char *c, *rawcopy;
    size_t n;
    qw_path_verdict v;

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    raw = qw_path_of_target(s, &n);
    if (raw < s || raw + n > s + size) {
        abort();
    }
    /* the raw path with a canonical decoded one, and the input as a decoded
     * path itself (up to its first NUL) */
    v = qw_path_check("/", raw, n);
    if ((int)v < QW_PATH_CANONICAL || (int)v > QW_PATH_PARAM
        || !qw_path_verdict_text(v)) {
        abort();
    }
    rawcopy = apr_pstrmemdup(pool, raw, n);
    if (v == QW_PATH_CANONICAL && n
        && (strstr(rawcopy, "%2F") || strstr(rawcopy, "%2f")
            || strstr(rawcopy, "//") || strstr(rawcopy, "/./"))) {
        abort();
    }
    v = qw_path_check(s, NULL, 0);
    c = qw_path_canonical(pool, s);
    if (c[0] != '/' || c[1] == '/' || strchr(c, '\\')
        || qw_path_check(c, NULL, 0) != QW_PATH_CANONICAL
        || strcmp(qw_path_canonical(pool, c), c)
        || (v == QW_PATH_CANONICAL && strcmp(c, s))) {
        abort();
    }
    free(s);
    apr_pool_clear(pool);
    return 0;
}

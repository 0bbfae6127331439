/* needs: mod_qiwei/util/text.c */
/* max_len: 4096 */
/* libFuzzer harness for the request-facing text helpers: Accept-Language,
 * redirect targets, escaping, identifier and UTF-8 validation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/text.h"

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
    const char *e;
    qw_lang l;

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';

    l = qw_lang_pick(s, QW_LANG_EN);
    if (l != QW_LANG_EN && l != QW_LANG_ZH) {
        abort();
    }
    if (qw_safe_local_path(s)) {
        if (s[0] != '/' || s[1] == '/' || s[1] == '\\'
            || strlen(s) > 2048 || strpbrk(s, " \t\r\n\\") != NULL) {
            abort();
        }
    }
    e = qw_escape_html(pool, s);
    if (strpbrk(e, "<>\"'") != NULL) {
        abort();
    }
    e = qw_escape_urlc(pool, s);
    if (strspn(e, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789-._~%") != strlen(e)) {
        abort();
    }
    (void)qw_valid_account(s);
    (void)qw_valid_enterprise_code(s);
    (void)qw_valid_department_code(s);
    (void)qw_ascii_lower(pool, s);
    /* the byte-counted API on the raw (maybe NUL-holding) input */
    if (qw_valid_utf8_text((const char *)s, size)
        != (qw_utf8_count((const char *)s, size) >= 0)) {
        abort();
    }
    free(s);
    apr_pool_clear(pool);
    return 0;
}

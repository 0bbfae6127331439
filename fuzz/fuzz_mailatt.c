/* needs: mod_qiwei/util/mailatt.c mod_qiwei/util/text.c */
/* max_len: 4096 */
/* libFuzzer harness for the names and types mailbox attachments are kept
 * and served under (util/mailatt.h), which come from the JSON a member or
 * an admin sends.  Input: the claimed type, a NUL, the name, a NUL, the
 * bytes.  Properties: no crash or overread; the name is never empty, at
 * most QW_MAILATT_NAME_MAX bytes, valid one-line UTF-8 text without / \ "
 * * : < > ? |, not starting with a dot or a space, and cleaning it again
 * changes nothing; the type is one of the five constants, an image type
 * only when it was claimed and the bytes carry its signature. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "util/mailatt.h"
#include "util/text.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static void check_name(apr_pool_t *p, const char *in)
{
    const char *n = qw_mailatt_name(p, in);
    size_t len = strlen(n);

    if (len == 0 || len > QW_MAILATT_NAME_MAX
        || !qw_valid_utf8_text(n, len) || strpbrk(n, "/\\\"*:<>?|")
        || n[0] == '.' || n[0] == ' '
        || strcmp(qw_mailatt_name(p, n), n) != 0) {
        abort();
    }
}

static void check_type(apr_pool_t *p, const char *claimed,
                       const unsigned char *d, size_t len)
{
    const char *t = qw_mailatt_type(p, claimed, d, len);

    if (strcmp(t, "application/octet-stream") == 0) {
        if (qw_mailatt_inline(t)) {
            abort();
        }
        return;
    }
    if (!qw_mailatt_inline(t) || len < 3) {
        abort();
    }
    if ((strcmp(t, "image/png") == 0 && (len < 8 || memcmp(d, "\x89PNG", 4)))
        || (strcmp(t, "image/jpeg") == 0 && memcmp(d, "\xff\xd8\xff", 3))
        || (strcmp(t, "image/gif") == 0 && (len < 6 || memcmp(d, "GIF8", 4)))
        || (strcmp(t, "image/webp") == 0
            && (len < 12 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WEBP", 4)))) {
        abort();
    }
    /* an image type is never given to what was not claimed as one */
    if (apr_strnatcasecmp(claimed, t) != 0
        && !(apr_strnatcasecmp(claimed, "image/jpg") == 0
             && strcmp(t, "image/jpeg") == 0)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *claimed, *name;
    const uint8_t *nul1, *nul2, *rest;
    size_t restlen;

    apr_pool_create(&p, pool);
    nul1 = memchr(data, 0, size);
    nul2 = nul1 ? memchr(nul1 + 1, 0, size - (nul1 + 1 - data)) : NULL;
    claimed = apr_pstrmemdup(p, (const char *)data,
                             nul1 ? (size_t)(nul1 - data) : size);
    name = nul1 ? apr_pstrmemdup(p, (const char *)nul1 + 1,
                                 nul2 ? (size_t)(nul2 - nul1 - 1)
                                      : size - (nul1 + 1 - data))
                : "";
    rest = nul2 ? nul2 + 1 : data + size;
    restlen = (size_t)(data + size - rest);
    /* copies of their exact size, so ASan sees any overread */
    {
        unsigned char *d = malloc(restlen ? restlen : 1);

        memcpy(d, rest, restlen);
        check_type(p, claimed, d, restlen);
        free(d);
    }
    check_name(p, name);
    check_name(p, NULL);
    apr_pool_destroy(p);
    return 0;
}

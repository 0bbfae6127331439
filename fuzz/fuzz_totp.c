/* needs: mod_qiwei/util/totp.c */
/* max_len: 256 */
/* libFuzzer harness for what people type in two-step verification
 * (util/totp.c): the base32 secret decoder and the one-time code parser.
 * Properties:
 *   qw_base32_decode: never writes past outsize; whatever decodes
 *     re-encodes to the input with case, spaces, '-' and '=' normalised
 *     (one secret, one text: no non-canonical trailing bits);
 *   qw_otp_parse: accepts exactly `digits` decimal digits (spaces and '-'
 *     ignored, at most 32 bytes), and the code formats back to them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/totp.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

/* The input as the decoder reads it: no spaces, '-' or '=', upper case. */
static size_t normalise(const char *s, size_t len, char *out)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '-' || c == '=') {
            continue;
        }
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        out[n++] = c;
    }
    return n;
}

static void try_base32(const char *s, size_t len, size_t outsize)
{
    /* exact size: an overrun of out is caught by ASan */
    unsigned char *out = malloc(outsize ? outsize : 1);
    char *norm;
    const char *back;
    long n;
    size_t nl;

    if (out == NULL) {
        return;
    }
    n = qw_base32_decode(s, len, out, outsize);
    if (n >= 0) {
        if ((size_t)n > outsize) {
            abort();
        }
        norm = malloc(len ? len : 1);
        if (norm == NULL) {
            free(out);
            return;
        }
        nl = normalise(s, len, norm);
        back = qw_base32_encode(pool, out, (size_t)n);
        if (strlen(back) != nl || memcmp(back, norm, nl) != 0) {
            abort();
        }
        free(norm);
    }
    free(out);
}

static void try_otp(const char *s, size_t len, int digits)
{
    long code = -1, limit = 1;
    char *want = malloc(len + 1), *text;
    size_t i, n = 0;
    int d;

    if (want == NULL) {
        return;
    }
    for (d = 0; d < digits; d++) {
        limit *= 10;
    }
    for (i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '-') {
            want[n++] = s[i];
        }
    }
    want[n] = '\0';
    if (qw_otp_parse(s, len, digits, &code) == 0) {
        if (len > 32 || code < 0 || code >= limit || n != (size_t)digits) {
            abort();
        }
        text = qw_otp_format(pool, code, digits);
        if (strcmp(text, want) != 0) {
            abort();
        }
    }
    else if (len <= 32 && n == (size_t)digits
             && strspn(want, "0123456789") == n) {
        abort();                /* well-formed, yet refused */
    }
    free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy, no NUL: the parsers must honour len. */
    char *s = malloc(size ? size : 1);

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    try_base32(s, size, 0);
    try_base32(s, size, 1);
    try_base32(s, size, QW_TOTP_SECRET_BYTES);
    try_base32(s, size, QW_TOTP_MAX_SECRET);
    /* what the input would need if it were all data */
    try_base32(s, size, size * 5 / 8);
    try_otp(s, size, 6);
    try_otp(s, size, 8);
    free(s);
    apr_pool_clear(pool);
    return 0;
}

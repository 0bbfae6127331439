/* Random bearer tokens, their strict decoding and storage hashes. */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "util/token.h"

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING

int qw_random(unsigned char *raw, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (raw == NULL || n > INT_MAX) {
        return -1;
    }
    return RAND_bytes(raw, (int)n) == 1 ? 0 : -1;
}

char *qw_b64url(apr_pool_t *p, const unsigned char *raw, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, B64URL);
    char *out = apr_palloc(p, cap);

    return sodium_bin2base64(out, cap, raw, n, B64URL);
}

/* Value of a base64url character, or -1 (a table: this runs for every
 * character of every session cookie, issue 14). */
static const signed char b64url_tab[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
    -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

static int b64url_value(unsigned char c)
{
    return b64url_tab[c];
}

int qw_token_decode(const char *s, size_t len, unsigned char *raw, size_t n)
{
    size_t want, i, bin_len = 0;
    apr_uint32_t acc = 0;
    int last, bits = 0;

    if (s == NULL || (raw == NULL && n != 0) || n > SIZE_MAX / 2) {
        return -1;
    }
    /* Unpadded length: 4 characters per 3 bytes, 2 or 3 for a tail. */
    want = (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
    if (len != want) {
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    /* Canonical form: the bits of the last character that encode no byte
     * must be zero, else several texts would name one token. */
    last = b64url_value((unsigned char)s[len - 1]);
    if (last < 0 || (n % 3 == 1 && (last & 0x0f) != 0)
        || (n % 3 == 2 && (last & 0x03) != 0)) {
        return -1;
    }
    /* The length is exact and the tail canonical: decode 6 bits at a
     * time, refusing (and wiping what was written) at the first character
     * outside the alphabet.  This runs on every request with a session
     * cookie; sodium_base642bin's general decoder cost 1.7 k instructions
     * for a 22-character token (issue 14). */
    for (i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)s[i]);
        if (v < 0) {
            OPENSSL_cleanse(raw, n);
            return -1;
        }
        acc = (acc << 6) | (apr_uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[bin_len++] = (unsigned char)(acc >> bits);
        }
    }
    if (bin_len != n) {
        OPENSSL_cleanse(raw, n);
        return -1;
    }
    return 0;
}

/* SHA-256 by libsodium: it runs on every request that carries a session,
 * and OpenSSL 3's EVP_Digest(EVP_sha256()) looks the algorithm up in the
 * provider store, under a lock, on each call. */
void qw_token_hash(const unsigned char *raw, size_t n,
                   unsigned char out[QW_TOKEN_HASH_LEN])
{
    if (crypto_hash_sha256(out, raw, n) != 0) {
        /* Never with libsodium's portable code; a fixed pattern would fail
         * every lookup rather than match anything real. */
        memset(out, 0, QW_TOKEN_HASH_LEN);
    }
}

char *qw_token_new(apr_pool_t *p, unsigned char *raw, size_t n)
{
    if (n == 0 || qw_random(raw, n) != 0) {
        return NULL;
    }
    return qw_b64url(p, raw, n);
}

char *qw_hex(apr_pool_t *p, const unsigned char *raw, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *out = apr_palloc(p, n * 2 + 1);
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 0x0f];
    }
    out[2 * n] = '\0';
    return out;
}

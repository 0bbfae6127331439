/* HOTP/TOTP, base32 and otpauth URIs.  See totp.h. */
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <apr_strings.h>

#include "util/totp.h"

static const long pow10_tab[] = {
    1L, 10L, 100L, 1000L, 10000L, 100000L, 1000000L, 10000000L,
    100000000L, 1000000000L
};

long qw_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
             int digits)
{
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    unsigned long bin;
    int i, off;

    if (!key || keylen == 0 || keylen > 1024 || digits < 6 || digits > 9) {
        return -1;
    }
    for (i = 7; i >= 0; i--) {
        msg[i] = (unsigned char)(counter & 0xff);
        counter >>= 8;
    }
    if (!HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), mac, &maclen)
        || maclen != 20) {
        return -1;
    }
    /* dynamic truncation, RFC 4226 section 5.3 */
    off = mac[19] & 0x0f;
    bin = ((unsigned long)(mac[off] & 0x7f) << 24)
          | ((unsigned long)mac[off + 1] << 16)
          | ((unsigned long)mac[off + 2] << 8)
          | (unsigned long)mac[off + 3];
    OPENSSL_cleanse(mac, sizeof(mac));
    return (long)(bin % (unsigned long)pow10_tab[digits]);
}

int64_t qw_totp_step(int64_t t, int step_seconds)
{
    if (step_seconds <= 0 || t < 0) {
        return -1;
    }
    return t / step_seconds;
}

long qw_totp(const unsigned char *key, size_t keylen, int64_t t,
             int step_seconds, int digits)
{
    int64_t s = qw_totp_step(t, step_seconds);
    if (s < 0) {
        return -1;
    }
    return qw_hotp(key, keylen, (uint64_t)s, digits);
}

char *qw_otp_format(apr_pool_t *p, long code, int digits)
{
    return apr_psprintf(p, "%0*ld", digits, code);
}

int qw_otp_parse(const char *s, size_t len, int digits, long *code)
{
    long v = 0;
    int n = 0;
    size_t i;

    if (!s || len > 32 || digits < 6 || digits > 9) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (c == ' ' || c == '-') {
            continue;
        }
        if (c < '0' || c > '9' || n == digits) {
            return -1;
        }
        v = v * 10 + (c - '0');
        n++;
    }
    if (n != digits) {
        return -1;
    }
    *code = v;
    return 0;
}

int64_t qw_totp_match(const unsigned char *key, size_t keylen, long code,
                      int64_t now, int64_t last_step, int window,
                      int step_seconds, int digits)
{
    int64_t step = qw_totp_step(now, step_seconds), found = -1, s;
    char want[16], got[16];

    if (step < 0 || window < 0 || window > 10 || code < 0) {
        return -1;
    }
    snprintf(want, sizeof(want), "%0*ld", digits, code);
    for (s = step - window; s <= step + window; s++) {
        long c;
        int eq;
        if (s < 0) {
            continue;
        }
        c = qw_hotp(key, keylen, (uint64_t)s, digits);
        if (c < 0) {
            return -1;
        }
        snprintf(got, sizeof(got), "%0*ld", digits, c);
        eq = CRYPTO_memcmp(want, got, (size_t)digits) == 0;
        /* the earliest unused matching step; no early exit */
        if (eq && s > last_step && found < 0) {
            found = s;
        }
    }
    OPENSSL_cleanse(got, sizeof(got));
    return found;
}

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

char *qw_base32_encode(apr_pool_t *p, const unsigned char *raw, size_t n)
{
    char *out = apr_palloc(p, (n * 8 + 4) / 5 + 1);
    size_t i, o = 0;
    unsigned int buf = 0;
    int bits = 0;

    for (i = 0; i < n; i++) {
        buf = (buf << 8) | raw[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32_alphabet[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
        buf &= (1u << bits) - 1;
    }
    if (bits > 0) {
        out[o++] = b32_alphabet[(buf << (5 - bits)) & 31];
    }
    out[o] = '\0';
    return out;
}

long qw_base32_decode(const char *s, size_t len, unsigned char *out,
                      size_t outsize)
{
    size_t i, o = 0, chars = 0, pad = 0;
    unsigned int buf = 0;
    int bits = 0;

    if (!s) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];
        int v;
        if (c == ' ' || c == '-') {
            continue;
        }
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad) {
            return -1;          /* data after padding */
        }
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 'a' + 'A');
        }
        if (c >= 'A' && c <= 'Z') {
            v = c - 'A';
        }
        else if (c >= '2' && c <= '7') {
            v = c - '2' + 26;
        }
        else {
            return -1;
        }
        chars++;
        buf = (buf << 5) | (unsigned int)v;
        bits += 5;
        if (bits >= 8) {
            if (o == outsize) {
                return -1;
            }
            out[o++] = (unsigned char)(buf >> (bits - 8));
            bits -= 8;
        }
        buf &= (1u << bits) - 1;
    }
    /* a final group of 1, 3 or 6 characters cannot come from whole bytes */
    switch (chars % 8) {
    case 1: case 3: case 6:
        return -1;
    }
    if (pad && (chars + pad) % 8) {
        return -1;
    }
    if (buf != 0) {
        return -1;              /* non-canonical trailing bits */
    }
    return (long)o;
}

/* RFC 3986 unreserved kept; everything else (UTF-8 bytes too) %XX. */
static char *pct(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s), i, o = 0;
    char *out = apr_palloc(p, n * 3 + 1);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~') {
            out[o++] = (char)c;
        }
        else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}

char *qw_totp_uri(apr_pool_t *p, const char *issuer, const char *account,
                  const char *secret_b32)
{
    const char *is = pct(p, issuer ? issuer : "");
    /* the label's ':' separates issuer and account: it stays literal */
    return apr_psprintf(p, "otpauth://totp/%s:%s?secret=%s&issuer=%s"
                        "&algorithm=SHA1&digits=%d&period=%d", is,
                        pct(p, account ? account : ""), secret_b32, is,
                        QW_TOTP_DIGITS, QW_TOTP_STEP);
}

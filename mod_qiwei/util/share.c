/* Share-link tokens: layout in share.h. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/share.h"
#include "util/token.h"

#define MAC_LEN 32
#define BODY_LEN (QW_SHARE_RAW_LEN - MAC_LEN)

static void put_be(unsigned char *b, uint64_t v, int n)
{
    int i;
    for (i = n - 1; i >= 0; i--) {
        b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be(const unsigned char *b, int n)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++) {
        v = (v << 8) | b[i];
    }
    return v;
}

static int sign(const qw_keyring *kr, uint32_t kid, const unsigned char *body,
                unsigned char mac[MAC_LEN])
{
    unsigned char key[QW_KEY_LEN];
    unsigned int maclen = 0;
    int rc = -1;

    if (qw_keyring_derive(kr, kid, QW_SHARE_PURPOSE, key) != 0) {
        return -1;
    }
    if (HMAC(EVP_sha256(), key, sizeof(key), body, BODY_LEN, mac, &maclen)
        != NULL && maclen == MAC_LEN) {
        rc = 0;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

char *qw_share_encode(apr_pool_t *p, const qw_keyring *kr, const qw_share *s)
{
    unsigned char raw[QW_SHARE_RAW_LEN];
    uint32_t kid;

    if (kr == NULL || s == NULL || s->enterprise_id <= 0
        || s->article_id <= 0 || s->expires < 0 || s->link_id == 0) {
        return NULL;
    }
    kid = qw_keyring_current(kr);
    raw[0] = QW_SHARE_VERSION;
    put_be(raw + 1, kid, 4);
    put_be(raw + 5, (uint64_t)s->enterprise_id, 8);
    put_be(raw + 13, (uint64_t)s->article_id, 8);
    put_be(raw + 21, s->share_version, 4);
    put_be(raw + 25, (uint64_t)s->expires, 8);
    put_be(raw + 33, s->link_id, 8);
    if (sign(kr, kid, raw, raw + BODY_LEN) != 0) {
        return NULL;
    }
    return qw_b64url(p, raw, sizeof(raw));
}

qw_share_result qw_share_decode(const qw_keyring *kr, const char *s,
                                size_t len, int64_t now, qw_share *out)
{
    unsigned char raw[QW_SHARE_RAW_LEN], mac[MAC_LEN];
    qw_share v;
    int good;

    if (kr == NULL || s == NULL || out == NULL
        || len != QW_SHARE_TEXT_LEN
        || qw_token_decode(s, len, raw, sizeof(raw)) != 0
        || raw[0] != QW_SHARE_VERSION) {
        return QW_SHARE_INVALID;
    }
    v.kid = (uint32_t)get_be(raw + 1, 4);
    if (v.kid == 0 || !qw_keyring_has(kr, v.kid)
        || sign(kr, v.kid, raw, mac) != 0) {
        return QW_SHARE_INVALID;
    }
    good = CRYPTO_memcmp(mac, raw + BODY_LEN, MAC_LEN) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    if (!good) {
        return QW_SHARE_INVALID;
    }
    /* authentic from here on: we made it, so the ranges hold, but a link
     * made by a buggy or future version must still not be misread */
    v.enterprise_id = (int64_t)get_be(raw + 5, 8);
    v.article_id = (int64_t)get_be(raw + 13, 8);
    v.share_version = (uint32_t)get_be(raw + 21, 4);
    v.expires = (int64_t)get_be(raw + 25, 8);
    v.link_id = get_be(raw + 33, 8);
    if (v.enterprise_id <= 0 || v.article_id <= 0 || v.expires < 0
        || v.link_id == 0) {
        return QW_SHARE_INVALID;
    }
    *out = v;
    if (v.expires != 0 && now >= v.expires) {
        return QW_SHARE_EXPIRED;
    }
    return QW_SHARE_OK;
}

uint64_t qw_share_new_link_id(void)
{
    unsigned char b[8];
    uint64_t v;
    int i;

    for (i = 0; i < 4; i++) {
        if (qw_random(b, sizeof(b)) != 0) {
            return 0;
        }
        v = get_be(b, 8);
        if (v != 0) {
            return v;
        }
    }
    return 0;
}

char *qw_share_link_hex(apr_pool_t *p, uint64_t link_id)
{
    unsigned char b[8];
    put_be(b, link_id, 8);
    return qw_hex(p, b, sizeof(b));
}

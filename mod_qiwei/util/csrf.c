/* CSRF tokens: HMAC-SHA256(key, purpose "|" binding), base64url. */
#include <string.h>

#include <apr_strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "util/csrf.h"

#define CSRF_MAC_LEN 32

/* The MAC is fed in pieces so the binding (a secret) is never copied. */
static int csrf_mac(const unsigned char key[QW_KEY_LEN], const char *purpose,
                    const char *binding, unsigned char mac[CSRF_MAC_LEN])
{
    EVP_MAC *m;
    EVP_MAC_CTX *ctx;
    OSSL_PARAM params[2];
    size_t outlen = 0;
    int rc = -1;

    /* A '|' in purpose would make "a|b" "|c" and "a" "|b|c" collide. */
    if (key == NULL || purpose == NULL || binding == NULL
        || strchr(purpose, '|') != NULL) {
        return -1;
    }
    m = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (m == NULL) {
        return -1;
    }
    ctx = EVP_MAC_CTX_new(m);
    EVP_MAC_free(m);
    if (ctx == NULL) {
        return -1;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(ctx, key, QW_KEY_LEN, params) == 1
        && EVP_MAC_update(ctx, (const unsigned char *)purpose,
                          strlen(purpose)) == 1
        && EVP_MAC_update(ctx, (const unsigned char *)"|", 1) == 1
        && EVP_MAC_update(ctx, (const unsigned char *)binding,
                          strlen(binding)) == 1
        && EVP_MAC_final(ctx, mac, &outlen, CSRF_MAC_LEN) == 1
        && outlen == CSRF_MAC_LEN) {
        rc = 0;
    }
    EVP_MAC_CTX_free(ctx);
    return rc;
}

static int csrf_text(const unsigned char key[QW_KEY_LEN], const char *purpose,
                     const char *binding, char out[QW_CSRF_TEXT_LEN + 1])
{
    unsigned char mac[CSRF_MAC_LEN];

    if (csrf_mac(key, purpose, binding, mac) != 0) {
        return -1;
    }
    sodium_bin2base64(out, QW_CSRF_TEXT_LEN + 1, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

char *qw_csrf_make(apr_pool_t *p, const unsigned char key[QW_KEY_LEN],
                   const char *purpose, const char *binding)
{
    char text[QW_CSRF_TEXT_LEN + 1];

    if (csrf_text(key, purpose, binding, text) != 0) {
        return NULL;
    }
    return apr_pstrmemdup(p, text, QW_CSRF_TEXT_LEN);
}

int qw_csrf_check(const unsigned char key[QW_KEY_LEN], const char *purpose,
                  const char *binding, const char *token)
{
    char expect[QW_CSRF_TEXT_LEN + 1];
    int ok;

    /* The length is public (fixed); checking it first leaks nothing. */
    if (token == NULL || strnlen(token, QW_CSRF_TEXT_LEN + 1)
                         != QW_CSRF_TEXT_LEN) {
        return 0;
    }
    if (csrf_text(key, purpose, binding, expect) != 0) {
        return 0;
    }
    ok = CRYPTO_memcmp(expect, token, QW_CSRF_TEXT_LEN) == 0;
    OPENSSL_cleanse(expect, sizeof(expect));
    return ok;
}

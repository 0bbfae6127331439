/* AES-256-GCM sealing of small field values; layout in seal.h. */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/seal.h"

#define SEAL_VERSION 1
#define SEAL_HDR_LEN 5
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_MAX_PT (64 * 1024)
#define SEAL_PURPOSE "field-seal v1"

const char *qw_seal_aad(apr_pool_t *p, const char *column,
                        int64_t enterprise_id, int64_t row_id)
{
    return apr_psprintf(p, "qw1|%s|%" APR_INT64_T_FMT "|%" APR_INT64_T_FMT,
                        column ? column : "", (apr_int64_t)enterprise_id,
                        (apr_int64_t)row_id);
}

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static uint32_t get_be32(const unsigned char *b)
{
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16)
           | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}

uint32_t qw_seal_kid(const unsigned char *blob, size_t bloblen)
{
    if (blob == NULL || bloblen < QW_SEAL_OVERHEAD
        || blob[0] != SEAL_VERSION) {
        return 0;
    }
    return get_be32(blob + 1);
}

int qw_seal(apr_pool_t *p, const qw_keyring *kr, const char *aad,
            const unsigned char *pt, size_t ptlen,
            unsigned char **out, size_t *outlen)
{
    unsigned char key[QW_KEY_LEN];
    unsigned char *blob, *ct;
    EVP_CIPHER_CTX *ctx = NULL;
    uint32_t kid = qw_keyring_current(kr);
    size_t aadlen = aad ? strlen(aad) : 0;
    int len, rc = -1;

    if (out == NULL || outlen == NULL) {
        return -1;
    }
    *out = NULL;
    *outlen = 0;
    if (ptlen > SEAL_MAX_PT || (pt == NULL && ptlen != 0)
        || aadlen > INT_MAX) {
        return -1;
    }
    if (qw_keyring_derive(kr, kid, SEAL_PURPOSE, key) != 0) {
        return -1;
    }
    blob = apr_palloc(p, QW_SEAL_OVERHEAD + ptlen);
    blob[0] = SEAL_VERSION;
    put_be32(blob + 1, kid);
    if (RAND_bytes(blob + SEAL_HDR_LEN, SEAL_NONCE_LEN) != 1) {
        goto done;
    }
    ct = blob + SEAL_HDR_LEN + SEAL_NONCE_LEN;

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL
        || EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
                              blob + SEAL_HDR_LEN) != 1
        || EVP_EncryptUpdate(ctx, NULL, &len, blob, SEAL_HDR_LEN) != 1
        || (aadlen > 0
            && EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
                                 (int)aadlen) != 1)
        || (ptlen > 0
            && EVP_EncryptUpdate(ctx, ct, &len, pt, (int)ptlen) != 1)
        || EVP_EncryptFinal_ex(ctx, ct + ptlen, &len) != 1
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN,
                               ct + ptlen) != 1) {
        goto done;
    }
    *out = blob;
    *outlen = QW_SEAL_OVERHEAD + ptlen;
    rc = 0;

done:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int qw_unseal(apr_pool_t *p, const qw_keyring *kr, const char *aad,
              const unsigned char *blob, size_t bloblen,
              unsigned char **pt, size_t *ptlen)
{
    unsigned char key[QW_KEY_LEN];
    unsigned char tag[SEAL_TAG_LEN];
    unsigned char *buf;
    const unsigned char *ct;
    EVP_CIPHER_CTX *ctx = NULL;
    size_t aadlen = aad ? strlen(aad) : 0;
    size_t ctlen;
    uint32_t kid;
    int len, rc = -1;

    if (pt == NULL || ptlen == NULL) {
        return -1;
    }
    *pt = NULL;
    *ptlen = 0;
    kid = qw_seal_kid(blob, bloblen);
    if (kid == 0 || !qw_keyring_has(kr, kid) || aadlen > INT_MAX) {
        return -1;
    }
    ctlen = bloblen - QW_SEAL_OVERHEAD;
    if (ctlen > SEAL_MAX_PT) {
        return -1;
    }
    if (qw_keyring_derive(kr, kid, SEAL_PURPOSE, key) != 0) {
        return -1;
    }
    ct = blob + SEAL_HDR_LEN + SEAL_NONCE_LEN;
    /* The tag setter wants a writable buffer. */
    memcpy(tag, ct + ctlen, SEAL_TAG_LEN);
    buf = apr_palloc(p, ctlen + 1);

    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL
        || EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key,
                              blob + SEAL_HDR_LEN) != 1
        || EVP_DecryptUpdate(ctx, NULL, &len, blob, SEAL_HDR_LEN) != 1
        || (aadlen > 0
            && EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)aad,
                                 (int)aadlen) != 1)
        || (ctlen > 0
            && EVP_DecryptUpdate(ctx, buf, &len, ct, (int)ctlen) != 1)
        || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN,
                               tag) != 1
        /* The tag is verified here and only here. */
        || EVP_DecryptFinal_ex(ctx, buf + ctlen, &len) != 1) {
        /* Unauthenticated plaintext must not survive. */
        OPENSSL_cleanse(buf, ctlen + 1);
        goto done;
    }
    buf[ctlen] = '\0';
    *pt = buf;
    *ptlen = ctlen;
    rc = 0;

done:
    EVP_CIPHER_CTX_free(ctx);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

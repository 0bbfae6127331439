/* Envelope encryption of article bodies and mailbox copies: layout in
 * envelope.h. */
#include <limits.h>
#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util/envelope.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define WRAP_HDR 5

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

/* AES-256-GCM with two AAD parts.  enc: 1 encrypt (writes the tag after
 * out[0..len)), 0 decrypt (tag read after in[0..len)).  0 on success. */
static int gcm(int enc, const unsigned char key[32],
               const unsigned char nonce[NONCE_LEN],
               const unsigned char *aad1, size_t aad1len, const char *aad2,
               const unsigned char *in, size_t len, unsigned char *out)
{
    EVP_CIPHER_CTX *ctx;
    unsigned char tag[TAG_LEN];
    size_t aad2len = strlen(aad2);
    int n, ok;

    if (len > INT_MAX || aad1len > INT_MAX || aad2len > INT_MAX) {
        return -1;
    }
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) {
        return -1;
    }
    ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce, enc) == 1
         && EVP_CipherUpdate(ctx, NULL, &n, aad1, (int)aad1len) == 1
         && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad2,
                             (int)aad2len) == 1
         && (len == 0 || EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1);
    if (ok && enc) {
        ok = EVP_CipherFinal_ex(ctx, out + len, &n) == 1
             && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN,
                                    out + len) == 1;
    }
    else if (ok) {
        memcpy(tag, in + len, TAG_LEN);
        /* the tag is verified by the Final call and only there */
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) == 1
             && EVP_CipherFinal_ex(ctx, out + len, &n) == 1;
        if (!ok && len > 0) {
            OPENSSL_cleanse(out, len);
        }
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

const qw_env_scheme qw_env_articles = { QW_ENV_KEK_PURPOSE, "articles" };
const qw_env_scheme qw_env_mailbox = { "mailbox-kek v1", "mailbox" };
const qw_env_scheme qw_env_mailbox_att = { "mailbox-kek v1", "mailbox.att" };

static const char *dek_aad(apr_pool_t *p, const qw_env_scheme *sc,
                           const char *row, uint32_t kid)
{
    return apr_psprintf(p, "qw1|%s.dek|%s|%u", sc->label, row,
                        (unsigned)kid);
}

static const char *body_aad(apr_pool_t *p, const qw_env_scheme *sc,
                            const char *row)
{
    return apr_psprintf(p, "qw1|%s.body|%s", sc->label, row);
}

static const char *article_row(apr_pool_t *p, int64_t ent, int64_t art)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT "|%" APR_INT64_T_FMT,
                        (apr_int64_t)ent, (apr_int64_t)art);
}

uint32_t qw_env_kid(const unsigned char *w, size_t wlen)
{
    if (w == NULL || wlen != QW_ENV_WRAPPED_LEN || w[0] != QW_ENV_VERSION) {
        return 0;
    }
    return get_be32(w + 1);
}

static int wrap(apr_pool_t *p, const qw_keyring *kr, const qw_env_scheme *sc,
                const char *row, const unsigned char dek[QW_ENV_DEK_LEN],
                unsigned char **out)
{
    unsigned char kek[QW_KEY_LEN];
    unsigned char *w;
    uint32_t kid = qw_keyring_current(kr);
    int rc;

    if (qw_keyring_derive(kr, kid, sc->kek_purpose, kek) != 0) {
        return -1;
    }
    w = apr_palloc(p, QW_ENV_WRAPPED_LEN);
    w[0] = QW_ENV_VERSION;
    put_be32(w + 1, kid);
    rc = RAND_bytes(w + WRAP_HDR, NONCE_LEN) == 1
         ? gcm(1, kek, w + WRAP_HDR, w, WRAP_HDR, dek_aad(p, sc, row, kid),
               dek, QW_ENV_DEK_LEN, w + WRAP_HDR + NONCE_LEN)
         : -1;
    OPENSSL_cleanse(kek, sizeof(kek));
    *out = rc == 0 ? w : NULL;
    return rc;
}

static int unwrap(apr_pool_t *p, const qw_keyring *kr,
                  const qw_env_scheme *sc, const char *row,
                  const unsigned char *w, size_t wlen,
                  unsigned char dek[QW_ENV_DEK_LEN])
{
    unsigned char kek[QW_KEY_LEN];
    uint32_t kid = qw_env_kid(w, wlen);
    int rc;

    if (kid == 0 || !qw_keyring_has(kr, kid)
        || qw_keyring_derive(kr, kid, sc->kek_purpose, kek) != 0) {
        return -1;
    }
    rc = gcm(0, kek, w + WRAP_HDR, w, WRAP_HDR, dek_aad(p, sc, row, kid),
             w + WRAP_HDR + NONCE_LEN, QW_ENV_DEK_LEN, dek);
    OPENSSL_cleanse(kek, sizeof(kek));
    return rc;
}

int qw_env_seal_row(apr_pool_t *p, const qw_keyring *kr,
                    const qw_env_scheme *sc, const char *row,
                    const unsigned char *pt, size_t ptlen,
                unsigned char **body, size_t *bodylen,
                unsigned char **wrapped, size_t *wrappedlen)
{
    unsigned char dek[QW_ENV_DEK_LEN];
    unsigned char *b;
    int rc = -1;

    *body = *wrapped = NULL;
    *bodylen = *wrappedlen = 0;
    if (kr == NULL || sc == NULL || row == NULL || ptlen > QW_ENV_MAX_BODY
        || (pt == NULL && ptlen)) {
        return -1;
    }
    if (RAND_bytes(dek, sizeof(dek)) != 1) {
        return -1;
    }
    b = apr_palloc(p, QW_ENV_BODY_OVERHEAD + ptlen);
    b[0] = QW_ENV_VERSION;
    if (RAND_bytes(b + 1, NONCE_LEN) == 1
        && gcm(1, dek, b + 1, b, 1, body_aad(p, sc, row), pt, ptlen,
               b + 1 + NONCE_LEN) == 0
        && wrap(p, kr, sc, row, dek, wrapped) == 0) {
        *body = b;
        *bodylen = QW_ENV_BODY_OVERHEAD + ptlen;
        *wrappedlen = QW_ENV_WRAPPED_LEN;
        rc = 0;
    }
    OPENSSL_cleanse(dek, sizeof(dek));
    return rc;
}

int qw_env_open_row(apr_pool_t *p, const qw_keyring *kr,
                    const qw_env_scheme *sc, const char *row,
                    const unsigned char *body, size_t bodylen,
                const unsigned char *wrapped, size_t wrappedlen,
                unsigned char **pt, size_t *ptlen)
{
    unsigned char dek[QW_ENV_DEK_LEN];
    unsigned char *out;
    size_t n;
    int rc;

    *pt = NULL;
    *ptlen = 0;
    if (kr == NULL || sc == NULL || row == NULL || body == NULL
        || bodylen < QW_ENV_BODY_OVERHEAD
        || body[0] != QW_ENV_VERSION
        || bodylen - QW_ENV_BODY_OVERHEAD > QW_ENV_MAX_BODY) {
        return -1;
    }
    if (unwrap(p, kr, sc, row, wrapped, wrappedlen, dek) != 0) {
        return -1;
    }
    n = bodylen - QW_ENV_BODY_OVERHEAD;
    out = apr_palloc(p, n + 1);
    rc = gcm(0, dek, body + 1, body, 1, body_aad(p, sc, row),
             body + 1 + NONCE_LEN, n, out);
    OPENSSL_cleanse(dek, sizeof(dek));
    if (rc != 0) {
        return -1;
    }
    out[n] = '\0';
    *pt = out;
    *ptlen = n;
    return 0;
}

int qw_env_rewrap_row(apr_pool_t *p, const qw_keyring *kr,
                      const qw_env_scheme *sc, const char *row,
                      const unsigned char *wrapped, size_t wlen,
                      unsigned char **out, size_t *outlen)
{
    unsigned char dek[QW_ENV_DEK_LEN];
    int rc;

    *out = NULL;
    *outlen = 0;
    if (kr == NULL || sc == NULL || row == NULL
        || unwrap(p, kr, sc, row, wrapped, wlen, dek) != 0) {
        return -1;
    }
    rc = wrap(p, kr, sc, row, dek, out);
    OPENSSL_cleanse(dek, sizeof(dek));
    if (rc == 0) {
        *outlen = QW_ENV_WRAPPED_LEN;
    }
    return rc;
}

int qw_env_rewrap(apr_pool_t *p, const qw_keyring *kr, int64_t ent,
                  int64_t art, const unsigned char *wrapped, size_t wlen,
                  unsigned char **out, size_t *outlen)
{
    unsigned char dek[QW_ENV_DEK_LEN];
    int rc;

    *out = NULL;
    *outlen = 0;
    if (kr == NULL || unwrap(p, kr, &qw_env_articles,
                             article_row(p, ent, art), wrapped, wlen,
                             dek) != 0) {
        return -1;
    }
    rc = wrap(p, kr, &qw_env_articles, article_row(p, ent, art), dek, out);
    OPENSSL_cleanse(dek, sizeof(dek));
    if (rc == 0) {
        *outlen = QW_ENV_WRAPPED_LEN;
    }
    return rc;
}

int qw_env_seal(apr_pool_t *p, const qw_keyring *kr, int64_t ent,
                int64_t art, const unsigned char *pt, size_t ptlen,
                unsigned char **body, size_t *bodylen,
                unsigned char **wrapped, size_t *wrappedlen)
{
    return qw_env_seal_row(p, kr, &qw_env_articles, article_row(p, ent, art),
                           pt, ptlen, body, bodylen, wrapped, wrappedlen);
}

int qw_env_open(apr_pool_t *p, const qw_keyring *kr, int64_t ent,
                int64_t art, const unsigned char *body, size_t bodylen,
                const unsigned char *wrapped, size_t wrappedlen,
                unsigned char **pt, size_t *ptlen)
{
    return qw_env_open_row(p, kr, &qw_env_articles, article_row(p, ent, art),
                           body, bodylen, wrapped, wrappedlen, pt, ptlen);
}

const char *qw_env_mailbox_row(apr_pool_t *p, int64_t ent, int64_t msg,
                               int64_t member)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT "|%" APR_INT64_T_FMT "|%"
                        APR_INT64_T_FMT, (apr_int64_t)ent, (apr_int64_t)msg,
                        (apr_int64_t)member);
}

const char *qw_env_mailbox_att_row(apr_pool_t *p, int64_t ent, int64_t msg,
                                   int64_t member, int idx)
{
    return apr_psprintf(p, "%s|%d", qw_env_mailbox_row(p, ent, msg, member),
                        idx);
}

/* The operation log's row MAC (see auditmac.h for the format). */
#include <string.h>
#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "util/auditmac.h"

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    apr_pool_t *p;
} canon;

static void canon_raw(canon *c, const void *s, size_t n)
{
    if (c->len + n > c->cap) {
        size_t cap = (c->cap + n) * 2;
        unsigned char *nb = apr_palloc(c->p, cap);

        if (c->len) {
            memcpy(nb, c->buf, c->len);
        }
        c->buf = nb;
        c->cap = cap;
    }
    if (n) {
        memcpy(c->buf + c->len, s, n);
        c->len += n;
    }
}

/* lp(s) with NULL as length 0xFFFFFFFF; lp of n bytes when s != NULL. */
static void canon_lp(canon *c, const void *s, size_t n)
{
    uint32_t l = s ? (uint32_t)n : 0xFFFFFFFFu;
    unsigned char hdr[4];

    hdr[0] = (unsigned char)(l >> 24);
    hdr[1] = (unsigned char)(l >> 16);
    hdr[2] = (unsigned char)(l >> 8);
    hdr[3] = (unsigned char)l;
    canon_raw(c, hdr, 4);
    if (s) {
        canon_raw(c, s, n);
    }
}

static void canon_put(canon *c, const char *s)
{
    canon_lp(c, s, s ? strlen(s) : 0);
}

const char *qw_audit_mac_purpose(int version)
{
    switch (version) {
    case QW_AUDIT_MAC_V1:
        return "audit-chain v1";
    case QW_AUDIT_MAC_V2:
        return "audit-chain v2";
    default:
        return NULL;
    }
}

int qw_audit_mac(apr_pool_t *p, int version, uint32_t kid,
                 const unsigned char key[QW_KEY_LEN],
                 const unsigned char *prev, size_t prevlen,
                 const char *const *fields,
                 unsigned char out[QW_AUDIT_MAC_LEN])
{
    canon c = { NULL, 0, 0, p };
    unsigned int outlen = 0;
    int i;

    if (qw_audit_mac_purpose(version) == NULL) {
        return -1;
    }
    c.cap = 4 + prevlen + 512;
    c.buf = apr_palloc(p, c.cap);
    /* mac_0 is empty, not NULL */
    canon_lp(&c, prev ? (const void *)prev : (const void *)"", prevlen);
    if (version >= QW_AUDIT_MAC_V2) {
        canon_put(&c, apr_itoa(p, version));
        canon_put(&c, apr_psprintf(p, "%lu", (unsigned long)kid));
    }
    for (i = 0; i < QW_AUDIT_FIELDS; i++) {
        canon_put(&c, fields[i]);
    }
    if (HMAC(EVP_sha256(), key, QW_KEY_LEN, c.buf, c.len, out, &outlen)
        == NULL || outlen != QW_AUDIT_MAC_LEN) {
        return -1;
    }
    return 0;
}

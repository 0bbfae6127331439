/* needs: mod_qiwei/util/envelope.c mod_qiwei/util/seal.c mod_qiwei/util/keyring.c */
/* max_len: 4096 */
/* libFuzzer harness for the envelope (article bodies, R3) and field-seal
 * (mobile, e-mail, two-step secrets) decoders: the blobs come from the
 * database, which the threat model does not trust.
 * Input: byte 0 picks the mode.
 *   even: decode.  Byte 1 is the wrapped DEK's length, then the wrapped
 *         DEK, then the body; the whole rest is also a field-seal blob.
 *         Properties: no crash or overread; kid readers agree with the
 *         layout; anything that opens has the right length, is
 *         NUL-terminated, and does not open under another key or row.
 *   odd:  round trip.  Bytes 1..4 choose a byte and bit to flip, the rest
 *         is the plaintext.  Properties: seal then open gives the
 *         plaintext back; another row, another key or one flipped bit
 *         or one byte less is refused; a re-wrapped DEK carries the new
 *         kid and opens the same body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "util/envelope.h"
#include "util/keyring.h"
#include "util/seal.h"

static apr_pool_t *pool;
static qw_keyring *old_kr, *both_kr, *other_kr;

/* Fixed test keys (never used anywhere else): seeds made with them stay
 * authentic, so the fuzzer mutates real blobs. */
static const char old_keys[] =
    "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
static const char both_keys[] =
    "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
    "key 2 Hx4dHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA=\n";
static const char other_keys[] =
    "key 1 HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=\n";

#define ENT 7
#define ART 42
static const char aad[] = "qw1|members.mobile|7|42";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    old_kr = qw_keyring_parse(pool, old_keys, strlen(old_keys), NULL);
    both_kr = qw_keyring_parse(pool, both_keys, strlen(both_keys), NULL);
    other_kr = qw_keyring_parse(pool, other_keys, strlen(other_keys), NULL);
    if (old_kr == NULL || both_kr == NULL || other_kr == NULL
        || qw_keyring_current(both_kr) != 2) {
        abort();
    }
    return 0;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8
           | b[3];
}

static void decode(apr_pool_t *p, const unsigned char *d, size_t n)
{
    size_t wlen = n ? d[0] : 0;
    const unsigned char *w, *body;
    size_t blen;
    unsigned char *pt;
    size_t ptlen;
    uint32_t kid;

    if (n == 0) {
        return;
    }
    d++;
    n--;
    if (wlen > n) {
        wlen = n;
    }
    w = d;
    body = d + wlen;
    blen = n - wlen;

    kid = qw_env_kid(w, wlen);
    if (kid != 0 && (wlen != QW_ENV_WRAPPED_LEN || kid != be32(w + 1))) {
        abort();
    }
    if (qw_env_open(p, both_kr, ENT, ART, body, blen, w, wlen, &pt, &ptlen)
        == 0) {
        if (kid == 0 || ptlen + QW_ENV_BODY_OVERHEAD != blen || pt[ptlen]
            || qw_env_open(p, other_kr, ENT, ART, body, blen, w, wlen, &pt,
                           &ptlen) == 0
            || qw_env_open(p, both_kr, ENT, ART + 1, body, blen, w, wlen,
                           &pt, &ptlen) == 0) {
            abort();
        }
    }
    else if (pt != NULL || ptlen != 0) {
        abort();
    }

    /* the same bytes as a field-seal blob */
    kid = qw_seal_kid(d, n);
    if (kid != 0 && (n < QW_SEAL_OVERHEAD || kid != be32(d + 1))) {
        abort();
    }
    if (qw_unseal(p, both_kr, aad, d, n, &pt, &ptlen) == 0) {
        if (kid == 0 || ptlen + QW_SEAL_OVERHEAD != n || pt[ptlen]
            || qw_unseal(p, other_kr, aad, d, n, &pt, &ptlen) == 0
            || qw_unseal(p, both_kr, "qw1|members.email|7|42", d, n, &pt,
                         &ptlen) == 0) {
            abort();
        }
    }
}

/* A copy of b with one bit flipped (mask != 0) at pos. */
static unsigned char *flipped(apr_pool_t *p, const unsigned char *b,
                              size_t n, size_t pos, unsigned char mask)
{
    unsigned char *c = apr_pmemdup(p, b, n);

    c[pos % n] ^= mask;
    return c;
}

static void round_trip(apr_pool_t *p, const unsigned char *d, size_t n)
{
    unsigned char *body, *wrapped, *rewrapped, *pt, *blob;
    size_t blen, wlen, rwlen, ptlen, bloblen, pos;
    unsigned char mask;

    if (n < 4) {
        return;
    }
    pos = (size_t)d[0] << 8 | d[1];
    mask = (unsigned char)(1u << (d[2] & 7));
    d += 4;
    n -= 4;

    /* envelope */
    if (qw_env_seal(p, old_kr, ENT, ART, d, n, &body, &blen, &wrapped,
                    &wlen) != 0
        || blen != n + QW_ENV_BODY_OVERHEAD || wlen != QW_ENV_WRAPPED_LEN
        || qw_env_kid(wrapped, wlen) != 1) {
        abort();
    }
    if (qw_env_open(p, both_kr, ENT, ART, body, blen, wrapped, wlen, &pt,
                    &ptlen) != 0
        || ptlen != n || memcmp(pt, d, n) || pt[n]) {
        abort();
    }
    if (qw_env_open(p, both_kr, ENT + 1, ART, body, blen, wrapped, wlen,
                    &pt, &ptlen) == 0
        || qw_env_open(p, both_kr, ENT, ART + 1, body, blen, wrapped, wlen,
                       &pt, &ptlen) == 0
        || qw_env_open(p, other_kr, ENT, ART, body, blen, wrapped, wlen,
                       &pt, &ptlen) == 0
        || qw_env_open(p, both_kr, ENT, ART, flipped(p, body, blen, pos, mask),
                       blen, wrapped, wlen, &pt, &ptlen) == 0
        || qw_env_open(p, both_kr, ENT, ART, body, blen,
                       flipped(p, wrapped, wlen, pos, mask), wlen, &pt,
                       &ptlen) == 0
        || qw_env_open(p, both_kr, ENT, ART, body, blen - 1, wrapped, wlen,
                       &pt, &ptlen) == 0
        || qw_env_open(p, both_kr, ENT, ART, body, blen, wrapped, wlen - 1,
                       &pt, &ptlen) == 0) {
        abort();
    }
    /* rotation: the DEK moves to key 2, the body stays */
    if (qw_env_rewrap(p, both_kr, ENT, ART, wrapped, wlen, &rewrapped,
                      &rwlen) != 0
        || rwlen != QW_ENV_WRAPPED_LEN || qw_env_kid(rewrapped, rwlen) != 2
        || qw_env_open(p, both_kr, ENT, ART, body, blen, rewrapped, rwlen,
                       &pt, &ptlen) != 0
        || ptlen != n || memcmp(pt, d, n)
        || qw_env_open(p, old_kr, ENT, ART, body, blen, rewrapped, rwlen,
                       &pt, &ptlen) == 0
        || qw_env_rewrap(p, both_kr, ENT, ART + 1, wrapped, wlen,
                         &rewrapped, &rwlen) == 0) {
        abort();
    }

    /* a mailbox copy (scheme mailbox): opens only as that member's copy,
     * never as an article */
    {
        const char *row = qw_env_mailbox_row(p, ENT, ART, 9);

        if (qw_env_seal_row(p, old_kr, &qw_env_mailbox, row, d, n, &body,
                            &blen, &wrapped, &wlen) != 0
            || qw_env_open_row(p, both_kr, &qw_env_mailbox, row, body, blen,
                               wrapped, wlen, &pt, &ptlen) != 0
            || ptlen != n || memcmp(pt, d, n)
            || qw_env_open_row(p, both_kr, &qw_env_mailbox,
                               qw_env_mailbox_row(p, ENT, ART, 10), body,
                               blen, wrapped, wlen, &pt, &ptlen) == 0
            || qw_env_open_row(p, both_kr, &qw_env_articles, row, body, blen,
                               wrapped, wlen, &pt, &ptlen) == 0
            || qw_env_open(p, both_kr, ENT, ART, body, blen, wrapped, wlen,
                           &pt, &ptlen) == 0
            || qw_env_open_row(p, both_kr, &qw_env_mailbox, row,
                               flipped(p, body, blen, pos, mask), blen,
                               wrapped, wlen, &pt, &ptlen) == 0) {
            abort();
        }
    }

    /* field seal */
    if (qw_seal(p, old_kr, aad, d, n, &blob, &bloblen) != 0
        || bloblen != n + QW_SEAL_OVERHEAD || qw_seal_kid(blob, bloblen) != 1
        || qw_unseal(p, both_kr, aad, blob, bloblen, &pt, &ptlen) != 0
        || ptlen != n || memcmp(pt, d, n) || pt[n]
        || qw_unseal(p, both_kr, "qw1|members.mobile|7|43", blob, bloblen,
                     &pt, &ptlen) == 0
        || qw_unseal(p, other_kr, aad, blob, bloblen, &pt, &ptlen) == 0
        || qw_unseal(p, both_kr, aad, flipped(p, blob, bloblen, pos, mask),
                     bloblen, &pt, &ptlen) == 0
        || qw_unseal(p, both_kr, aad, blob, bloblen - 1, &pt, &ptlen) == 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    unsigned char *copy;

    if (size < 1) {
        return 0;
    }
    /* exact-size heap copy: the decoders must honour the lengths */
    copy = malloc(size);
    memcpy(copy, data, size);
    apr_pool_create(&p, pool);
    if (copy[0] & 1) {
        round_trip(p, copy + 1, size - 1);
    }
    else {
        decode(p, copy + 1, size - 1);
    }
    apr_pool_destroy(p);
    free(copy);
    return 0;
}

/* needs: mod_qiwei/util/share.c mod_qiwei/util/token.c mod_qiwei/util/keyring.c */
/* max_len: 512 */
/* libFuzzer harness for share links: the token parser (the qs= parameter
 * of an article URL, from anyone on the internet) and the whole verify path
 * article.c relies on before it compares ids and share_version with the
 * database.  Every input is used twice.
 *   As token text.  Properties: no crash or overread; whatever verifies
 *   re-encodes to exactly the input (one text per token), is refused by a
 *   key ring without the signing key, by a reader one byte shorter or
 *   longer, and after any one character is changed; expiry is reported
 *   exactly when now has reached it; the link id prints as 16 hex digits.
 *   As link fields (ids, share_version, expiry, link id, now: 44 bytes).
 *   Properties: encode refuses exactly the fields decode would refuse;
 *   what it makes is 98 characters and verifies to the same fields under
 *   the current kid, expired or not as now says, and under no other key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/keyring.h"
#include "util/share.h"

static apr_pool_t *pool;
static qw_keyring *kr, *other;

/* Fixed test keys (never used anywhere else), so the seed corpus holds
 * authentic tokens the fuzzer can mutate. */
static const char keys[] =
    "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
static const char other_keys[] =
    "key 1 HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4=\n";

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

#define NOW 1700000000

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    kr = qw_keyring_parse(pool, keys, strlen(keys), NULL);
    other = qw_keyring_parse(pool, other_keys, strlen(other_keys), NULL);
    if (kr == NULL || other == NULL) {
        abort();
    }
    return 0;
}

static int same(const qw_share *a, const qw_share *b)
{
    return a->enterprise_id == b->enterprise_id
           && a->article_id == b->article_id
           && a->share_version == b->share_version
           && a->expires == b->expires && a->link_id == b->link_id;
}

static void check_link_hex(apr_pool_t *p, uint64_t id)
{
    const char *h = qw_share_link_hex(p, id);

    if (h == NULL || strlen(h) != 16 || strspn(h, "0123456789abcdef") != 16
        || strtoull(h, NULL, 16) != id) {
        abort();
    }
}

static void as_token(apr_pool_t *p, const char *s, size_t size)
{
    qw_share sh, sh2;
    qw_share_result r;
    char *back, *longer;
    size_t i;

    r = qw_share_decode(kr, s, size, NOW, &sh);
    if (r != QW_SHARE_OK && r != QW_SHARE_EXPIRED) {
        return;
    }
    back = qw_share_encode(p, kr, &sh);
    if (back == NULL || strlen(back) != size || memcmp(back, s, size) != 0
        || size != QW_SHARE_TEXT_LEN || sh.kid != 1
        || sh.enterprise_id <= 0 || sh.article_id <= 0 || sh.link_id == 0
        || (r == QW_SHARE_EXPIRED) != (sh.expires != 0 && NOW >= sh.expires)) {
        abort();
    }
    check_link_hex(p, sh.link_id);
    if (qw_share_decode(other, s, size, 0, &sh2) != QW_SHARE_INVALID
        || qw_share_decode(kr, s, size - 1, 0, &sh2) != QW_SHARE_INVALID) {
        abort();
    }
    longer = malloc(size + 1);
    memcpy(longer, s, size);
    longer[size] = 'A';
    if (qw_share_decode(kr, longer, size + 1, 0, &sh2) != QW_SHARE_INVALID) {
        abort();
    }
    /* a character changed: refused (the last one carries 2 bits that are
     * not encoded; a strict decoder refuses those too).  Every 7th and the
     * last: each one costs a key derivation and an HMAC. */
    for (i = 0; i < size; i = (i + 7 < size || i == size - 1) ? i + 7
                                                               : size - 1) {
        char c = longer[i];
        longer[i] = b64url[(strchr(b64url, c) - b64url + 1 + (i % 63)) % 64];
        if (qw_share_decode(kr, longer, size, 0, &sh2) != QW_SHARE_INVALID) {
            abort();
        }
        longer[i] = c;
    }
    free(longer);
}

static int64_t get64(const uint8_t *b)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = v << 8 | b[i];
    }
    return (int64_t)v;
}

static void as_fields(apr_pool_t *p, const uint8_t *d, size_t size)
{
    qw_share in, out;
    qw_share_result r;
    int64_t now;
    int valid;
    char *tok;

    if (size < 44) {
        return;
    }
    memset(&in, 0, sizeof(in));
    in.enterprise_id = get64(d);
    in.article_id = get64(d + 8);
    in.share_version = (uint32_t)d[16] << 24 | (uint32_t)d[17] << 16
                       | (uint32_t)d[18] << 8 | d[19];
    in.expires = get64(d + 20);
    in.link_id = (uint64_t)get64(d + 28);
    now = get64(d + 36);
    /* small numbers are the interesting ones: let one byte say so */
    if (size > 44 && (d[44] & 1)) {
        in.enterprise_id &= 0xffff;
        in.article_id &= 0xffff;
        in.expires = in.expires & 0xff ? now + (int8_t)d[45 % size] : 0;
    }
    valid = in.enterprise_id > 0 && in.article_id > 0 && in.expires >= 0
            && in.link_id != 0;
    tok = qw_share_encode(p, kr, &in);
    if (!valid) {
        if (tok != NULL) {
            abort();
        }
        return;
    }
    if (tok == NULL || strlen(tok) != QW_SHARE_TEXT_LEN
        || strspn(tok, b64url) != QW_SHARE_TEXT_LEN) {
        abort();
    }
    r = qw_share_decode(kr, tok, QW_SHARE_TEXT_LEN, now, &out);
    if ((r == QW_SHARE_OK) == (in.expires != 0 && now >= in.expires)
        || r == QW_SHARE_INVALID || !same(&in, &out)
        || out.kid != qw_keyring_current(kr)) {
        abort();
    }
    if (qw_share_decode(other, tok, QW_SHARE_TEXT_LEN, now, &out)
        != QW_SHARE_INVALID) {
        abort();
    }
    as_token(p, tok, QW_SHARE_TEXT_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy, no NUL: the decoder must honour len. */
    char *s = malloc(size ? size : 1);
    apr_pool_t *p;

    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    apr_pool_create(&p, pool);
    as_token(p, s, size);
    as_fields(p, data, size);
    apr_pool_destroy(p);
    free(s);
    return 0;
}

/* Share-link token codec. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/keyring.h"
#include "util/share.h"
#include "util/token.h"

static apr_pool_t *pool;
static qw_keyring *kr1;     /* kid 1 only */
static qw_keyring *kr12;    /* kid 1 and a new current kid 2 */
static qw_keyring *other;   /* an unrelated kid 1 */
static qw_share base;

static void setup(void)
{
    const char *t1, *t2, *t3;

    apr_pool_create(&pool, NULL);
    t1 = qw_keyring_generate(pool, NULL);
    kr1 = qw_keyring_parse(pool, t1, strlen(t1), NULL);
    t2 = qw_keyring_generate(pool, kr1);
    kr12 = qw_keyring_parse(pool, t2, strlen(t2), NULL);
    t3 = qw_keyring_generate(pool, NULL);
    other = qw_keyring_parse(pool, t3, strlen(t3), NULL);
    ck_assert_ptr_nonnull(kr1);
    ck_assert_ptr_nonnull(kr12);
    ck_assert_ptr_nonnull(other);
    memset(&base, 0, sizeof(base));
    base.enterprise_id = 7;
    base.article_id = 4242;
    base.share_version = 3;
    base.expires = 2000000000;
    base.link_id = 0x0123456789abcdefULL;
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(roundtrip)
{
    char *t = qw_share_encode(pool, kr1, &base);
    qw_share s;

    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), QW_SHARE_TEXT_LEN);
    ck_assert_int_eq(qw_share_decode(kr1, t, strlen(t), 1000000000, &s),
                     QW_SHARE_OK);
    ck_assert_uint_eq(s.kid, 1);
    ck_assert_int_eq(s.enterprise_id, 7);
    ck_assert_int_eq(s.article_id, 4242);
    ck_assert_uint_eq(s.share_version, 3);
    ck_assert_int_eq(s.expires, 2000000000);
    ck_assert(s.link_id == 0x0123456789abcdefULL);
    ck_assert_str_eq(qw_share_link_hex(pool, s.link_id), "0123456789abcdef");
}
END_TEST

START_TEST(no_expiry)
{
    qw_share s;
    char *t;

    base.expires = 0;
    t = qw_share_encode(pool, kr1, &base);
    ck_assert_int_eq(qw_share_decode(kr1, t, strlen(t), INT64_MAX - 1, &s),
                     QW_SHARE_OK);
    ck_assert_int_eq(s.expires, 0);
}
END_TEST

START_TEST(expired)
{
    qw_share s;
    char *t = qw_share_encode(pool, kr1, &base);

    /* the expiry instant itself is already too late */
    ck_assert_int_eq(qw_share_decode(kr1, t, strlen(t), 2000000000, &s),
                     QW_SHARE_EXPIRED);
    ck_assert_int_eq(s.article_id, 4242);
    ck_assert_int_eq(qw_share_decode(kr1, t, strlen(t), 1999999999, &s),
                     QW_SHARE_OK);
}
END_TEST

/* Flipping any bit of the raw token (payload or MAC) is refused. */
START_TEST(tampered_every_bit)
{
    char *t = qw_share_encode(pool, kr1, &base);
    unsigned char raw[QW_SHARE_RAW_LEN];
    qw_share s;
    int i, bit;

    ck_assert_int_eq(qw_token_decode(t, strlen(t), raw, sizeof(raw)), 0);
    for (i = 0; i < QW_SHARE_RAW_LEN; i++) {
        for (bit = 0; bit < 8; bit++) {
            char *t2;
            raw[i] ^= (unsigned char)(1 << bit);
            t2 = qw_b64url(pool, raw, sizeof(raw));
            ck_assert_int_eq(qw_share_decode(kr1, t2, strlen(t2), 0, &s),
                             QW_SHARE_INVALID);
            raw[i] ^= (unsigned char)(1 << bit);
        }
    }
}
END_TEST

START_TEST(wrong_key)
{
    qw_share s;
    char *t = qw_share_encode(pool, kr1, &base);

    ck_assert_int_eq(qw_share_decode(other, t, strlen(t), 0, &s),
                     QW_SHARE_INVALID);
}
END_TEST

START_TEST(rotation)
{
    qw_share s;
    char *old = qw_share_encode(pool, kr1, &base);
    char *cur = qw_share_encode(pool, kr12, &base);

    /* old links keep working while their key is in the file */
    ck_assert_int_eq(qw_share_decode(kr12, old, strlen(old), 0, &s),
                     QW_SHARE_OK);
    ck_assert_uint_eq(s.kid, 1);
    ck_assert_int_eq(qw_share_decode(kr12, cur, strlen(cur), 0, &s),
                     QW_SHARE_OK);
    ck_assert_uint_eq(s.kid, 2);
    /* a keyring without kid 2 refuses the new one */
    ck_assert_int_eq(qw_share_decode(kr1, cur, strlen(cur), 0, &s),
                     QW_SHARE_INVALID);
}
END_TEST

START_TEST(malformed)
{
    qw_share s;
    char *t = qw_share_encode(pool, kr1, &base);
    char *bad;
    size_t n = strlen(t);

    ck_assert_int_eq(qw_share_decode(kr1, t, n - 1, 0, &s),
                     QW_SHARE_INVALID);
    bad = apr_pstrcat(pool, t, "A", NULL);
    ck_assert_int_eq(qw_share_decode(kr1, bad, n + 1, 0, &s),
                     QW_SHARE_INVALID);
    bad = apr_pstrdup(pool, t);
    bad[10] = '+';          /* base64, not base64url */
    ck_assert_int_eq(qw_share_decode(kr1, bad, n, 0, &s), QW_SHARE_INVALID);
    bad[10] = '=';
    ck_assert_int_eq(qw_share_decode(kr1, bad, n, 0, &s), QW_SHARE_INVALID);
    ck_assert_int_eq(qw_share_decode(kr1, "", 0, 0, &s), QW_SHARE_INVALID);
    ck_assert_int_eq(qw_share_decode(NULL, t, n, 0, &s), QW_SHARE_INVALID);
}
END_TEST

START_TEST(encode_refuses_bad_fields)
{
    qw_share s = base;

    s.article_id = 0;
    ck_assert_ptr_null(qw_share_encode(pool, kr1, &s));
    s = base;
    s.enterprise_id = -1;
    ck_assert_ptr_null(qw_share_encode(pool, kr1, &s));
    s = base;
    s.expires = -5;
    ck_assert_ptr_null(qw_share_encode(pool, kr1, &s));
    s = base;
    s.link_id = 0;
    ck_assert_ptr_null(qw_share_encode(pool, kr1, &s));
}
END_TEST

START_TEST(link_ids_differ)
{
    uint64_t a = qw_share_new_link_id(), b = qw_share_new_link_id();

    ck_assert(a != 0 && b != 0 && a != b);
    ck_assert_uint_eq(strlen(qw_share_link_hex(pool, a)), 16);
}
END_TEST

/* Links to different articles or versions are different tokens. */
START_TEST(fields_are_signed)
{
    qw_share s = base;
    char *a = qw_share_encode(pool, kr1, &base), *b;

    s.share_version++;
    b = qw_share_encode(pool, kr1, &s);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(qw_share_decode(kr1, b, strlen(b), 0, &s), QW_SHARE_OK);
    ck_assert_uint_eq(s.share_version, 4);
}
END_TEST

Suite *suite_share(void)
{
    Suite *s = suite_create("share");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, no_expiry);
    tcase_add_test(tc, expired);
    tcase_add_test(tc, tampered_every_bit);
    tcase_add_test(tc, wrong_key);
    tcase_add_test(tc, rotation);
    tcase_add_test(tc, malformed);
    tcase_add_test(tc, encode_refuses_bad_fields);
    tcase_add_test(tc, link_ids_differ);
    tcase_add_test(tc, fields_are_signed);
    suite_add_tcase(s, tc);
    return s;
}

/* Random tokens: encoding, strict decoding, hashing. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/token.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

START_TEST(b64url_vectors)
{
    ck_assert_str_eq(qw_b64url(pool, (const unsigned char *)"", 0), "");
    ck_assert_str_eq(qw_b64url(pool, (const unsigned char *)"f", 1), "Zg");
    ck_assert_str_eq(qw_b64url(pool, (const unsigned char *)"fo", 2), "Zm8");
    ck_assert_str_eq(qw_b64url(pool, (const unsigned char *)"foo", 3),
                     "Zm9v");
    /* the two url-safe characters, no padding */
    ck_assert_str_eq(qw_b64url(pool, (const unsigned char *)"\xfb\xff", 2),
                     "-_8");
}
END_TEST

START_TEST(new_and_decode_roundtrip)
{
    unsigned char raw[QW_LONG_TOKEN_BYTES], back[QW_LONG_TOKEN_BYTES];
    unsigned char raw2[QW_TOKEN_BYTES];
    char *t, *t2;

    t = qw_token_new(pool, raw, QW_TOKEN_BYTES);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), 22);
    ck_assert_int_eq(qw_token_decode(t, strlen(t), back, QW_TOKEN_BYTES), 0);
    ck_assert_mem_eq(raw, back, QW_TOKEN_BYTES);
    t2 = qw_token_new(pool, raw2, QW_TOKEN_BYTES);
    ck_assert_str_ne(t, t2);

    t = qw_token_new(pool, raw, QW_LONG_TOKEN_BYTES);
    ck_assert_uint_eq(strlen(t), 43);
    ck_assert_int_eq(qw_token_decode(t, strlen(t), back,
                                     QW_LONG_TOKEN_BYTES), 0);
    ck_assert_mem_eq(raw, back, QW_LONG_TOKEN_BYTES);
}
END_TEST

START_TEST(decode_all_sizes)
{
    unsigned char raw[40], back[40];
    size_t n;

    for (n = 1; n <= sizeof(raw); n++) {
        char *t;

        ck_assert_int_eq(qw_random(raw, n), 0);
        t = qw_b64url(pool, raw, n);
        ck_assert_int_eq(qw_token_decode(t, strlen(t), back, n), 0);
        ck_assert_mem_eq(raw, back, n);
        /* length off by one either way */
        ck_assert_int_eq(qw_token_decode(t, strlen(t) - 1, back, n), -1);
        ck_assert_int_eq(qw_token_decode(apr_pstrcat(pool, t, "A", NULL),
                                         strlen(t) + 1, back, n), -1);
        /* the text of n bytes is not the text of n - 1 or n + 1 */
        ck_assert_int_eq(qw_token_decode(t, strlen(t), back, n - 1), -1);
        if (n < sizeof(raw)) {
            ck_assert_int_eq(qw_token_decode(t, strlen(t), back, n + 1), -1);
        }
    }
}
END_TEST

START_TEST(decode_every_bad_character)
{
    unsigned char raw[QW_TOKEN_BYTES];
    char t[23];
    int c, pos;

    for (pos = 0; pos < 21; pos += 10) {
        for (c = 0; c < 256; c++) {
            int expect;

            memset(t, 'A', 22);
            t[22] = '\0';
            t[pos] = (char)c;
            expect = (c != 0 && strchr(alphabet, c) != NULL) ? 0 : -1;
            ck_assert_msg(qw_token_decode(t, 22, raw, sizeof(raw)) == expect,
                          "char 0x%02x at %d", c, pos);
        }
    }
    /* padding is not accepted, even at the right length */
    ck_assert_int_eq(qw_token_decode("AAAAAAAAAAAAAAAAAAAA==", 22, raw,
                                     sizeof(raw)), -1);
    ck_assert_int_eq(qw_token_decode(NULL, 22, raw, sizeof(raw)), -1);
}
END_TEST

START_TEST(decode_noncanonical)
{
    unsigned char raw[QW_LONG_TOKEN_BYTES];
    char t[44];
    const char *a;

    /* 16 bytes: 22 characters, the last carries 2 bits (low 4 unused) */
    memset(t, 'A', 22);
    t[22] = '\0';
    for (a = alphabet; *a; a++) {
        int v = (int)(a - alphabet);

        t[21] = *a;
        ck_assert_msg(qw_token_decode(t, 22, raw, 16) == ((v & 0x0f) ? -1 : 0),
                      "last char %c", *a);
    }
    /* 32 bytes: 43 characters, the last carries 4 bits (low 2 unused) */
    memset(t, 'A', 43);
    t[43] = '\0';
    for (a = alphabet; *a; a++) {
        int v = (int)(a - alphabet);

        t[42] = *a;
        ck_assert_msg(qw_token_decode(t, 43, raw, 32) == ((v & 0x03) ? -1 : 0),
                      "last char %c", *a);
    }
    /* 3 bytes: no unused bits, every last character is fine */
    ck_assert_int_eq(qw_token_decode("AAA_", 4, raw, 3), 0);
}
END_TEST

START_TEST(hash_vector)
{
    unsigned char out[QW_TOKEN_HASH_LEN];

    qw_token_hash((const unsigned char *)"abc", 3, out);
    ck_assert_str_eq(qw_hex(pool, out, sizeof(out)),
                     "ba7816bf8f01cfea414140de5dae2223"
                     "b00361a396177a9cb410ff61f20015ad");
    ck_assert_str_eq(qw_hex(pool, (const unsigned char *)"\x00\xff\x1a", 3),
                     "00ff1a");
    ck_assert_str_eq(qw_hex(pool, (const unsigned char *)"", 0), "");
}
END_TEST

START_TEST(random_differs)
{
    unsigned char a[32], b[32];

    ck_assert_int_eq(qw_random(a, sizeof(a)), 0);
    ck_assert_int_eq(qw_random(b, sizeof(b)), 0);
    ck_assert(memcmp(a, b, sizeof(a)) != 0);
}
END_TEST

Suite *suite_token(void)
{
    Suite *s = suite_create("token");
    TCase *tc = tcase_create("token");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, b64url_vectors);
    tcase_add_test(tc, new_and_decode_roundtrip);
    tcase_add_test(tc, decode_all_sizes);
    tcase_add_test(tc, decode_every_bad_character);
    tcase_add_test(tc, decode_noncanonical);
    tcase_add_test(tc, hash_vector);
    tcase_add_test(tc, random_differs);
    suite_add_tcase(s, tc);
    return s;
}

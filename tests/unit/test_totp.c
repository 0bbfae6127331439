/* HOTP / TOTP (RFC 4226 appendix D, RFC 6238 appendix B), base32 (RFC 4648
 * section 10) and the otpauth URI. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/totp.h"

static apr_pool_t *pool;
static const unsigned char rfc_key[] = "12345678901234567890";
#define RFC_KEYLEN 20

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(hotp_rfc4226)
{
    static const long expect[10] = {
        755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583,
        399871, 520489
    };
    uint64_t c;

    for (c = 0; c < 10; c++) {
        ck_assert_int_eq(qw_hotp(rfc_key, RFC_KEYLEN, c, 6), expect[c]);
    }
    ck_assert_str_eq(qw_otp_format(pool, qw_hotp(rfc_key, RFC_KEYLEN, 0, 6),
                                   6), "755224");
}
END_TEST

START_TEST(totp_rfc6238)
{
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {
        { 59, "94287082" },
        { 1111111109, "07081804" },
        { 1111111111, "14050471" },
        { 1234567890, "89005924" },
        { 2000000000, "69279037" },
        { INT64_C(20000000000), "65353130" },   /* needs 64-bit time */
    };
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        long c = qw_totp(rfc_key, RFC_KEYLEN, v[i].t, 30, 8);
        ck_assert_int_ge(c, 0);
        ck_assert_str_eq(qw_otp_format(pool, c, 8), v[i].code);
    }
    ck_assert_int_eq(qw_totp_step(INT64_C(20000000000), 30),
                     INT64_C(666666666));
}
END_TEST

START_TEST(totp_match_window_and_replay)
{
    int64_t now = 1111111111, step = now / 30;
    long cur = qw_totp(rfc_key, RFC_KEYLEN, now, 30, 6);
    long prev = qw_hotp(rfc_key, RFC_KEYLEN, (uint64_t)(step - 1), 6);
    long next = qw_hotp(rfc_key, RFC_KEYLEN, (uint64_t)(step + 1), 6);
    long far = qw_hotp(rfc_key, RFC_KEYLEN, (uint64_t)(step - 2), 6);
    long far2 = qw_hotp(rfc_key, RFC_KEYLEN, (uint64_t)(step + 2), 6);

    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, cur, now, -1, 1, 30,
                                   6), step);
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, prev, now, -1, 1, 30,
                                   6), step - 1);
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, next, now, -1, 1, 30,
                                   6), step + 1);
    /* outside the window of one step */
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, far, now, -1, 1, 30,
                                   6), -1);
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, far2, now, -1, 1, 30,
                                   6), -1);
    /* replay: the step was already used (or a later one was) */
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, cur, now, step, 1,
                                   30, 6), -1);
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, prev, now, step - 1,
                                   1, 30, 6), -1);
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, next, now, step, 1,
                                   30, 6), step + 1);
    /* wrong code */
    ck_assert_int_eq(qw_totp_match(rfc_key, RFC_KEYLEN, (cur + 1) % 1000000,
                                   now, -1, 1, 30, 6), -1);
}
END_TEST

START_TEST(otp_parse)
{
    long c = -1;

    ck_assert_int_eq(qw_otp_parse("012345", 6, 6, &c), 0);
    ck_assert_int_eq(c, 12345);
    ck_assert_int_eq(qw_otp_parse("123 456", 7, 6, &c), 0);
    ck_assert_int_eq(c, 123456);
    ck_assert_int_eq(qw_otp_parse("123-456", 7, 6, &c), 0);
    ck_assert_int_eq(qw_otp_parse("12345", 5, 6, &c), -1);
    ck_assert_int_eq(qw_otp_parse("1234567", 7, 6, &c), -1);
    ck_assert_int_eq(qw_otp_parse("12a456", 6, 6, &c), -1);
    ck_assert_int_eq(qw_otp_parse("+12345", 6, 6, &c), -1);
    ck_assert_int_eq(qw_otp_parse("", 0, 6, &c), -1);
    ck_assert_int_eq(qw_otp_parse(NULL, 0, 6, &c), -1);
    ck_assert_int_eq(qw_otp_parse("1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7", 33,
                                  6, &c), -1);
}
END_TEST

START_TEST(base32_rfc4648)
{
    static const struct {
        const char *raw, *b32, *padded;
    } v[] = {
        { "", "", "" },
        { "f", "MY", "MY======" },
        { "fo", "MZXQ", "MZXQ====" },
        { "foo", "MZXW6", "MZXW6===" },
        { "foob", "MZXW6YQ", "MZXW6YQ=" },
        { "fooba", "MZXW6YTB", "MZXW6YTB" },
        { "foobar", "MZXW6YTBOI", "MZXW6YTBOI======" },
    };
    unsigned char out[32];
    size_t i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        size_t n = strlen(v[i].raw);
        ck_assert_str_eq(qw_base32_encode(pool, (const unsigned char *)
                                          v[i].raw, n), v[i].b32);
        ck_assert_int_eq(qw_base32_decode(v[i].b32, strlen(v[i].b32), out,
                                          sizeof(out)), (long)n);
        ck_assert(memcmp(out, v[i].raw, n) == 0);
        ck_assert_int_eq(qw_base32_decode(v[i].padded, strlen(v[i].padded),
                                          out, sizeof(out)), (long)n);
    }
    /* the RFC 6238 key as apps see it */
    ck_assert_str_eq(qw_base32_encode(pool, rfc_key, RFC_KEYLEN),
                     "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    /* people type lower case and groups */
    ck_assert_int_eq(qw_base32_decode("gezd gnbv-gy3t qojq", 19, out,
                                      sizeof(out)), 10);
    ck_assert(memcmp(out, "1234567890", 10) == 0);
}
END_TEST

START_TEST(base32_refuses)
{
    unsigned char out[4];

    ck_assert_int_eq(qw_base32_decode("MZXW1", 5, out, sizeof(out)), -1);
    ck_assert_int_eq(qw_base32_decode("M", 1, out, sizeof(out)), -1);
    ck_assert_int_eq(qw_base32_decode("MZX", 3, out, sizeof(out)), -1);
    ck_assert_int_eq(qw_base32_decode("MZ", 2, out, sizeof(out)), -1);
    ck_assert_int_eq(qw_base32_decode("MY=A", 4, out, sizeof(out)), -1);
    ck_assert_int_eq(qw_base32_decode("MY===", 5, out, sizeof(out)), -1);
    /* overflow of the output buffer */
    ck_assert_int_eq(qw_base32_decode("MZXW6YTBOI", 10, out, sizeof(out)),
                     -1);
    ck_assert_int_eq(qw_base32_decode(NULL, 0, out, sizeof(out)), -1);
}
END_TEST

START_TEST(base32_roundtrip_random)
{
    unsigned char raw[40], back[40];
    int n, i;

    for (n = 0; n <= 40; n++) {
        char *t;
        for (i = 0; i < n; i++) {
            raw[i] = (unsigned char)(n * 31 + i * 7);
        }
        t = qw_base32_encode(pool, raw, (size_t)n);
        ck_assert_int_eq(qw_base32_decode(t, strlen(t), back, sizeof(back)),
                         n);
        ck_assert(memcmp(raw, back, (size_t)n) == 0);
    }
}
END_TEST

START_TEST(otpauth_uri)
{
    char *u = qw_totp_uri(pool, "企业 Qiwei & Co", "alice@acme",
                          "GEZDGNBVGY3TQOJQ");

    ck_assert_str_eq(u, "otpauth://totp/%E4%BC%81%E4%B8%9A%20Qiwei%20%26%20Co"
                     ":alice%40acme?secret=GEZDGNBVGY3TQOJQ&issuer="
                     "%E4%BC%81%E4%B8%9A%20Qiwei%20%26%20Co&algorithm=SHA1"
                     "&digits=6&period=30");
    /* an attacker-chosen name cannot add parameters */
    u = qw_totp_uri(pool, "x", "a&secret=AAAA?issuer=evil", "B");
    ck_assert_ptr_null(strstr(u, "&secret=AAAA"));
}
END_TEST

Suite *suite_totp(void)
{
    Suite *s = suite_create("totp");
    TCase *tc = tcase_create("totp");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, hotp_rfc4226);
    tcase_add_test(tc, totp_rfc6238);
    tcase_add_test(tc, totp_match_window_and_replay);
    tcase_add_test(tc, otp_parse);
    tcase_add_test(tc, base32_rfc4648);
    tcase_add_test(tc, base32_refuses);
    tcase_add_test(tc, base32_roundtrip_random);
    tcase_add_test(tc, otpauth_uri);
    suite_add_tcase(s, tc);
    return s;
}

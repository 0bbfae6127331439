/* Recovery codes as stored: the keyed MAC, the legacy hash, normalizing. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/recovery.h"

/* bytes 0..31 as key 1; key 2 another */
#define KEYS "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n" \
             "key 2 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n" \
             "current 1\n"
/* HMAC-SHA256(HKDF-SHA256(bytes 0..31, no salt,
 * "mod_qiwei recovery-code v1"), "abcdehjkmn") and SHA-256("abcdehjkmn"),
 * computed independently with Python's hmac and hashlib. */
#define MAC_1 "2e9dac2c20d78ee6603a76eb7cf23945" \
              "4c1aa2c5adf3cd4cd9706e9f6511d58c"
#define SHA "1da4c4d03f3f10e0ac3b7377d2df55ab" \
            "3f1137708d80f73f9bc3b7918619049c"

static apr_pool_t *pool;
static qw_keyring *kr;

static void setup(void)
{
    const char *err = NULL;

    apr_pool_create(&pool, NULL);
    kr = qw_keyring_parse(pool, KEYS, strlen(KEYS), &err);
    ck_assert_msg(kr != NULL, "%s", err ? err : "?");
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *hex(const unsigned char *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    char *s = apr_palloc(pool, 2 * n + 1);
    size_t i;

    for (i = 0; i < n; i++) {
        s[2 * i] = d[b[i] >> 4];
        s[2 * i + 1] = d[b[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

START_TEST(mac_vector)
{
    unsigned char m[QW_RECOVERY_LEN], m2[QW_RECOVERY_LEN];

    ck_assert_int_eq(qw_recovery_mac(kr, 1, "abcde-hjkmn", m), 0);
    ck_assert_str_eq(hex(m, sizeof(m)), MAC_1);
    /* case, dashes and spaces do not matter */
    ck_assert_int_eq(qw_recovery_mac(kr, 1, "ABCDE HJK-MN", m2), 0);
    ck_assert_mem_eq(m, m2, sizeof(m));
    /* another key, another MAC; an unknown key: none */
    ck_assert_int_eq(qw_recovery_mac(kr, 2, "abcde-hjkmn", m2), 0);
    ck_assert_mem_ne(m, m2, sizeof(m));
    ck_assert_int_eq(qw_recovery_mac(kr, 3, "abcde-hjkmn", m2), -1);
    ck_assert_int_eq(qw_recovery_mac(NULL, 1, "abcde-hjkmn", m2), -1);
}
END_TEST

START_TEST(mac_is_not_the_plain_hash)
{
    unsigned char m[QW_RECOVERY_LEN], h[QW_RECOVERY_LEN];

    ck_assert_int_eq(qw_recovery_legacy("abcde-hjkmn", h), 0);
    ck_assert_str_eq(hex(h, sizeof(h)), SHA);
    ck_assert_int_eq(qw_recovery_mac(kr, 1, "abcde-hjkmn", m), 0);
    ck_assert_mem_ne(m, h, sizeof(m));
}
END_TEST

START_TEST(normalize_and_limits)
{
    char out[QW_RECOVERY_MAX + 1];
    char longer[QW_RECOVERY_MAX + 2];
    unsigned char m[QW_RECOVERY_LEN];

    ck_assert_int_eq(qw_recovery_normalize("Ab-C d", out), 4);
    ck_assert_str_eq(out, "abcd");
    memset(longer, 'a', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    ck_assert_int_eq(qw_recovery_normalize(longer, out), -1);
    ck_assert_int_eq(qw_recovery_mac(kr, 1, longer, m), -1);
    ck_assert_int_eq(qw_recovery_legacy(longer, m), -1);
    ck_assert_int_eq(qw_recovery_normalize(NULL, out), -1);
    longer[QW_RECOVERY_MAX] = '\0';
    ck_assert_int_eq(qw_recovery_normalize(longer, out), QW_RECOVERY_MAX);
}
END_TEST

Suite *suite_recovery(void)
{
    Suite *s = suite_create("recovery");
    TCase *tc = tcase_create("recovery");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mac_vector);
    tcase_add_test(tc, mac_is_not_the_plain_hash);
    tcase_add_test(tc, normalize_and_limits);
    suite_add_tcase(s, tc);
    return s;
}

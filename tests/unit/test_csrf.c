/* CSRF tokens. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/csrf.h"

static apr_pool_t *pool;
static unsigned char key[QW_KEY_LEN];
static unsigned char key2[QW_KEY_LEN];

static void setup(void)
{
    int i;

    apr_pool_create(&pool, NULL);
    for (i = 0; i < QW_KEY_LEN; i++) {
        key[i] = (unsigned char)i;
        key2[i] = (unsigned char)(i + 1);
    }
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(known_answer)
{
    /* HMAC-SHA256(key = bytes 0..31, "login|binding123"), base64url,
     * computed independently with Python's hmac module. */
    char *t = qw_csrf_make(pool, key, "login", "binding123");

    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), QW_CSRF_TEXT_LEN);
    ck_assert_str_eq(t, "zjgnLgsRskApHHGeAP3aNrYBegxehSsjbSy86KfAubk");
    ck_assert_int_eq(qw_csrf_check(key, "login", "binding123", t), 1);
}
END_TEST

START_TEST(mismatches)
{
    char *t = qw_csrf_make(pool, key, "login", "binding123");
    char *u;
    size_t i;

    ck_assert_int_eq(qw_csrf_check(key2, "login", "binding123", t), 0);
    ck_assert_int_eq(qw_csrf_check(key, "logout", "binding123", t), 0);
    ck_assert_int_eq(qw_csrf_check(key, "login", "binding124", t), 0);
    ck_assert_int_eq(qw_csrf_check(key, "login", "", t), 0);
    /* the separator keeps purpose and binding apart */
    ck_assert_str_ne(qw_csrf_make(pool, key, "ab", "c"),
                     qw_csrf_make(pool, key, "a", "bc"));
    ck_assert_ptr_null(qw_csrf_make(pool, key, "a|b", "c"));
    ck_assert_int_eq(qw_csrf_check(key, "a|b", "c", t), 0);

    /* every single changed character */
    for (i = 0; i < QW_CSRF_TEXT_LEN; i++) {
        u = apr_pstrdup(pool, t);
        u[i] = u[i] == 'A' ? 'B' : 'A';
        ck_assert_msg(qw_csrf_check(key, "login", "binding123", u) == 0,
                      "position %zu", i);
    }
    /* wrong lengths and NULL */
    ck_assert_int_eq(qw_csrf_check(key, "login", "binding123", NULL), 0);
    ck_assert_int_eq(qw_csrf_check(key, "login", "binding123", ""), 0);
    u = apr_pstrndup(pool, t, QW_CSRF_TEXT_LEN - 1);
    ck_assert_int_eq(qw_csrf_check(key, "login", "binding123", u), 0);
    u = apr_pstrcat(pool, t, "A", NULL);
    ck_assert_int_eq(qw_csrf_check(key, "login", "binding123", u), 0);
    u = apr_pstrcat(pool, t, "=", NULL);
    ck_assert_int_eq(qw_csrf_check(key, "login", "binding123", u), 0);
    ck_assert_int_eq(qw_csrf_check(key, "login", NULL, t), 0);
    ck_assert_ptr_null(qw_csrf_make(pool, key, "login", NULL));
    ck_assert_ptr_null(qw_csrf_make(pool, key, NULL, "x"));
}
END_TEST

Suite *suite_csrf(void)
{
    Suite *s = suite_create("csrf");
    TCase *tc = tcase_create("csrf");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, known_answer);
    tcase_add_test(tc, mismatches);
    suite_add_tcase(s, tc);
    return s;
}

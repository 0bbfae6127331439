/* Password policy modes, reasons and the blocklist. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/pwpolicy.h"

static apr_pool_t *pool;
static qw_blocklist *bl;

static const char list[] =
    "# comment line\r\n"
    "password\r\n"
    "123456\n"
    "\n"
    "Dragon\n"
    "correcthorsebatterystaple\n"
    "p@ssw0rd";

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    bl = qw_blocklist_parse(pool, list, strlen(list));
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static qw_pwp_result check(const qw_pwpolicy *pol, const char *pw,
                           const char *account)
{
    return qw_pwpolicy_check(pol, bl, pool, pw, strlen(pw), account);
}

START_TEST(blocklist_parse)
{
    ck_assert_int_eq(bl->count, 5);
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "password", 8), 1);
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "PassWord", 8), 1);
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "dragon", 6), 1);
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "# comment line", 14), 0);
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "", 0), 0);
    /* decoration around a common word */
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "Password123!", 12), 1);
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "!!Dragon2024", 12), 1);
    ck_assert_int_eq(qw_blocklist_has(bl, pool, "Passwordx1!", 11), 0);
    ck_assert_int_eq(qw_blocklist_has(NULL, pool, "password", 8), 0);
}
END_TEST

START_TEST(dengbao_rules)
{
    qw_pwpolicy pol;

    qw_pwpolicy_init(&pol, QW_PWP_DENGBAO, 0);
    ck_assert_int_eq(pol.min_chars, 12);
    ck_assert_int_eq(pol.history, 5);
    ck_assert_int_eq(pol.max_age_days, 90);
    ck_assert_int_eq(check(&pol, "Ab1!xyzuvw", NULL), QW_PWP_TOO_SHORT);
    ck_assert_int_eq(check(&pol, "abcdefghijk1!", NULL), QW_PWP_COMPOSITION);
    ck_assert_int_eq(check(&pol, "ABCDEFGHIJK1!", NULL), QW_PWP_COMPOSITION);
    ck_assert_int_eq(check(&pol, "Abcdefghijkl!", NULL), QW_PWP_COMPOSITION);
    ck_assert_int_eq(check(&pol, "Abcdefghijk12", NULL), QW_PWP_COMPOSITION);
    ck_assert_int_eq(check(&pol, "Tq7#mVb2!kLz", NULL), QW_PWP_OK);
    /* a non-ASCII character counts as a symbol */
    ck_assert_int_eq(check(&pol, "Tq7mVb2kLz企业", NULL), QW_PWP_OK);
    ck_assert_int_eq(check(&pol, "Password123!", NULL), QW_PWP_COMMON);
    ck_assert_int_eq(check(&pol, "P@ssw0rd1234", NULL), QW_PWP_COMMON);
    ck_assert_int_eq(check(&pol, "P@ssw0rd-Kq7z", NULL), QW_PWP_OK);
    ck_assert_int_eq(check(&pol, "zz-Alice-1990!", "alice"), QW_PWP_ACCOUNT);
    ck_assert_int_eq(check(&pol, "zz-Bob-19901!x", "bob"), QW_PWP_OK);
}
END_TEST

START_TEST(nist_rules)
{
    qw_pwpolicy pol;

    qw_pwpolicy_init(&pol, QW_PWP_NIST, 0);
    ck_assert_int_eq(pol.min_chars, 15);
    ck_assert_int_eq(pol.max_age_days, 0);
    ck_assert_int_eq(pol.history, 0);
    ck_assert_int_eq(check(&pol, "short pass", NULL), QW_PWP_TOO_SHORT);
    /* no composition rules */
    ck_assert_int_eq(check(&pol, "all lower case words", NULL), QW_PWP_OK);
    ck_assert_int_eq(check(&pol, "CorrectHorseBatteryStaple", NULL),
                     QW_PWP_COMMON);
    qw_pwpolicy_init(&pol, QW_PWP_NIST, 1);
    ck_assert_int_eq(pol.min_chars, 8);
    ck_assert_int_eq(check(&pol, "eightchr", NULL), QW_PWP_OK);
}
END_TEST

START_TEST(unicode_and_length)
{
    qw_pwpolicy pol;
    char *longpw, *toolong;
    int i;

    qw_pwpolicy_init(&pol, QW_PWP_NIST, 0);
    /* 15 characters counted as code points, not bytes (45 bytes) */
    ck_assert_int_eq(check(&pol, "我的密码是一二三四五六七八九", NULL),
                     QW_PWP_TOO_SHORT);      /* 14 */
    ck_assert_int_eq(check(&pol, "我的密码是一二三四五六七八九十", NULL),
                     QW_PWP_OK);             /* 15 */
    /* 64 characters and more are allowed */
    longpw = apr_palloc(pool, 200);
    for (i = 0; i < 199; i++) {
        longpw[i] = (char)('a' + (i * 7) % 26);
    }
    longpw[199] = '\0';
    ck_assert_int_eq(check(&pol, longpw, NULL), QW_PWP_OK);
    toolong = apr_palloc(pool, 2000);
    memset(toolong, 'x', 1999);
    toolong[1999] = '\0';
    ck_assert_int_eq(check(&pol, toolong, NULL), QW_PWP_TOO_LONG);
    ck_assert_int_eq(check(&pol, "invalid \xff utf-8 text", NULL),
                     QW_PWP_BAD_TEXT);
    ck_assert_int_eq(check(&pol, "control\tcharacter here", NULL),
                     QW_PWP_BAD_TEXT);
}
END_TEST

START_TEST(messages)
{
    qw_pwpolicy pol;
    int r;

    qw_pwpolicy_init(&pol, QW_PWP_DENGBAO, 0);
    ck_assert_str_eq(qw_pwpolicy_message(pool, &pol, QW_PWP_TOO_SHORT,
                                         QW_LANG_EN),
                     "The password must have at least 12 characters.");
    ck_assert_str_eq(qw_pwpolicy_message(pool, &pol, QW_PWP_TOO_SHORT,
                                         QW_LANG_ZH),
                     "密码至少需要 12 个字符。");
    for (r = 1; r < QW_PWP_RESULT_COUNT; r++) {
        ck_assert_int_gt(strlen(qw_pwpolicy_message(pool, &pol, r,
                                                    QW_LANG_EN)), 10);
        ck_assert_int_gt(strlen(qw_pwpolicy_message(pool, &pol, r,
                                                    QW_LANG_ZH)), 10);
        ck_assert_str_ne(qw_pwpolicy_reason(r), "unknown");
    }
    ck_assert_str_eq(qw_pwpolicy_message(pool, &pol, QW_PWP_OK, QW_LANG_EN),
                     "");
    ck_assert_int_eq(qw_pwpolicy_mode_parse("NIST"), QW_PWP_NIST);
    ck_assert_int_eq(qw_pwpolicy_mode_parse("dengbao"), QW_PWP_DENGBAO);
    ck_assert_int_eq(qw_pwpolicy_mode_parse("等保"), QW_PWP_DENGBAO);
    ck_assert_int_eq(qw_pwpolicy_mode_parse("weak"), -1);
}
END_TEST

START_TEST(shipped_blocklist)
{
    /* the file the module loads by default: >= 10,000 entries */
    const char *path = QW_TEST_SRCDIR "/conf/common-passwords.txt";
    const char *err = NULL;
    qw_blocklist *b = qw_blocklist_load(pool, path, &err);

    ck_assert_msg(b != NULL, "cannot load %s: %s", path, err ? err : "");
    ck_assert_int_ge(b->count, 10000);
    ck_assert_int_eq(qw_blocklist_has(b, pool, "123456", 6), 1);
    ck_assert_int_eq(qw_blocklist_has(b, pool, "Qwerty123!", 10), 1);
    ck_assert_int_eq(qw_blocklist_has(b, pool, "5201314", 7), 1);
    ck_assert_int_eq(qw_blocklist_has(b, pool, "Tq7#mVb2!kLz", 12), 0);
}
END_TEST

Suite *suite_pwpolicy(void)
{
    Suite *s = suite_create("pwpolicy");
    TCase *tc = tcase_create("pwpolicy");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, blocklist_parse);
    tcase_add_test(tc, dengbao_rules);
    tcase_add_test(tc, nist_rules);
    tcase_add_test(tc, unicode_and_length);
    tcase_add_test(tc, messages);
    tcase_add_test(tc, shipped_blocklist);
    suite_add_tcase(s, tc);
    return s;
}

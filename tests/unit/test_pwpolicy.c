/* Password policy modes, reasons and the blocklist. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/pwhash.h"
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

/* qw_pw_history's verify: real Argon2id, counted; fails from the
 * fail_at-th call on (0: never), as the module's does without a slot */
typedef struct {
    qw_pw_params params;
    int calls;
    int fail_at;
} verifier;

static int counted_verify(void *baton, const char *encoded, const char *pw,
                          size_t len, int *ok)
{
    verifier *v = baton;

    if (v->fail_at && ++v->calls >= v->fail_at) {
        return -1;
    }
    if (!v->fail_at) {
        v->calls++;
    }
    *ok = qw_pw_verify(encoded, pw, len, &v->params);
    return 0;
}

/* hashes of "Old-pw-0!Xyzq" (the current one) .. "Old-pw-<n-1>!Xyzq" */
static apr_array_header_t *history_of(int n, const qw_pw_params *params)
{
    apr_array_header_t *a = apr_array_make(pool, n, sizeof(const char *));
    int i;

    for (i = 0; i < n; i++) {
        const char *pw = apr_psprintf(pool, "Old-pw-%d!Xyzq", i);
        APR_ARRAY_PUSH(a, const char *) = qw_pw_hash(pool, pw, strlen(pw),
                                                     params);
        ck_assert_ptr_nonnull(APR_ARRAY_IDX(a, i, const char *));
    }
    return a;
}

static qw_pwp_result new_pw(const qw_pwpolicy *pol, qw_pw_history *h,
                            const char *pw, const char *pw2, int *compared)
{
    qw_pwp_result res = QW_PWP_RESULT_COUNT;

    ck_assert_int_eq(qw_pwpolicy_new_password(pol, bl, pool, pw, strlen(pw),
                                              pw2, "someone", h, &res,
                                              compared), 0);
    return res;
}

START_TEST(new_password)
{
    verifier v = { { 2, 19 }, 0, 0 };
    qw_pwpolicy pol;
    qw_pw_history h = { NULL, NULL, counted_verify, &v };
    qw_pwp_result res;
    int n;

    ck_assert_int_eq(qw_pw_init(), 0);
    qw_pwpolicy_init(&pol, QW_PWP_DENGBAO, 0);
    /* the current hash and 7 older ones: more than the policy compares */
    h.hashes = history_of(8, &v.params);

    /* the module: the current password known, compared by its bytes */
    h.current = "Old-pw-0!Xyzq";
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-0!Xyzq", NULL, &n),
                     QW_PWP_REUSED);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(v.calls, 0);
    /* the confirmation and the policy first, no hash */
    ck_assert_int_eq(new_pw(&pol, &h, "Fresh-pw-1!Xyzq", "Fresh-pw-2!Xyzq",
                            &n), QW_PWP_MISMATCH);
    ck_assert_int_eq(new_pw(&pol, &h, "password", NULL, &n),
                     QW_PWP_TOO_SHORT);
    ck_assert_int_eq(new_pw(&pol, &h, "Password123!", NULL, &n),
                     QW_PWP_COMMON);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(v.calls, 0);
    /* an older one: stops at the first match */
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-2!Xyzq", "Old-pw-2!Xyzq", &n),
                     QW_PWP_REUSED);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(v.calls, 2);
    /* the 5th older one still counts, the 6th no longer; a new one costs
     * the policy's 5 and no more */
    v.calls = 0;
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-5!Xyzq", NULL, &n),
                     QW_PWP_REUSED);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-6!Xyzq", NULL, &n), QW_PWP_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(new_pw(&pol, &h, "Fresh-pw-1!Xyzq", NULL, &n),
                     QW_PWP_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(v.calls, 15);
    /* a history above QW_PWP_HISTORY_MAX is cut there */
    pol.history = 50;
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-7!Xyzq", NULL, &n), QW_PWP_OK);
    ck_assert_int_eq(n, QW_PWP_HISTORY_MAX);

    /* qiweictl: the current password not known, its hash verified */
    qw_pwpolicy_init(&pol, QW_PWP_DENGBAO, 0);
    h.current = NULL;
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-0!Xyzq", NULL, &n),
                     QW_PWP_REUSED);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(new_pw(&pol, &h, "Fresh-pw-1!Xyzq", NULL, &n),
                     QW_PWP_OK);
    ck_assert_int_eq(n, 6);

    /* nist keeps no history: only the current password is refused */
    qw_pwpolicy_init(&pol, QW_PWP_NIST, 0);
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-0!Xyzq-long", NULL, &n),
                     QW_PWP_OK);
    ck_assert_int_eq(n, 1);
    h.current = "Old-pw-0!Xyzq-long";
    ck_assert_int_eq(new_pw(&pol, &h, "Old-pw-0!Xyzq-long", NULL, &n),
                     QW_PWP_REUSED);
    ck_assert_int_eq(n, 0);

    /* a new account: nothing to compare */
    h.hashes = NULL;
    h.current = NULL;
    ck_assert_int_eq(new_pw(&pol, &h, "Fresh-pw-1!Xyzq-long", NULL, &n),
                     QW_PWP_OK);
    ck_assert_int_eq(n, 0);

    /* a verify that cannot run (no hashing slot): an error, not "ok" */
    qw_pwpolicy_init(&pol, QW_PWP_DENGBAO, 0);
    h.hashes = history_of(3, &v.params);
    h.current = "Old-pw-0!Xyzq";
    v.calls = 0;
    v.fail_at = 1;
    ck_assert_int_eq(qw_pwpolicy_new_password(&pol, bl, pool,
                                              "Fresh-pw-1!Xyzq", 15, NULL,
                                              NULL, &h, &res, &n), -1);
}
END_TEST

START_TEST(resolve_and_weaker)
{
    qw_pwpolicy a, b;

    ck_assert_int_eq(qw_pwpolicy_days_parse("0"), 0);
    ck_assert_int_eq(qw_pwpolicy_days_parse("3650"), 3650);
    ck_assert_int_eq(qw_pwpolicy_days_parse("3651"), -1);
    ck_assert_int_eq(qw_pwpolicy_days_parse("99999999999999999999"), -1);
    ck_assert_int_eq(qw_pwpolicy_days_parse("-1"), -1);
    ck_assert_int_eq(qw_pwpolicy_days_parse("30x"), -1);
    ck_assert_int_eq(qw_pwpolicy_days_parse(""), -1);
    ck_assert_int_eq(qw_pwpolicy_days_parse(NULL), -1);

    /* nothing set: the default mode and its own max age */
    qw_pwpolicy_resolve(&a, NULL, QW_PWP_DENGBAO, -1, -1, 0);
    ck_assert_int_eq(a.mode, QW_PWP_DENGBAO);
    ck_assert_int_eq(a.max_age_days, 90);
    qw_pwpolicy_resolve(&a, NULL, QW_PWP_NIST, -1, -1, 0);
    ck_assert_int_eq(a.mode, QW_PWP_NIST);
    ck_assert_int_eq(a.max_age_days, 0);
    /* the enterprise's wins; an unknown mode is the default's */
    qw_pwpolicy_resolve(&a, "nist", QW_PWP_DENGBAO, -1, 30, 0);
    ck_assert_int_eq(a.mode, QW_PWP_NIST);
    ck_assert_int_eq(a.max_age_days, 30);      /* the directive's age */
    qw_pwpolicy_resolve(&a, "lax", QW_PWP_DENGBAO, 45, 30, 0);
    ck_assert_int_eq(a.mode, QW_PWP_DENGBAO);
    ck_assert_int_eq(a.max_age_days, 45);

    /* weaker: composition dropped, longer or no max age */
    qw_pwpolicy_resolve(&a, "dengbao", 0, -1, -1, 0);
    qw_pwpolicy_resolve(&b, "nist", 0, 90, -1, 0);
    ck_assert(qw_pwpolicy_weaker(&a, &b));
    ck_assert(!qw_pwpolicy_weaker(&b, &a));
    qw_pwpolicy_resolve(&b, "dengbao", 0, 120, -1, 0);
    ck_assert(qw_pwpolicy_weaker(&a, &b));
    qw_pwpolicy_resolve(&b, "dengbao", 0, 0, -1, 0);
    ck_assert(qw_pwpolicy_weaker(&a, &b));
    qw_pwpolicy_resolve(&b, "dengbao", 0, 30, -1, 0);
    ck_assert(!qw_pwpolicy_weaker(&a, &b));
    ck_assert(!qw_pwpolicy_weaker(&a, &a));
    /* from "never", any max age is stronger */
    qw_pwpolicy_resolve(&a, "dengbao", 0, 0, -1, 0);
    ck_assert(!qw_pwpolicy_weaker(&a, &b));
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
    tcase_add_test(tc, new_password);
    tcase_add_test(tc, resolve_and_weaker);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

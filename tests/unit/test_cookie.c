/* Cookie header parsing. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/cookie.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

#define GET(h, n) qw_cookie_get(pool, (h), (n))

START_TEST(simple_forms)
{
    ck_assert_str_eq(GET("a=b", "a"), "b");
    ck_assert_str_eq(GET("a=b; c=d", "c"), "d");
    ck_assert_str_eq(GET("a=b;c=d", "c"), "d");
    ck_assert_str_eq(GET("  a = b  ;\tc=\"d\" ", "c"), "d");
    ck_assert_str_eq(GET("a=b; c=\"d\"", "c"), "d");
    ck_assert_str_eq(GET("a=b; c=\"\"", "c"), "");
    ck_assert_str_eq(GET("a=; c=d", "a"), "");
    ck_assert_str_eq(GET("a=x=y", "a"), "x=y");
    ck_assert_str_eq(GET("qiwei_session=AbC-_09; other=1", "qiwei_session"),
                     "AbC-_09");
    ck_assert_str_eq(GET("__Host-qiwei_session=v", "__Host-qiwei_session"),
                     "v");
    ck_assert_ptr_null(GET("a=b; c=d", "e"));
    ck_assert_ptr_null(GET("", "a"));
    ck_assert_ptr_null(GET(";;;", "a"));
}
END_TEST

START_TEST(names_exact)
{
    /* case-sensitive, no prefix or suffix match */
    ck_assert_ptr_null(GET("Session=1", "session"));
    ck_assert_ptr_null(GET("session=1", "Session"));
    ck_assert_ptr_null(GET("xsession=1", "session"));
    ck_assert_ptr_null(GET("sessionx=1", "session"));
    ck_assert_ptr_null(GET("sess=1", "session"));
    ck_assert_str_eq(GET("xsession=1; session=2", "session"), "2");
    ck_assert_ptr_null(GET("a=b", ""));
}
END_TEST

START_TEST(first_wins)
{
    ck_assert_str_eq(GET("s=1; s=2", "s"), "1");
    ck_assert_int_eq(qw_cookie_count("s=1; s=2", "s"), 2);
    ck_assert_int_eq(qw_cookie_count("s=1; t=2; s=3;s=4", "s"), 3);
    ck_assert_int_eq(qw_cookie_count("s=1", "s"), 1);
    ck_assert_int_eq(qw_cookie_count("t=1", "s"), 0);
    ck_assert_int_eq(qw_cookie_count("S=1; ss=1", "s"), 0);
    ck_assert_int_eq(qw_cookie_count(NULL, "s"), 0);
    ck_assert_int_eq(qw_cookie_count("s=1", NULL), 0);
    /* a malformed value still counts as a duplicate */
    ck_assert_int_eq(qw_cookie_count("s=a b; s=2", "s"), 2);
}
END_TEST

/* qw_cookie_get_counted answers what qw_cookie_get and qw_cookie_count
 * answer, in one pass */
START_TEST(get_counted_agrees)
{
    static const char *const headers[] = {
        "s=1; s=2", "s=1; t=2; s=3;s=4", "s=1", "t=1", "S=1; ss=1",
        "s=a b; s=2", "s=a b", "garbage; s=\"q\"", "", "s=; s=1"
    };
    apr_pool_t *p;
    size_t i;
    int n;

    apr_pool_create(&p, NULL);
    for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        const char *a = qw_cookie_get(p, headers[i], "s");
        const char *b = qw_cookie_get_counted(p, headers[i], "s", &n);
        ck_assert_int_eq(n, qw_cookie_count(headers[i], "s"));
        if (a) {
            ck_assert_str_eq(b, a);
        }
        else {
            ck_assert_ptr_null(b);
        }
    }
    ck_assert_ptr_null(qw_cookie_get_counted(p, NULL, "s", &n));
    ck_assert_int_eq(n, 0);
    ck_assert_str_eq(qw_cookie_get_counted(p, "s=a b; s=2; s=3", "s", &n),
                     "2");
    ck_assert_int_eq(n, 3);
    apr_pool_destroy(p);
}
END_TEST

START_TEST(malformed_pairs_skipped)
{
    ck_assert_str_eq(GET("garbage; a=1", "a"), "1");
    ck_assert_str_eq(GET("=x; a=1", "a"), "1");
    ck_assert_str_eq(GET("b c=2; a=1", "a"), "1");
    ck_assert_str_eq(GET("b\"=2; a=1", "a"), "1");
    ck_assert_ptr_null(GET("b c=2; a=1", "b c"));
    ck_assert_str_eq(GET("a=\"unbalanced; a=2", "a"), "2");
    ck_assert_str_eq(GET("a=x y; a=2", "a"), "2");
    ck_assert_str_eq(GET("a=x,y; a=2", "a"), "2");
    ck_assert_str_eq(GET("a=x\\y; a=2", "a"), "2");
    ck_assert_str_eq(GET("a=\"x\"y\"; a=2", "a"), "2");
    ck_assert_str_eq(GET("a=x\001; a=2", "a"), "2");
    ck_assert_str_eq(GET("a=\xc3\xa9; a=2", "a"), "2");
    ck_assert_ptr_null(GET("a=x y", "a"));
    /* a bare quote is a value of one bad octet */
    ck_assert_ptr_null(GET("a=\"", "a"));
}
END_TEST

START_TEST(long_values_ignored)
{
    char *v4096 = apr_palloc(pool, 4097), *v4097 = apr_palloc(pool, 4098);

    memset(v4096, 'x', 4096);
    v4096[4096] = '\0';
    memset(v4097, 'y', 4097);
    v4097[4097] = '\0';
    ck_assert_str_eq(GET(apr_pstrcat(pool, "a=", v4096, NULL), "a"), v4096);
    ck_assert_str_eq(GET(apr_pstrcat(pool, "a=\"", v4096, "\"", NULL), "a"),
                     v4096);
    ck_assert_ptr_null(GET(apr_pstrcat(pool, "a=", v4097, NULL), "a"));
    ck_assert_str_eq(GET(apr_pstrcat(pool, "a=", v4097, "; a=ok", NULL),
                         "a"), "ok");
}
END_TEST

START_TEST(null_inputs)
{
    ck_assert_ptr_null(GET(NULL, "a"));
    ck_assert_ptr_null(GET("a=b", NULL));
}
END_TEST

START_TEST(remove_named)
{
    static const char *const ours[] = { "s", "__Host-s", "csrf", NULL };
    const char *h = "a=1; b=2";

    /* nothing of ours: the very same header */
    ck_assert_ptr_eq(qw_cookie_remove(pool, h, ours), h);
    ck_assert_ptr_null(qw_cookie_remove(pool, NULL, ours));
    ck_assert_str_eq(qw_cookie_remove(pool, "s=1; a=2", ours), "a=2");
    ck_assert_str_eq(qw_cookie_remove(pool, "a=2;s=1", ours), "a=2");
    ck_assert_str_eq(qw_cookie_remove(pool, "a=1; __Host-s=x; b=2; csrf=y",
                                      ours), "a=1; b=2");
    /* every copy, malformed values too; other names byte for byte */
    ck_assert_str_eq(qw_cookie_remove(pool, " s = \"x\" ;S=1; s=a b; ss=2",
                                      ours), "S=1; ss=2");
    /* malformed pairs of others are kept as they came */
    ck_assert_str_eq(qw_cookie_remove(pool, "garbage; s=1; =x", ours),
                     "garbage; =x");
    ck_assert_ptr_null(qw_cookie_remove(pool, "s=1; csrf=2", ours));
    ck_assert_ptr_null(qw_cookie_remove(pool, "s=1;  ; ", ours));
    /* never longer than the header: pairs keep their own spacing (found by
     * fuzz_cookie: ';' without a space became "; ") */
    ck_assert_str_eq(qw_cookie_remove(pool, "x=1;s=2;b=3", ours), "x=1;b=3");
    ck_assert_str_eq(qw_cookie_remove(pool, "x=1;y=2; s=3", ours),
                     "x=1;y=2");
}
END_TEST

Suite *suite_cookie(void)
{
    Suite *s = suite_create("cookie");
    TCase *tc = tcase_create("cookie");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, simple_forms);
    tcase_add_test(tc, names_exact);
    tcase_add_test(tc, first_wins);
    tcase_add_test(tc, get_counted_agrees);
    tcase_add_test(tc, malformed_pairs_skipped);
    tcase_add_test(tc, long_values_ignored);
    tcase_add_test(tc, null_inputs);
    tcase_add_test(tc, remove_named);
    suite_add_tcase(s, tc);
    return s;
}

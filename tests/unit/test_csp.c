/* CSP adaptation for the watermark (wm/csp.c). */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include "suites.h"
#include "wm/csp.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(nonce_found_in_style_src)
{
    ck_assert_str_eq(qw_csp_style_nonce(pool,
        "default-src 'self'; style-src 'self' 'nonce-abc123'"), "abc123");
    /* style-src-elem governs <style> over style-src */
    ck_assert_str_eq(qw_csp_style_nonce(pool,
        "style-src 'nonce-one'; style-src-elem 'nonce-two'"), "two");
    /* falls back to default-src */
    ck_assert_str_eq(qw_csp_style_nonce(pool,
        "default-src 'NONCE-x9'"), "x9");
    ck_assert_ptr_null(qw_csp_style_nonce(pool, "style-src 'self'"));
    ck_assert_ptr_null(qw_csp_style_nonce(pool, "script-src 'nonce-s'"));
    ck_assert_ptr_null(qw_csp_style_nonce(pool, NULL));
    /* first occurrence of a directive wins */
    ck_assert_str_eq(qw_csp_style_nonce(pool,
        "style-src 'nonce-first'; style-src 'nonce-second'"), "first");
}
END_TEST

START_TEST(unchanged_when_allowed)
{
    const char *pol = "default-src 'self'; style-src 'nonce-n1'; "
                      "img-src 'self' data:";
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, pol, "n1"), pol);
    pol = "style-src 'unsafe-inline'; img-src data:";
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, pol, "zz"), pol);
    pol = "script-src 'self'";   /* styles and images not restricted */
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, pol, "zz"), pol);
}
END_TEST

START_TEST(adds_nonce_to_style_src)
{
    const char *out = qw_csp_allow_watermark(pool,
        "style-src 'self'; img-src data:", "N");
    ck_assert_ptr_nonnull(strstr(out, "style-src 'self' 'nonce-N'"));
    ck_assert_ptr_nonnull(strstr(out, "img-src data:"));
}
END_TEST

START_TEST(unsafe_inline_voided_by_hash)
{
    const char *out = qw_csp_allow_watermark(pool,
        "style-src 'unsafe-inline' 'sha256-AAAA'; img-src *", "N");
    ck_assert_ptr_nonnull(strstr(out, "'nonce-N'"));
    /* '*' does not match data: */
    ck_assert_ptr_nonnull(strstr(out, "img-src * data:"));
}
END_TEST

START_TEST(default_src_is_copied_not_widened)
{
    const char *out = qw_csp_allow_watermark(pool,
        "default-src 'self' https://cdn.example", "N");
    /* default-src itself untouched: scripts gain nothing */
    ck_assert_ptr_nonnull(strstr(out,
        "default-src 'self' https://cdn.example;"));
    ck_assert_ptr_nonnull(strstr(out,
        "style-src 'self' https://cdn.example 'nonce-N'"));
    ck_assert_ptr_nonnull(strstr(out,
        "img-src 'self' https://cdn.example data:"));
}
END_TEST

START_TEST(none_is_replaced)
{
    const char *out = qw_csp_allow_watermark(pool,
        "default-src 'none'; style-src 'none'", "N");
    ck_assert_ptr_nonnull(strstr(out, "style-src 'nonce-N'"));
    ck_assert_ptr_null(strstr(out, "'none' 'nonce-N'"));
    ck_assert_ptr_nonnull(strstr(out, "img-src data:"));
    ck_assert_ptr_nonnull(strstr(out, "default-src 'none'"));
}
END_TEST

START_TEST(garbage_is_survivable)
{
    const char *garbage[] = { "", ";;;", "   ", "style-src", ";style-src ;",
                              "'nonce-", "style-src 'nonce-", NULL };
    int i;
    for (i = 0; garbage[i]; i++) {
        (void)qw_csp_style_nonce(pool, garbage[i]);
        ck_assert_ptr_nonnull(qw_csp_allow_watermark(pool, garbage[i], "N"));
    }
    ck_assert_ptr_null(qw_csp_style_nonce(pool, "style-src 'nonce-"));
}
END_TEST

/* Found by fuzz/fuzz_csp.c: the parser stopped at 64 directives, and a
 * rewritten policy lost the rest (here the script-src 'none'); and with 63
 * the added img-src was lost on the next pass. */
START_TEST(many_directives_all_kept)
{
    const char *pol = "style-src 'self'", *out;
    int i;

    for (i = 0; i < 70; i++) {
        pol = apr_pstrcat(pool, pol, "; connect-src 'self'", NULL);
    }
    pol = apr_pstrcat(pool, pol, "; script-src 'none'", NULL);
    out = qw_csp_allow_watermark(pool, pol, "n1");
    ck_assert_ptr_nonnull(strstr(out, ";script-src 'none'"));
    ck_assert_ptr_nonnull(strstr(out, "style-src 'self' 'nonce-n1'"));
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, out, "n1"), out);

    pol = "default-src 'self'";
    for (i = 0; i < 62; i++) {
        pol = apr_pstrcat(pool, pol, "; connect-src 'self'", NULL);
    }
    out = qw_csp_allow_watermark(pool, pol, "n1");
    ck_assert_ptr_nonnull(strstr(out, ";img-src 'self' data:"));
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, out, "n1"), out);
}
END_TEST

/* A header value may hold several policies separated by commas (CSP3
 * "serialized CSP list"; mod_proxy also joins a back-end's repeated
 * Content-Security-Policy headers so).  Each is its own policy: a source
 * added at the end of one must not land in the next one's directive
 * (here "script-src 'none' data:" would let data: scripts run). */
START_TEST(comma_separated_policies_each_rewritten)
{
    const char *out;

    out = qw_csp_allow_watermark(pool, "img-src 'self', script-src 'none'",
                                 "N");
    ck_assert_str_eq(out, "img-src 'self' data:, script-src 'none'");
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, out, "N"), out);

    out = qw_csp_allow_watermark(pool, "style-src 'self' ,script-src "
                                 "'none';img-src 'self'", "N");
    ck_assert_str_eq(out, "style-src 'self' 'nonce-N', script-src "
                     "'none';img-src 'self' data:");
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, out, "N"), out);

    /* default-src of each policy is copied into that policy only */
    out = qw_csp_allow_watermark(pool, "default-src 'none', "
                                 "default-src 'self'", "N");
    ck_assert_str_eq(out, "default-src 'none';style-src 'nonce-N';"
                     "img-src data:, default-src 'self';"
                     "style-src 'self' 'nonce-N';img-src 'self' data:");
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, out, "N"), out);

    /* nothing to change: the very same string; empty policies kept */
    out = "script-src 'none', , img-src data:";
    ck_assert_ptr_eq(qw_csp_allow_watermark(pool, out, "N"), out);

    /* the nonce: the first policy's that names one for <style> */
    ck_assert_str_eq(qw_csp_style_nonce(pool, "script-src 'none', "
                                        "style-src 'nonce-abc'"), "abc");
    ck_assert_str_eq(qw_csp_style_nonce(pool, "style-src 'nonce-abc', "
                                        "style-src 'nonce-def'"), "abc");
    ck_assert_ptr_null(qw_csp_style_nonce(pool, "script-src 'nonce-x', "
                                          "img-src 'self'"));
}
END_TEST

Suite *suite_csp(void)
{
    Suite *s = suite_create("csp");
    TCase *tc = tcase_create("adapt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, nonce_found_in_style_src);
    tcase_add_test(tc, unchanged_when_allowed);
    tcase_add_test(tc, adds_nonce_to_style_src);
    tcase_add_test(tc, unsafe_inline_voided_by_hash);
    tcase_add_test(tc, default_src_is_copied_not_widened);
    tcase_add_test(tc, none_is_replaced);
    tcase_add_test(tc, garbage_is_survivable);
    tcase_add_test(tc, many_directives_all_kept);
    tcase_add_test(tc, comma_separated_policies_each_rewritten);
    suite_add_tcase(s, tc);
    return s;
}

/* Admin module lists (escalation checks) and CSV cells. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/rights.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(module_names)
{
    ck_assert_int_eq(qw_module_valid("news"), 1);
    ck_assert_int_eq(qw_module_valid("hr-files_2"), 1);
    ck_assert_int_eq(qw_module_valid("a"), 1);
    ck_assert_int_eq(qw_module_valid("abcdefghijabcdefghijabcdefghijab"), 1);
    ck_assert_int_eq(qw_module_valid("abcdefghijabcdefghijabcdefghijabc"),
                     0);
    ck_assert_int_eq(qw_module_valid(""), 0);
    ck_assert_int_eq(qw_module_valid(NULL), 0);
    ck_assert_int_eq(qw_module_valid("News"), 0);
    ck_assert_int_eq(qw_module_valid("1news"), 0);
    ck_assert_int_eq(qw_module_valid("news,wiki"), 0);
    ck_assert_int_eq(qw_module_valid("new s"), 0);
    ck_assert_int_eq(qw_module_valid("新闻"), 0);
}
END_TEST

START_TEST(normalize)
{
    const char *bad;

    ck_assert_str_eq(qw_modules_normalize(pool, "wiki,news,wiki,audit",
                                          &bad), "audit,news,wiki");
    ck_assert_str_eq(qw_modules_normalize(pool, "", &bad), "");
    ck_assert_str_eq(qw_modules_normalize(pool, NULL, &bad), "");
    ck_assert_ptr_null(qw_modules_normalize(pool, "news,,wiki", &bad));
    ck_assert_str_eq(bad, "");
    ck_assert_ptr_null(qw_modules_normalize(pool, "news,", &bad));
    ck_assert_ptr_null(qw_modules_normalize(pool, "news,Wiki", &bad));
    ck_assert_str_eq(bad, "Wiki");
}
END_TEST

START_TEST(has_and_subset)
{
    const char *missing;

    ck_assert_int_eq(qw_modules_has("news,wiki", "news"), 1);
    ck_assert_int_eq(qw_modules_has("news,wiki", "wiki"), 1);
    /* prefixes and substrings are not modules */
    ck_assert_int_eq(qw_modules_has("newsletter,wiki", "news"), 0);
    ck_assert_int_eq(qw_modules_has("news,wiki", "new"), 0);
    ck_assert_int_eq(qw_modules_has("news,wiki", "s,w"), 0);
    ck_assert_int_eq(qw_modules_has("", "news"), 0);
    ck_assert_int_eq(qw_modules_has("news", ""), 0);
    ck_assert_int_eq(qw_modules_has(NULL, "news"), 0);

    ck_assert_int_eq(qw_modules_subset(pool, "news", "news,settings",
                                       &missing), 1);
    ck_assert_int_eq(qw_modules_subset(pool, "", "", &missing), 1);
    ck_assert_int_eq(qw_modules_subset(pool, "news,directory",
                                       "news,settings", &missing), 0);
    ck_assert_str_eq(missing, "directory");
    ck_assert_int_eq(qw_modules_subset(pool, "news", "", &missing), 0);
    ck_assert_str_eq(missing, "news");
}
END_TEST

START_TEST(csv_cells)
{
    ck_assert_str_eq(qw_csv_cell(pool, "plain"), "plain");
    ck_assert_str_eq(qw_csv_cell(pool, NULL), "");
    ck_assert_str_eq(qw_csv_cell(pool, ""), "");
    ck_assert_str_eq(qw_csv_cell(pool, "a,b"), "\"a,b\"");
    ck_assert_str_eq(qw_csv_cell(pool, "say \"hi\""), "\"say \"\"hi\"\"\"");
    ck_assert_str_eq(qw_csv_cell(pool, "two\nlines"), "\"two\nlines\"");
    /* spreadsheet formulas are defused */
    ck_assert_str_eq(qw_csv_cell(pool, "=1+2"), "\"'=1+2\"");
    ck_assert_str_eq(qw_csv_cell(pool, "+cmd"), "\"'+cmd\"");
    ck_assert_str_eq(qw_csv_cell(pool, "-2"), "\"'-2\"");
    ck_assert_str_eq(qw_csv_cell(pool, "@SUM(A1)"), "\"'@SUM(A1)\"");
    ck_assert_str_eq(qw_csv_cell(pool, "a=b"), "a=b");
    ck_assert_str_eq(qw_csv_cell(pool, "中文"), "中文");
}
END_TEST

Suite *suite_rights(void)
{
    Suite *s = suite_create("rights");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, module_names);
    tcase_add_test(tc, normalize);
    tcase_add_test(tc, has_and_subset);
    tcase_add_test(tc, csv_cells);
    suite_add_tcase(s, tc);
    return s;
}

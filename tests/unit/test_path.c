/* The canonical request path (util/path.h). */
#include <string.h>

#include <apr_pools.h>

#include "suites.h"
#include "util/path.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* the decoded path alone */
static qw_path_verdict uri(const char *s)
{
    return qw_path_check(s, NULL, 0);
}

/* the path as sent, with uri the (canonical) decoded one */
static qw_path_verdict raw(const char *s)
{
    return qw_path_check("/a", s, strlen(s));
}

START_TEST(canonical_paths)
{
    ck_assert_int_eq(uri("/"), QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/wiki/secret.html"), QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/wiki/dir/"), QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/wiki/.hidden"), QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/wiki/a..b"), QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/wiki/...x"), QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/wiki/secret.html;jsessionid=1"),
                     QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/新闻/报告.html"), QW_PATH_CANONICAL);
    ck_assert_int_eq(uri("/a%2Fb"), QW_PATH_CANONICAL);   /* a literal % */
    ck_assert_int_eq(raw("/wiki/%E6%96%B0.html"), QW_PATH_CANONICAL);
    ck_assert_int_eq(raw("/wiki/%73ecret.html"), QW_PATH_CANONICAL);
    ck_assert_int_eq(raw("/wiki/a%252Fb"), QW_PATH_CANONICAL);
    ck_assert_int_eq(raw("/wiki/a%2"), QW_PATH_CANONICAL);
    ck_assert_int_eq(raw("/wiki/%zz"), QW_PATH_CANONICAL);
    ck_assert_int_eq(raw(""), QW_PATH_CANONICAL);          /* "http://h" */
}
END_TEST

START_TEST(second_spellings)
{
    ck_assert_int_eq(uri(""), QW_PATH_NOT_ABSOLUTE);
    ck_assert_int_eq(uri("wiki/x"), QW_PATH_NOT_ABSOLUTE);
    ck_assert_int_eq(uri("*"), QW_PATH_NOT_ABSOLUTE);
    ck_assert_int_eq(uri("//wiki/x"), QW_PATH_EMPTY_SEGMENT);
    ck_assert_int_eq(uri("/wiki//secret.html"), QW_PATH_EMPTY_SEGMENT);
    ck_assert_int_eq(uri("/wiki/dir//"), QW_PATH_EMPTY_SEGMENT);
    ck_assert_int_eq(uri("/wiki/./secret.html"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(uri("/wiki/x/../secret.html"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(uri("/wiki/."), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(uri("/wiki/.."), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(uri("/wiki/..;x/secret.html"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(uri("/wiki/..;x"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(uri("/wiki/secret.html."), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(uri("/wiki/secret.html "), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(uri("/wiki./secret.html"), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(uri("/wiki/..."), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(uri("/wiki/x.;p"), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(uri("/wiki/x;p."), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(uri("/wiki\\secret.html"), QW_PATH_BACKSLASH);
    ck_assert_int_eq(uri("/wiki/a;x/secret.html"), QW_PATH_PARAM);
    ck_assert_int_eq(uri("/wiki/;x/secret.html"), QW_PATH_PARAM);
    /* the path as sent: decoded before the rules, and no encoded '/' */
    ck_assert_int_eq(raw("/wiki%2Fsecret.html"), QW_PATH_ENCODED_SLASH);
    ck_assert_int_eq(raw("/wiki%2fsecret.html"), QW_PATH_ENCODED_SLASH);
    ck_assert_int_eq(raw("/wiki%5Csecret.html"), QW_PATH_ENCODED_SLASH);
    ck_assert_int_eq(raw("/wiki//secret.html"), QW_PATH_EMPTY_SEGMENT);
    ck_assert_int_eq(raw("/wiki/./secret.html"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(raw("/wiki/%2e/secret.html"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(raw("/wiki/%2E%2e/secret.html"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(raw("/wiki/.%2E/secret.html"), QW_PATH_DOT_SEGMENT);
    ck_assert_int_eq(raw("/wiki/secret.html%2e"), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(raw("/wiki/secret.html%20"), QW_PATH_TRAILING_DOT);
    ck_assert_int_eq(raw("/wiki/a%3Bx/s.html"), QW_PATH_PARAM);
    ck_assert_int_eq(raw("/wiki\\s.html"), QW_PATH_BACKSLASH);
    ck_assert_int_eq(raw("%2Fwiki"), QW_PATH_NOT_ABSOLUTE);
    /* the raw path is checked first, then the decoded one */
    ck_assert_int_eq(qw_path_check("/a//b", "/a/b", 4),
                     QW_PATH_EMPTY_SEGMENT);
    ck_assert_int_eq(qw_path_check("/a/b", "/a/./b", 6),
                     QW_PATH_DOT_SEGMENT);
}
END_TEST

START_TEST(targets)
{
    size_t n;
    const char *p;

    p = qw_path_of_target("/wiki//x.html?qs=a/../b#f", &n);
    ck_assert_int_eq((int)n, 13);
    ck_assert(!strncmp(p, "/wiki//x.html", n));
    p = qw_path_of_target("http://example.com:80/wiki/./x?y", &n);
    ck_assert_int_eq((int)n, 9);
    ck_assert(!strncmp(p, "/wiki/./x", n));
    p = qw_path_of_target("https://example.com", &n);
    ck_assert_int_eq((int)n, 0);
    p = qw_path_of_target("http://example.com?x=/a", &n);
    ck_assert_int_eq((int)n, 0);
    p = qw_path_of_target("*", &n);
    ck_assert_int_eq((int)n, 1);
    p = qw_path_of_target(NULL, &n);
    ck_assert_int_eq((int)n, 0);
}
END_TEST

START_TEST(canonical_forms)
{
    static const char *const cases[][2] = {
        {"/", "/"},
        {"", "/"},
        {"/wiki/secret.html", "/wiki/secret.html"},
        {"/wiki//secret.html", "/wiki/secret.html"},
        {"//wiki///secret.html", "/wiki/secret.html"},
        {"/wiki/./secret.html", "/wiki/secret.html"},
        {"/wiki/x/../secret.html", "/wiki/secret.html"},
        {"/../../wiki/secret.html", "/wiki/secret.html"},
        {"/wiki/..;x/secret.html", "/secret.html"},
        {"/wiki/secret.html.", "/wiki/secret.html"},
        {"/wiki/secret.html. . ", "/wiki/secret.html"},
        {"/wiki./secret.html", "/wiki/secret.html"},
        {"/wiki\\secret.html", "/wiki/secret.html"},
        {"/wiki/a;x/secret.html", "/wiki/a/secret.html"},
        {"/wiki/secret.html;x", "/wiki/secret.html;x"},
        {"/wiki/secret.html;x.", "/wiki/secret.html;x"},
        {"/wiki/dir/", "/wiki/dir/"},
        {"/wiki/dir//", "/wiki/dir/"},
        {"/wiki/dir/.", "/wiki/dir/"},
        {"/wiki/dir/..", "/wiki/"},
        {"/wiki/...", "/wiki/"},
        {"/..", "/"},
        {"wiki/x", "/wiki/x"},
        {"/新闻//报告.html.", "/新闻/报告.html"},
    };
    size_t i;
    const char *c;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c = qw_path_canonical(pool, cases[i][0]);
        ck_assert_msg(!strcmp(c, cases[i][1]), "%s: got %s, want %s",
                      cases[i][0], c, cases[i][1]);
        ck_assert_int_eq(uri(c), QW_PATH_CANONICAL);
        ck_assert_str_eq(qw_path_canonical(pool, c), c);
    }
}
END_TEST

START_TEST(verdict_texts)
{
    int v;

    for (v = QW_PATH_CANONICAL; v <= QW_PATH_PARAM; v++) {
        ck_assert(strcmp(qw_path_verdict_text((qw_path_verdict)v), "?"));
    }
}
END_TEST

Suite *suite_path(void)
{
    Suite *s = suite_create("path");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, canonical_paths);
    tcase_add_test(tc, second_spellings);
    tcase_add_test(tc, targets);
    tcase_add_test(tc, canonical_forms);
    tcase_add_test(tc, verdict_texts);
    suite_add_tcase(s, tc);
    return s;
}

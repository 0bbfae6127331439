/* Text helpers and the zh-CN/en string table. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/text.h"
#include "util/i18n.h"
#include "util/json.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

#define ZH QW_LANG_ZH
#define EN QW_LANG_EN

START_TEST(cache_control_private)
{
#define CCP(v) qw_cache_control_private(pool, (v))
    ck_assert_str_eq(CCP(NULL), "private");
    ck_assert_str_eq(CCP(""), "private");
    ck_assert_str_eq(CCP("no-store"), "no-store, private");
    ck_assert_str_eq(CCP("private, no-store"), "private, no-store");
    ck_assert_str_eq(CCP("PRIVATE"), "PRIVATE");
    ck_assert_str_eq(CCP("public, max-age=60"), "max-age=60, private");
    ck_assert_str_eq(CCP(" max-age=60 ,, s-maxage=5 "),
                     "max-age=60, s-maxage=5, private");
    ck_assert_str_eq(CCP("private=\"set-cookie, x\", no-cache"),
                     "no-cache, private");
    ck_assert_str_eq(CCP("no-cache=\"a, b\""), "no-cache=\"a, b\", private");
#undef CCP
}
END_TEST

START_TEST(lang_pick)
{
    ck_assert_int_eq(qw_lang_pick(NULL, ZH), ZH);
    ck_assert_int_eq(qw_lang_pick(NULL, EN), EN);
    ck_assert_int_eq(qw_lang_pick("", EN), EN);
    ck_assert_int_eq(qw_lang_pick("zh", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("zh-CN", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("zh-Hans-CN", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("zh-Hans", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("zh-TW", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("ZH-cn", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("en", ZH), EN);
    ck_assert_int_eq(qw_lang_pick("en-US", ZH), EN);
    ck_assert_int_eq(qw_lang_pick("en-GB,en;q=0.9", ZH), EN);
    /* order among equal q-values */
    ck_assert_int_eq(qw_lang_pick("en, zh", ZH), EN);
    ck_assert_int_eq(qw_lang_pick("zh, en", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("fr, zh", EN), ZH);
    /* q-values */
    ck_assert_int_eq(qw_lang_pick("en;q=0.5, zh;q=0.8", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("zh-CN;q=0.5,en-US;q=0.51", ZH), EN);
    ck_assert_int_eq(qw_lang_pick("zh-CN,zh;q=0.9,en;q=0.8", EN), ZH);
    ck_assert_int_eq(qw_lang_pick(" en ; q=0.1 , zh ;Q=0.2 ", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=0.1,zh;Q=0.2", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=1.000,zh;q=1", ZH), EN);
    /* q=0 means "not acceptable" */
    ck_assert_int_eq(qw_lang_pick("zh;q=0", EN), EN);
    ck_assert_int_eq(qw_lang_pick("zh;q=0, en;q=0.001", ZH), EN);
    ck_assert_int_eq(qw_lang_pick("en;q=0.000", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=0,zh;q=0", EN), EN);
    /* wildcard stands for the default */
    ck_assert_int_eq(qw_lang_pick("*;q=0.9, en;q=0.5", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("*;q=0.4, en;q=0.5", ZH), EN);
    /* not our languages, or look-alikes */
    ck_assert_int_eq(qw_lang_pick("fr-FR, de", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("enx, zhuang", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("eng", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("e", ZH), ZH);
    /* garbage: ignored item by item */
    ck_assert_int_eq(qw_lang_pick("en;q=2, zh;q=0.3", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=abc, zh;q=0.3", EN), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=0.1234", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=1.5", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("en;q=.5", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick("e\xffn, en<x>", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick(",,;;,;q=1,", ZH), ZH);
    ck_assert_int_eq(qw_lang_pick(";q=1, en", ZH), EN);
    ck_assert_int_eq(qw_lang_pick("en;level=1;q=0.2,zh;q=0.1", ZH), EN);
}
END_TEST

START_TEST(safe_local_path)
{
    char *longp;

    ck_assert(qw_safe_local_path("/"));
    ck_assert(qw_safe_local_path("/news/1?x=1&y=%2F#top"));
    ck_assert(qw_safe_local_path("/a//b"));
    ck_assert(qw_safe_local_path("/%2F%2Fevil.example"));
    ck_assert(!qw_safe_local_path(NULL));
    ck_assert(!qw_safe_local_path(""));
    ck_assert(!qw_safe_local_path("news"));
    ck_assert(!qw_safe_local_path("//evil.example/"));
    ck_assert(!qw_safe_local_path("/\\evil.example/"));
    ck_assert(!qw_safe_local_path("/a\\b"));
    ck_assert(!qw_safe_local_path("https://evil.example/"));
    ck_assert(!qw_safe_local_path("javascript:alert(1)"));
    ck_assert(!qw_safe_local_path(" /a"));
    ck_assert(!qw_safe_local_path("/a b"));
    ck_assert(!qw_safe_local_path("/\t/evil.example"));
    ck_assert(!qw_safe_local_path("/\n/evil.example"));
    ck_assert(!qw_safe_local_path("/\r/evil.example"));
    ck_assert(!qw_safe_local_path("/a\x7f"));
    ck_assert(!qw_safe_local_path("/a\x01"));
    ck_assert(!qw_safe_local_path("/\xc3\xa9"));

    longp = apr_palloc(pool, 2050);
    memset(longp, 'a', 2049);
    longp[0] = '/';
    longp[2048] = '\0';
    ck_assert(qw_safe_local_path(longp));
    longp[2048] = 'a';
    longp[2049] = '\0';
    ck_assert(!qw_safe_local_path(longp));
}
END_TEST

START_TEST(escape_html)
{
    ck_assert_str_eq(qw_escape_html(pool, "<a href=\"x\" title='y'>&amp;</a>"),
                     "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;"
                     "&amp;amp;&lt;/a&gt;");
    ck_assert_str_eq(qw_escape_html(pool, "张三 plain"), "张三 plain");
    ck_assert_str_eq(qw_escape_html(pool, ""), "");
    ck_assert_str_eq(qw_escape_html(pool, NULL), "");
}
END_TEST

START_TEST(escape_urlc)
{
    ck_assert_str_eq(qw_escape_urlc(pool, "AZaz09-._~"), "AZaz09-._~");
    ck_assert_str_eq(qw_escape_urlc(pool, "/a b?c=d&e#f+g%"),
                     "%2Fa%20b%3Fc%3Dd%26e%23f%2Bg%25");
    ck_assert_str_eq(qw_escape_urlc(pool, "张"), "%E5%BC%A0");
    ck_assert_str_eq(qw_escape_urlc(pool, "\x01\x7f\xff"), "%01%7F%FF");
    ck_assert_str_eq(qw_escape_urlc(pool, ""), "");
}
END_TEST

static char *rep(char c, size_t n)
{
    char *s = apr_palloc(pool, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

START_TEST(validators)
{
    /* account: ^[a-z0-9][a-z0-9._@-]{0,63}$ */
    ck_assert(qw_valid_account("a"));
    ck_assert(qw_valid_account("zhang.san@hq-1_x"));
    ck_assert(qw_valid_account("0"));
    ck_assert(qw_valid_account(rep('a', 64)));
    ck_assert(!qw_valid_account(rep('a', 65)));
    ck_assert(!qw_valid_account(""));
    ck_assert(!qw_valid_account(NULL));
    ck_assert(!qw_valid_account("Zhang"));
    ck_assert(!qw_valid_account(".a"));
    ck_assert(!qw_valid_account("-a"));
    ck_assert(!qw_valid_account("@a"));
    ck_assert(!qw_valid_account("_a"));
    ck_assert(!qw_valid_account("a b"));
    ck_assert(!qw_valid_account("a\n"));
    ck_assert(!qw_valid_account("a+b"));
    ck_assert(!qw_valid_account("张三"));

    /* enterprise: ^[a-z0-9][a-z0-9-]{0,62}$ */
    ck_assert(qw_valid_enterprise_code("acme"));
    ck_assert(qw_valid_enterprise_code("acme-2"));
    ck_assert(qw_valid_enterprise_code(rep('a', 63)));
    ck_assert(!qw_valid_enterprise_code(rep('a', 64)));
    ck_assert(!qw_valid_enterprise_code(""));
    ck_assert(!qw_valid_enterprise_code(NULL));
    ck_assert(!qw_valid_enterprise_code("-acme"));
    ck_assert(!qw_valid_enterprise_code("Acme"));
    ck_assert(!qw_valid_enterprise_code("ac.me"));
    ck_assert(!qw_valid_enterprise_code("ac_me"));

    /* department: ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ */
    ck_assert(qw_valid_department_code("HR"));
    ck_assert(qw_valid_department_code("R_and.D-1"));
    ck_assert(qw_valid_department_code(rep('D', 63)));
    ck_assert(!qw_valid_department_code(rep('D', 64)));
    ck_assert(!qw_valid_department_code(""));
    ck_assert(!qw_valid_department_code(NULL));
    ck_assert(!qw_valid_department_code("_HR"));
    ck_assert(!qw_valid_department_code(".HR"));
    ck_assert(!qw_valid_department_code("H R"));
    ck_assert(!qw_valid_department_code("H@R"));

    ck_assert_str_eq(qw_ascii_lower(pool, "ZhAng.San@X-1张"),
                     "zhang.san@x-1张");
    ck_assert_ptr_null(qw_ascii_lower(pool, NULL));
}
END_TEST

#define U8(s) qw_valid_utf8_text((s), sizeof(s) - 1)

START_TEST(utf8_text)
{
    ck_assert(U8(""));
    ck_assert(U8("Zhang San"));
    ck_assert(U8("张三"));
    ck_assert(U8("\xc2\xa0"));                 /* U+00A0 */
    ck_assert(U8("\xdf\xbf"));                 /* U+07FF */
    ck_assert(U8("\xe0\xa0\x80"));             /* U+0800 */
    ck_assert(U8("\xed\x9f\xbf"));             /* U+D7FF */
    ck_assert(U8("\xee\x80\x80"));             /* U+E000 */
    ck_assert(U8("\xef\xbf\xbf"));             /* U+FFFF */
    ck_assert(U8("\xf0\x90\x80\x80"));         /* U+10000 */
    ck_assert(U8("\xf0\x9f\x98\x80"));         /* emoji */
    ck_assert(U8("\xf4\x8f\xbf\xbf"));         /* U+10FFFF */

    ck_assert(!U8("a\tb"));
    ck_assert(!U8("a\nb"));
    ck_assert(!U8("a\rb"));
    ck_assert(!U8("\x01"));
    ck_assert(!U8("\x1f"));
    ck_assert(!U8("a\x7f"));
    ck_assert(!U8("a\0b"));
    ck_assert(!U8("\xc2\x80"));                /* U+0080, C1 */
    ck_assert(!U8("\xc2\x9f"));                /* U+009F, C1 */
    ck_assert(!U8("\x80"));                    /* lone continuation */
    ck_assert(!U8("\xbf"));
    ck_assert(!U8("\xc0\xaf"));                /* overlong '/' */
    ck_assert(!U8("\xc1\xbf"));
    ck_assert(!U8("\xe0\x80\xaf"));            /* overlong */
    ck_assert(!U8("\xe0\x9f\xbf"));            /* overlong U+07FF */
    ck_assert(!U8("\xf0\x80\x80\xaf"));        /* overlong */
    ck_assert(!U8("\xf0\x8f\xbf\xbf"));        /* overlong U+FFFF */
    ck_assert(!U8("\xed\xa0\x80"));            /* U+D800 */
    ck_assert(!U8("\xed\xbf\xbf"));            /* U+DFFF */
    ck_assert(!U8("\xf4\x90\x80\x80"));        /* U+110000 */
    ck_assert(!U8("\xf5\x80\x80\x80"));
    ck_assert(!U8("\xff"));
    ck_assert(!U8("\xfe"));
    ck_assert(!U8("\xe5\xbc"));                /* truncated */
    ck_assert(!U8("\xf0\x9f\x98"));
    ck_assert(!U8("\xc3"));
    ck_assert(!U8("\xe5\x41\xa0"));            /* bad continuation */
    /* the length bounds the scan, not a NUL */
    ck_assert(qw_valid_utf8_text("\xe5\xbc\xa0\xff", 3));
    ck_assert(!qw_valid_utf8_text("\xe5\xbc\xa0\xff", 2));

    ck_assert_int_eq(qw_utf8_count("张三 ab", strlen("张三 ab")), 5);
    ck_assert_int_eq(qw_utf8_count("", 0), 0);
    ck_assert_int_eq(qw_utf8_count("\xff", 1), -1);
}
END_TEST

START_TEST(path_cut_lengths)
{
    apr_pool_t *p;
    char *slashes;
    const char *got;
    size_t n;

    apr_pool_create(&p, NULL);
    ck_assert_str_eq(qw_path_cut_lengths(p, "/a/b;c", 1024), "{1,2,3,4}");
    ck_assert_str_eq(qw_path_cut_lengths(p, "/news/a.html", 1024), "{1,5,6}");
    /* characters, not bytes: 新闻 is 6 bytes, 2 characters */
    ck_assert_str_eq(qw_path_cut_lengths(p, "/\xe6\x96\xb0\xe9\x97\xbb/a",
                                         1024), "{1,3,4}");
    ck_assert_str_eq(qw_path_cut_lengths(p, "/", 1024), "{}");
    ck_assert_str_eq(qw_path_cut_lengths(p, "", 1024), "{}");
    ck_assert_str_eq(qw_path_cut_lengths(p, "/x", 1024), "{1}");
    ck_assert_str_eq(qw_path_cut_lengths(p, "/x/", 1024), "{1,2}");
    ck_assert_str_eq(qw_path_cut_lengths(p, "/aaaa/b", 3), "{1}");
    ck_assert_str_eq(qw_path_cut_lengths(p, "/aaaa/b", 5), "{1,5}");
    /* a path of 5000 slashes: bounded output, longest cut = max */
    n = 5000;
    slashes = apr_palloc(p, n + 1);
    memset(slashes, '/', n);
    slashes[n] = '\0';
    got = qw_path_cut_lengths(p, slashes, 1024);
    ck_assert_uint_le(strlen(got), 6 * 1024 + 2);
    ck_assert_ptr_nonnull(strstr(got, ",1023,1024}"));
    ck_assert_int_eq(strncmp(got, "{1,2,3,", 7), 0);
    apr_pool_destroy(p);
}
END_TEST

START_TEST(sanitize_text)
{
    ck_assert_ptr_null(qw_sanitize_text(pool, NULL, 10));
    ck_assert_str_eq(qw_sanitize_text(pool, "Mozilla/5.0", 512),
                     "Mozilla/5.0");
    ck_assert_str_eq(qw_sanitize_text(pool, "a\xff\xfe" "b", 512), "a??b");
    ck_assert_str_eq(qw_sanitize_text(pool, "\xc3(", 512), "?(");
    ck_assert_str_eq(qw_sanitize_text(pool, "\xe5\xbc", 512), "??");
    ck_assert_str_eq(qw_sanitize_text(pool, "x\ty\x7f", 512), "x?y?");
    ck_assert_str_eq(qw_sanitize_text(pool, "\xc2\x85", 512), "??");
    ck_assert_str_eq(qw_sanitize_text(pool, "\xed\xa0\x80", 512), "???");
    ck_assert_str_eq(qw_sanitize_text(pool, "张三", 512), "张三");
    /* cut on a character boundary */
    ck_assert_str_eq(qw_sanitize_text(pool, "ab张三", 4), "ab");
    ck_assert_str_eq(qw_sanitize_text(pool, "ab张三", 5), "ab张");
    ck_assert_str_eq(qw_sanitize_text(pool, "abcdef", 3), "abc");
    ck_assert_int_eq(qw_valid_utf8_text(qw_sanitize_text(pool,
        "\xf4\x90\x80\x80\xc0\xaf ok", 512), 9), 1);
}
END_TEST

START_TEST(i18n_complete)
{
    int id;

    for (id = 0; id < QW_S_COUNT; id++) {
        const char *zh = qw_str(QW_LANG_ZH, (qw_string_id)id);
        const char *en = qw_str(QW_LANG_EN, (qw_string_id)id);

        ck_assert_msg(zh != NULL && *zh != '\0', "id %d has no zh text", id);
        ck_assert_msg(en != NULL && *en != '\0', "id %d has no en text", id);
        ck_assert_msg(qw_valid_utf8_text(zh, strlen(zh)), "id %d zh", id);
        ck_assert_msg(qw_valid_utf8_text(en, strlen(en)), "id %d en", id);
        /* the English text is ASCII; the Chinese one is not */
        ck_assert_msg(qw_utf8_count(en, strlen(en)) == (long)strlen(en),
                      "id %d en not ASCII", id);
        ck_assert_msg(qw_utf8_count(zh, strlen(zh)) < (long)strlen(zh),
                      "id %d zh is ASCII", id);
    }
    ck_assert_str_eq(qw_str(QW_LANG_ZH, QW_S_NO_PERMISSION),
                     "没有权限访问本页面");
    ck_assert_str_eq(qw_str(QW_LANG_EN, QW_S_NO_PERMISSION),
                     "No permission to access this page");
    ck_assert_str_eq(qw_str(QW_LANG_ZH, QW_S_LOGIN_TITLE), "登录");
    ck_assert_str_eq(qw_str(QW_LANG_EN, QW_S_LOGIN_TITLE), "Sign in");
    ck_assert_str_eq(qw_str(QW_LANG_ZH, QW_S_LOGIN_FAILED), "账号或密码错误");
    ck_assert_str_eq(qw_str(QW_LANG_EN, QW_S_LOGIN_FAILED),
                     "Wrong account or password");
    /* out of range: empty, not a crash */
    ck_assert_str_eq(qw_str(QW_LANG_EN, QW_S_COUNT), "");
    ck_assert_str_eq(qw_str(QW_LANG_ZH, (qw_string_id)-1), "");
    ck_assert_str_eq(qw_lang_tag(QW_LANG_ZH), "zh-CN");
    ck_assert_str_eq(qw_lang_tag(QW_LANG_EN), "en");
}
END_TEST


/* JSON for an HTML script island: nothing in it can close the element,
 * and it still parses to the same value. */
START_TEST(json_text_and_html)
{
    const char *hostile = "</script><!-- a&b > c";
    const char *t, *h;
    json_t *back;

    t = qw_json_text(pool, json_pack("{s:s, s:b, s:n}", "x", "a\"b",
                                     "on", 1, "none"));
    ck_assert_str_eq(t, "{\"x\":\"a\\\"b\",\"on\":true,\"none\":null}");
    ck_assert_ptr_null(qw_json_text(pool, NULL));
    h = qw_json_html(pool, json_pack("{s:s}", "v", hostile));
    ck_assert_ptr_null(strchr(h, '<'));
    ck_assert_ptr_null(strchr(h, '>'));
    ck_assert_ptr_null(strchr(h, '&'));
    ck_assert_ptr_null(strstr(h, "</"));
    back = json_loads(h, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(json_string_value(json_object_get(back, "v")), hostile);
    json_decref(back);
    ck_assert_str_eq(qw_json_text(pool, qw_json_csv(" a, b,,c ")),
                     "[\"a\",\"b\",\"c\"]");
    ck_assert_str_eq(qw_json_text(pool, qw_json_csv(NULL)), "[]");
}
END_TEST

START_TEST(parse_seconds)
{
    ck_assert_int_eq(qw_parse_seconds_ms("2", 60), 2000);
    ck_assert_int_eq(qw_parse_seconds_ms("0", 60), 0);
    ck_assert_int_eq(qw_parse_seconds_ms("0.5", 60), 500);
    ck_assert_int_eq(qw_parse_seconds_ms("1.25", 60), 1250);
    ck_assert_int_eq(qw_parse_seconds_ms("0.001", 60), 1);
    ck_assert_int_eq(qw_parse_seconds_ms("2.", 60), 2000);
    ck_assert_int_eq(qw_parse_seconds_ms("60", 60), 60000);
    ck_assert_int_eq(qw_parse_seconds_ms("60.0", 60), 60000);
    ck_assert_int_eq(qw_parse_seconds_ms("60.001", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("61", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("99999999999999999999", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("0.0001", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms(".5", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("-1", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("+1", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("1e3", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("1 ", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms("", 60), -1);
    ck_assert_int_eq(qw_parse_seconds_ms(NULL, 60), -1);
}
END_TEST

Suite *suite_text(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, cache_control_private);
    tcase_add_test(tc, lang_pick);
    tcase_add_test(tc, safe_local_path);
    tcase_add_test(tc, escape_html);
    tcase_add_test(tc, escape_urlc);
    tcase_add_test(tc, validators);
    tcase_add_test(tc, utf8_text);
    tcase_add_test(tc, path_cut_lengths);
    tcase_add_test(tc, sanitize_text);
    tcase_add_test(tc, i18n_complete);
    tcase_add_test(tc, json_text_and_html);
    tcase_add_test(tc, parse_seconds);
    suite_add_tcase(s, tc);
    return s;
}

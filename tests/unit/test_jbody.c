/* The admin API's request bodies: parsing and typed fields. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/jbody.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static qw_jbody_status parse(const char *s, json_t **j)
{
    return qw_jbody_parse(s, strlen(s), j);
}

START_TEST(bodies)
{
    json_t *j;
    char *big;

    ck_assert_int_eq(parse("{\"a\":1}", &j), QW_JBODY_OK);
    ck_assert_ptr_nonnull(j);
    json_decref(j);
    ck_assert_int_eq(parse("[1]", &j), QW_JBODY_NOT_OBJECT);
    ck_assert_ptr_null(j);
    /* no bare scalars (no JSON_DECODE_ANY), no NUL in strings */
    ck_assert_int_eq(parse("\"x\"", &j), QW_JBODY_NOT_JSON);
    ck_assert_int_eq(parse("{\"a\":\"a\\u0000b\"}", &j), QW_JBODY_NOT_JSON);
    ck_assert_int_eq(parse("", &j), QW_JBODY_NOT_JSON);
    ck_assert_int_eq(parse("{\"a\":1", &j), QW_JBODY_NOT_JSON);
    ck_assert_int_eq(parse("{\"a\":1,\"a\":2}", &j), QW_JBODY_NOT_JSON);
    ck_assert_int_eq(parse("{} {}", &j), QW_JBODY_NOT_JSON);
    /* length, not NUL, ends the text */
    ck_assert_int_eq(qw_jbody_parse("{}xyz", 2, &j), QW_JBODY_OK);
    json_decref(j);
    big = apr_palloc(pool, QW_JBODY_MAX + 2);
    memset(big, ' ', QW_JBODY_MAX + 1);
    big[0] = '{';
    big[QW_JBODY_MAX] = '}';
    big[QW_JBODY_MAX + 1] = '\0';
    ck_assert_int_eq(parse(big, &j), QW_JBODY_TOO_LARGE);
    ck_assert_int_eq(qw_jbody_parse(big, QW_JBODY_MAX + 1 - 1, &j),
                     QW_JBODY_NOT_JSON);
}
END_TEST

START_TEST(fields)
{
    json_t *j;
    const char *s, *want;
    int b;

    ck_assert_int_eq(parse("{\"name\":\"x\",\"n\":null,\"num\":3,"
                           "\"t\":true}", &j),
                     QW_JBODY_OK);
    ck_assert_int_eq(qw_jbody_str(pool, j, "name", 1, &s, &want),
                     QW_JFIELD_OK);
    ck_assert_str_eq(s, "x");
    ck_assert_int_eq(qw_jbody_str(pool, j, "num", 0, &s, &want),
                     QW_JFIELD_TYPE);
    ck_assert_str_eq(want, "a string");
    ck_assert_int_eq(qw_jbody_str(pool, j, "n", 1, &s, &want),
                     QW_JFIELD_MISSING);
    ck_assert_int_eq(qw_jbody_str(pool, j, "none", 0, &s, &want),
                     QW_JFIELD_ABSENT);
    ck_assert_int_eq(qw_jbody_bool(j, "t", &b, &want), QW_JFIELD_OK);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(qw_jbody_bool(j, "n", &b, &want), QW_JFIELD_ABSENT);
    ck_assert_int_eq(b, -1);
    ck_assert_int_eq(qw_jbody_bool(j, "num", &b, &want), QW_JFIELD_TYPE);
    ck_assert_int_eq(qw_jbody_str(pool, NULL, "x", 1, &s, &want),
                     QW_JFIELD_MISSING);
    json_decref(j);
}
END_TEST

START_TEST(lists)
{
    json_t *j, *arr;
    const char *csv, *want;

    ck_assert_int_eq(parse("{\"a\":[\"x\",\"y z\"],\"e\":[],\"c\":[\"a,b\"],"
                           "\"empty\":[\"\"],\"num\":[1],\"s\":\"x\"}", &j),
                     QW_JBODY_OK);
    ck_assert_int_eq(qw_jbody_str_list(pool, j, "a", 1, &csv, &want),
                     QW_JFIELD_OK);
    ck_assert_str_eq(csv, "x,y z");
    arr = qw_jbody_csv_array(csv);
    ck_assert_int_eq(json_array_size(arr), 2);
    ck_assert_str_eq(json_string_value(json_array_get(arr, 1)), "y z");
    json_decref(arr);
    ck_assert_int_eq(qw_jbody_str_list(pool, j, "e", 1, &csv, &want),
                     QW_JFIELD_OK);
    ck_assert_str_eq(csv, "");
    ck_assert_int_eq(qw_jbody_str_list(pool, j, "c", 1, &csv, &want),
                     QW_JFIELD_TYPE);
    ck_assert_str_eq(want, "an array of non-empty codes");
    ck_assert_int_eq(qw_jbody_str_list(pool, j, "empty", 1, &csv, &want),
                     QW_JFIELD_TYPE);
    ck_assert_int_eq(qw_jbody_str_list(pool, j, "num", 1, &csv, &want),
                     QW_JFIELD_TYPE);
    ck_assert_str_eq(want, "an array of strings");
    ck_assert_int_eq(qw_jbody_str_list(pool, j, "s", 1, &csv, &want),
                     QW_JFIELD_TYPE);
    ck_assert_int_eq(qw_jbody_str_list(pool, j, "none", 1, &csv, &want),
                     QW_JFIELD_MISSING);
    ck_assert_ptr_null(csv);
    json_decref(j);
}
END_TEST

Suite *suite_jbody(void)
{
    Suite *s = suite_create("jbody");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, bodies);
    tcase_add_test(tc, fields);
    tcase_add_test(tc, lists);
    suite_add_tcase(s, tc);
    return s;
}

/* Unknown keys of a request body (util/json.h qw_json_only_keys). */
#include <string.h>

#include <jansson.h>

#include "suites.h"
#include "util/json.h"

static const char *const settings[] = { "external_share", "hide_mobile",
                                        NULL };

static int only(const char *text, const char **bad)
{
    json_t *o = json_loads(text, 0, NULL);
    int ok;
    static char copy[64];

    ck_assert_ptr_nonnull(o);
    ok = qw_json_only_keys(o, settings, bad);
    if (*bad) {
        /* the key lives as long as the object */
        strncpy(copy, *bad, sizeof(copy) - 1);
        *bad = copy;
    }
    json_decref(o);
    return ok;
}

START_TEST(known_keys)
{
    const char *bad = "x";

    ck_assert_int_eq(only("{}", &bad), 1);
    ck_assert_ptr_null(bad);
    ck_assert_int_eq(only("{\"hide_mobile\": true}", &bad), 1);
    ck_assert_int_eq(only("{\"hide_mobile\": true, \"external_share\": null}",
                          &bad), 1);
    ck_assert_ptr_null(bad);
}
END_TEST

START_TEST(unknown_keys)
{
    const char *bad;

    ck_assert_int_eq(only("{\"hide_mobial\": true}", &bad), 0);
    ck_assert_str_eq(bad, "hide_mobial");
    /* the first unknown key, in the body's order */
    ck_assert_int_eq(only("{\"hide_mobile\": true, \"b\": 1, \"a\": 2}",
                          &bad), 0);
    ck_assert_str_eq(bad, "b");
    /* case and prefixes are other keys */
    ck_assert_int_eq(only("{\"Hide_mobile\": true}", &bad), 0);
    ck_assert_int_eq(only("{\"hide\": true}", &bad), 0);
    ck_assert_int_eq(only("{\"hide_mobile_\": true}", &bad), 0);
    ck_assert_int_eq(only("{\"\": true}", &bad), 0);
    ck_assert_str_eq(bad, "");
}
END_TEST

START_TEST(no_list)
{
    json_t *o = json_object();
    const char *bad;

    ck_assert_int_eq(qw_json_only_keys(o, NULL, &bad), 1);
    json_object_set_new(o, "a", json_true());
    ck_assert_int_eq(qw_json_only_keys(o, NULL, &bad), 0);
    ck_assert_str_eq(bad, "a");
    json_decref(o);
}
END_TEST

/* json_loads refuses a NUL in a key, but an object built otherwise may
 * hold one: "hide_mobile\0x" is not "hide_mobile" */
START_TEST(nul_in_key)
{
    json_t *o = json_object();
    const char *bad;

    json_object_setn_new(o, "hide_mobile\0x", 13, json_true());
    ck_assert_int_eq(qw_json_only_keys(o, settings, &bad), 0);
    ck_assert_str_eq(bad, "hide_mobile");
    json_decref(o);
}
END_TEST

Suite *suite_json_keys(void)
{
    Suite *s = suite_create("json_keys");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, known_keys);
    tcase_add_test(tc, unknown_keys);
    tcase_add_test(tc, no_list);
    tcase_add_test(tc, nul_in_key);
    suite_add_tcase(s, tc);
    return s;
}

/* needs: mod_qiwei/util/jbody.c */
/* max_len: 8192 */
/* libFuzzer harness for the admin API's request body validation (what
 * handle/api.c does with a POST/PUT/PATCH body from a logged-in admin, or
 * from anyone on /session).  Properties: no crash or overread for any
 * input; the status matches the input (objects only, size limit); an
 * accepted body prints and parses back to an equal value; every field
 * accessor agrees with the value's JSON type, never returns both a value
 * and an error, and a string list joined to CSV splits back to the same
 * array. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "util/jbody.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static int plain_string(const json_t *v)
{
    return json_is_string(v)
           && strlen(json_string_value(v)) == json_string_length(v);
}

static void check_field(apr_pool_t *p, const json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    int present = v != NULL && !json_is_null(v);
    const char *s, *want, *csv;
    int required, b;
    qw_jfield_status fs;

    for (required = 0; required < 2; required++) {
        fs = qw_jbody_str(p, body, key, required, &s, &want);
        if (want == NULL || (fs == QW_JFIELD_OK) != (s != NULL)) {
            abort();
        }
        if (!present) {
            if (fs != (required ? QW_JFIELD_MISSING : QW_JFIELD_ABSENT)) {
                abort();
            }
        }
        else if (plain_string(v)) {
            if (fs != QW_JFIELD_OK || strcmp(s, json_string_value(v))) {
                abort();
            }
        }
        else if (fs != QW_JFIELD_TYPE) {
            abort();
        }

        fs = qw_jbody_str_list(p, body, key, required, &csv, &want);
        if (want == NULL || (fs == QW_JFIELD_OK) != (csv != NULL)) {
            abort();
        }
        if (!present) {
            if (fs != (required ? QW_JFIELD_MISSING : QW_JFIELD_ABSENT)) {
                abort();
            }
        }
        else if (fs == QW_JFIELD_OK) {
            /* only arrays of codes pass, and they survive the CSV */
            json_t *back = qw_jbody_csv_array(csv);

            if (!json_is_array(v) || json_array_size(v) > QW_JBODY_MAX_LIST
                || !json_equal(back, v)) {
                abort();
            }
            json_decref(back);
        }
        else if (fs != QW_JFIELD_TYPE) {
            abort();
        }
        else if (json_is_array(v) && json_array_size(v) <= QW_JBODY_MAX_LIST) {
            /* refused: some entry must be a non-code */
            size_t i;
            int bad = 0;

            for (i = 0; i < json_array_size(v); i++) {
                json_t *e = json_array_get(v, i);
                if (!plain_string(e) || !*json_string_value(e)
                    || strchr(json_string_value(e), ',')) {
                    bad = 1;
                }
            }
            if (!bad) {
                abort();
            }
        }
    }

    fs = qw_jbody_bool(body, key, &b, &want);
    if (!present) {
        if (fs != QW_JFIELD_ABSENT || b != -1) {
            abort();
        }
    }
    else if (json_is_boolean(v)) {
        if (fs != QW_JFIELD_OK || b != json_is_true(v)) {
            abort();
        }
    }
    else if (fs != QW_JFIELD_TYPE || b != -1) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exact-size heap copy, no NUL: the parser must honour len. */
    char *text = malloc(size ? size : 1);
    json_t *body, *again;
    qw_jbody_status st;
    apr_pool_t *p;

    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    apr_pool_create(&p, pool);
    st = qw_jbody_parse(text, size, &body);
    if ((st == QW_JBODY_OK) != (body != NULL)
        || (size > QW_JBODY_MAX) != (st == QW_JBODY_TOO_LARGE)) {
        abort();
    }
    if (st == QW_JBODY_OK) {
        const char *key;
        json_t *v;
        char *dump;

        if (!json_is_object(body)) {
            abort();
        }
        /* what we accept prints and parses back to itself */
        dump = json_dumps(body, JSON_COMPACT);
        if (dump == NULL
            || qw_jbody_parse(dump, strlen(dump), &again) != QW_JBODY_OK
            || !json_equal(body, again)) {
            abort();
        }
        json_decref(again);
        free(dump);
        json_object_foreach(body, key, v) {
            check_field(p, body, key);
        }
        check_field(p, body, "no such field");
        json_decref(body);
    }
    apr_pool_destroy(p);
    free(text);
    return 0;
}

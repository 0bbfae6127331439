/* JSON request bodies: see jbody.h. */
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "util/jbody.h"

qw_jbody_status qw_jbody_parse(const char *text, size_t len, json_t **out)
{
    return qw_jbody_parse_max(text, len, QW_JBODY_MAX, out);
}

qw_jbody_status qw_jbody_parse_max(const char *text, size_t len, size_t max,
                                   json_t **out)
{
    json_error_t jerr;
    json_t *j;

    *out = NULL;
    if (len > max) {
        return QW_JBODY_TOO_LARGE;
    }
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        return QW_JBODY_NOT_JSON;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return QW_JBODY_NOT_OBJECT;
    }
    *out = j;
    return QW_JBODY_OK;
}

/* The field's value, or NULL when it is missing or null. */
static json_t *field_value(const json_t *body, const char *field)
{
    json_t *v = body ? json_object_get(body, field) : NULL;

    return (v && !json_is_null(v)) ? v : NULL;
}

/* jansson strings may hold NUL bytes (\u0000): a C string would cut them */
static int plain_string(const json_t *v)
{
    return json_is_string(v)
           && strlen(json_string_value(v)) == json_string_length(v);
}

qw_jfield_status qw_jbody_str(apr_pool_t *p, const json_t *body,
                              const char *field, int required,
                              const char **out, const char **want)
{
    json_t *v = field_value(body, field);

    *out = NULL;
    *want = "a string";
    if (!v) {
        return required ? QW_JFIELD_MISSING : QW_JFIELD_ABSENT;
    }
    if (!plain_string(v)) {
        return QW_JFIELD_TYPE;
    }
    *out = apr_pstrdup(p, json_string_value(v));
    return QW_JFIELD_OK;
}

qw_jfield_status qw_jbody_bool(const json_t *body, const char *field,
                               int *out, const char **want)
{
    json_t *v = field_value(body, field);

    *out = -1;
    *want = "true or false";
    if (!v) {
        return QW_JFIELD_ABSENT;
    }
    if (!json_is_boolean(v)) {
        return QW_JFIELD_TYPE;
    }
    *out = json_is_true(v);
    return QW_JFIELD_OK;
}

qw_jfield_status qw_jbody_str_list(apr_pool_t *p, const json_t *body,
                                   const char *field, int required,
                                   const char **csv, const char **want)
{
    json_t *v = field_value(body, field);
    apr_array_header_t *parts;
    size_t i;

    *csv = NULL;
    *want = "an array of at most 256 strings";
    if (!v) {
        return required ? QW_JFIELD_MISSING : QW_JFIELD_ABSENT;
    }
    if (!json_is_array(v) || json_array_size(v) > QW_JBODY_MAX_LIST) {
        return QW_JFIELD_TYPE;
    }
    parts = apr_array_make(p, (int)json_array_size(v) + 1,
                           sizeof(const char *));
    for (i = 0; i < json_array_size(v); i++) {
        json_t *e = json_array_get(v, i);
        const char *t;

        if (!json_is_string(e)) {
            *want = "an array of strings";
            return QW_JFIELD_TYPE;
        }
        t = json_string_value(e);
        /* entries are codes: a comma would split one into two */
        if (!*t || strchr(t, ',') || !plain_string(e)) {
            *want = "an array of non-empty codes";
            return QW_JFIELD_TYPE;
        }
        APR_ARRAY_PUSH(parts, const char *) = t;
    }
    *csv = apr_array_pstrcat(p, parts, ',');
    return QW_JFIELD_OK;
}

json_t *qw_jbody_csv_array(const char *csv)
{
    json_t *arr = json_array();
    const char *s = csv ? csv : "";

    while (*s) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n) {
            json_array_append_new(arr, json_stringn(s, n));
        }
        if (!e) {
            break;
        }
        s = e + 1;
    }
    return arr;
}

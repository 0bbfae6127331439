/* JSON text from jansson values (see json.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "util/json.h"

static const char *dump(apr_pool_t *p, json_t *v, size_t flags)
{
    char *s = v ? json_dumps(v, flags) : NULL;
    const char *out = s ? apr_pstrdup(p, s) : NULL;

    free(s);
    json_decref(v);
    return out;
}

const char *qw_json_text(apr_pool_t *p, json_t *v)
{
    return dump(p, v, JSON_COMPACT | JSON_ENCODE_ANY);
}

const char *qw_json_html(apr_pool_t *p, json_t *v)
{
    const char *s = dump(p, v, JSON_COMPACT | JSON_ENCODE_ANY
                               | JSON_ESCAPE_SLASH);
    size_t n = 0;
    const char *c;
    char *out, *o;

    if (!s) {
        return NULL;
    }
    /* these bytes occur only inside JSON strings, where \u00XX is valid */
    for (c = s; *c; c++) {
        n += (*c == '<' || *c == '>' || *c == '&') ? 6 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (c = s; *c; c++) {
        if (*c == '<' || *c == '>' || *c == '&') {
            o += apr_snprintf(o, 7, "\\u%04x", (unsigned char)*c);
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

json_t *qw_json_strings(const apr_array_header_t *arr)
{
    json_t *a = json_array();
    int i;

    for (i = 0; arr && i < arr->nelts; i++) {
        json_array_append_new(a, json_string(APR_ARRAY_IDX(arr, i,
                                                           const char *)));
    }
    return a;
}

json_t *qw_json_csv(const char *csv)
{
    json_t *a = json_array();
    const char *c = csv ? csv : "";

    while (*c) {
        const char *end = strchr(c, ',');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        const char *b = c, *e = c + len;

        while (b < e && (*b == ' ' || *b == '\t')) {
            b++;
        }
        while (e > b && (e[-1] == ' ' || e[-1] == '\t')) {
            e--;
        }
        if (e > b) {
            json_array_append_new(a, json_stringn(b, (size_t)(e - b)));
        }
        c = end ? end + 1 : c + len;
    }
    return a;
}

int qw_json_only_keys(const json_t *obj, const char *const *allowed,
                      const char **bad)
{
    /* the iterator API is not const-correct; nothing is changed */
    void *it = json_object_iter((json_t *)obj);
    int i;

    *bad = NULL;
    for (; it; it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        size_t len = json_object_iter_key_len(it);

        /* compared with its length: "account\u0000x" is not "account" */
        for (i = 0; allowed && allowed[i]; i++) {
            if (strlen(allowed[i]) == len && !memcmp(key, allowed[i], len)) {
                break;
            }
        }
        if (!allowed || !allowed[i]) {
            *bad = key;
            return 0;
        }
    }
    return 1;
}

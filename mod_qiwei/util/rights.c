/* Module lists and CSV cells (see rights.h). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "util/rights.h"

int qw_module_valid(const char *s)
{
    size_t i, n;

    if (s == NULL) {
        return 0;
    }
    n = strlen(s);
    if (n == 0 || n > 32 || s[0] < 'a' || s[0] > 'z') {
        return 0;
    }
    for (i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-')) {
            return 0;
        }
    }
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *qw_modules_normalize(apr_pool_t *p, const char *csv, const char **bad)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(const char *));
    char *copy, *cur, *next;
    const char **e;
    char *out;
    int i, n;

    if (bad) {
        *bad = NULL;
    }
    if (csv == NULL || *csv == '\0') {
        return apr_pstrdup(p, "");
    }
    copy = apr_pstrdup(p, csv);
    /* no strtok: an empty entry (",," or a trailing ',') is an error */
    for (cur = copy; cur; cur = next) {
        next = strchr(cur, ',');
        if (next) {
            *next++ = '\0';
        }
        if (!qw_module_valid(cur)) {
            if (bad) {
                *bad = cur;
            }
            return NULL;
        }
        APR_ARRAY_PUSH(a, const char *) = cur;
    }
    e = (const char **)a->elts;
    qsort(e, a->nelts, sizeof(*e), cmp_str);
    out = apr_pstrdup(p, "");
    for (i = 0, n = 0; i < a->nelts; i++) {
        if (i > 0 && !strcmp(e[i], e[i - 1])) {
            continue;
        }
        out = apr_pstrcat(p, out, n++ ? "," : "", e[i], NULL);
    }
    return out;
}

int qw_modules_has(const char *have, const char *m)
{
    size_t n;
    const char *s;

    if (have == NULL || m == NULL || *m == '\0') {
        return 0;
    }
    n = strlen(m);
    for (s = have; *s; ) {
        const char *end = strchr(s, ',');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len == n && !strncmp(s, m, n)) {
            return 1;
        }
        if (!end) {
            break;
        }
        s = end + 1;
    }
    return 0;
}

int qw_modules_subset(apr_pool_t *p, const char *want, const char *have,
                      const char **missing)
{
    char *copy, *cur, *next;

    if (missing) {
        *missing = NULL;
    }
    if (want == NULL || *want == '\0') {
        return 1;
    }
    copy = apr_pstrdup(p, want);
    for (cur = copy; cur; cur = next) {
        next = strchr(cur, ',');
        if (next) {
            *next++ = '\0';
        }
        if (!qw_modules_has(have, cur)) {
            if (missing) {
                *missing = cur;
            }
            return 0;
        }
    }
    return 1;
}

char *qw_csv_cell(apr_pool_t *p, const char *s)
{
    int formula, quote;
    size_t n, i, o;
    char *out;

    if (s == NULL) {
        return apr_pstrdup(p, "");
    }
    formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    n = strlen(s);
    out = apr_palloc(p, 2 * n + 4);
    o = 0;
    if (quote) {
        out[o++] = '"';
    }
    if (formula) {
        out[o++] = '\'';
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '"') {
            out[o++] = '"';
        }
        out[o++] = s[i];
    }
    if (quote) {
        out[o++] = '"';
    }
    out[o] = '\0';
    return out;
}

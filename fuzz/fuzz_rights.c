/* needs: mod_qiwei/util/rights.c */
/* max_len: 2048 */
/* libFuzzer harness for admin rights parsing (module lists from the admin
 * API and qiweictl: the escalation checks rest on them) and CSV cells (the
 * audit export).  Input: a module list, '\0', a second list.
 * Properties: no crash or overread; a normalized list has only valid,
 * sorted, distinct entries, holds exactly the input's entries, and
 * normalizes to itself; a refusal names an invalid entry of the input;
 * has() and subset() agree with each other and with the entries; a CSV
 * cell parses back (RFC 4180) to the input, with a formula neutralized. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "util/rights.h"

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

/* The entries of a comma separated list ("" has none). */
static apr_array_header_t *entries(apr_pool_t *p, const char *csv)
{
    apr_array_header_t *a = apr_array_make(p, 8, sizeof(char *));
    char *copy = apr_pstrdup(p, csv), *cur, *next;

    if (!*copy) {
        return a;
    }
    for (cur = copy; cur; cur = next) {
        next = strchr(cur, ',');
        if (next) {
            *next++ = '\0';
        }
        APR_ARRAY_PUSH(a, char *) = cur;
    }
    return a;
}

static void check_normalize(apr_pool_t *p, const char *csv)
{
    const char *bad = "unset";
    char *norm = qw_modules_normalize(p, csv, &bad);
    apr_array_header_t *in = entries(p, csv), *out;
    const char *missing;
    int i, found;

    if (norm == NULL) {
        /* bad is one of the input's entries, and invalid */
        if (bad == NULL || qw_module_valid(bad)) {
            abort();
        }
        for (i = 0, found = 0; i < in->nelts; i++) {
            found |= !strcmp(APR_ARRAY_IDX(in, i, char *), bad);
        }
        if (!found) {
            abort();
        }
        return;
    }
    if (bad != NULL || strlen(norm) > strlen(csv)) {
        abort();
    }
    out = entries(p, norm);
    for (i = 0; i < out->nelts; i++) {
        const char *e = APR_ARRAY_IDX(out, i, char *);
        if (!qw_module_valid(e)
            || (i > 0 && strcmp(APR_ARRAY_IDX(out, i - 1, char *), e) >= 0)
            || !qw_modules_has(csv, e)) {
            abort();
        }
    }
    for (i = 0; i < in->nelts; i++) {
        if (!qw_modules_has(norm, APR_ARRAY_IDX(in, i, char *))) {
            abort();
        }
    }
    if (strcmp(qw_modules_normalize(p, norm, NULL), norm)
        || !qw_modules_subset(p, csv, norm, &missing) || missing
        || !qw_modules_subset(p, norm, csv, NULL)) {
        abort();
    }
}

static void check_subset(apr_pool_t *p, const char *want, const char *have)
{
    apr_array_header_t *w = entries(p, want);
    const char *missing = "unset";
    int sub = qw_modules_subset(p, want, have, &missing), all = 1, i;

    for (i = 0; i < w->nelts; i++) {
        all &= qw_modules_has(have, APR_ARRAY_IDX(w, i, char *));
    }
    if (sub != all || (sub ? missing != NULL
                           : (missing == NULL
                              || qw_modules_has(have, missing)))) {
        abort();
    }
}

/* RFC 4180 cell back to text; NULL when malformed. */
static char *csv_unquote(apr_pool_t *p, const char *c)
{
    size_t n = strlen(c), i, o = 0;
    char *out = apr_palloc(p, n + 1);

    if (c[0] != '"') {
        if (strpbrk(c, ",\"\r\n")) {
            return NULL;
        }
        return apr_pstrdup(p, c);
    }
    if (n < 2 || c[n - 1] != '"') {
        return NULL;
    }
    for (i = 1; i < n - 1; i++) {
        if (c[i] == '"') {
            if (c[i + 1] != '"' || i + 1 == n - 1) {
                return NULL;
            }
            i++;
        }
        out[o++] = c[i];
    }
    out[o] = '\0';
    return out;
}

static void check_cell(apr_pool_t *p, const char *s)
{
    char *cell = qw_csv_cell(p, s), *back;
    size_t n = strlen(s);

    if (cell == NULL || strlen(cell) > 2 * n + 3
        || (back = csv_unquote(p, cell)) == NULL) {
        abort();
    }
    /* what a spreadsheet sees starts with no formula character */
    if (*back && strchr("=+-@\t\r", back[0])) {
        abort();
    }
    if (*s && strchr("=+-@\t\r", s[0])) {
        if (back[0] != '\'' || strcmp(back + 1, s)) {
            abort();
        }
    }
    else if (strcmp(back, s)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *a, *b;
    const char *nul = memchr(data, '\0', size);

    apr_pool_create(&p, pool);
    a = apr_pstrmemdup(p, (const char *)data, size);
    b = nul ? apr_pstrmemdup(p, nul + 1, size - (nul + 1 - (const char *)data))
            : QW_ADMIN_MODULES;
    check_normalize(p, a);
    check_normalize(p, b);
    check_subset(p, a, b);
    check_subset(p, b, a);
    check_cell(p, a);
    check_cell(p, b);
    apr_pool_destroy(p);
    return 0;
}

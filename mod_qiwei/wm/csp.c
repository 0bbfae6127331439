/* See csp.h. */
#include <string.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_tables.h>

#include "wm/csp.h"

typedef struct {
    char *name;        /* lower-cased */
    char *value;       /* sources, trimmed */
} directive;

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static char *trim(char *s)
{
    char *e;
    while (is_ws(*s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && is_ws(e[-1])) {
        *--e = '\0';
    }
    return s;
}

/* Split a policy into directives, every one of them: the rewritten policy
 * is built from this list, so a directive left out here (say a
 * script-src 'none' after many others) would be dropped from the page. */
static apr_array_header_t *parse(apr_pool_t *p, const char *policy)
{
    apr_array_header_t *arr = apr_array_make(p, 16, sizeof(directive));
    char *copy = apr_pstrdup(p, policy), *part, *last;

    for (part = apr_strtok(copy, ";", &last); part;
         part = apr_strtok(NULL, ";", &last)) {
        char *t = trim(part), *v = t;
        char *c;
        directive *d;
        if (!*t) {
            continue;
        }
        while (*v && !is_ws(*v)) {
            v++;
        }
        d = apr_array_push(arr);
        d->name = apr_pstrmemdup(p, t, v - t);
        for (c = d->name; *c; c++) {
            *c = apr_tolower(*c);
        }
        d->value = trim(v);
    }
    return arr;
}

static int find(const directive *d, int n, const char *name)
{
    int i;
    for (i = 0; i < n; i++) {
        if (!strcmp(d[i].name, name)) {
            return i;   /* first occurrence wins */
        }
    }
    return -1;
}

/* Does the source list contain token (case-insensitive)?  With prefix set,
 * token is a prefix and *rest gets what follows it. */
static int has_source(apr_pool_t *p, const char *list, const char *token,
                      int prefix, const char **rest)
{
    char *copy = apr_pstrdup(p, list), *w, *last;
    size_t tl = strlen(token);
    for (w = apr_strtok(copy, " \t\n\r\f", &last); w;
         w = apr_strtok(NULL, " \t\n\r\f", &last)) {
        if (prefix ? !strncasecmp(w, token, tl) : !strcasecmp(w, token)) {
            if (rest) {
                *rest = w + tl;
            }
            return 1;
        }
    }
    return 0;
}

static int governing(const directive *d, int n, const char *const *chain)
{
    int i, k;
    for (k = 0; chain[k]; k++) {
        if ((i = find(d, n, chain[k])) >= 0) {
            return i;
        }
    }
    return -1;
}

static const char *const style_chain[] = {
    "style-src-elem", "style-src", "default-src", NULL
};
static const char *const img_chain[] = { "img-src", "default-src", NULL };

/* A header value is a list of policies separated by commas (CSP3, "parse
 * a serialized CSP list"; mod_proxy joins a back-end's repeated headers
 * so), each enforced on its own.  Split it as a browser does: a source
 * added at the end of one policy must not land in the next one's first
 * directive ("img-src 'self', script-src 'none'" must not become
 * "..., script-src 'none' data:", which would let data: scripts run).
 * The policies, trimmed, empty ones left out. */
static apr_array_header_t *policies(apr_pool_t *p, const char *list)
{
    apr_array_header_t *arr = apr_array_make(p, 2, sizeof(char *));
    char *copy = apr_pstrdup(p, list), *part = copy, *comma;

    for (;;) {
        char *t;
        comma = strchr(part, ',');
        if (comma) {
            *comma = '\0';
        }
        t = trim(part);
        if (*t) {
            APR_ARRAY_PUSH(arr, char *) = t;
        }
        if (!comma) {
            return arr;
        }
        part = comma + 1;
    }
}

static const char *style_nonce_one(apr_pool_t *p, const char *policy)
{
    apr_array_header_t *arr;
    const directive *d;
    int i;
    const char *rest;

    arr = parse(p, policy);
    d = (const directive *)arr->elts;
    i = governing(d, arr->nelts, style_chain);
    if (i < 0 || !has_source(p, d[i].value, "'nonce-", 1, &rest)) {
        return NULL;
    }
    /* rest is "XYZ'" */
    if (!*rest || rest[strlen(rest) - 1] != '\'') {
        return NULL;
    }
    return apr_pstrmemdup(p, rest, strlen(rest) - 1);
}

const char *qw_csp_style_nonce(apr_pool_t *p, const char *policy)
{
    apr_array_header_t *list;
    int i;

    if (!policy) {
        return NULL;
    }
    if (!strchr(policy, ',')) {
        return style_nonce_one(p, policy);
    }
    list = policies(p, policy);
    for (i = 0; i < list->nelts; i++) {
        const char *n = style_nonce_one(p, APR_ARRAY_IDX(list, i, char *));
        if (n) {
            return n;
        }
    }
    return NULL;
}

static int inline_allowed(apr_pool_t *p, const char *list, const char *nonce)
{
    if (nonce && has_source(p, list, apr_pstrcat(p, "'nonce-", nonce, "'",
                                                 NULL), 0, NULL)) {
        return 1;
    }
    if (!has_source(p, list, "'unsafe-inline'", 0, NULL)) {
        return 0;
    }
    /* a nonce or hash voids 'unsafe-inline' */
    return !has_source(p, list, "'nonce-", 1, NULL)
           && !has_source(p, list, "'sha256-", 1, NULL)
           && !has_source(p, list, "'sha384-", 1, NULL)
           && !has_source(p, list, "'sha512-", 1, NULL);
}

static const char *add_source(apr_pool_t *p, const char *list,
                              const char *src)
{
    if (!*list || !strcasecmp(list, "'none'")) {
        return src;
    }
    return apr_pstrcat(p, list, " ", src, NULL);
}

/* One policy (no comma): policy itself when nothing had to change. */
static const char *allow_one(apr_pool_t *p, const char *policy,
                             const char *nonce)
{
    apr_array_header_t *arr, *out;
    directive *d;
    int n, i, changed = 0;

    arr = parse(p, policy);
    /* room for the two we may add (a push could move the array) */
    n = arr->nelts;
    apr_array_push(arr);
    apr_array_push(arr);
    d = (directive *)arr->elts;

    i = governing(d, n, style_chain);
    if (i >= 0 && !inline_allowed(p, d[i].value, nonce)) {
        const char *src = nonce ? apr_pstrcat(p, "'nonce-", nonce, "'", NULL)
                                : "'unsafe-inline'";
        if (!strcmp(d[i].name, "default-src")) {
            d[n].name = "style-src";
            d[n].value = (char *)add_source(p, d[i].value, src);
            n++;
        }
        else {
            d[i].value = (char *)add_source(p, d[i].value, src);
        }
        changed = 1;
    }
    i = governing(d, n, img_chain);
    if (i >= 0 && !has_source(p, d[i].value, "data:", 0, NULL)) {
        if (!strcmp(d[i].name, "default-src")) {
            d[n].name = "img-src";
            d[n].value = (char *)add_source(p, d[i].value, "data:");
            n++;
        }
        else {
            d[i].value = (char *)add_source(p, d[i].value, "data:");
        }
        changed = 1;
    }
    if (!changed) {
        return policy;
    }
    out = apr_array_make(p, n, sizeof(const char *));
    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(out, const char *) =
            *d[i].value ? apr_pstrcat(p, d[i].name, " ", d[i].value, NULL)
                        : d[i].name;
    }
    return apr_array_pstrcat(p, out, ';');
}

const char *qw_csp_allow_watermark(apr_pool_t *p, const char *policy,
                                   const char *nonce)
{
    apr_array_header_t *list;
    const char *out = NULL;
    int i, changed = 0;

    if (!policy) {
        return NULL;
    }
    if (!strchr(policy, ',')) {
        return allow_one(p, policy, nonce);
    }
    list = policies(p, policy);
    for (i = 0; i < list->nelts; i++) {
        const char *one = APR_ARRAY_IDX(list, i, char *),
                   *done = allow_one(p, one, nonce);
        changed |= done != one;
        out = out ? apr_pstrcat(p, out, ", ", done, NULL) : done;
    }
    return changed ? out : policy;
}

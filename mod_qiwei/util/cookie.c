/* Cookie header parsing.
 *
 * A header is a list of name=value pairs separated by ';'.  Spaces and tabs
 * around names and values are tolerated (browsers and proxies vary); names
 * must be RFC 7230 tokens and are compared byte for byte; a value must be
 * cookie-octets (RFC 6265 4.1.1), optionally inside one pair of double
 * quotes.  A malformed pair is skipped, the rest of the header still counts:
 * a sibling application's odd cookie must not log our users out. */
#include <string.h>

#include <apr_strings.h>

#include "util/cookie.h"

#define QW_COOKIE_VALUE_MAX 4096

typedef struct {
    const char *name;
    size_t nlen;
    const char *value;   /* quotes removed */
    size_t vlen;
    int value_ok;        /* value well formed and not too long */
} cookie_pair;

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')) {
        return 1;
    }
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_cookie_octet(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x2b) || (c >= 0x2d && c <= 0x3a)
           || (c >= 0x3c && c <= 0x5b) || (c >= 0x5d && c <= 0x7e);
}

/* Parses the pair in [s, end).  Returns 0 when the name is a valid token;
 * value_ok tells whether the value may be used. */
static int parse_pair(const char *s, const char *end, cookie_pair *cp)
{
    const char *eq, *v, *vend;
    size_t i;

    while (s < end && is_ows(*s)) {
        s++;
    }
    while (end > s && is_ows(end[-1])) {
        end--;
    }
    eq = memchr(s, '=', (size_t)(end - s));
    if (eq == NULL) {
        return -1;
    }
    cp->name = s;
    cp->nlen = (size_t)(eq - s);
    while (cp->nlen > 0 && is_ows(s[cp->nlen - 1])) {
        cp->nlen--;
    }
    if (cp->nlen == 0) {
        return -1;
    }
    for (i = 0; i < cp->nlen; i++) {
        if (!is_tchar((unsigned char)s[i])) {
            return -1;
        }
    }

    v = eq + 1;
    vend = end;
    while (v < vend && is_ows(*v)) {
        v++;
    }
    if (vend - v >= 2 && *v == '"' && vend[-1] == '"') {
        v++;
        vend--;
    }
    cp->value = v;
    cp->vlen = (size_t)(vend - v);
    cp->value_ok = cp->vlen <= QW_COOKIE_VALUE_MAX;
    for (i = 0; cp->value_ok && i < cp->vlen; i++) {
        if (!is_cookie_octet((unsigned char)v[i])) {
            cp->value_ok = 0;
        }
    }
    return 0;
}

/* Calls back for every pair with a valid name; stops when fn returns
 * non-zero and returns that. */
static int each_pair(const char *header,
                     int (*fn)(const cookie_pair *cp, void *baton),
                     void *baton)
{
    const char *s = header;

    while (*s != '\0') {
        const char *end = strchr(s, ';');
        cookie_pair cp;
        int rc;

        if (end == NULL) {
            end = s + strlen(s);
        }
        if (parse_pair(s, end, &cp) == 0 && (rc = fn(&cp, baton)) != 0) {
            return rc;
        }
        s = *end ? end + 1 : end;
    }
    return 0;
}

typedef struct {
    const char *name;
    size_t nlen;
    const cookie_pair *found;
    cookie_pair copy;
    int count;
} cookie_search;

static int name_matches(const cookie_pair *cp, const cookie_search *cs)
{
    return cp->nlen == cs->nlen && memcmp(cp->name, cs->name, cs->nlen) == 0;
}

static int find_first(const cookie_pair *cp, void *baton)
{
    cookie_search *cs = baton;

    if (name_matches(cp, cs) && cp->value_ok) {
        cs->copy = *cp;
        cs->found = &cs->copy;
        return 1;
    }
    return 0;
}

static int count_all(const cookie_pair *cp, void *baton)
{
    cookie_search *cs = baton;

    /* Every pair with the name counts, well formed or not: a duplicate is
     * what the caller wants to notice. */
    if (name_matches(cp, cs)) {
        cs->count++;
    }
    return 0;
}

const char *qw_cookie_get(apr_pool_t *p, const char *header, const char *name)
{
    cookie_search cs;

    if (header == NULL || name == NULL || *name == '\0') {
        return NULL;
    }
    memset(&cs, 0, sizeof(cs));
    cs.name = name;
    cs.nlen = strlen(name);
    each_pair(header, find_first, &cs);
    if (cs.found == NULL) {
        return NULL;
    }
    return apr_pstrmemdup(p, cs.found->value, cs.found->vlen);
}

static int find_and_count(const cookie_pair *cp, void *baton)
{
    cookie_search *cs = baton;

    if (name_matches(cp, cs)) {
        cs->count++;
        if (!cs->found && cp->value_ok) {
            cs->copy = *cp;
            cs->found = &cs->copy;
        }
    }
    return 0;
}

const char *qw_cookie_get_counted(apr_pool_t *p, const char *header,
                                  const char *name, int *count)
{
    cookie_search cs;

    *count = 0;
    if (header == NULL || name == NULL || *name == '\0') {
        return NULL;
    }
    memset(&cs, 0, sizeof(cs));
    cs.name = name;
    cs.nlen = strlen(name);
    each_pair(header, find_and_count, &cs);
    *count = cs.count;
    if (cs.found == NULL) {
        return NULL;
    }
    return apr_pstrmemdup(p, cs.found->value, cs.found->vlen);
}

int qw_cookie_count(const char *header, const char *name)
{
    cookie_search cs;

    if (header == NULL || name == NULL || *name == '\0') {
        return 0;
    }
    memset(&cs, 0, sizeof(cs));
    cs.name = name;
    cs.nlen = strlen(name);
    each_pair(header, count_all, &cs);
    return cs.count;
}

/* Is the pair in [s, end) one of names?  Malformed pairs are nobody's. */
static int pair_named(const char *s, const char *end,
                      const char *const *names)
{
    cookie_pair cp;

    if (parse_pair(s, end, &cp) != 0) {
        return 0;
    }
    for (; *names; names++) {
        if (strlen(*names) == cp.nlen && !memcmp(*names, cp.name, cp.nlen)) {
            return 1;
        }
    }
    return 0;
}

const char *qw_cookie_remove(apr_pool_t *p, const char *header,
                             const char *const *names)
{
    const char *s = header;
    char *out, *o;
    int removed = 0;

    if (header == NULL) {
        return NULL;
    }
    o = out = apr_palloc(p, strlen(header) + 1);
    while (*s != '\0') {
        const char *end = strchr(s, ';');

        if (end == NULL) {
            end = s + strlen(s);
        }
        if (pair_named(s, end, names)) {
            removed = 1;
        }
        else {
            const char *a = s;

            while (a < end && is_ows(*a)) {
                a++;
            }
            /* a pair is kept exactly as it came, spaces included, after
             * one ';' (an empty one is dropped): the result is never
             * longer than the header, and every kept pair parses as it
             * did */
            if (a < end) {
                if (o != out) {
                    *o++ = ';';
                }
                memcpy(o, s, (size_t)(end - s));
                o += end - s;
            }
        }
        s = *end ? end + 1 : end;
    }
    /* no spaces left at either end */
    while (o > out && is_ows(o[-1])) {
        o--;
    }
    *o = '\0';
    for (s = out; is_ows(*s); s++) {
    }
    if (!removed) {
        return header;
    }
    return *s ? s : NULL;
}

/* One canonical spelling of a request path: see path.h. */
#include <string.h>

#include "util/path.h"

static int is_trailing(unsigned char c)
{
    return c == '.' || c == ' ';
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* What is known of the segment being read. */
typedef struct {
    size_t len;                 /* bytes in the segment */
    size_t namelen;             /* bytes before the first ';' */
    int params;                 /* a ';' was seen */
    int dots;                   /* the name so far is all '.' */
    unsigned char name_last, seg_last;
} seg_state;

static void seg_reset(seg_state *g)
{
    memset(g, 0, sizeof(*g));
    g->dots = 1;
}

static void seg_byte(seg_state *g, unsigned char b)
{
    g->len++;
    g->seg_last = b;
    if (g->params) {
        return;
    }
    if (b == ';') {
        g->params = 1;
        return;
    }
    g->namelen++;
    g->name_last = b;
    if (b != '.') {
        g->dots = 0;
    }
}

static qw_path_verdict seg_end(const seg_state *g, int last)
{
    if (g->len == 0) {
        return last ? QW_PATH_CANONICAL : QW_PATH_EMPTY_SEGMENT;
    }
    if (g->dots && g->namelen >= 1 && g->namelen <= 2) {
        return QW_PATH_DOT_SEGMENT;
    }
    if ((g->namelen && is_trailing(g->name_last)) || is_trailing(g->seg_last)) {
        return QW_PATH_TRAILING_DOT;
    }
    if (g->params && !last) {
        return QW_PATH_PARAM;
    }
    return QW_PATH_CANONICAL;
}

/* The rules over s[0..n), percent-decoding first when decode. */
static qw_path_verdict walk(const char *s, size_t n, int decode)
{
    seg_state g;
    qw_path_verdict v;
    size_t i = 1;
    int b, hi, lo, enc;

    if (n == 0 || s[0] != '/') {
        return QW_PATH_NOT_ABSOLUTE;
    }
    seg_reset(&g);
    while (i < n) {
        b = (unsigned char)s[i];
        enc = 0;
        if (decode && b == '%' && n - i > 2
            && (hi = hexval((unsigned char)s[i + 1])) >= 0
            && (lo = hexval((unsigned char)s[i + 2])) >= 0) {
            b = hi * 16 + lo;
            enc = 1;
            i += 3;
        }
        else {
            i++;
        }
        if (b == '\\') {
            return enc ? QW_PATH_ENCODED_SLASH : QW_PATH_BACKSLASH;
        }
        if (b == '/') {
            if (enc) {
                return QW_PATH_ENCODED_SLASH;
            }
            if ((v = seg_end(&g, 0)) != QW_PATH_CANONICAL) {
                return v;
            }
            seg_reset(&g);
            continue;
        }
        seg_byte(&g, (unsigned char)b);
    }
    return seg_end(&g, 1);
}

const char *qw_path_verdict_text(qw_path_verdict v)
{
    switch (v) {
    case QW_PATH_CANONICAL:     return "canonical";
    case QW_PATH_NOT_ABSOLUTE:  return "not starting with /";
    case QW_PATH_EMPTY_SEGMENT: return "empty segment (//)";
    case QW_PATH_DOT_SEGMENT:   return "dot segment (/./ or /../)";
    case QW_PATH_ENCODED_SLASH: return "encoded slash or backslash";
    case QW_PATH_BACKSLASH:     return "backslash";
    case QW_PATH_TRAILING_DOT:  return "segment ending in a dot or space";
    case QW_PATH_PARAM:         return "';' parameter before the last "
                                       "segment";
    }
    return "?";
}

static int is_scheme_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

const char *qw_path_of_target(const char *target, size_t *len)
{
    const char *p = target;
    size_t k = 0;

    if (!p) {
        *len = 0;
        return "";
    }
    if (*p != '/') {
        while (is_scheme_char(p[k])) {
            k++;
        }
        if (k > 0 && !strncmp(p + k, "://", 3)) {
            p += k + 3;
            p += strcspn(p, "/?#");     /* the authority */
        }
    }
    *len = strcspn(p, "?#");
    return p;
}

qw_path_verdict qw_path_check(const char *uri, const char *raw,
                              size_t rawlen)
{
    qw_path_verdict v;

    if (raw && rawlen && (v = walk(raw, rawlen, 1)) != QW_PATH_CANONICAL) {
        return v;
    }
    return walk(uri, strlen(uri), 0);
}

/* n without the trailing dots and spaces of s[0..n). */
static size_t trim(const char *s, size_t n)
{
    while (n && is_trailing((unsigned char)s[n - 1])) {
        n--;
    }
    return n;
}

char *qw_path_canonical(apr_pool_t *p, const char *uri)
{
    size_t n = strlen(uri), pos = 0, e, o = 0, depth = 0;
    size_t namelen, seglen, tn, tp;
    size_t *starts = apr_palloc(p, (n / 2 + 2) * sizeof(*starts));
    char *out = apr_palloc(p, n + 3);
    const char *seg;
    int last, slash = 0;

    if (uri[0] == '/' || uri[0] == '\\') {
        pos = 1;
    }
    for (;;) {
        e = pos + strcspn(uri + pos, "/\\");
        last = uri[e] == '\0';
        seg = uri + pos;
        seglen = e - pos;
        namelen = strcspn(seg, ";/\\");
        if (namelen > seglen) {
            namelen = seglen;
        }
        slash = 0;
        if ((namelen == 1 || namelen == 2) && !strncmp(seg, "..", namelen)) {
            if (namelen == 2 && depth > 0) {
                o = starts[--depth];
            }
            slash = 1;
        }
        else {
            tn = trim(seg, namelen);
            tp = last ? trim(seg + namelen, seglen - namelen) : 0;
            if (tn + tp == 0) {
                slash = 1;
            }
            else {
                starts[depth++] = o;
                out[o++] = '/';
                memcpy(out + o, seg, tn);
                o += tn;
                memcpy(out + o, seg + namelen, tp);
                o += tp;
            }
        }
        if (last) {
            break;
        }
        pos = e + 1;
    }
    if (slash || o == 0) {
        out[o++] = '/';
    }
    out[o] = '\0';
    return out;
}

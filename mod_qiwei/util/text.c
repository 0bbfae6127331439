/* Small pure text helpers: language choice, redirect targets, escaping,
 * identifier validation, UTF-8 checks. */
#include <string.h>
#include <strings.h>

#include <apr_strings.h>

#include "util/text.h"

#define QW_LOCAL_PATH_MAX 2048
#define QW_LANG_TAG_MAX 64

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* Trims OWS off [*s, *e). */
static void trim(const char **s, const char **e)
{
    while (*s < *e && is_ows(**s)) {
        (*s)++;
    }
    while (*e > *s && is_ows((*e)[-1])) {
        (*e)--;
    }
}

/* RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"], as 0..1000. */
static int parse_qvalue(const char *s, const char *e)
{
    int q, i, scale = 100;

    if (s == e || (*s != '0' && *s != '1')) {
        return -1;
    }
    q = (*s - '0') * 1000;
    s++;
    if (s == e) {
        return q;
    }
    if (*s != '.' || e - s > 4) {
        return -1;
    }
    for (s++, i = 0; s < e; s++, i++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        q += (*s - '0') * scale;
        scale /= 10;
    }
    return q > 1000 ? -1 : q;
}

/* Language of a range: 1 zh, 0 en, 2 '*', -1 other or malformed. */
static int classify_range(const char *s, const char *e)
{
    size_t len = (size_t)(e - s), i;

    if (len == 1 && *s == '*') {
        return 2;
    }
    if (len < 2 || len > QW_LANG_TAG_MAX) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (!is_alnum(s[i]) && s[i] != '-') {
            return -1;
        }
    }
    if (len > 2 && s[2] != '-') {
        return -1;
    }
    if (lower(s[0]) == 'z' && lower(s[1]) == 'h') {
        return 1;
    }
    if (lower(s[0]) == 'e' && lower(s[1]) == 'n') {
        return 0;
    }
    return -1;
}

qw_lang qw_lang_pick(const char *accept_language, qw_lang dflt)
{
    const char *s = accept_language;
    qw_lang best = dflt;
    int best_q = 0;

    if (s == NULL) {
        return dflt;
    }
    while (*s != '\0') {
        const char *item_end = strchr(s, ',');
        const char *rs, *re, *ps;
        int q = 1000, which;

        if (item_end == NULL) {
            item_end = s + strlen(s);
        }
        /* The range, then ';'-separated parameters of which only q counts. */
        rs = s;
        re = memchr(s, ';', (size_t)(item_end - s));
        if (re == NULL) {
            re = item_end;
        }
        ps = re;
        trim(&rs, &re);
        which = classify_range(rs, re);
        while (which >= 0 && ps < item_end) {
            const char *pe, *pn;

            ps++;
            pe = memchr(ps, ';', (size_t)(item_end - ps));
            if (pe == NULL) {
                pe = item_end;
            }
            pn = ps;
            ps = pe;
            trim(&pn, &pe);
            if (pe - pn >= 2 && lower(pn[0]) == 'q' && pn[1] == '=') {
                q = parse_qvalue(pn + 2, pe);
                if (q < 0) {
                    which = -1;
                }
            }
        }
        /* Strictly greater: among equal q-values the first one wins. */
        if (which >= 0 && q > best_q) {
            best_q = q;
            best = which == 2 ? dflt : (which == 1 ? QW_LANG_ZH : QW_LANG_EN);
        }
        s = *item_end ? item_end + 1 : item_end;
    }
    return best;
}

int qw_safe_local_path(const char *s)
{
    size_t i;

    if (s == NULL || s[0] != '/' || s[1] == '/' || s[1] == '\\') {
        return 0;
    }
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (i >= QW_LOCAL_PATH_MAX) {
            return 0;
        }
        /* Browsers drop TAB/CR/LF inside URLs and read '\' as '/', so any of
         * them could turn "/" + "\t/evil" into "//evil".  Raw non-ASCII has
         * no business in a request URI either. */
        if (c <= 0x20 || c >= 0x7f || c == '\\') {
            return 0;
        }
    }
    return 1;
}

char *qw_escape_html(apr_pool_t *p, const char *s)
{
    size_t len = 0, i;
    char *out, *o;

    if (s == NULL) {
        return apr_pstrdup(p, "");
    }
    for (i = 0; s[i] != '\0'; i++) {
        switch (s[i]) {
        case '&': len += 5; break;
        case '<': case '>': len += 4; break;
        case '"': len += 6; break;
        case '\'': len += 5; break;
        default: len++; break;
        }
    }
    out = o = apr_palloc(p, len + 1);
    for (i = 0; s[i] != '\0'; i++) {
        const char *rep;

        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: *o++ = s[i]; continue;
        }
        memcpy(o, rep, strlen(rep));
        o += strlen(rep);
    }
    *o = '\0';
    return out;
}

static int is_unreserved(char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

char *qw_escape_urlc(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = 0, i;
    char *out, *o;

    if (s == NULL) {
        return apr_pstrdup(p, "");
    }
    for (i = 0; s[i] != '\0'; i++) {
        len += is_unreserved(s[i]) ? 1 : 3;
    }
    out = o = apr_palloc(p, len + 1);
    for (i = 0; s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];

        if (is_unreserved(s[i])) {
            *o++ = s[i];
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0x0f];
        }
    }
    *o = '\0';
    return out;
}

/* first(s[0]) && rest(s[1..]) && 1 <= len <= max */
static int valid_ident(const char *s, size_t max, int (*first)(char),
                       int (*rest)(char))
{
    size_t i;

    if (s == NULL || !first(s[0])) {
        return 0;
    }
    for (i = 1; s[i] != '\0'; i++) {
        if (i >= max || !rest(s[i])) {
            return 0;
        }
    }
    return 1;
}

static int account_rest(char c)
{
    return is_lower_alnum(c) || c == '.' || c == '_' || c == '@' || c == '-';
}

static int enterprise_rest(char c)
{
    return is_lower_alnum(c) || c == '-';
}

static int department_rest(char c)
{
    return is_alnum(c) || c == '_' || c == '.' || c == '-';
}

/* These mirror the CHECK constraints in sql/001_foundation.sql. */
int qw_valid_account(const char *s)
{
    return valid_ident(s, 64, is_lower_alnum, account_rest);
}

int qw_valid_enterprise_code(const char *s)
{
    return valid_ident(s, 63, is_lower_alnum, enterprise_rest);
}

int qw_valid_department_code(const char *s)
{
    return valid_ident(s, 63, is_alnum, department_rest);
}

char *qw_ascii_lower(apr_pool_t *p, const char *s)
{
    char *out, *o;

    if (s == NULL) {
        return NULL;
    }
    out = o = apr_pstrdup(p, s);
    for (; *o != '\0'; o++) {
        *o = lower(*o);
    }
    return out;
}

long qw_utf8_count(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    long n = 0;

    if (s == NULL) {
        return len == 0 ? 0 : -1;
    }
    while (i < len) {
        unsigned char c = u[i];
        unsigned long cp;
        size_t need, k;

        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f) {
                return -1;
            }
            i++;
            n++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        }
        else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        }
        else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        }
        else {
            /* 0x80..0xc1 (continuation, overlong lead) and 0xf5..0xff */
            return -1;
        }
        if (len - i <= need) {
            return -1;
        }
        for (k = 1; k <= need; k++) {
            if ((u[i + k] & 0xc0) != 0x80) {
                return -1;
            }
            cp = (cp << 6) | (u[i + k] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)
            || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)
            || (cp >= 0x80 && cp <= 0x9f)) {
            return -1;
        }
        i += need + 1;
        n++;
    }
    return n;
}

int qw_valid_utf8_text(const char *s, size_t len)
{
    return qw_utf8_count(s, len) >= 0;
}

char *qw_sanitize_text(apr_pool_t *p, const char *s, size_t max)
{
    size_t n, i = 0, o = 0, k;
    char *out;

    if (s == NULL) {
        return NULL;
    }
    n = strlen(s);
    out = apr_palloc(p, (n < max ? n : max) + 1);
    while (i < n && o < max) {
        unsigned char c = (unsigned char)s[i];
        /* length of the character starting here, if it is a valid one */
        k = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2
            : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (k == 0 || i + k > n || !qw_valid_utf8_text(s + i, k)) {
            out[o++] = '?';
            i++;
            continue;
        }
        if (o + k > max) {
            break;
        }
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    return out;
}

const char *qw_path_cut_lengths(apr_pool_t *p, const char *s, long max)
{
    size_t len = strlen(s), i, off = 0;
    long chars = 0;
    /* at most one entry per character up to max, each of at most 5 digits
     * and a comma while max < 100000 */
    size_t cap = 6 * (size_t)(max > 0 ? max : 0) + 3;
    char *buf = apr_palloc(p, cap);

    buf[off++] = '{';
    for (i = 0; i < len; i++) {
        if (i > 0 && (s[i] == '/' || s[i] == ';' || s[i - 1] == '/')) {
            if (chars > max) {
                break;
            }
            off += apr_snprintf(buf + off, cap - off, "%s%ld",
                                off > 1 ? "," : "", chars);
        }
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            chars++;            /* s[i] starts a character */
        }
    }
    buf[off++] = '}';
    buf[off] = '\0';
    return buf;
}

/* The length of the Cache-Control directive at s (up to a ',' outside a
 * quoted string). */
static size_t cc_directive_len(const char *s)
{
    size_t i = 0;
    int quoted = 0;

    for (; s[i] && (quoted || s[i] != ','); i++) {
        if (s[i] == '"') {
            quoted = !quoted;
        }
        else if (s[i] == '\\' && quoted && s[i + 1]) {
            i++;
        }
    }
    return i;
}

const char *qw_cache_control_private(apr_pool_t *p, const char *value)
{
    const char *s = value ? value : "";
    char *out = apr_palloc(p, strlen(s) + sizeof(", private"));
    char *o = out;
    int has_private = 0;

    while (*s) {
        size_t n = cc_directive_len(s), m;
        const char *a = s, *z = s + n;

        s = *z ? z + 1 : z;
        while (a < z && is_ows(*a)) {
            a++;
        }
        while (z > a && is_ows(z[-1])) {
            z--;
        }
        m = (size_t)(z - a);
        if (m == 0 || (m == 6 && !strncasecmp(a, "public", 6))
            || (m > 7 && !strncasecmp(a, "private", 7)
                && (a[7] == '=' || is_ows(a[7])))) {
            /* public says the opposite; private="field" only hides the
             * fields it names: both go, a plain private takes their place */
            continue;
        }
        if (m == 7 && !strncasecmp(a, "private", 7)) {
            has_private = 1;
        }
        if (o != out) {
            *o++ = ',';
            *o++ = ' ';
        }
        memcpy(o, a, m);
        o += m;
    }
    if (!has_private) {
        if (o != out) {
            *o++ = ',';
            *o++ = ' ';
        }
        memcpy(o, "private", 7);
        o += 7;
    }
    *o = '\0';
    return out;
}

long qw_parse_seconds_ms(const char *s, long max_s)
{
    long whole = 0, frac = 0, scale = 100;
    const char *p = s;

    if (!s || *p < '0' || *p > '9') {
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        whole = whole * 10 + (*p - '0');
        if (whole > max_s) {
            return -1;
        }
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            if (!scale) {
                return -1;          /* a fourth place */
            }
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (*p || (whole == max_s && frac)) {
        return -1;
    }
    return whole * 1000 + frac;
}

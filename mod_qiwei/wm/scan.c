/* Watermark: streaming insertion-point scanner and markup renderer.
 * See scan.h for the contract.  The scanner is a subset of the WHATWG HTML
 * tokenizer (13.2.5) that keeps every state deciding where a tag starts and
 * ends, and drops what only matters for building tokens or parse errors. */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wm/scan.h"

enum {
    S_DATA = 0,
    S_TAG_OPEN,             /* after '<' */
    S_END_TAG_OPEN,         /* after "</" */
    S_TAG_NAME,
    S_BEFORE_ATTR_NAME,     /* also "after attribute value (quoted)" and
                             * "self-closing start tag": same transitions
                             * apart from parse errors */
    S_ATTR_NAME,
    S_AFTER_ATTR_NAME,
    S_BEFORE_ATTR_VALUE,
    S_ATTR_VALUE_DQ,
    S_ATTR_VALUE_SQ,
    S_ATTR_VALUE_UNQ,
    S_MARKUP_DECL,          /* after "<!" */
    S_MARKUP_DECL_DASH,     /* after "<!-" */
    S_BOGUS_COMMENT,        /* <!DOCTYPE>, <?xml?>, <![CDATA[ in HTML, </1> */
    S_COMMENT_START,
    S_COMMENT_START_DASH,
    S_COMMENT,
    S_COMMENT_END_DASH,
    S_COMMENT_END,
    S_COMMENT_END_BANG,
    S_RAWTEXT,              /* also RCDATA: the difference is entities */
    S_RAWTEXT_LT,
    S_RAWTEXT_END,          /* matching "</name"; on mismatch back to ret */
    S_SCRIPT,
    S_SCRIPT_LT,
    S_SCRIPT_ESC_START,
    S_SCRIPT_ESC_START_DASH,
    S_SCRIPT_ESC,
    S_SCRIPT_ESC_DASH,
    S_SCRIPT_ESC_DASH_DASH,
    S_SCRIPT_ESC_LT,
    S_SCRIPT_DESC_START,
    S_SCRIPT_DESC,
    S_SCRIPT_DESC_DASH,
    S_SCRIPT_DESC_DASH_DASH,
    S_SCRIPT_DESC_LT,
    S_SCRIPT_DESC_END,
    S_PLAINTEXT
};

/* What a start tag switches the tokenizer to. */
enum { K_NONE = 0, K_BODY, K_SCRIPT, K_RAW, K_PLAIN };

static const struct {
    const char *name;
    unsigned char len;
    unsigned char mode;
} kinds[] = {
    { "",          0, K_NONE },
    { "body",      4, K_BODY },
    { "script",    6, K_SCRIPT },
    { "style",     5, K_RAW },
    { "textarea",  8, K_RAW },
    { "title",     5, K_RAW },
    { "xmp",       3, K_RAW },
    { "iframe",    6, K_RAW },
    { "noembed",   7, K_RAW },
    { "noframes",  8, K_RAW },
    /* Raw text when scripting is enabled, as in every browser we serve;
     * with scripting off the later real <body> still gets the mark. */
    { "noscript",  8, K_RAW },
    { "plaintext", 9, K_PLAIN },
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))
#define KIND_SCRIPT 2

#define NAME_OVER 0xff  /* nlen: name too long or temp buffer mismatch */

#define IS_WS(c) ((c) == ' ' || (c) == '\n' || (c) == '\t' || (c) == '\f' \
                  || (c) == '\r')
#define IS_ALPHA(c) ((unsigned)(((c) | 0x20) - 'a') < 26u)
#define LOWER(c) (((c) >= 'A' && (c) <= 'Z') ? ((c) | 0x20) : (c))

void qw_wm_scan_init(qw_wm_scanner *s)
{
    memset(s, 0, sizeof(*s));
    s->state = S_DATA;
    s->result = QW_WM_MORE;
    s->limit = QW_WM_SCAN_LIMIT_DEFAULT;
}

void qw_wm_scan_set_limit(qw_wm_scanner *s, uint64_t limit)
{
    s->limit = limit;
}

uint64_t qw_wm_scan_seen(const qw_wm_scanner *s)
{
    return s->seen;
}

int qw_wm_scan_in_data(const qw_wm_scanner *s)
{
    return s->state == S_DATA;
}

static int in_tag(int state)
{
    return state >= S_TAG_OPEN && state <= S_ATTR_VALUE_UNQ;
}

static unsigned lookup_kind(const qw_wm_scanner *s)
{
    unsigned k;

    for (k = 1; k < NKINDS; k++) {
        if (kinds[k].len == s->nlen
            && memcmp(kinds[k].name, s->name, s->nlen) == 0) {
            return k;
        }
    }
    return 0;
}

/* The '>' of a tag was consumed.  Returns 1 for the body start tag. */
static int tag_end(qw_wm_scanner *s)
{
    unsigned k;

    s->state = S_DATA;
    if (s->is_end) {
        return 0;
    }
    k = lookup_kind(s);
    switch (kinds[k].mode) {
    case K_BODY:
        return 1;
    case K_SCRIPT:
        s->state = S_SCRIPT;
        break;
    case K_RAW:
        s->state = S_RAWTEXT;
        break;
    case K_PLAIN:
        s->state = S_PLAINTEXT;
        break;
    }
    s->kind = (unsigned char)k;
    return 0;
}

/* Match one byte of "</name" (name = kinds[s->kind]) after "</".  Returns 1
 * if the byte was consumed, 0 if it must be reconsumed in another state. */
static int rawtext_end(qw_wm_scanner *s, unsigned char c)
{
    unsigned len = kinds[s->kind].len;

    if (s->nlen < len) {
        if (LOWER(c) == (unsigned char)kinds[s->kind].name[s->nlen]) {
            s->nlen++;
            return 1;
        }
    }
    else if (IS_WS(c) || c == '/') {
        /* An appropriate end tag: its attributes are tokenized as usual. */
        s->is_end = 1;
        s->state = S_BEFORE_ATTR_NAME;
        return 1;
    }
    else if (c == '>') {
        s->state = S_DATA;
        return 1;
    }
    s->state = s->ret;
    return 0;
}

/* Temp-buffer match against "script" for the double-escape states. */
static void temp_match(qw_wm_scanner *s, unsigned char c)
{
    if (s->nlen < 6 && LOWER(c) == (unsigned char)"script"[s->nlen]) {
        s->nlen++;
    }
    else {
        s->nlen = NAME_OVER;
    }
}

int qw_wm_scan_feed(qw_wm_scanner *s, const char *buf, size_t len,
                    size_t *offset)
{
    const unsigned char *p = (const unsigned char *)buf;
    const unsigned char *q;
    size_t i = 0, end;
    unsigned char c;

    if (s->result != QW_WM_MORE) {
        return QW_WM_DONE;
    }
    while (i < len) {
        /* end: how far a memchr() span may go before the limit check. */
        end = len;
        if (s->limit && !in_tag(s->state)) {
            uint64_t here = s->seen + i;

            if (here >= s->limit) {
                s->seen = here;
                s->result = QW_WM_GIVEUP;
                *offset = i;
                return QW_WM_GIVEUP;
            }
            if (s->limit - here < (uint64_t)(len - i)) {
                end = i + (size_t)(s->limit - here);
            }
        }
        c = p[i];
        switch (s->state) {
        case S_DATA:
            q = memchr(p + i, '<', end - i);
            if (q == NULL) {
                i = end;
                continue;
            }
            i = (size_t)(q - p) + 1;
            s->state = S_TAG_OPEN;
            continue;

        case S_TAG_OPEN:
            if (IS_ALPHA(c)) {
                s->is_end = 0;
                s->nlen = 0;
                s->state = S_TAG_NAME;
                continue;
            }
            if (c == '!') {
                s->state = S_MARKUP_DECL;
            }
            else if (c == '/') {
                s->state = S_END_TAG_OPEN;
            }
            else if (c == '?') {
                s->state = S_BOGUS_COMMENT;
            }
            else {
                s->state = S_DATA;      /* "<" was text; reconsume */
                continue;
            }
            break;

        case S_END_TAG_OPEN:
            if (IS_ALPHA(c)) {
                s->is_end = 1;
                s->nlen = 0;
                s->state = S_TAG_NAME;
                continue;
            }
            if (c == '>') {
                s->state = S_DATA;      /* "</>" is dropped */
                break;
            }
            s->state = S_BOGUS_COMMENT;
            continue;

        case S_TAG_NAME:
            if (IS_WS(c) || c == '/') {
                s->state = S_BEFORE_ATTR_NAME;
            }
            else if (c == '>') {
                if (tag_end(s)) {
                    goto found;
                }
            }
            else if (s->nlen < QW_WM_NAME_MAX) {
                s->name[s->nlen++] = (char)LOWER(c);
            }
            else {
                s->nlen = NAME_OVER;
            }
            break;

        case S_BEFORE_ATTR_NAME:
            if (c == '>') {
                if (tag_end(s)) {
                    goto found;
                }
            }
            else if (!IS_WS(c) && c != '/') {
                s->state = S_ATTR_NAME; /* includes a leading '=' */
            }
            break;

        case S_ATTR_NAME:
            if (IS_WS(c)) {
                s->state = S_AFTER_ATTR_NAME;
            }
            else if (c == '/') {
                s->state = S_BEFORE_ATTR_NAME;
            }
            else if (c == '=') {
                s->state = S_BEFORE_ATTR_VALUE;
            }
            else if (c == '>') {
                if (tag_end(s)) {
                    goto found;
                }
            }
            break;

        case S_AFTER_ATTR_NAME:
            if (c == '/') {
                s->state = S_BEFORE_ATTR_NAME;
            }
            else if (c == '=') {
                s->state = S_BEFORE_ATTR_VALUE;
            }
            else if (c == '>') {
                if (tag_end(s)) {
                    goto found;
                }
            }
            else if (!IS_WS(c)) {
                s->state = S_ATTR_NAME;
            }
            break;

        case S_BEFORE_ATTR_VALUE:
            if (c == '"') {
                s->state = S_ATTR_VALUE_DQ;
            }
            else if (c == '\'') {
                s->state = S_ATTR_VALUE_SQ;
            }
            else if (c == '>') {
                if (tag_end(s)) {
                    goto found;
                }
            }
            else if (!IS_WS(c)) {
                s->state = S_ATTR_VALUE_UNQ;
            }
            break;

        case S_ATTR_VALUE_DQ:
        case S_ATTR_VALUE_SQ:
            q = memchr(p + i, s->state == S_ATTR_VALUE_DQ ? '"' : '\'',
                       len - i);
            if (q == NULL) {
                i = len;
                continue;
            }
            i = (size_t)(q - p) + 1;
            s->state = S_BEFORE_ATTR_NAME;
            continue;

        case S_ATTR_VALUE_UNQ:
            if (IS_WS(c)) {
                s->state = S_BEFORE_ATTR_NAME;
            }
            else if (c == '>') {
                if (tag_end(s)) {
                    goto found;
                }
            }
            break;

        case S_MARKUP_DECL:
            if (c == '-') {
                s->state = S_MARKUP_DECL_DASH;
                break;
            }
            s->state = S_BOGUS_COMMENT;
            continue;

        case S_MARKUP_DECL_DASH:
            if (c == '-') {
                s->state = S_COMMENT_START;
                break;
            }
            s->state = S_BOGUS_COMMENT;
            continue;

        case S_BOGUS_COMMENT:
            q = memchr(p + i, '>', end - i);
            if (q == NULL) {
                i = end;
                continue;
            }
            i = (size_t)(q - p) + 1;
            s->state = S_DATA;
            continue;

        case S_COMMENT_START:
            if (c == '-') {
                s->state = S_COMMENT_START_DASH;
            }
            else if (c == '>') {
                s->state = S_DATA;      /* "<!-->" */
            }
            else {
                s->state = S_COMMENT;
                continue;
            }
            break;

        case S_COMMENT_START_DASH:
            if (c == '-') {
                s->state = S_COMMENT_END;
            }
            else if (c == '>') {
                s->state = S_DATA;      /* "<!--->" */
            }
            else {
                s->state = S_COMMENT;
                continue;
            }
            break;

        case S_COMMENT:
            q = memchr(p + i, '-', end - i);
            if (q == NULL) {
                i = end;
                continue;
            }
            i = (size_t)(q - p) + 1;
            s->state = S_COMMENT_END_DASH;
            continue;

        case S_COMMENT_END_DASH:
            if (c == '-') {
                s->state = S_COMMENT_END;
                break;
            }
            s->state = S_COMMENT;
            continue;

        case S_COMMENT_END:
            if (c == '>') {
                s->state = S_DATA;
            }
            else if (c == '!') {
                s->state = S_COMMENT_END_BANG;
            }
            else if (c != '-') {
                s->state = S_COMMENT;
                continue;
            }
            break;

        case S_COMMENT_END_BANG:
            if (c == '-') {
                s->state = S_COMMENT_END_DASH;
            }
            else if (c == '>') {
                s->state = S_DATA;      /* "--!>" */
            }
            else {
                s->state = S_COMMENT;
                continue;
            }
            break;

        case S_RAWTEXT:
        case S_SCRIPT:
            q = memchr(p + i, '<', end - i);
            if (q == NULL) {
                i = end;
                continue;
            }
            i = (size_t)(q - p) + 1;
            s->state = s->state == S_RAWTEXT ? S_RAWTEXT_LT : S_SCRIPT_LT;
            continue;

        case S_RAWTEXT_LT:
            if (c == '/') {
                s->nlen = 0;
                s->ret = S_RAWTEXT;
                s->state = S_RAWTEXT_END;
                break;
            }
            s->state = S_RAWTEXT;
            continue;

        case S_RAWTEXT_END:
            if (rawtext_end(s, c)) {
                break;
            }
            continue;

        case S_SCRIPT_LT:
            if (c == '/') {
                s->nlen = 0;
                s->ret = S_SCRIPT;
                s->state = S_RAWTEXT_END;
            }
            else if (c == '!') {
                s->state = S_SCRIPT_ESC_START;
            }
            else {
                s->state = S_SCRIPT;
                continue;
            }
            break;

        case S_SCRIPT_ESC_START:
            if (c == '-') {
                s->state = S_SCRIPT_ESC_START_DASH;
                break;
            }
            s->state = S_SCRIPT;
            continue;

        case S_SCRIPT_ESC_START_DASH:
            if (c == '-') {
                s->state = S_SCRIPT_ESC_DASH_DASH;
                break;
            }
            s->state = S_SCRIPT;
            continue;

        case S_SCRIPT_ESC:
        case S_SCRIPT_ESC_DASH:
        case S_SCRIPT_ESC_DASH_DASH:
            if (c == '-') {
                s->state = s->state == S_SCRIPT_ESC ? S_SCRIPT_ESC_DASH
                                                    : S_SCRIPT_ESC_DASH_DASH;
            }
            else if (c == '<') {
                s->state = S_SCRIPT_ESC_LT;
            }
            else if (c == '>' && s->state == S_SCRIPT_ESC_DASH_DASH) {
                s->state = S_SCRIPT;
            }
            else {
                s->state = S_SCRIPT_ESC;
            }
            break;

        case S_SCRIPT_ESC_LT:
            if (c == '/') {
                s->nlen = 0;
                s->ret = S_SCRIPT_ESC;
                s->state = S_RAWTEXT_END;
                break;
            }
            if (IS_ALPHA(c)) {
                s->nlen = 0;
                s->state = S_SCRIPT_DESC_START;
            }
            else {
                s->state = S_SCRIPT_ESC;
            }
            continue;

        case S_SCRIPT_DESC_START:
        case S_SCRIPT_DESC_END:
            if (IS_WS(c) || c == '/' || c == '>') {
                int is_script = s->nlen == 6;

                if (s->state == S_SCRIPT_DESC_START) {
                    s->state = is_script ? S_SCRIPT_DESC : S_SCRIPT_ESC;
                }
                else {
                    s->state = is_script ? S_SCRIPT_ESC : S_SCRIPT_DESC;
                }
            }
            else if (IS_ALPHA(c)) {
                temp_match(s, c);
            }
            else {
                s->state = s->state == S_SCRIPT_DESC_START ? S_SCRIPT_ESC
                                                           : S_SCRIPT_DESC;
                continue;
            }
            break;

        case S_SCRIPT_DESC:
        case S_SCRIPT_DESC_DASH:
        case S_SCRIPT_DESC_DASH_DASH:
            if (c == '-') {
                s->state = s->state == S_SCRIPT_DESC
                           ? S_SCRIPT_DESC_DASH : S_SCRIPT_DESC_DASH_DASH;
            }
            else if (c == '<') {
                s->state = S_SCRIPT_DESC_LT;
            }
            else if (c == '>' && s->state == S_SCRIPT_DESC_DASH_DASH) {
                s->state = S_SCRIPT;
            }
            else {
                s->state = S_SCRIPT_DESC;
            }
            break;

        case S_SCRIPT_DESC_LT:
            if (c == '/') {
                s->nlen = 0;
                s->state = S_SCRIPT_DESC_END;
                break;
            }
            s->state = S_SCRIPT_DESC;
            continue;

        case S_PLAINTEXT:
        default:
            /* No way out: the rest of the document is text. */
            i = end;
            continue;
        }
        i++;
    }
    s->seen += len;
    return QW_WM_MORE;

found:
    s->seen += i + 1;
    s->result = QW_WM_FOUND;
    *offset = i + 1;
    return QW_WM_FOUND;
}

const char *qw_wm_scan_finish(qw_wm_scanner *s)
{
    const char *quote = "";
    unsigned k;

    if (s->result == QW_WM_FOUND) {
        return NULL;
    }
    if (s->result == QW_WM_GIVEUP) {
        return "";
    }
    switch (s->state) {
    case S_DATA:
    case S_TAG_OPEN:        /* a lone '<' is text */
        return "";
    case S_END_TAG_OPEN:    /* "</" + ">" is dropped by the parser */
    case S_MARKUP_DECL:
    case S_MARKUP_DECL_DASH:
    case S_BOGUS_COMMENT:
        return ">";
    case S_COMMENT_START:
    case S_COMMENT_START_DASH:
    case S_COMMENT:
    case S_COMMENT_END_DASH:
    case S_COMMENT_END:
    case S_COMMENT_END_BANG:
        return "-->";
    case S_RAWTEXT:
    case S_RAWTEXT_LT:
    case S_RAWTEXT_END:
        k = s->kind;
        break;
    case S_SCRIPT:
    case S_SCRIPT_LT:
    case S_SCRIPT_ESC_START:
    case S_SCRIPT_ESC_START_DASH:
    case S_SCRIPT_ESC:
    case S_SCRIPT_ESC_DASH:
    case S_SCRIPT_ESC_DASH_DASH:
    case S_SCRIPT_ESC_LT:
    case S_SCRIPT_DESC_START:
        return "</script>";
    case S_SCRIPT_DESC:
    case S_SCRIPT_DESC_DASH:
    case S_SCRIPT_DESC_DASH_DASH:
    case S_SCRIPT_DESC_LT:
    case S_SCRIPT_DESC_END:
        /* The first end tag only leaves the double-escaped state. */
        return "</script></script>";
    case S_PLAINTEXT:
        return NULL;
    default:
        /* Inside a tag: close it.  The parser would have dropped a tag cut
         * by EOF; closing it keeps our markup out of it.  If the tag opens
         * raw text, close that element too. */
        if (s->state == S_ATTR_VALUE_DQ) {
            quote = "\"";
        }
        else if (s->state == S_ATTR_VALUE_SQ) {
            quote = "'";
        }
        k = s->is_end ? 0 : lookup_kind(s);
        if (kinds[k].mode == K_PLAIN) {
            return NULL;
        }
        if (kinds[k].mode != K_RAW && kinds[k].mode != K_SCRIPT) {
            k = 0;
        }
        apr_snprintf(s->closer, sizeof(s->closer), "%s>%s%s%s", quote,
                     k ? "</" : "", kinds[k].name, k ? ">" : "");
        return s->closer;
    }
    apr_snprintf(s->closer, sizeof(s->closer), "</%s>", kinds[k].name);
    return s->closer;
}


/* ---- Renderer ---- */

/* sin(d degrees) * 1000 for d = 0..90: the tile must fit the rotated text,
 * and this keeps libm (and locale-dependent float printing) out. */
static const short sin_milli[91] = {
    0, 17, 35, 52, 70, 87, 105, 122, 139, 156, 174, 191, 208, 225, 242, 259,
    276, 292, 309, 326, 342, 358, 375, 391, 407, 423, 438, 454, 469, 485, 500,
    515, 530, 545, 559, 574, 588, 602, 616, 629, 643, 656, 669, 682, 695, 707,
    719, 731, 743, 755, 766, 777, 788, 799, 809, 819, 829, 839, 848, 857, 866,
    875, 883, 891, 899, 906, 914, 921, 927, 934, 940, 946, 951, 956, 961, 966,
    970, 974, 978, 982, 985, 988, 990, 993, 995, 996, 998, 999, 999, 1000, 1000
};

void qw_wm_style_init(qw_wm_style *st)
{
    st->opacity = 0.10;
    st->angle = -24;
    st->font_px = 16;
    st->tile_w = 240;
    st->tile_h = 160;
    st->fill = "#1f1f1f";
    st->stroke = "#ffffff";
}

static int clamp_int(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static int valid_colour(const char *c)
{
    int i;

    if (c == NULL || c[0] != '#') {
        return 0;
    }
    for (i = 1; i <= 6; i++) {
        if (!apr_isxdigit(c[i])) {
            return 0;
        }
    }
    return c[7] == '\0';
}

static int valid_nonce(const char *n)
{
    size_t i = 0, eq = 0;

    for (; n[i] && i <= 256; i++) {
        unsigned char c = (unsigned char)n[i];

        if (c == '=') {
            eq++;
        }
        else if (eq || !(apr_isalnum(c) || c == '+' || c == '/'
                         || c == '-' || c == '_')) {
            return 0;
        }
    }
    return i > eq && i <= 256 && eq <= 2;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid.
 * Rejects overlongs, surrogates and values above U+10FFFF; *cp gets the
 * code point. */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], v, min;
    size_t len, k;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2; v = c & 0x1f; min = 0x80;
    }
    else if (c >= 0xe0 && c <= 0xef) {
        len = 3; v = c & 0x0f; min = 0x800;
    }
    else if (c >= 0xf0 && c <= 0xf4) {
        len = 4; v = c & 0x07; min = 0x10000;
    }
    else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80) {
            return 0;
        }
        v = (v << 6) | (s[k] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
        return 0;
    }
    *cp = v;
    return len;
}

/* Characters that would let a name hide or reorder itself. */
static int is_hidden_cp(unsigned cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)
        || (cp >= 0x200b && cp <= 0x200f)      /* zero width, LRM, RLM */
        || (cp >= 0x202a && cp <= 0x202e)      /* embeddings, overrides */
        || (cp >= 0x2066 && cp <= 0x2069)      /* isolates */
        || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff;
}

/* Sanitised copy of the text (see scan.h); *narrow and *wide count the
 * code points for the width estimate. */
static char *clean_text(apr_pool_t *p, const char *text, int *narrow,
                        int *wide)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t n = strlen((const char *)s), i = 0, o = 0, len;
    char *out = apr_palloc(p, QW_WM_TEXT_MAX + 1);
    unsigned cp;

    *narrow = *wide = 0;
    while (i < n) {
        len = utf8_seq(s + i, n - i, &cp);
        if (len == 0) {
            cp = '?';
            len = 1;
        }
        else if (is_hidden_cp(cp)) {
            cp = ' ';
        }
        if (cp < 0x80) {
            if (o + 1 > QW_WM_TEXT_MAX) {
                break;
            }
            out[o++] = (char)cp;
            (*narrow)++;
        }
        else {
            if (o + len > QW_WM_TEXT_MAX) {
                break;
            }
            memcpy(out + o, s + i, len);
            o += len;
            (*wide)++;
        }
        i += len;
    }
    out[o] = '\0';
    return out;
}

static char *xml_escape(apr_pool_t *p, const char *s)
{
    size_t n = 0;
    const char *c;
    char *out, *o;

    for (c = s; *c; c++) {
        n += *c == '&' ? 5 : (*c == '<' || *c == '>') ? 4
             : (*c == '"' || *c == '\'') ? 6 : 1;
    }
    o = out = apr_palloc(p, n + 1);
    for (c = s; *c; c++) {
        switch (*c) {
        case '&':  memcpy(o, "&amp;", 5);  o += 5; break;
        case '<':  memcpy(o, "&lt;", 4);   o += 4; break;
        case '>':  memcpy(o, "&gt;", 4);   o += 4; break;
        case '"':  memcpy(o, "&quot;", 6); o += 6; break;
        case '\'': memcpy(o, "&apos;", 6); o += 6; break;
        default:   *o++ = *c;
        }
    }
    *o = '\0';
    return out;
}

/* Append s to o percent-encoded: all but RFC 3986 unreserved characters,
 * so the result is inert in a CSS string, in <style> and in HTML.  Returns
 * the new end.  o must have room for 3 * strlen(s) bytes. */
static const unsigned char unreserved[256] = {   /* A-Z a-z 0-9 - . _ ~ */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static char *pct_put(char *o, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *c;

    /* a table rather than apr_isalnum() and four compares: this runs over
     * the whole SVG on every watermarked response */
    for (c = (const unsigned char *)s; *c; c++) {
        if (unreserved[*c]) {
            *o++ = (char)*c;
        }
        else {
            *o++ = '%';
            *o++ = hex[*c >> 4];
            *o++ = hex[*c & 15];
        }
    }
    return o;
}

/* Append the decimal form of v (no encoding needed: digits and '-'). */
static char *put_int(char *o, int v)
{
    char tmp[12];
    int n = 0;
    unsigned u = v < 0 ? 0u - (unsigned)v : (unsigned)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *o++ = '-';
    }
    while (n) {
        *o++ = tmp[--n];
    }
    return o;
}

static char *put_str(char *o, const char *s, size_t n)
{
    memcpy(o, s, n);
    return o + n;
}
#define PUT(o, lit) put_str((o), (lit), sizeof(lit) - 1)

/* The tile as an SVG document, percent-encoded for a data: URI, written
 * straight into one buffer: the constant pieces are spelled already
 * encoded (their plain text in the comment beside each; the unit test
 * decodes the whole and compares it with the plain document), the numbers
 * need no encoding, and only the colours and the name go through
 * pct_put().  This runs on every watermarked response. */
static char *svg_encoded(apr_pool_t *p, int w, int h, int a, int font_px,
                         const char *fill, const char *stroke,
                         int opacity_milli, const char *text_xml)
{
    /* the pieces and the opacity's ".ddd": 426 bytes; 8 numbers of at
     * most 11; colours and name at most 3 bytes a byte */
    size_t cap = 512 + 8 * 11 + 3 * (strlen(fill) + strlen(stroke)
                                     + strlen(text_xml)) + 1;
    char *out = apr_palloc(p, cap), *o = out;

    /* <svg xmlns="http://www.w3.org/2000/svg" width="W */
    o = PUT(o, "%3Csvg%20xmlns%3D%22http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg"
               "%22%20width%3D%22");
    o = put_int(o, w);
    o = PUT(o, "%22%20height%3D%22");                   /* " height=" */
    o = put_int(o, h);
    o = PUT(o, "%22%3E%3Ctext%20x%3D%22");              /* "><text x=" */
    o = put_int(o, w / 2);
    o = PUT(o, "%22%20y%3D%22");                        /* " y=" */
    o = put_int(o, h / 2);
    o = PUT(o, "%22%20transform%3D%22rotate%28");      /* " transform="rotate( */
    o = put_int(o, a);
    o = PUT(o, "%20");
    o = put_int(o, w / 2);
    o = PUT(o, "%20");
    o = put_int(o, h / 2);
    /* )" text-anchor="middle" dominant-baseline="middle"
     * font-family="sans-serif" font-size=" */
    o = PUT(o, "%29%22%20text-anchor%3D%22middle%22%20dominant-baseline"
               "%3D%22middle%22%20font-family%3D%22sans-serif%22%20"
               "font-size%3D%22");
    o = put_int(o, font_px);
    o = PUT(o, "%22%20fill%3D%22");                     /* " fill=" */
    o = pct_put(o, fill);
    o = PUT(o, "%22%20stroke%3D%22");                   /* " stroke=" */
    o = pct_put(o, stroke);
    /* " stroke-width="1" paint-order="stroke" opacity=" */
    o = PUT(o, "%22%20stroke-width%3D%221%22%20paint-order%3D%22stroke"
               "%22%20opacity%3D%22");
    o = put_int(o, opacity_milli / 1000);
    *o++ = '.';
    *o++ = (char)('0' + opacity_milli % 1000 / 100);
    *o++ = (char)('0' + opacity_milli % 100 / 10);
    *o++ = (char)('0' + opacity_milli % 10);
    o = PUT(o, "%22%3E");                               /* "> */
    o = pct_put(o, text_xml);
    o = PUT(o, "%3C%2Ftext%3E%3C%2Fsvg%3E");            /* </text></svg> */
    *o = '\0';
    return out;
}

#define WM_ID "qiwei-wm"
#define WM_SEL "#" WM_ID "#" WM_ID "#" WM_ID    /* specificity (3,0,0) */

const char *qw_wm_render(apr_pool_t *p, const qw_wm_style *style,
                         const char *text, const char *nonce)
{
    qw_wm_style st;
    const char *fill, *stroke, *svg, *nonce_attr = "";
    char *clean;
    int narrow, wide, opacity_milli, a, s_m, c_m, tw, th, w, h;
    long text_w;

    if (nonce != NULL) {
        if (!valid_nonce(nonce)) {
            return NULL;
        }
        nonce_attr = apr_pstrcat(p, " nonce=\"", nonce, "\"", NULL);
    }
    qw_wm_style_init(&st);
    if (style != NULL) {
        st = *style;
    }
    /* NaN fails both comparisons and gets the default. */
    if (st.opacity >= 0.02 && st.opacity <= 1.0) {
        opacity_milli = (int)(st.opacity * 1000.0 + 0.5);
    }
    else if (st.opacity > 1.0) {
        opacity_milli = 1000;
    }
    else if (st.opacity < 0.02) {
        opacity_milli = 20;
    }
    else {
        opacity_milli = 100;
    }
    a = clamp_int(st.angle, -90, 90);
    st.font_px = clamp_int(st.font_px, 8, 96);
    tw = clamp_int(st.tile_w, 40, 2000);
    th = clamp_int(st.tile_h, 40, 2000);
    fill = valid_colour(st.fill) ? st.fill : "#1f1f1f";
    stroke = valid_colour(st.stroke) ? st.stroke : "#ffffff";

    clean = clean_text(p, text, &narrow, &wide);

    /* Grow the tile to the rotated text's bounding box plus a margin, so
     * that a long name is not cut at the tile edges. */
    text_w = ((long)narrow * 60 + (long)wide * 100) * st.font_px / 100;
    s_m = sin_milli[a < 0 ? -a : a];
    c_m = sin_milli[90 - (a < 0 ? -a : a)];
    w = (int)((text_w * c_m + (long)st.font_px * s_m) / 1000)
        + 2 * st.font_px;
    h = (int)((text_w * s_m + (long)st.font_px * c_m) / 1000)
        + 2 * st.font_px;
    w = w > tw ? (w > 4000 ? 4000 : w) : tw;
    h = h > th ? (h > 4000 ? 4000 : h) : th;

    svg = svg_encoded(p, w, h, a, st.font_px, fill, stroke, opacity_milli,
                      xml_escape(p, clean));

    /* all:initial first, then ours: every property of the page's CSS that
     * could hide, move or shrink the layer is reset at top specificity. */
    return apr_pstrcat(p,
        "<style", nonce_attr, ">" WM_SEL "{"
        "all:initial!important;"
        "display:block!important;"
        "position:fixed!important;"
        "top:0!important;right:0!important;bottom:0!important;"
        "left:0!important;"
        "margin:0!important;padding:0!important;border:0!important;"
        "z-index:2147483647!important;"
        "pointer-events:none!important;"
        "-webkit-user-select:none!important;user-select:none!important;"
        "visibility:visible!important;opacity:1!important;"
        "background-color:transparent!important;"
        "background-image:url(\"data:image/svg+xml,", svg,
        "\")!important;"
        "background-repeat:repeat!important;"
        "background-position:0 0!important;"
        "-webkit-print-color-adjust:exact!important;"
        "print-color-adjust:exact!important;"
        "color-adjust:exact!important}"
        "@media print{" WM_SEL "{display:block!important;"
        "position:fixed!important;visibility:visible!important}}"
        "</style><div id=\"" WM_ID "\" aria-hidden=\"true\"></div>",
        NULL);
}

char *qw_wm_format(apr_pool_t *p, const char *tmpl, const char *name,
                   const char *short_id, const char *time_str)
{
    static const char *const keys[] = { "{name}", "{id}", "{time}" };
    const char *vals[3];
    size_t klen[3], vlen[3], n = 0;
    const char *t;
    char *out, *o;
    int pass, k;

    vals[0] = name ? name : "";
    vals[1] = short_id ? short_id : "";
    vals[2] = time_str ? time_str : "";
    for (k = 0; k < 3; k++) {
        klen[k] = strlen(keys[k]);
        vlen[k] = strlen(vals[k]);
    }
    if (tmpl == NULL) {
        tmpl = QW_WM_FORMAT_DEFAULT;
    }
    /* Pass 0 measures, pass 1 writes. */
    out = o = NULL;
    for (pass = 0; pass < 2; pass++) {
        for (t = tmpl; *t; ) {
            for (k = 0; k < 3; k++) {
                if (*t == '{' && strncmp(t, keys[k], klen[k]) == 0) {
                    break;
                }
            }
            if (k < 3) {
                if (pass) {
                    memcpy(o, vals[k], vlen[k]);
                    o += vlen[k];
                }
                else {
                    n += vlen[k];
                }
                t += klen[k];
            }
            else {
                if (pass) {
                    *o++ = *t;
                }
                else {
                    n++;
                }
                t++;
            }
        }
        if (!pass) {
            out = o = apr_palloc(p, n + 1);
        }
    }
    *o = '\0';
    return out;
}

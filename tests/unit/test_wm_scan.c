/* Watermark scanner and renderer.  Every scanner case is run whole, at every
 * two-chunk split, byte by byte and (for short documents) at every
 * three-chunk split: the insertion point must not depend on the split. */
#include <stdlib.h>
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "wm/scan.h"

/* '^' marks where the watermark goes; no '^' means "append at the end".
 * closer: what qw_wm_scan_finish() must say when there is no body. */
typedef struct {
    const char *doc;
    const char *closer;
} scan_case;

#define NOBODY_NULL "(null)"

static const scan_case cases[] = {
    { "<!DOCTYPE html><html><head><title>t</title></head><body>^<p>hi</p>"
      "</body></html>", NULL },
    /* '>' inside quoted attribute values */
    { "<html><body data-x=\"a>b\" data-y='c>d' data-z=\"'\">^x", NULL },
    { "<body a\"b='>'>^", NULL },
    { "<body a=b\"c>^d", NULL },
    /* comments */
    { "<!-- <body> --><body>^", NULL },
    { "<!--><body>^", NULL },
    { "<!---><body>^", NULL },
    { "<!-- a --!><body>^", NULL },
    { "<!-- -- - --><body>^", NULL },
    { "<!-- <body>", "-->" },
    { "<!-- x --", "-->" },
    /* raw text and RCDATA */
    { "<script>var s=\"<body>\";</script><body>^", NULL },
    { "<SCRIPT>x</ScRiPt ><BODY>^", NULL },
    { "<script>x</scriptx><body></script><body>^", NULL },
    { "<script>a<!--b</script><body>^", NULL },
    { "<script><!-- <script> </script> <body> --></script><body>^", NULL },
    { "<script><!--<script>--></script><body>^", NULL },
    { "<script><!--<script></script><body>", "</script>" },
    { "<script><!--<script><body>", "</script></script>" },
    { "<script>if (a<b) x();", "</script>" },
    { "<style>body{} /* <body> */</style ><body>^", NULL },
    { "<style>x</sty", "</style>" },
    { "<title><body></title><textarea><body></textarea\n><body>^", NULL },
    { "<noscript><body></noscript><body>^", NULL },
    { "<xmp><body></xmp><iframe><body></iframe><body>^", NULL },
    { "<plaintext><body>", NOBODY_NULL },
    /* names */
    { "<BODY CLASS=X>^", NULL },
    { "<bOdY\tclass=x>^", NULL },
    { "<bodyx><body>^", NULL },
    { "<bodyx>", "" },
    { "<body/>^", NULL },
    { "<body\x0b><body>^", NULL },
    { "</body><body>^", NULL },
    { "</p a=\"<body>\"><body>^", NULL },
    /* prologs */
    { "<?xml version=\"1.0\" encoding=\"utf-8\"?><!DOCTYPE html PUBLIC "
      "\"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/"
      "DTD/xhtml1-strict.dtd\"><html xmlns=\"http://www.w3.org/1999/xhtml\">"
      "<body>^", NULL },
    { "<![CDATA[ x ]]><body>^", NULL },
    { "<![CDATA[<body>]]><body>^", NULL },
    /* whitespace and newlines */
    { "<body\nclass=\"a\nb\"\r\nonload='x>y'\n>^", NULL },
    { "<body\n>^\n", NULL },
    /* no body, or a body cut by the end */
    { "<html><p>hi</p></html>", "" },
    { "", "" },
    { "<p>x</p><body", ">" },
    { "<p>x</p><body class=\"a>", "\">" },
    { "<p>x</p><body class='a>", "'>" },
    { "<script", "></script>" },
    { "<div title='x", "'>" },
    { "<p>x</", ">" },
    { "<!", ">" },
    { "<!DOCTYPE html", ">" },
    { "a <", "" },
    /* stray '<' in text */
    { "a < b <<body>^", NULL },
    { "<1body><body>^", NULL },
    { "< body><body>^", NULL },
};

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

/* Feed doc cut at cuts[0..ncuts-1]; absolute insertion offset or -1. */
static long scan_cuts(qw_wm_scanner *s, const char *doc, size_t len,
                      const size_t *cuts, int ncuts)
{
    size_t start = 0, stop, off = 9999;
    int i, rc;

    qw_wm_scan_init(s);
    for (i = 0; i <= ncuts; i++) {
        stop = i < ncuts ? cuts[i] : len;
        rc = qw_wm_scan_feed(s, doc + start, stop - start, &off);
        if (rc == QW_WM_FOUND) {
            ck_assert_uint_ge(off, 1);
            ck_assert_uint_le(off, stop - start);
            ck_assert_int_eq(qw_wm_scan_feed(s, "<body>", 6, &off),
                             QW_WM_DONE);
            return (long)(start + off);
        }
        ck_assert_int_eq(rc, QW_WM_MORE);
        start = stop;
    }
    return -1;
}

START_TEST(scan_cases)
{
    const scan_case *c = &cases[_i];
    const char *mark = strchr(c->doc, '^');
    char *doc;
    size_t len, a, b;
    long want, got;
    qw_wm_scanner s;
    const char *closer;

    /* The marker is removed to get the document. */
    if (mark != NULL) {
        want = (long)(mark - c->doc);
        doc = apr_pstrcat(pool, apr_pstrmemdup(pool, c->doc, mark - c->doc),
                          mark + 1, NULL);
    }
    else {
        want = -1;
        doc = apr_pstrdup(pool, c->doc);
    }
    len = strlen(doc);

    got = scan_cuts(&s, doc, len, NULL, 0);
    ck_assert_msg(got == want, "case %d whole: got %ld want %ld",
                  _i, got, want);
    if (want >= 0) {
        ck_assert_int_eq(doc[want - 1], '>');
        ck_assert_ptr_null(qw_wm_scan_finish(&s));
    }
    else {
        closer = qw_wm_scan_finish(&s);
        if (strcmp(c->closer, NOBODY_NULL) == 0) {
            ck_assert_ptr_null(closer);
        }
        else {
            size_t off;
            int rc;

            ck_assert_ptr_nonnull(closer);
            ck_assert_str_eq(closer, c->closer);
            /* Closer + markup: the markup must be parsed as a tag. */
            rc = qw_wm_scan_feed(&s, apr_pstrcat(pool, closer, "<i>", NULL),
                                 strlen(closer) + 3, &off);
            if (rc == QW_WM_FOUND) {
                /* "<body" cut by the end: the closer completes it. */
                ck_assert_uint_eq(off, strlen(closer));
            }
            else {
                ck_assert_int_eq(rc, QW_WM_MORE);
                ck_assert_msg(qw_wm_scan_in_data(&s), "case %d closer", _i);
            }
        }
    }

    for (a = 0; a <= len; a++) {
        got = scan_cuts(&s, doc, len, &a, 1);
        ck_assert_msg(got == want, "case %d split %zu: got %ld want %ld",
                      _i, a, got, want);
        if (want < 0 && strcmp(c->closer, NOBODY_NULL) != 0) {
            ck_assert_str_eq(qw_wm_scan_finish(&s), c->closer);
        }
    }
    {
        size_t *cuts = calloc(len + 1, sizeof(*cuts));

        for (a = 0; a < len; a++) {
            cuts[a] = a + 1;
        }
        got = scan_cuts(&s, doc, len, cuts, (int)len);
        free(cuts);
        ck_assert_msg(got == want, "case %d bytewise: got %ld want %ld",
                      _i, got, want);
    }
    if (len <= 80) {
        for (a = 0; a <= len; a++) {
            for (b = a; b <= len; b++) {
                size_t cuts[2];

                cuts[0] = a;
                cuts[1] = b;
                got = scan_cuts(&s, doc, len, cuts, 2);
                ck_assert_msg(got == want, "case %d split %zu,%zu", _i, a, b);
            }
        }
    }
}
END_TEST

/* A few offsets spelled out, independent of the marker convention. */
START_TEST(scan_explicit_offsets)
{
    qw_wm_scanner s;

    ck_assert_int_eq(scan_cuts(&s, "<body>", 6, NULL, 0), 6);
    ck_assert_int_eq(scan_cuts(&s, "<body>x", 7, NULL, 0), 6);
    ck_assert_int_eq(scan_cuts(&s, "<!-- <body> --><body>", 21, NULL, 0),
                     21);
    ck_assert_int_eq(scan_cuts(&s, "<body a='>'>", 12, NULL, 0), 12);
    ck_assert_int_eq(scan_cuts(&s, "<bodyx>", 7, NULL, 0), -1);
    ck_assert_int_eq(scan_cuts(&s, "<BODY/>", 7, NULL, 0), 7);
}
END_TEST

/* A 100 KB attribute in the body tag needs no buffering. */
START_TEST(scan_huge_attribute)
{
    size_t n = 100 * 1024, len, a, off;
    char *doc = malloc(n + 64);
    qw_wm_scanner s;
    int rc;

    strcpy(doc, "<head></head><body data-x=\"");
    len = strlen(doc);
    memset(doc + len, '>', n);
    len += n;
    memcpy(doc + len, "\">x", 4);
    len += 3;
    for (a = 0; a <= len; a += 997) {
        ck_assert_int_eq(scan_cuts(&s, doc, len, &a, 1), (long)len - 1);
    }
    /* Limit far below the tag's end: the tag is still read to its end. */
    qw_wm_scan_init(&s);
    qw_wm_scan_set_limit(&s, 20);
    rc = qw_wm_scan_feed(&s, doc, len, &off);
    ck_assert_int_eq(rc, QW_WM_FOUND);
    ck_assert_uint_eq(off, len - 1);
    free(doc);
}
END_TEST

static int scan_limited(const char *doc, size_t cut, uint64_t limit,
                        uint64_t *pos)
{
    qw_wm_scanner s;
    size_t len = strlen(doc), off = 0;
    int rc;

    if (cut > len) {
        cut = len;
    }
    qw_wm_scan_init(&s);
    qw_wm_scan_set_limit(&s, limit);
    rc = qw_wm_scan_feed(&s, doc, cut, &off);
    if (rc == QW_WM_MORE) {
        rc = qw_wm_scan_feed(&s, doc + cut, len - cut, &off);
        off += cut;
    }
    *pos = rc == QW_WM_MORE ? 0 : off;
    if (rc == QW_WM_GIVEUP) {
        ck_assert_str_eq(qw_wm_scan_finish(&s), "");
        ck_assert_uint_eq(qw_wm_scan_seen(&s), off);
    }
    return rc;
}

START_TEST(scan_limit)
{
    static const char *doc1 = "<p>xxxxxxxxxxxxxxxxxxx<body>";
    static const char *doc2 = "<div title=\"abc\">yyyy<body>";
    static const char *doc3 = "<!-- long comment --><body>";
    uint64_t pos;
    size_t cut;

    for (cut = 0; cut <= strlen(doc1); cut++) {
        ck_assert_int_eq(scan_limited(doc1, cut, 10, &pos), QW_WM_GIVEUP);
        ck_assert_uint_eq(pos, 10);
        /* Limit reached at a tag: read it, then give up after it. */
        ck_assert_int_eq(scan_limited(doc2, cut, 3, &pos), QW_WM_GIVEUP);
        ck_assert_uint_eq(pos, 17);
        ck_assert_int_eq(scan_limited(doc3, cut, 5, &pos), QW_WM_GIVEUP);
        ck_assert_uint_eq(pos, 5);
        /* Body starting before the limit and ending after it. */
        ck_assert_int_eq(scan_limited(doc2, cut, 22, &pos), QW_WM_FOUND);
        ck_assert_uint_eq(pos, strlen(doc2));
        ck_assert_int_eq(scan_limited(doc1, cut, 0, &pos), QW_WM_FOUND);
        ck_assert_uint_eq(pos, strlen(doc1));
    }
}
END_TEST

/* ---- Renderer ---- */

static int count_char(const char *s, char c)
{
    int n = 0;

    for (; *s; s++) {
        n += *s == c;
    }
    return n;
}

static int count_str(const char *s, const char *needle)
{
    int n = 0;

    while ((s = strstr(s, needle)) != NULL) {
        n++;
        s++;
    }
    return n;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Check the markup's structure and return the decoded SVG. */
static char *decoded_svg(const char *html)
{
    const char *u, *e, *c;
    char *out, *o;

    ck_assert_ptr_nonnull(html);
    ck_assert_int_eq(count_char(html, '<'), 4);
    ck_assert_int_eq(count_char(html, '>'), 4);
    ck_assert_int_eq(count_str(html, "</style"), 1);
    ck_assert_int_eq(count_str(html, "url("), 1);
    u = strstr(html, "url(\"data:image/svg+xml,");
    ck_assert_ptr_nonnull(u);
    u += strlen("url(\"data:image/svg+xml,");
    e = strstr(u, "\")!important;");
    ck_assert_ptr_nonnull(e);
    out = o = apr_palloc(pool, (size_t)(e - u) + 1);
    for (c = u; c < e; c++) {
        ck_assert_msg(strchr("abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%", *c)
                      != NULL, "raw %02x in url", (unsigned char)*c);
        if (*c == '%') {
            ck_assert(c + 2 < e);
            ck_assert_int_ge(hexval(c[1]), 0);
            ck_assert_int_ge(hexval(c[2]), 0);
            *o++ = (char)(hexval(c[1]) * 16 + hexval(c[2]));
            c += 2;
        }
        else {
            *o++ = *c;
        }
    }
    *o = '\0';
    ck_assert_int_eq(strncmp(out, "<svg xmlns=\"http://www.w3.org/2000/svg\"",
                             39), 0);
    ck_assert_int_eq(count_char(out, '<'), 4);
    ck_assert_int_eq(count_char(out, '>'), 4);
    ck_assert_int_eq(count_str(out, "</text></svg>"), 1);
    return out;
}

/* The text content of the SVG, with the five XML entities decoded; any
 * other '&' fails. */
static char *svg_text(const char *svg)
{
    static const char *ent[] = { "&amp;", "&lt;", "&gt;", "&quot;",
                                 "&apos;" };
    static const char rep[] = "&<>\"'";
    const char *t = strstr(svg, "<text "), *e, *c;
    char *out, *o;
    int k;

    ck_assert_ptr_nonnull(t);
    t = strchr(t, '>') + 1;
    e = strstr(t, "</text>");
    out = o = apr_palloc(pool, (size_t)(e - t) + 1);
    for (c = t; c < e; ) {
        ck_assert(*c != '"' && *c != '\'');
        if (*c != '&') {
            *o++ = *c++;
            continue;
        }
        for (k = 0; k < 5; k++) {
            if (strncmp(c, ent[k], strlen(ent[k])) == 0) {
                break;
            }
        }
        ck_assert_msg(k < 5, "bad entity in %s", t);
        *o++ = rep[k];
        c += strlen(ent[k]);
    }
    *o = '\0';
    return out;
}

START_TEST(render_defaults)
{
    const char *h = qw_wm_render(pool, NULL, "Alice", "r4nd0m+/_-==");
    char *svg;

    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(strncmp(h, "<style nonce=\"r4nd0m+/_-==\">#", 29), 0);
    ck_assert_ptr_nonnull(strstr(h, "</style><div id=\"qiwei-wm\" "
                                    "aria-hidden=\"true\"></div>"));
    ck_assert_ptr_null(strstr(h, "style=\""));
    ck_assert_ptr_null(strstr(h, "script"));
    ck_assert_ptr_nonnull(strstr(h, "position:fixed!important"));
    ck_assert_ptr_nonnull(strstr(h, "pointer-events:none!important"));
    ck_assert_ptr_nonnull(strstr(h, "z-index:2147483647!important"));
    ck_assert_ptr_nonnull(strstr(h, "-webkit-print-color-adjust:exact"));
    ck_assert_ptr_nonnull(strstr(h, ";print-color-adjust:exact"));
    ck_assert_ptr_nonnull(strstr(h, "@media print{"));
    /* Every declaration is !important. */
    ck_assert_int_eq(count_char(h, ';') + 2, count_str(h, "!important"));
    svg = decoded_svg(h);
    /* the whole document, so a piece spelled wrongly in its encoded form
     * (scan.c writes them pre-encoded) shows */
    ck_assert_str_eq(svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"240\" "
        "height=\"160\"><text x=\"120\" y=\"80\" "
        "transform=\"rotate(-24 120 80)\" text-anchor=\"middle\" "
        "dominant-baseline=\"middle\" font-family=\"sans-serif\" "
        "font-size=\"16\" fill=\"#1f1f1f\" stroke=\"#ffffff\" "
        "stroke-width=\"1\" paint-order=\"stroke\" "
        "opacity=\"0.100\">Alice</text></svg>");
    ck_assert_str_eq(svg_text(svg), "Alice");
    ck_assert_ptr_nonnull(strstr(svg, "width=\"240\" height=\"160\""));
    ck_assert_ptr_nonnull(strstr(svg, "rotate(-24 120 80)"));
    ck_assert_ptr_nonnull(strstr(svg, "font-size=\"16\""));
    ck_assert_ptr_nonnull(strstr(svg, "fill=\"#1f1f1f\""));
    ck_assert_ptr_nonnull(strstr(svg, "stroke=\"#ffffff\""));
    ck_assert_ptr_nonnull(strstr(svg, "opacity=\"0.100\""));

    h = qw_wm_render(pool, NULL, "Alice", NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(strncmp(h, "<style>#", 8), 0);
    ck_assert_ptr_null(strstr(h, "nonce"));
    decoded_svg(h);
}
END_TEST

START_TEST(render_nonce_checked)
{
    char big[300];

    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", "a\"b"));
    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", "a b"));
    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", ""));
    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", "=="));
    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", "ab=c"));
    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", "abc==="));
    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", "x><script>"));
    ck_assert_ptr_nonnull(qw_wm_render(pool, NULL, "a", "abc=="));
    memset(big, 'A', 256);
    big[256] = '\0';
    ck_assert_ptr_nonnull(qw_wm_render(pool, NULL, "a", big));
    memset(big, 'A', 257);
    big[257] = '\0';
    ck_assert_ptr_null(qw_wm_render(pool, NULL, "a", big));
}
END_TEST

static const struct {
    const char *name;
    const char *shown;
} hostile[] = {
    { "</style><script>alert(1)</script>",
      "</style><script>alert(1)</script>" },
    { "\"); background:url(x", "\"); background:url(x" },
    { "')\\\\) } </div>", "')\\\\) } </div>" },
    { "a&b<c>d\"e'f&amp;", "a&b<c>d\"e'f&amp;" },
    { "line1\nline2\ttab\r\x7f", "line1 line2 tab  " },
    { "\xe5\xbc\xa0\xe4\xb8\x89 \xf0\x9f\x98\x80", /* Chinese + emoji */
      "\xe5\xbc\xa0\xe4\xb8\x89 \xf0\x9f\x98\x80" },
    { "%3C%22%27 #x", "%3C%22%27 #x" },
    { "]]><!-- -->", "]]><!-- -->" },
    { "\xe2\x80\xae" "evil", " evil" },                 /* RLO */
    { "a\xff\xfe" "b\xc0\xaf" "c\xed\xa0\x80", "a??b??c???" },
    { "\xc2\x85" "x", " x" },                           /* C1 NEL */
    { "", "" },
};

START_TEST(render_hostile_names)
{
    const char *h = qw_wm_render(pool, NULL, hostile[_i].name, "n0nce");

    ck_assert_str_eq(svg_text(decoded_svg(h)), hostile[_i].shown);
}
END_TEST

START_TEST(render_long_text_cut)
{
    char name[601], *svg, *t;
    size_t i;

    /* "界" is 3 bytes: 200 bytes hold 66 of them. */
    for (i = 0; i < 600; i += 3) {
        memcpy(name + i, "\xe7\x95\x8c", 3);
    }
    name[600] = '\0';
    svg = decoded_svg(qw_wm_render(pool, NULL, name, NULL));
    t = svg_text(svg);
    ck_assert_uint_eq(strlen(t), 198);
    ck_assert_int_eq(memcmp(t, name, 198), 0);
    /* The tile grew to fit the text. */
    ck_assert_ptr_null(strstr(svg, "width=\"240\""));

    memset(name, '&', 600);
    t = svg_text(decoded_svg(qw_wm_render(pool, NULL, name, NULL)));
    ck_assert_uint_eq(strlen(t), 200);
    ck_assert_int_eq(count_char(t, '&'), 200);
}
END_TEST

START_TEST(render_style_clamped)
{
    qw_wm_style st;
    char *svg;

    qw_wm_style_init(&st);
    st.opacity = 5.0;
    st.angle = 500;
    st.font_px = 1000;
    st.fill = "red";
    st.stroke = "#ABCDEF";
    st.tile_w = 1;
    st.tile_h = 100000;
    svg = decoded_svg(qw_wm_render(pool, &st, "x", NULL));
    ck_assert_ptr_nonnull(strstr(svg, "opacity=\"1.000\""));
    ck_assert_ptr_nonnull(strstr(svg, "font-size=\"96\""));
    ck_assert_ptr_nonnull(strstr(svg, "fill=\"#1f1f1f\""));
    ck_assert_ptr_nonnull(strstr(svg, "stroke=\"#ABCDEF\""));
    ck_assert_ptr_nonnull(strstr(svg, "height=\"2000\""));
    ck_assert_ptr_nonnull(strstr(svg, "rotate(90 "));

    st.opacity = 0.0;
    st.angle = -500;
    st.font_px = -3;
    st.fill = "#12345g";
    st.stroke = "#1234567";
    svg = decoded_svg(qw_wm_render(pool, &st, "x", NULL));
    ck_assert_ptr_nonnull(strstr(svg, "opacity=\"0.020\""));
    ck_assert_ptr_nonnull(strstr(svg, "font-size=\"8\""));
    ck_assert_ptr_nonnull(strstr(svg, "fill=\"#1f1f1f\""));
    ck_assert_ptr_nonnull(strstr(svg, "stroke=\"#ffffff\""));
    ck_assert_ptr_nonnull(strstr(svg, "rotate(-90 "));

    st.opacity = 0.0 / 0.0;     /* NaN */
    st.fill = NULL;
    st.stroke = "#00ff00\"";
    svg = decoded_svg(qw_wm_render(pool, &st, "x", NULL));
    ck_assert_ptr_nonnull(strstr(svg, "opacity=\"0.100\""));
    ck_assert_ptr_nonnull(strstr(svg, "fill=\"#1f1f1f\""));
    ck_assert_ptr_nonnull(strstr(svg, "stroke=\"#ffffff\""));

    st.opacity = 0.25;
    st.fill = "#A0b1C2";
    svg = decoded_svg(qw_wm_render(pool, &st, "x", NULL));
    ck_assert_ptr_nonnull(strstr(svg, "opacity=\"0.250\""));
    ck_assert_ptr_nonnull(strstr(svg, "fill=\"#A0b1C2\""));
}
END_TEST

START_TEST(format_template)
{
    ck_assert_str_eq(qw_wm_format(pool, "{name} ({id}) {time}",
                                  "\xe5\xbc\xa0\xe4\xb8\x89", "a1b2",
                                  "2024-05-01 10:00"),
                     "\xe5\xbc\xa0\xe4\xb8\x89 (a1b2) 2024-05-01 10:00");
    ck_assert_str_eq(qw_wm_format(pool, NULL, "n", "i", "t"), "n i t");
    ck_assert_str_eq(qw_wm_format(pool, "{foo}{name{NAME}{}{", "n", "i",
                                  "t"),
                     "{foo}{name{NAME}{}{");
    /* Values are not expanded again. */
    ck_assert_str_eq(qw_wm_format(pool, "{name}|{id}", "{id}", "{time}",
                                  "t"),
                     "{id}|{time}");
    ck_assert_str_eq(qw_wm_format(pool, "{name}{id}{time}", NULL, NULL,
                                  NULL), "");
    ck_assert_str_eq(qw_wm_format(pool, "", "n", "i", "t"), "");
    ck_assert_str_eq(qw_wm_format(pool, "{{name}}", "n", "i", "t"), "{n}");
}
END_TEST

Suite *suite_wm_scan(void)
{
    Suite *s = suite_create("wm_scan");
    TCase *tc = tcase_create("scan");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, scan_cases, 0,
                        (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, scan_explicit_offsets);
    tcase_add_test(tc, scan_huge_attribute);
    tcase_add_test(tc, scan_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("render");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, render_defaults);
    tcase_add_test(tc, render_nonce_checked);
    tcase_add_loop_test(tc, render_hostile_names, 0,
                        (int)(sizeof(hostile) / sizeof(hostile[0])));
    tcase_add_test(tc, render_long_text_cut);
    tcase_add_test(tc, render_style_clamped);
    tcase_add_test(tc, format_template);
    suite_add_tcase(s, tc);
    return s;
}

/* Per-viewer watermark: a streaming HTML scanner that finds where to insert
 * the watermark, and the renderer of the inserted markup.  Pure: no httpd
 * types; unit tested and fuzzed (fuzz/fuzz_wm_scan.c).
 *
 * Where the watermark goes: right after the '>' of the first <body ...> start
 * tag, as the HTML tokenizer of a browser sees it (WHATWG 13.2.5): a <body>
 * inside a comment, a bogus comment (<!DOCTYPE>, <?xml?>, <![CDATA[ ...>),
 * a quoted attribute value, or the contents of script, style, textarea,
 * title, xmp, iframe, noembed, noframes or noscript does not count; tag and
 * end tag names are matched case-insensitively; <bodyx> is not body; <body/>
 * is.  Documents without a body tag get the watermark appended at the end.
 *
 * How an output filter uses the scanner (zero copy, bounded memory):
 *
 *     qw_wm_scan_init(&ctx->scan);                  once per response
 *     for each data bucket (buf, len):
 *         rc = qw_wm_scan_feed(&ctx->scan, buf, len, &off);
 *         QW_WM_MORE:   pass the bucket on untouched.
 *         QW_WM_FOUND:  apr_bucket_split() at off, insert the markup bucket,
 *                       then pass everything that follows untouched; stop
 *                       calling the scanner.
 *         QW_WM_GIVEUP: stop calling the scanner; pass the rest untouched and
 *                       append at EOS (see qw_wm_scan_finish).
 *     at EOS, if FOUND was never returned:
 *         closer = qw_wm_scan_finish(&ctx->scan);
 *         closer != NULL: append closer, then the markup, before EOS.
 *         closer == NULL: the markup cannot be placed (see below).
 *
 * The scanner never buffers input: it keeps only the tokenizer state and at
 * most QW_WM_NAME_MAX bytes of the tag name being matched, so a <body tag cut
 * across any number of buckets is found, and a start tag with a 100 MB
 * attribute costs no memory.  Text, comments, raw text and quoted attribute
 * values are skipped with memchr().  The result (FOUND and its absolute
 * position, GIVEUP and its position, the closer) depends only on the byte
 * stream, never on how it is split into chunks. */
#ifndef QW_WM_SCAN_H
#define QW_WM_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

/* Return codes of qw_wm_scan_feed(). */
#define QW_WM_MORE   0   /* chunk consumed, insertion point not found yet */
#define QW_WM_FOUND  1   /* *offset = index in this chunk to insert at */
#define QW_WM_GIVEUP 2   /* scan limit reached; *offset = where we stopped */
#define QW_WM_DONE   3   /* called again after FOUND or GIVEUP; no-op */

/* Default scan limit: the filter gives up looking for <body after this many
 * bytes (big inlined scripts or styles in <head> fit well below it). */
#define QW_WM_SCAN_LIMIT_DEFAULT (1024 * 1024)

/* Longest tag name we need to recognise ("plaintext"). */
#define QW_WM_NAME_MAX 9

/* Opaque to callers: fixed size, no pointers, safe to copy or memset. */
typedef struct {
    uint64_t seen;          /* bytes consumed before the current chunk */
    uint64_t limit;         /* 0: no limit */
    unsigned char state;
    unsigned char ret;      /* state to fall back to on a failed end tag */
    unsigned char kind;     /* raw-text element we are in */
    unsigned char nlen;     /* bytes in name[], or the match count */
    unsigned char is_end;   /* the tag being read is an end tag */
    unsigned char result;   /* MORE, FOUND or GIVEUP */
    char name[QW_WM_NAME_MAX];
    char closer[20];        /* qw_wm_scan_finish() result lives here */
} qw_wm_scanner;

/* Start a new document, with the default scan limit. */
void qw_wm_scan_init(qw_wm_scanner *s);

/* Scan limit in bytes; 0 scans the whole document.  Give-up rule: the
 * scanner gives up at the first byte position >= limit at which it is not
 * inside a tag; a tag straddling the limit (e.g. a <body> start tag with a
 * huge attribute) is read to its end first, and found if it is <body>. */
void qw_wm_scan_set_limit(qw_wm_scanner *s, uint64_t limit);

/* Feed the next chunk of the document (len may be 0).  Returns QW_WM_MORE
 * when all of it was consumed without finding the insertion point;
 * QW_WM_FOUND with *offset = index in buf just after the '>' of the body
 * start tag (1..len); QW_WM_GIVEUP with *offset = index where the limit was
 * hit; QW_WM_DONE if a previous call already returned FOUND or GIVEUP. */
int qw_wm_scan_feed(qw_wm_scanner *s, const char *buf, size_t len,
                    size_t *offset);

/* At end of stream, when FOUND was never returned: the bytes to append
 * before the watermark so that it is parsed as elements in the document
 * (e.g. "-->" when the document ends inside a comment, "</script>" inside a
 * script, "\">" inside a quoted attribute value).  Usually "".  "" after
 * GIVEUP (best effort: the state at the end is unknown).  NULL when nothing
 * must be appended: after FOUND, or when no closer exists (the document
 * switched to <plaintext>): the caller logs and serves the page without
 * the watermark.  The string lives in *s. */
const char *qw_wm_scan_finish(qw_wm_scanner *s);

/* 1 when the scanner is in the tokenizer's data state (markup fed next would
 * be parsed as tags).  For tests and the fuzzer. */
int qw_wm_scan_in_data(const qw_wm_scanner *s);

/* Total bytes consumed so far. */
uint64_t qw_wm_scan_seen(const qw_wm_scanner *s);


/* ---- Watermark markup ---- */

typedef struct {
    double opacity;     /* 0.02..1, default 0.10 */
    int angle;          /* degrees, -90..90, default -24 */
    int font_px;        /* 8..96, default 16 */
    int tile_w;         /* 40..2000, default 240; grown to fit the text */
    int tile_h;         /* 40..2000, default 160; grown to fit the text */
    const char *fill;   /* "#rrggbb", default "#1f1f1f" */
    const char *stroke; /* "#rrggbb", default "#ffffff" (1px outline,
                         * half of it outside the glyphs) */
} qw_wm_style;

/* Longest watermark text kept, in bytes (cut on a UTF-8 boundary). */
#define QW_WM_TEXT_MAX 200

/* Fill in the defaults. */
void qw_wm_style_init(qw_wm_style *st);

/* The markup to insert: a <style> element (with nonce="..." when nonce is
 * not NULL) and an empty full-viewport <div>, fixed, pointer-events:none,
 * top z-index, every property !important behind a high-specificity id, kept
 * in print (print-color-adjust: exact).  The text is drawn tiled and rotated
 * by an SVG data: URI in background-image; no JavaScript, no style=
 * attribute (strict CSP blocks those).
 *
 * text is untrusted (a display name): invalid UTF-8 bytes become '?',
 * control, C1 and bidi-override characters become spaces, it is cut to
 * QW_WM_TEXT_MAX bytes, XML-escaped for the SVG and then the whole SVG is
 * percent-encoded (only A-Z a-z 0-9 - . _ ~ stay literal), so it cannot
 * break out of the url(""), the <style> or the HTML.  style NULL: defaults;
 * out-of-range values are clamped, malformed colours replaced by defaults.
 * Returns NULL if nonce is not a CSP base64-value (1..256 of
 * [A-Za-z0-9+/_-] then up to two '='). */
const char *qw_wm_render(apr_pool_t *p, const qw_wm_style *style,
                         const char *text, const char *nonce);

/* Watermark text from a template: {name}, {id} and {time} are replaced by
 * name, short_id and time_str (NULL: empty); other braces are copied as
 * they are; substituted values are not expanded again.  tmpl NULL:
 * QW_WM_FORMAT_DEFAULT. */
#define QW_WM_FORMAT_DEFAULT "{name} {id} {time}"
char *qw_wm_format(apr_pool_t *p, const char *tmpl, const char *name,
                   const char *short_id, const char *time_str);

#endif

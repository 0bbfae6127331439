/* needs: mod_qiwei/wm/scan.c */
/* libFuzzer harness for the watermark scanner and renderer.
 *
 * Scanner properties checked on every input (the whole input is the
 * document; its first bytes also choose the split points and the limit):
 *  - the result (FOUND/GIVEUP/end, absolute position, closer) is the same
 *    whole, split in three at two input-derived points, and byte by byte;
 *  - output(whole) == output(split) where output is what an output filter
 *    built on the API would send, and output == input with exactly one
 *    marker inserted (zero only when finish() says the mark cannot be
 *    placed);
 *  - FOUND is just after a '>', and is the earliest: the prefix up to that
 *    '>' alone is not enough;
 *  - at the end, closer + "<i>" leaves the tokenizer in the data state, so
 *    an appended watermark is parsed as markup.
 * Renderer: the input as a display name never adds a '<' or '>' to the
 * markup and the url() holds only unreserved characters and %XX. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "wm/scan.h"

#define MARK "\x01[QW-MARK]\x01"
#define MARK_LEN (sizeof(MARK) - 1)

typedef struct {
    int rc;             /* final: FOUND, GIVEUP or MORE (end of input) */
    size_t pos;         /* absolute FOUND/GIVEUP position */
    char closer[32];    /* finish() result, "\x02" for NULL */
    char *out;          /* filter output */
    size_t out_len;
} run_result;

static void out_add(run_result *r, const void *p, size_t n)
{
    memcpy(r->out + r->out_len, p, n);
    r->out_len += n;
}

/* Scan buf cut into chunks at cuts[] (ascending) with the given limit, and
 * build the output a filter would produce. */
static void run(const unsigned char *buf, size_t len, const size_t *cuts,
                int ncuts, uint64_t limit, run_result *r)
{
    qw_wm_scanner s;
    size_t start = 0, stop, off;
    const char *c;
    int i, rc = QW_WM_MORE;

    memset(r, 0, sizeof(*r));
    r->out = malloc(len + MARK_LEN + 64);
    qw_wm_scan_init(&s);
    qw_wm_scan_set_limit(&s, limit);
    for (i = 0; i <= ncuts; i++) {
        stop = i < ncuts ? cuts[i] : len;
        if (rc != QW_WM_MORE) {
            /* Done scanning: pass through untouched. */
            out_add(r, buf + start, stop - start);
            start = stop;
            continue;
        }
        /* Exact-size copy so ASan sees any read past the chunk. */
        {
            char *chunk = malloc(stop - start ? stop - start : 1);

            memcpy(chunk, buf + start, stop - start);
            off = (size_t)-1;
            rc = qw_wm_scan_feed(&s, chunk, stop - start, &off);
            free(chunk);
        }
        if (rc == QW_WM_FOUND) {
            if (off == 0 || off > stop - start) {
                abort();
            }
            r->pos = start + off;
            out_add(r, buf + start, off);
            out_add(r, MARK, MARK_LEN);
            out_add(r, buf + start + off, stop - start - off);
        }
        else if (rc == QW_WM_GIVEUP) {
            if (off > stop - start) {
                abort();
            }
            r->pos = start + off;
            out_add(r, buf + start, stop - start);
        }
        else if (rc == QW_WM_MORE) {
            out_add(r, buf + start, stop - start);
        }
        else {
            abort();
        }
        start = stop;
    }
    r->rc = rc;
    if (rc == QW_WM_FOUND) {
        if (qw_wm_scan_finish(&s) != NULL) {
            abort();
        }
        strcpy(r->closer, "\x02");
        return;
    }
    c = qw_wm_scan_finish(&s);
    if (c == NULL) {
        strcpy(r->closer, "\x02");
        return;
    }
    if (strlen(c) >= sizeof(r->closer)) {
        abort();
    }
    strcpy(r->closer, c);
    out_add(r, c, strlen(c));
    out_add(r, MARK, MARK_LEN);

    if (rc == QW_WM_MORE) {
        /* Closer + markup: the markup must be parsed as a tag. */
        char tail[40];
        size_t n = strlen(c);
        int rc2;

        memcpy(tail, c, n);
        memcpy(tail + n, "<i>", 3);
        qw_wm_scan_set_limit(&s, 0);    /* the limit is not the point */
        rc2 = qw_wm_scan_feed(&s, tail, n + 3, &off);
        if (rc2 == QW_WM_FOUND) {
            if (off != n) {
                abort();
            }
        }
        else if (rc2 != QW_WM_MORE || !qw_wm_scan_in_data(&s)) {
            abort();
        }
    }
}

static int same(const run_result *a, const run_result *b)
{
    return a->rc == b->rc && a->pos == b->pos
        && strcmp(a->closer, b->closer) == 0 && a->out_len == b->out_len
        && memcmp(a->out, b->out, a->out_len) == 0;
}

static apr_pool_t *pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static void check_render(const uint8_t *data, size_t size)
{
    char *name = malloc(size + 1);
    const char *h, *u, *e;
    size_t lt = 0, gt = 0;

    memcpy(name, data, size);
    name[size] = '\0';
    h = qw_wm_render(pool, NULL, name, size & 1 ? "n0nce" : NULL);
    free(name);
    if (h == NULL) {
        abort();
    }
    for (u = h; *u; u++) {
        lt += *u == '<';
        gt += *u == '>';
    }
    if (lt != 4 || gt != 4) {
        abort();
    }
    u = strstr(h, "url(\"data:image/svg+xml,");
    if (u == NULL) {
        abort();
    }
    u += 24;
    e = strchr(u, '"');
    if (e == NULL || strncmp(e, "\")!important;", 13) != 0) {
        abort();
    }
    for (; u < e; u++) {
        if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z')
              || (*u >= '0' && *u <= '9') || strchr("-._~%", *u))) {
            abort();
        }
    }
    apr_pool_clear(pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *buf = malloc(size ? size : 1);
    size_t cuts[2], *bytewise, i;
    uint64_t limit = 0;
    run_result whole, split, bytes;

    memcpy(buf, data, size);
    if (size >= 2) {
        cuts[0] = data[0] % (size + 1);
        cuts[1] = data[1] % (size + 1);
        if (cuts[0] > cuts[1]) {
            size_t t = cuts[0];

            cuts[0] = cuts[1];
            cuts[1] = t;
        }
    }
    else {
        cuts[0] = cuts[1] = size;
    }
    /* Sometimes a small scan limit, to exercise GIVEUP. */
    if (size >= 3 && (data[2] & 0x80)) {
        limit = (uint64_t)(data[2] & 0x7f) + 1;
    }

    run(buf, size, NULL, 0, limit, &whole);
    run(buf, size, cuts, 2, limit, &split);
    if (!same(&whole, &split)) {
        abort();
    }
    if (size <= 4096) {
        bytewise = malloc((size + 1) * sizeof(*bytewise));
        for (i = 0; i < size; i++) {
            bytewise[i] = i + 1;
        }
        run(buf, size, bytewise, (int)size, limit, &bytes);
        free(bytewise);
        if (!same(&whole, &bytes)) {
            abort();
        }
        free(bytes.out);
    }

    if (whole.rc == QW_WM_FOUND) {
        qw_wm_scanner s;
        size_t off;

        /* Just after a '>', and the earliest such point. */
        if (whole.pos == 0 || buf[whole.pos - 1] != '>') {
            abort();
        }
        qw_wm_scan_init(&s);
        qw_wm_scan_set_limit(&s, limit);
        if (qw_wm_scan_feed(&s, (const char *)buf, whole.pos - 1, &off)
            == QW_WM_FOUND) {
            abort();
        }
        /* output = input[0:pos] MARK input[pos:] */
        if (whole.out_len != size + MARK_LEN
            || memcmp(whole.out, buf, whole.pos) != 0
            || memcmp(whole.out + whole.pos, MARK, MARK_LEN) != 0
            || memcmp(whole.out + whole.pos + MARK_LEN, buf + whole.pos,
                      size - whole.pos) != 0) {
            abort();
        }
    }
    else if (strcmp(whole.closer, "\x02") == 0) {
        /* <plaintext>: nothing can be placed; output is the input. */
        if (whole.out_len != size || memcmp(whole.out, buf, size) != 0) {
            abort();
        }
    }
    else {
        size_t cl = strlen(whole.closer);

        /* output = input closer MARK */
        if (whole.out_len != size + cl + MARK_LEN
            || memcmp(whole.out, buf, size) != 0
            || memcmp(whole.out + size, whole.closer, cl) != 0
            || memcmp(whole.out + size + cl, MARK, MARK_LEN) != 0) {
            abort();
        }
    }
    free(whole.out);
    free(split.out);
    free(buf);
    check_render(data, size);
    return 0;
}

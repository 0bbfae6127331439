/* needs: mod_qiwei/wm/csp.c */
/* max_len: 4096 */
/* libFuzzer harness for the Content-Security-Policy rewriter (the policy
 * comes from the proxied or generated page).  It is called as the
 * watermark filter calls it: with the page's own style nonce if it has one,
 * else with ours.  Properties: no crash or overread; the result is bounded
 * (at most the policy, its default-src sources twice more and our two
 * sources, per policy of a comma-separated list); no directive of the
 * page's policy is lost, at most two (style-src, img-src) are added per
 * policy; rewriting is idempotent (a second pass
 * changes nothing), which means the watermark's <style> and data: image
 * are allowed by the result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "wm/csp.h"

static apr_pool_t *pool;

/* ours: 16 random bytes in base64url, like wm_filter.c's */
static const char our_nonce[] = "q1w2e3r4t5y6u7i8o9p0aQ";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    return 0;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* directives: ';'- or ','-separated parts that are not all white space
 * (a comma separates policies, each with its own directives) */
static size_t count_directives(const char *s)
{
    size_t n = 0;
    int blank = 1;

    for (;; s++) {
        if (*s == ';' || *s == ',' || *s == '\0') {
            n += !blank;
            blank = 1;
            if (*s == '\0') {
                return n;
            }
        }
        else if (!is_ws(*s)) {
            blank = 0;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *policy;
    const char *nonce, *page_nonce, *out, *again, *c;
    size_t in_len, out_len, in_n, out_n, n_pol = 1;

    apr_pool_create(&p, pool);
    /* a header value is a C string: up to the first NUL */
    policy = apr_pstrmemdup(p, (const char *)data, size);
    in_len = strlen(policy);
    for (c = policy; *c; c++) {
        n_pol += *c == ',';
    }

    page_nonce = qw_csp_style_nonce(p, policy);
    if (page_nonce != NULL && strlen(page_nonce) >= in_len) {
        abort();
    }
    nonce = page_nonce ? page_nonce : our_nonce;
    out = qw_csp_allow_watermark(p, policy, nonce);
    if (out == NULL) {
        abort();
    }
    out_len = strlen(out);
    /* default-src's sources may be copied into a new style-src and img-src */
    if (out_len > 3 * in_len + n_pol * (2 * strlen(nonce) + 64)) {
        abort();
    }
    in_n = count_directives(policy);
    out_n = count_directives(out);
    if (out == policy) {
        /* unchanged: nothing to add */
    }
    else if (out_n < in_n || out_n > in_n + 2 * n_pol) {
        abort();
    }
    /* a policy that already allows us is returned as it is */
    again = qw_csp_allow_watermark(p, out, nonce);
    if (again != out) {
        abort();
    }
    /* the style nonce the page had is still the one that governs */
    if (page_nonce != NULL) {
        const char *n2 = qw_csp_style_nonce(p, out);
        if (n2 == NULL || strcmp(n2, page_nonce)) {
            abort();
        }
    }
    apr_pool_destroy(p);
    return 0;
}

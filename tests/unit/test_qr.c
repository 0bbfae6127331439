/* QR code to SVG. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <qrencode.h>

#include "suites.h"
#include "util/qr.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    const char *p = hay;
    while ((p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    return n;
}

START_TEST(svg_matches_symbol)
{
    const char *text = "otpauth://totp/Acme:alice?secret=GEZDGNBVGY3TQOJQ"
                       "GEZDGNBVGY3TQOJQ&issuer=Acme";
    int modules = 0, x, y, dark = 0;
    char *svg = qw_qr_svg(pool, text, 200, &modules);
    QRcode *qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);

    ck_assert_ptr_nonnull(svg);
    ck_assert_ptr_nonnull(qr);
    ck_assert_int_eq(modules, qr->width);
    ck_assert_int_eq((modules - 17) % 4, 0);     /* a real QR size */
    for (y = 0; y < qr->width; y++) {
        for (x = 0; x < qr->width; x++) {
            if (qr->data[y * qr->width + x] & 1) {
                char *m = apr_psprintf(pool, "M%d %dh1v1h-1z", x + 4, y + 4);
                ck_assert_ptr_nonnull(strstr(svg, m));
                dark++;
            }
        }
    }
    /* one square per dark module, nothing else */
    ck_assert_int_eq(count(svg, "h1v1h-1z"), dark);
    /* finder pattern corners: top-left module dark, inside the quiet zone */
    ck_assert_ptr_nonnull(strstr(svg, "M4 4h1v1h-1z"));
    ck_assert_ptr_null(strstr(svg, "M3 "));
    ck_assert_ptr_nonnull(strstr(svg, apr_psprintf(pool, "viewBox=\"0 0 %d "
                                                   "%d\"", modules + 8,
                                                   modules + 8)));
    ck_assert_ptr_nonnull(strstr(svg, "width=\"200\""));
    ck_assert(strncmp(svg, "<svg ", 5) == 0);
    ck_assert_ptr_null(strstr(svg, "<script"));
    ck_assert_ptr_null(strstr(svg, "secret"));   /* no input text leaks */
    QRcode_free(qr);
}
END_TEST

START_TEST(refuses)
{
    char *big = apr_palloc(pool, 3000);

    memset(big, 'a', 2999);
    big[2999] = '\0';
    ck_assert_ptr_null(qw_qr_svg(pool, big, 200, NULL));
    ck_assert_ptr_null(qw_qr_svg(pool, "", 200, NULL));
    ck_assert_ptr_null(qw_qr_svg(pool, NULL, 200, NULL));
    ck_assert_ptr_null(qw_qr_svg(pool, "x", 1, NULL));
    /* deterministic */
    ck_assert_str_eq(qw_qr_svg(pool, "hello", 100, NULL),
                     qw_qr_svg(pool, "hello", 100, NULL));
}
END_TEST

Suite *suite_qr(void)
{
    Suite *s = suite_create("qr");
    TCase *tc = tcase_create("qr");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, svg_matches_symbol);
    tcase_add_test(tc, refuses);
    suite_add_tcase(s, tc);
    return s;
}

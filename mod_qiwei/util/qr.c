/* QR code to SVG.  One <path> of unit squares in module coordinates and a
 * viewBox: small output, crisp at any size (shape-rendering crispEdges). */
#include <stdio.h>
#include <string.h>
#include <qrencode.h>
#include <apr_strings.h>

#include "util/qr.h"

#define QW_QR_QUIET 4
#define QW_QR_MAX_TEXT 1024

char *qw_qr_svg(apr_pool_t *p, const char *text, int px, int *modules)
{
    QRcode *qr;
    char *path, *svg;
    size_t cap, len = 0;
    int x, y, w, total;

    if (!text || !*text || strlen(text) > QW_QR_MAX_TEXT || px < 16
        || px > 4096) {
        return NULL;
    }
    qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M);
    if (!qr) {
        return NULL;
    }
    w = qr->width;
    /* "M<x> <y>h1v1h-1z" is at most 20 bytes per dark module */
    cap = (size_t)w * (size_t)w * 20 + 1;
    path = apr_palloc(p, cap);
    for (y = 0; y < w; y++) {
        for (x = 0; x < w; x++) {
            if (qr->data[y * w + x] & 1) {
                int n = snprintf(path + len, cap - len, "M%d %dh1v1h-1z",
                                 x + QW_QR_QUIET, y + QW_QR_QUIET);
                if (n < 0 || (size_t)n >= cap - len) {
                    QRcode_free(qr);
                    return NULL;
                }
                len += (size_t)n;
            }
        }
    }
    path[len] = '\0';
    QRcode_free(qr);
    total = w + 2 * QW_QR_QUIET;
    if (modules) {
        *modules = w;
    }
    svg = apr_psprintf(p,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
        "height=\"%d\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\""
        " role=\"img\"><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
        "<path fill=\"#000\" d=\"%s\"/></svg>", px, px, total, total,
        total, total, path);
    return svg;
}

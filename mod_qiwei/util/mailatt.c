/* See mailatt.h. */
#include <string.h>

#include <apr_strings.h>

#include "util/mailatt.h"
#include "util/text.h"

static const struct {
    const char *type;
    const char *magic;
    size_t len, at;            /* magic bytes at offset at */
} image_types[] = {
    { "image/png", "\x89PNG\r\n\x1a\n", 8, 0 },
    { "image/jpeg", "\xff\xd8\xff", 3, 0 },
    { "image/gif", "GIF87a", 6, 0 },
    { "image/gif", "GIF89a", 6, 0 },
    { "image/webp", "WEBP", 4, 8 },
};

int qw_mailatt_inline(const char *type)
{
    size_t i;

    for (i = 0; type && i < sizeof(image_types) / sizeof(image_types[0]);
         i++) {
        if (strcmp(type, image_types[i].type) == 0) {
            return 1;
        }
    }
    return 0;
}

/* The type an attachment is stored and served as: the image type claimed
 * when the bytes are one of that type (a WebP also starts "RIFF"), else
 * application/octet-stream.  A browser never gets to guess. */
const char *qw_mailatt_type(apr_pool_t *p, const char *claimed,
                            const unsigned char *d, size_t len)
{
    const char *t = claimed ? qw_ascii_lower(p, claimed) : "";
    size_t i;

    if (strcmp(t, "image/jpg") == 0) {
        t = "image/jpeg";
    }
    for (i = 0; i < sizeof(image_types) / sizeof(image_types[0]); i++) {
        if (strcmp(t, image_types[i].type) == 0
            && len >= image_types[i].at + image_types[i].len
            && memcmp(d + image_types[i].at, image_types[i].magic,
                      image_types[i].len) == 0
            && (strcmp(t, "image/webp") != 0 || memcmp(d, "RIFF", 4) == 0)) {
            return image_types[i].type;
        }
    }
    return "application/octet-stream";
}

/* An attachment's name as it is kept: the last path component, control
 * characters and "*:<>?| replaced by _, leading dots and spaces dropped,
 * cut to QW_MAILATT_NAME_MAX bytes on a character boundary; "attachment"
 * when nothing is left.  Input is UTF-8 (the JSON parser checked it). */
const char *qw_mailatt_name(apr_pool_t *p, const char *in)
{
    const char *s = in ? in : "", *q;
    char *o;
    size_t n, i;

    for (q = s; *q; q++) {
        if (*q == '/' || *q == '\\') {
            s = q + 1;
        }
    }
    while (*s == '.' || *s == ' ') {
        s++;
    }
    n = strlen(s);
    if (n > QW_MAILATT_NAME_MAX) {
        n = QW_MAILATT_NAME_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) {
            n--;                /* not inside a UTF-8 sequence */
        }
    }
    o = apr_pstrndup(p, s, n);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)o[i];

        if (c < 0x20 || c == 0x7f || strchr("\"*:<>?|", c)) {
            o[i] = '_';
        }
    }
    if (!qw_valid_utf8_text(o, n)) {
        return "attachment";
    }
    return *o ? o : "attachment";
}


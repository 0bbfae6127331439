/* The key file: parsing, loading, generation and HKDF derivation.
 *
 * Key material only ever lives in three places: the keyring's own array
 * (wiped by a pool cleanup), the caller's derive output, and the text made
 * by qw_keyring_generate (also wiped by a pool cleanup).  Error messages name
 * the line and the problem, never the key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_strings.h>
#include <apr_errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "util/keyring.h"

#define QW_KEYFILE_MAX (64 * 1024)
#define QW_KID_MAX 2147483647UL

/* Base64 (original alphabet, padded) of 32 bytes: 44 characters. */
#define QW_KEY_B64_LEN 44

typedef struct {
    uint32_t kid;
    unsigned char key[QW_KEY_LEN];
} qw_master_key;

struct qw_keyring {
    int count;
    uint32_t current;
    qw_master_key keys[QW_KEYRING_MAX_KEYS];
};

static apr_status_t keyring_wipe(void *data)
{
    qw_keyring *kr = data;

    OPENSSL_cleanse(kr->keys, sizeof(kr->keys));
    kr->count = 0;
    kr->current = 0;
    return APR_SUCCESS;
}

static apr_status_t text_wipe(void *data)
{
    char *s = data;

    OPENSSL_cleanse(s, strlen(s));
    return APR_SUCCESS;
}

static const qw_master_key *find_key(const qw_keyring *kr, uint32_t kid)
{
    int i;

    if (kr == NULL || kid == 0) {
        return NULL;
    }
    for (i = 0; i < kr->count; i++) {
        if (kr->keys[i].kid == kid) {
            return &kr->keys[i];
        }
    }
    return NULL;
}

/* Decimal 1..2^31-1, no sign, no leading zero. */
static int parse_kid(const char *s, size_t len, uint32_t *kid)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 10 || s[0] == '0') {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v == 0 || v > QW_KID_MAX) {
        return -1;
    }
    *kid = (uint32_t)v;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits [s, end) into at most max words separated by blanks; returns the
 * number of words, or max + 1 when there are more. */
static int split_words(const char *s, const char *end, const char **w,
                       size_t *wlen, int max)
{
    int n = 0;

    while (s < end) {
        const char *start;

        while (s < end && is_blank(*s)) {
            s++;
        }
        if (s == end) {
            break;
        }
        if (n == max) {
            return max + 1;
        }
        start = s;
        while (s < end && !is_blank(*s)) {
            s++;
        }
        w[n] = start;
        wlen[n] = (size_t)(s - start);
        n++;
    }
    return n;
}

/* Anything below 0x20 but TAB, and DEL, inside a line. */
static int has_control(const char *s, const char *end)
{
    for (; s < end; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return 1;
        }
    }
    return 0;
}

static int word_is(const char *w, size_t len, const char *lit)
{
    return len == strlen(lit) && memcmp(w, lit, len) == 0;
}

qw_keyring *qw_keyring_parse(apr_pool_t *p, const char *text, size_t len,
                             const char **err)
{
    qw_keyring *kr;
    const char *s = text, *end = text + len;
    uint32_t current = 0, max_kid = 0;
    int lineno = 0;
    const char *dummy;

    if (err == NULL) {
        err = &dummy;
    }
    *err = NULL;
    if (text == NULL) {
        *err = "no key file text";
        return NULL;
    }
    kr = apr_pcalloc(p, sizeof(*kr));
    apr_pool_cleanup_register(p, kr, keyring_wipe, apr_pool_cleanup_null);

    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        const char *lend = eol ? eol : end;
        const char *w[4];
        size_t wl[4];
        int n;

        lineno++;
        if (lend > s && lend[-1] == '\r') {
            lend--;
        }
        if (has_control(s, lend)) {
            *err = apr_psprintf(p, "line %d: control character", lineno);
            goto fail;
        }
        n = split_words(s, lend, w, wl, 3);
        s = eol ? eol + 1 : end;

        if (n == 0 || w[0][0] == '#') {
            continue;
        }
        if (word_is(w[0], wl[0], "key")) {
            qw_master_key *k;
            size_t bin_len = 0;
            const char *b64_end = NULL;
            uint32_t kid;

            if (n != 3) {
                *err = apr_psprintf(p, "line %d: expected "
                                    "'key <kid> <base64 key>'", lineno);
                goto fail;
            }
            if (parse_kid(w[1], wl[1], &kid) != 0) {
                *err = apr_psprintf(p, "line %d: key id must be a number "
                                    "from 1 to 2147483647", lineno);
                goto fail;
            }
            if (find_key(kr, kid) != NULL) {
                *err = apr_psprintf(p, "line %d: duplicate key id %lu",
                                    lineno, (unsigned long)kid);
                goto fail;
            }
            if (kr->count == QW_KEYRING_MAX_KEYS) {
                *err = apr_psprintf(p, "line %d: more than %d keys", lineno,
                                    QW_KEYRING_MAX_KEYS);
                goto fail;
            }
            k = &kr->keys[kr->count];
            if (wl[2] != QW_KEY_B64_LEN
                || sodium_base642bin(k->key, sizeof(k->key), w[2], wl[2],
                                     NULL, &bin_len, &b64_end,
                                     sodium_base64_VARIANT_ORIGINAL) != 0
                || bin_len != QW_KEY_LEN || b64_end != w[2] + wl[2]) {
                OPENSSL_cleanse(k->key, sizeof(k->key));
                *err = apr_psprintf(p, "line %d: key %lu is not the base64 "
                                    "of exactly %d bytes", lineno,
                                    (unsigned long)kid, QW_KEY_LEN);
                goto fail;
            }
            k->kid = kid;
            kr->count++;
            if (kid > max_kid) {
                max_kid = kid;
            }
        }
        else if (word_is(w[0], wl[0], "current")) {
            if (n != 2) {
                *err = apr_psprintf(p, "line %d: expected 'current <kid>'",
                                    lineno);
                goto fail;
            }
            if (current != 0) {
                *err = apr_psprintf(p, "line %d: 'current' given twice",
                                    lineno);
                goto fail;
            }
            if (parse_kid(w[1], wl[1], &current) != 0) {
                *err = apr_psprintf(p, "line %d: key id must be a number "
                                    "from 1 to 2147483647", lineno);
                goto fail;
            }
        }
        else {
            /* The word is not echoed: it could be a stray key. */
            *err = apr_psprintf(p, "line %d: unknown word (expected 'key' "
                                "or 'current')", lineno);
            goto fail;
        }
    }

    if (kr->count == 0) {
        *err = "no key in key file";
        goto fail;
    }
    if (current != 0 && find_key(kr, current) == NULL) {
        *err = apr_psprintf(p, "'current %lu' names a key that is not in "
                            "the file", (unsigned long)current);
        goto fail;
    }
    kr->current = current ? current : max_kid;
    return kr;

fail:
    /* Wipe now rather than when the pool goes. */
    keyring_wipe(kr);
    return NULL;
}

qw_keyring *qw_keyring_load(apr_pool_t *p, const char *path, const char **err)
{
    struct stat st;
    char *buf = NULL;
    size_t got = 0;
    int fd;
    qw_keyring *kr;
    const char *perr = NULL;
    char ebuf[128];
    const char *dummy;

    if (err == NULL) {
        err = &dummy;
    }
    *err = NULL;
    if (path == NULL) {
        *err = "no key file configured";
        return NULL;
    }
    /* O_NONBLOCK: opening a FIFO must not hang start-up; fstat refuses it. */
    fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *err = apr_psprintf(p, "key file %s: cannot open: %s", path,
                            apr_strerror(APR_FROM_OS_ERROR(errno), ebuf,
                                         sizeof(ebuf)));
        return NULL;
    }
    if (fstat(fd, &st) != 0) {
        *err = apr_psprintf(p, "key file %s: cannot stat: %s", path,
                            apr_strerror(APR_FROM_OS_ERROR(errno), ebuf,
                                         sizeof(ebuf)));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = apr_psprintf(p, "key file %s: not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((st.st_mode & 077) != 0) {
        *err = apr_psprintf(p, "key file %s: mode %04o gives group or others "
                            "access; chmod 600 it", path,
                            (unsigned)(st.st_mode & 07777));
        close(fd);
        return NULL;
    }
    if (st.st_size > QW_KEYFILE_MAX) {
        *err = apr_psprintf(p, "key file %s: larger than %d bytes", path,
                            QW_KEYFILE_MAX);
        close(fd);
        return NULL;
    }
    /* One byte more than allowed, to notice a file that grew after fstat. */
    buf = malloc(QW_KEYFILE_MAX + 1);
    if (buf == NULL) {
        *err = apr_psprintf(p, "key file %s: out of memory", path);
        close(fd);
        return NULL;
    }
    for (;;) {
        ssize_t n = read(fd, buf + got, QW_KEYFILE_MAX + 1 - got);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            *err = apr_psprintf(p, "key file %s: read error: %s", path,
                                apr_strerror(APR_FROM_OS_ERROR(errno), ebuf,
                                             sizeof(ebuf)));
            break;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
        if (got > QW_KEYFILE_MAX) {
            *err = apr_psprintf(p, "key file %s: larger than %d bytes", path,
                                QW_KEYFILE_MAX);
            break;
        }
    }
    close(fd);
    if (*err != NULL) {
        OPENSSL_cleanse(buf, QW_KEYFILE_MAX + 1);
        free(buf);
        return NULL;
    }
    kr = qw_keyring_parse(p, buf, got, &perr);
    OPENSSL_cleanse(buf, QW_KEYFILE_MAX + 1);
    free(buf);
    if (kr == NULL) {
        *err = apr_psprintf(p, "key file %s: %s", path, perr);
    }
    return kr;
}

char *qw_keyring_generate(apr_pool_t *p, const qw_keyring *old)
{
    static const char header[] =
        "# mod_qiwei key file. Keep it secret, back it up: lose it and the "
        "encrypted data is lost.\n"
        "# Format: 'key <kid> <base64 of 32 bytes>' lines and "
        "'current <kid>'.\n";
    unsigned char fresh[QW_KEY_LEN];
    uint32_t new_kid = 1;
    int nold = old ? old->count : 0;
    int i;
    size_t cap, used;
    char *text;

    for (i = 0; i < nold; i++) {
        if (old->keys[i].kid >= new_kid) {
            new_kid = old->keys[i].kid + 1;
        }
    }
    if (new_kid > QW_KID_MAX || nold >= QW_KEYRING_MAX_KEYS) {
        return NULL;
    }
    if (RAND_bytes(fresh, sizeof(fresh)) != 1) {
        return NULL;
    }
    /* "key " + 10 digits + " " + 44 + "\n" per key, plus current line. */
    cap = sizeof(header) + (size_t)(nold + 1) * 64 + 32;
    text = apr_palloc(p, cap);
    memcpy(text, header, sizeof(header) - 1);
    used = sizeof(header) - 1;
    text[used] = '\0';
    apr_pool_cleanup_register(p, text, text_wipe, apr_pool_cleanup_null);

    for (i = 0; i <= nold; i++) {
        const unsigned char *key = i < nold ? old->keys[i].key : fresh;
        uint32_t kid = i < nold ? old->keys[i].kid : new_kid;
        char b64[QW_KEY_B64_LEN + 1];
        int n;

        sodium_bin2base64(b64, sizeof(b64), key, QW_KEY_LEN,
                          sodium_base64_VARIANT_ORIGINAL);
        n = snprintf(text + used, cap - used, "key %lu %s\n",
                     (unsigned long)kid, b64);
        OPENSSL_cleanse(b64, sizeof(b64));
        used += (size_t)n;
    }
    OPENSSL_cleanse(fresh, sizeof(fresh));
    snprintf(text + used, cap - used, "current %lu\n",
             (unsigned long)new_kid);
    return text;
}

uint32_t qw_keyring_current(const qw_keyring *kr)
{
    return kr ? kr->current : 0;
}

int qw_keyring_has(const qw_keyring *kr, uint32_t kid)
{
    return find_key(kr, kid) != NULL;
}

int qw_keyring_count(const qw_keyring *kr)
{
    return kr ? kr->count : 0;
}

int qw_keyring_derive(const qw_keyring *kr, uint32_t kid, const char *purpose,
                      unsigned char out[QW_KEY_LEN])
{
    const qw_master_key *k = find_key(kr, kid);
    EVP_KDF *kdf;
    EVP_KDF_CTX *ctx;
    OSSL_PARAM params[4];
    unsigned char info[128];
    size_t plen;
    int rc = -1;

    if (k == NULL || purpose == NULL) {
        return -1;
    }
    plen = strlen(purpose);
    if (plen > sizeof(info) - 10) {
        return -1;
    }
    memcpy(info, "mod_qiwei ", 10);
    memcpy(info + 10, purpose, plen);

    kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    if (kdf == NULL) {
        return -1;
    }
    ctx = EVP_KDF_CTX_new(kdf);
    EVP_KDF_free(kdf);
    if (ctx == NULL) {
        return -1;
    }
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                                  (void *)k->key,
                                                  QW_KEY_LEN);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  info, plen + 10);
    params[3] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(ctx, out, QW_KEY_LEN, params) == 1) {
        rc = 0;
    }
    else {
        OPENSSL_cleanse(out, QW_KEY_LEN);
    }
    EVP_KDF_CTX_free(ctx);
    return rc;
}

/* Password policy checks and the common-password blocklist.  See
 * pwpolicy.h. */
#include <string.h>
#include <apr_strings.h>
#include <apr_file_io.h>

#include "util/pwpolicy.h"
#include "util/i18n.h"
#include "util/pwhash.h"

void qw_pwpolicy_init(qw_pwpolicy *pol, qw_pwp_mode mode, int two_step)
{
    memset(pol, 0, sizeof(*pol));
    pol->mode = mode;
    if (mode == QW_PWP_NIST) {
        pol->min_chars = two_step ? 8 : 15;
        pol->composition = 0;
        pol->history = 0;
        pol->max_age_days = 0;
    }
    else {
        pol->mode = QW_PWP_DENGBAO;
        pol->min_chars = 12;
        pol->composition = 1;
        pol->history = 5;
        pol->max_age_days = 90;
    }
}

int qw_pwpolicy_mode_parse(const char *s)
{
    if (!s) {
        return -1;
    }
    if (!strcasecmp(s, "dengbao") || !strcmp(s, "等保")
        || !strcasecmp(s, "gb") || !strcasecmp(s, "pci")) {
        return QW_PWP_DENGBAO;
    }
    if (!strcasecmp(s, "nist")) {
        return QW_PWP_NIST;
    }
    return -1;
}

const char *qw_pwpolicy_mode_name(qw_pwp_mode mode)
{
    return mode == QW_PWP_NIST ? "nist" : "dengbao";
}

int qw_pwpolicy_days_parse(const char *s)
{
    int v = 0;

    if (!s || !*s) {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        v = v * 10 + (*s - '0');
        if (v > QW_PWP_MAX_AGE_DAYS_MAX) {
            return -1;
        }
    }
    return v;
}

void qw_pwpolicy_resolve(qw_pwpolicy *pol, const char *mode, int dflt_mode,
                         int max_age_days, int dflt_age_days, int two_step)
{
    int m = qw_pwpolicy_mode_parse(mode);

    if (m < 0) {
        m = dflt_mode == QW_PWP_NIST ? QW_PWP_NIST : QW_PWP_DENGBAO;
    }
    qw_pwpolicy_init(pol, (qw_pwp_mode)m, two_step);
    if (max_age_days < 0) {
        max_age_days = dflt_age_days;
    }
    if (max_age_days >= 0 && max_age_days <= QW_PWP_MAX_AGE_DAYS_MAX) {
        pol->max_age_days = max_age_days;
    }
}

int qw_pwpolicy_weaker(const qw_pwpolicy *a, const qw_pwpolicy *b)
{
    /* not the minimum length: dengbao's 12 mixed characters count as
     * stronger than nist's 15 of any kind (the product's default) */
    if ((a->composition && !b->composition) || b->history < a->history) {
        return 1;
    }
    /* 0 is "never": no maximum is the longest */
    return a->max_age_days > 0
           && (b->max_age_days == 0 || b->max_age_days > a->max_age_days);
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

qw_blocklist *qw_blocklist_parse(apr_pool_t *p, const char *text, size_t len)
{
    qw_blocklist *bl = apr_pcalloc(p, sizeof(*bl));
    size_t i = 0;

    bl->set = apr_hash_make(p);
    while (i < len) {
        size_t start = i, end;
        char *e;
        size_t k;
        while (i < len && text[i] != '\n') {
            i++;
        }
        end = i;
        i++;                            /* past the newline */
        if (end > start && text[end - 1] == '\r') {
            end--;
        }
        if (end == start || text[start] == '#') {
            continue;
        }
        e = apr_pstrmemdup(p, text + start, end - start);
        for (k = 0; e[k]; k++) {
            e[k] = ascii_lower(e[k]);
        }
        if (!apr_hash_get(bl->set, e, APR_HASH_KEY_STRING)) {
            apr_hash_set(bl->set, e, APR_HASH_KEY_STRING, "");
            bl->count++;
        }
    }
    return bl;
}

qw_blocklist *qw_blocklist_load(apr_pool_t *p, const char *path,
                                const char **err)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_size_t n;
    char *buf;
    apr_status_t rv;

    rv = apr_file_open(&f, path, APR_FOPEN_READ, APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        *err = "cannot open the file";
        return NULL;
    }
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS
        || fi.size > 64 * 1024 * 1024) {
        apr_file_close(f);
        *err = "cannot size the file, or larger than 64 MiB";
        return NULL;
    }
    n = (apr_size_t)fi.size;
    buf = apr_palloc(p, n + 1);
    rv = apr_file_read_full(f, buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF) {
        *err = "cannot read the file";
        return NULL;
    }
    buf[n] = '\0';
    return qw_blocklist_parse(p, buf, n);
}

static int is_ascii_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int qw_blocklist_has(const qw_blocklist *bl, apr_pool_t *scratch,
                     const char *pw, size_t len)
{
    char *low;
    size_t i, a, b;

    if (!bl || !bl->set || len == 0) {
        return 0;
    }
    low = apr_pstrmemdup(scratch, pw, len);
    for (i = 0; i < len; i++) {
        low[i] = ascii_lower(low[i]);
    }
    if (apr_hash_get(bl->set, low, len)) {
        return 1;
    }
    /* the word inside decoration: "!Password2024" */
    a = 0;
    b = len;
    while (a < b && (unsigned char)low[a] < 0x80 && !is_ascii_alpha(low[a])) {
        a++;
    }
    while (b > a && (unsigned char)low[b - 1] < 0x80
           && !is_ascii_alpha(low[b - 1])) {
        b--;
    }
    if (b - a >= 4 && (a > 0 || b < len)) {
        return apr_hash_get(bl->set, low + a, b - a) != NULL;
    }
    return 0;
}

/* Case-insensitive (ASCII) substring search. */
static int contains_nocase(const char *hay, size_t hlen, const char *needle)
{
    size_t n = strlen(needle), i, j;
    if (n == 0 || n > hlen) {
        return 0;
    }
    for (i = 0; i + n <= hlen; i++) {
        for (j = 0; j < n; j++) {
            if (ascii_lower(hay[i + j]) != ascii_lower(needle[j])) {
                break;
            }
        }
        if (j == n) {
            return 1;
        }
    }
    return 0;
}

qw_pwp_result qw_pwpolicy_check(const qw_pwpolicy *pol,
                                const qw_blocklist *bl, apr_pool_t *scratch,
                                const char *pw, size_t len,
                                const char *account)
{
    long chars;
    int digit = 0, upper = 0, lower = 0, symbol = 0;
    size_t i;

    if (!pw) {
        return QW_PWP_TOO_SHORT;
    }
    if (len > QW_PW_MAX_LEN) {
        return QW_PWP_TOO_LONG;
    }
    chars = qw_utf8_count(pw, len);
    if (chars < 0) {
        return QW_PWP_BAD_TEXT;
    }
    if (chars > QW_PWP_MAX_CHARS) {
        return QW_PWP_TOO_LONG;
    }
    if (chars < pol->min_chars) {
        return QW_PWP_TOO_SHORT;
    }
    if (pol->composition) {
        for (i = 0; i < len; i++) {
            unsigned char c = (unsigned char)pw[i];
            if (c >= '0' && c <= '9') {
                digit = 1;
            }
            else if (c >= 'A' && c <= 'Z') {
                upper = 1;
            }
            else if (c >= 'a' && c <= 'z') {
                lower = 1;
            }
            else if (c >= 0x80) {
                /* a CJK or other non-ASCII character counts as a symbol:
                 * it widens the alphabet at least as much */
                if ((c & 0xC0) != 0x80) {
                    symbol = 1;
                }
            }
            else {
                symbol = 1;     /* ASCII punctuation and space */
            }
        }
        if (!(digit && upper && lower && symbol)) {
            return QW_PWP_COMPOSITION;
        }
    }
    if (account && strlen(account) >= 4
        && contains_nocase(pw, len, account)) {
        return QW_PWP_ACCOUNT;
    }
    if (qw_blocklist_has(bl, scratch, pw, len)) {
        return QW_PWP_COMMON;
    }
    return QW_PWP_OK;
}

static const qw_string_id message_ids[QW_PWP_RESULT_COUNT] = {
    [QW_PWP_OK] = QW_S_COUNT,
    [QW_PWP_TOO_SHORT] = QW_S_PW_TOO_SHORT,
    [QW_PWP_TOO_LONG] = QW_S_PW_TOO_LONG,
    [QW_PWP_BAD_TEXT] = QW_S_PW_BAD_TEXT,
    [QW_PWP_COMPOSITION] = QW_S_PW_COMPOSITION,
    [QW_PWP_COMMON] = QW_S_PW_COMMON,
    [QW_PWP_ACCOUNT] = QW_S_PW_ACCOUNT,
    [QW_PWP_REUSED] = QW_S_PW_REUSED,
    [QW_PWP_MISMATCH] = QW_S_ACTIVATE_MISMATCH,
};

const char *qw_pwpolicy_message(apr_pool_t *p, const qw_pwpolicy *pol,
                                qw_pwp_result r, qw_lang lang)
{
    const char *t, *at;

    if ((int)r <= 0 || r >= QW_PWP_RESULT_COUNT) {
        return "";
    }
    t = qw_str(lang, message_ids[r]);
    at = strstr(t, "{n}");
    if (!at) {
        return t;
    }
    return apr_psprintf(p, "%.*s%d%s", (int)(at - t), t,
                        r == QW_PWP_TOO_SHORT ? pol->min_chars
                                              : QW_PWP_MAX_CHARS, at + 3);
}

const char *qw_pwpolicy_reason(qw_pwp_result r)
{
    static const char *const names[QW_PWP_RESULT_COUNT] = {
        "ok", "too_short", "too_long", "bad_text", "composition", "common",
        "account", "reused", "mismatch"
    };
    if ((int)r < 0 || r >= QW_PWP_RESULT_COUNT) {
        return "unknown";
    }
    return names[r];
}

int qw_pwpolicy_new_password(const qw_pwpolicy *pol, const qw_blocklist *bl,
                             apr_pool_t *scratch, const char *pw, size_t len,
                             const char *pw2, const char *account,
                             const qw_pw_history *h, qw_pwp_result *res,
                             int *compared)
{
    int n = h && h->hashes ? h->hashes->nelts : 0;
    int last = pol->history < 0 ? 0 : pol->history > QW_PWP_HISTORY_MAX
               ? QW_PWP_HISTORY_MAX : pol->history;
    int i, ok;

    *compared = 0;
    if (pw && pw2 && (strlen(pw2) != len || memcmp(pw, pw2, len))) {
        *res = QW_PWP_MISMATCH;
        return 0;
    }
    *res = qw_pwpolicy_check(pol, bl, scratch, pw, len, account);
    if (*res != QW_PWP_OK || !n) {
        return 0;
    }
    /* the current one: the bytes just verified against it, no hash */
    i = 0;
    if (h->current) {
        if (strlen(h->current) == len && !memcmp(h->current, pw, len)) {
            *res = QW_PWP_REUSED;
            return 0;
        }
        i = 1;
    }
    /* hashes[0] is the current one, [1..last] the older ones */
    for (; i < n && i <= last; i++) {
        if (h->verify(h->baton, APR_ARRAY_IDX(h->hashes, i, const char *),
                      pw, len, &ok) != 0) {
            return -1;
        }
        ++*compared;
        if (ok) {
            *res = QW_PWP_REUSED;
            break;
        }
    }
    return 0;
}

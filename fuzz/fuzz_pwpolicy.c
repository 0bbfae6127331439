/* needs: mod_qiwei/util/pwpolicy.c mod_qiwei/util/i18n.c mod_qiwei/util/text.c */
/* max_len: 2048 */
/* libFuzzer harness for the password policy (a new password from a member
 * or an admin, before it is hashed) and the blocklist parser.
 * Input: one flag byte (bit 0 nist, bit 1 two-step, bit 2 an account name
 * before the first '\n'), then the password.  Properties: no crash or
 * overread; only the results the check can give; an accepted password
 * really follows every rule (length in characters, composition, no
 * account name, not listed); a password dengbao accepts nist accepts too,
 * and nist without two-step implies nist with it; every reason has a
 * message in both languages.  The input read as blocklist text: every
 * entry is found, also decorated, and never accepted as a password.
 * The new-password check (qw_pwpolicy_new_password) against a history
 * (flag bit 3: the input itself at position bits 4-6; bit 7: the current
 * password known, as in the module, else only its hash, as in qiweictl):
 * the policy's answer first; reused exactly when the input is the current
 * password or one of the 5 before it; never more than 6 verifies, each
 * one counted in *compared, none when the current one is known to match. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "util/pwhash.h"
#include "util/pwpolicy.h"
#include "util/text.h"

static apr_pool_t *pool;
static qw_blocklist *bl;

static const char blocklist[] =
    "# a few of conf/common-passwords.txt\n"
    "password\n123456\nqwerty\nletmein\r\niloveyou\nadmin\n"
    "p@ssw0rd\nwoaini1314\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    bl = qw_blocklist_parse(pool, blocklist, strlen(blocklist));
    if (bl->count != 8) {
        abort();
    }
    return 0;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int contains_nocase(const char *h, size_t hl, const char *n)
{
    size_t nl = strlen(n), i, j;

    for (i = 0; nl && i + nl <= hl; i++) {
        for (j = 0; j < nl && lower(h[i + j]) == lower(n[j]); j++) {
        }
        if (j == nl) {
            return 1;
        }
    }
    return 0;
}

static void check_messages(apr_pool_t *p, const qw_pwpolicy *pol,
                           qw_pwp_result r)
{
    const char *reason = qw_pwpolicy_reason(r);
    int lang;

    if (reason == NULL || !strcmp(reason, "unknown")) {
        abort();
    }
    for (lang = QW_LANG_EN; lang <= QW_LANG_ZH; lang++) {
        const char *m = qw_pwpolicy_message(p, pol, r, (qw_lang)lang);
        if (m == NULL || (r == QW_PWP_OK) != (*m == '\0')
            || strstr(m, "{n}") || !qw_valid_utf8_text(m, strlen(m))) {
            abort();
        }
    }
}

static qw_pwp_result check(apr_pool_t *p, qw_pwp_mode mode, int two_step,
                           const char *pw, size_t len, const char *account)
{
    qw_pwpolicy pol;
    qw_pwp_result r;
    long chars;

    qw_pwpolicy_init(&pol, mode, two_step);
    r = qw_pwpolicy_check(&pol, bl, p, pw, len, account);
    if (r < QW_PWP_OK || r > QW_PWP_ACCOUNT) {
        abort();                        /* REUSED, MISMATCH: callers' */
    }
    check_messages(p, &pol, r);
    chars = qw_utf8_count(pw, len);
    if (r == QW_PWP_BAD_TEXT && (chars >= 0 || len > QW_PW_MAX_LEN)) {
        abort();
    }
    if (r == QW_PWP_OK) {
        int digit = 0, upper = 0, lower_ = 0, symbol = 0;
        size_t i;

        if (len > QW_PW_MAX_LEN || chars < pol.min_chars
            || chars > QW_PWP_MAX_CHARS
            || (account && strlen(account) >= 4
                && contains_nocase(pw, len, account))
            || qw_blocklist_has(bl, p, pw, len)) {
            abort();
        }
        for (i = 0; i < len; i++) {
            unsigned char c = (unsigned char)pw[i];
            digit |= c >= '0' && c <= '9';
            upper |= c >= 'A' && c <= 'Z';
            lower_ |= c >= 'a' && c <= 'z';
            symbol |= !(c >= '0' && c <= '9') && !(c >= 'A' && c <= 'Z')
                      && !(c >= 'a' && c <= 'z');
        }
        if (pol.composition && !(digit && upper && lower_ && symbol)) {
            abort();
        }
    }
    return r;
}

/* qw_pw_history's verify: "hashes" here are the passwords themselves */
static int plain_verify(void *baton, const char *encoded, const char *pw,
                        size_t len, int *ok)
{
    ++*(int *)baton;
    *ok = strlen(encoded) == len && !memcmp(encoded, pw, len);
    return 0;
}

static void check_new(apr_pool_t *p, unsigned flags, const char *pw,
                      size_t len, const char *account)
{
    apr_array_header_t *hs = apr_array_make(p, 8, sizeof(const char *));
    int known = (flags & 128) != 0, pos = (flags >> 4) & 7;
    int calls = 0, compared = -1, i, start, want_n = 0, among;
    qw_pwp_result res, policy, want = QW_PWP_OK;
    qw_pw_history h;
    qw_pwpolicy pol;

    /* a NUL in pw cannot be a stored (C string) entry */
    int plain = !memchr(pw, '\0', len);

    for (i = 0; i < 8; i++) {
        APR_ARRAY_PUSH(hs, const char *) =
            (flags & 8) && plain && i == pos ? apr_pstrmemdup(p, pw, len)
            : apr_psprintf(p, "Hist-%d!Aaaaaaaa", i);
    }
    qw_pwpolicy_init(&pol, QW_PWP_DENGBAO, 0);
    h.hashes = hs;
    h.current = known ? APR_ARRAY_IDX(hs, 0, const char *) : NULL;
    h.verify = plain_verify;
    h.baton = &calls;
    if (qw_pwpolicy_new_password(&pol, bl, p, pw, len, NULL, account, &h,
                                 &res, &compared) != 0) {
        abort();
    }
    policy = qw_pwpolicy_check(&pol, bl, p, pw, len, account);
    if (policy != QW_PWP_OK) {
        want = policy;
    }
    else {
        const char *e0 = APR_ARRAY_IDX(hs, 0, const char *);
        start = 0;
        if (known) {
            start = 1;
            if (strlen(e0) == len && !memcmp(e0, pw, len)) {
                want = QW_PWP_REUSED;
            }
        }
        for (i = start; want == QW_PWP_OK && i <= QW_PWP_HISTORY_MAX; i++) {
            const char *e = APR_ARRAY_IDX(hs, i, const char *);
            want_n++;
            if (strlen(e) == len && !memcmp(e, pw, len)) {
                want = QW_PWP_REUSED;
            }
        }
    }
    /* reused exactly when pw is among the current and 5 older entries */
    for (i = 0, among = 0; i <= QW_PWP_HISTORY_MAX; i++) {
        const char *e = APR_ARRAY_IDX(hs, i, const char *);
        among |= strlen(e) == len && !memcmp(e, pw, len);
    }
    if (res != want || compared != want_n || calls != compared
        || compared > QW_PWP_HISTORY_MAX + 1
        || (policy == QW_PWP_OK && among != (res == QW_PWP_REUSED))) {
        abort();
    }
}

/* The input as blocklist text. */
static void check_blocklist(apr_pool_t *p, const char *text, size_t len)
{
    qw_blocklist *b = qw_blocklist_parse(p, text, len);
    size_t i = 0, lines = 0;
    qw_pwpolicy pol;

    qw_pwpolicy_init(&pol, QW_PWP_NIST, 1);
    while (i < len) {
        size_t s = i, e, k;
        int alpha = 1;

        while (i < len && text[i] != '\n') {
            i++;
        }
        e = i++;
        lines++;
        if (e > s && text[e - 1] == '\r') {
            e--;
        }
        if (e == s || text[s] == '#' || memchr(text + s, '\0', e - s)) {
            continue;
        }
        if (!qw_blocklist_has(b, p, text + s, e - s)
            || qw_pwpolicy_check(&pol, b, p, text + s, e - s, NULL)
               == QW_PWP_OK) {
            abort();
        }
        for (k = s; k < e; k++) {
            alpha &= (text[k] >= 'a' && text[k] <= 'z')
                     || (text[k] >= 'A' && text[k] <= 'Z');
        }
        if (alpha && e - s >= 4) {
            char *dec = apr_pstrcat(p, "!2024",
                                    apr_pstrmemdup(p, text + s, e - s),
                                    "#1", NULL);
            if (!qw_blocklist_has(b, p, dec, strlen(dec))) {
                abort();
            }
        }
    }
    if (b->count < 0 || (size_t)b->count > lines) {
        abort();
    }
}

/* A max age as stored in the settings: -1 or 0..max, and exactly the
 * decimal digits it was written as; the policy it resolves to keeps it. */
static void check_days(apr_pool_t *p, const char *s, size_t len)
{
    const char *z = apr_pstrmemdup(p, s, len);
    int d = qw_pwpolicy_days_parse(z);
    qw_pwpolicy pol;

    if (d < -1 || d > QW_PWP_MAX_AGE_DAYS_MAX) {
        abort();
    }
    if (d >= 0 && strcmp(apr_psprintf(p, "%d", d), z)
        && (len == 0 || z[0] != '0')) {
        abort();
    }
    qw_pwpolicy_resolve(&pol, z, QW_PWP_DENGBAO, d, -1, 0);
    if (pol.max_age_days < 0 || pol.max_age_days > QW_PWP_MAX_AGE_DAYS_MAX
        || (d >= 0 && pol.max_age_days != d)) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    const char *account = NULL, *pw;
    char *copy;
    size_t len;
    unsigned flags;
    qw_pwp_result dengbao, nist, nist2;

    if (size < 1) {
        return 0;
    }
    flags = data[0];
    apr_pool_create(&p, pool);
    /* exact-size heap copy: the checks must honour len */
    copy = malloc(size - 1 ? size - 1 : 1);
    memcpy(copy, data + 1, size - 1);
    pw = copy;
    len = size - 1;
    if (flags & 4) {
        const char *nl = memchr(pw, '\n', len);
        if (nl) {
            account = apr_pstrmemdup(p, pw, nl - pw);
            len -= nl + 1 - pw;
            pw = nl + 1;
        }
    }
    dengbao = check(p, QW_PWP_DENGBAO, flags & 2, pw, len, account);
    nist = check(p, QW_PWP_NIST, 0, pw, len, account);
    nist2 = check(p, QW_PWP_NIST, 1, pw, len, account);
    if ((dengbao == QW_PWP_OK && nist2 != QW_PWP_OK)
        || (nist == QW_PWP_OK && nist2 != QW_PWP_OK)) {
        abort();
    }
    check_new(p, flags, pw, len, account);
    check_blocklist(p, copy, size - 1);
    check_days(p, copy, size - 1);
    free(copy);
    apr_pool_destroy(p);
    return 0;
}

/* Password policy (R11): the rules a new password must follow, and the
 * common-password blocklist.  Pure (APR only, no httpd types), shared by
 * member and admin passwords; unit tested.
 *
 * Modes:
 *   dengbao  GB/T 22239-2019 level 3 (等保2.0), the lecture's rule, also
 *            PCI DSS 8.3.6/8.3.9: >= 12 characters with digits, upper and
 *            lower case letters and symbols; not common; not one of the
 *            last 5; expires after 90 days.
 *   nist     NIST SP 800-63B: >= 15 characters (>= 8 when two-step
 *            verification is on), not common, no composition rules, no
 *            expiry.
 * Both allow at least QW_PWP_MAX_CHARS characters of any Unicode text.
 * "Not one of the last N" needs the stored hashes: qw_pwpolicy_new_password
 * compares them through the caller's verify function (the module's runs in
 * the hashing slot; qiweictl's plainly). */
#ifndef QW_PWPOLICY_H
#define QW_PWPOLICY_H

#include <stddef.h>
#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include "util/text.h"

typedef enum {
    QW_PWP_DENGBAO = 0,
    QW_PWP_NIST = 1
} qw_pwp_mode;

typedef enum {
    QW_PWP_OK = 0,
    QW_PWP_TOO_SHORT,
    QW_PWP_TOO_LONG,
    QW_PWP_BAD_TEXT,        /* not UTF-8, or control characters */
    QW_PWP_COMPOSITION,     /* dengbao: needs all four kinds */
    QW_PWP_COMMON,          /* in the blocklist */
    QW_PWP_ACCOUNT,         /* contains the account name */
    QW_PWP_REUSED,          /* one of the last history passwords */
    QW_PWP_MISMATCH,        /* the two entries differ (forms) */
    QW_PWP_RESULT_COUNT
} qw_pwp_result;

/* Earlier passwords compared at a change, at most: one Argon2id verify
 * each, so this bounds a request's cost (the modes ask for 5). */
#define QW_PWP_HISTORY_MAX 5
#define QW_PWP_MAX_CHARS 256    /* >= 64 required; 1024 bytes max anyway */

typedef struct {
    qw_pwp_mode mode;
    int min_chars;
    int composition;        /* require digit + upper + lower + symbol */
    int history;            /* refuse the last N (0: no check; at most
                             * QW_PWP_HISTORY_MAX are compared) */
    int max_age_days;       /* 0: never expires */
} qw_pwpolicy;

/* The mode's defaults; two_step matters for nist's minimum length. */
void qw_pwpolicy_init(qw_pwpolicy *pol, qw_pwp_mode mode, int two_step);

/* "dengbao" / "nist" (also "等保", "gb", "pci" -> dengbao); -1 unknown. */
int qw_pwpolicy_mode_parse(const char *s);
const char *qw_pwpolicy_mode_name(qw_pwp_mode mode);

/* Bounds of a password's maximum age in days (0: never expires), for the
 * QiweiPasswordMaxAge directive and the enterprise settings alike. */
#define QW_PWP_MAX_AGE_DAYS_MAX 3650

/* A maximum age as stored in the enterprise settings ("90"): 0 ..
 * QW_PWP_MAX_AGE_DAYS_MAX, or -1 when s is NULL or anything else (then
 * the default applies, as for a setting not made). */
int qw_pwpolicy_days_parse(const char *s);

/* The effective policy, the one rule for members and admins and for what
 * the settings API shows: mode as the enterprise set it (NULL or unknown:
 * dflt_mode), max_age_days as it set it (-1: dflt_age_days; -1 again: the
 * mode's own); two_step as for qw_pwpolicy_init. */
void qw_pwpolicy_resolve(qw_pwpolicy *pol, const char *mode, int dflt_mode,
                         int max_age_days, int dflt_age_days, int two_step);

/* 1 when going from policy a to policy b weakens it: composition rules
 * or the history check dropped, or a longer (or no) maximum age.  (nist
 * -> dengbao is not weaker, though its minimum is 12, not 15.) */
int qw_pwpolicy_weaker(const qw_pwpolicy *a, const qw_pwpolicy *b);

/* The blocklist: lower-cased entries in an apr_hash. */
typedef struct {
    apr_hash_t *set;
    long count;
} qw_blocklist;

/* Parse blocklist text (one password a line, '#' comments, CR LF
 * tolerated).  Entries are stored lower-cased (ASCII).  Never NULL. */
qw_blocklist *qw_blocklist_parse(apr_pool_t *p, const char *text,
                                 size_t len);
/* Read a file; NULL and *err on failure. */
qw_blocklist *qw_blocklist_load(apr_pool_t *p, const char *path,
                                const char **err);
/* 1 if pw is in the list: compared lower-cased, and again with leading and
 * trailing digits and symbols removed ("Password123!" is "password"). */
int qw_blocklist_has(const qw_blocklist *bl, apr_pool_t *scratch,
                     const char *pw, size_t len);

/* Check pw (len bytes) against pol.  account (may be NULL) must not appear
 * in it (case-insensitive, when 4 characters or longer); bl may be NULL
 * (then no blocklist check: callers should always have one). */
qw_pwp_result qw_pwpolicy_check(const qw_pwpolicy *pol,
                                const qw_blocklist *bl, apr_pool_t *scratch,
                                const char *pw, size_t len,
                                const char *account);

/* A one-sentence reason for people, in lang (plain text, escape it); the
 * minimum length is pol's. */
const char *qw_pwpolicy_message(apr_pool_t *p, const qw_pwpolicy *pol,
                                qw_pwp_result r, qw_lang lang);

/* Short token for logs and audit ("too_short", "common", ...). */
const char *qw_pwpolicy_reason(qw_pwp_result r);

/* pw (len bytes) against one stored hash: 0 with *ok set (1 a match), -1
 * when the check could not run (the module: no hashing slot free). */
typedef int (*qw_pw_verify_fn)(void *baton, const char *encoded,
                               const char *pw, size_t len, int *ok);

/* What a new password is compared with. */
typedef struct {
    /* stored hashes (const char *), newest first: [0] the current
     * password's, then the older ones; NULL or empty: none (a new
     * account) */
    const apr_array_header_t *hashes;
    /* the current password as typed, which the caller has verified
     * against hashes[0]: compared by its bytes, no hash.  NULL: not known
     * (an operator's reset), hashes[0] is verified like the others */
    const char *current;
    qw_pw_verify_fn verify;
    void *baton;
} qw_pw_history;

/* The whole check of a new password, for members and admins, the module
 * and qiweictl alike: the confirmation (pw2, NULL when there is none),
 * then pol (bl and account as for qw_pwpolicy_check), then not the current
 * password nor one of the pol->history before it (at most
 * QW_PWP_HISTORY_MAX, one verify each, stopping at the first match).
 * 0 with *res set and *compared the hashes verified, the check's cost (a
 * refusal after one or more is what the module counts like a failed
 * login); -1 when a verify could not run. */
int qw_pwpolicy_new_password(const qw_pwpolicy *pol, const qw_blocklist *bl,
                             apr_pool_t *scratch, const char *pw, size_t len,
                             const char *pw2, const char *account,
                             const qw_pw_history *h, qw_pwp_result *res,
                             int *compared);

#endif

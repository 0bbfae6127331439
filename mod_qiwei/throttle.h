/* Throttling of login attempts (R13), for member and admin logins alike.
 *
 * Per account: in PostgreSQL (qw_throttle_hit() in sql/003), so every node
 * agrees.  Each attempt is counted as a failure *before* the password is
 * hashed, in one atomic statement that either refuses it (still waiting) or
 * reserves it; a success clears the counter.  Concurrent guesses therefore
 * cannot slip through a delay.
 *
 * Per source address and its network (/24 for IPv4, /64 for IPv6): in
 * shared memory across httpd children (mod_socache's shmcb), counted per
 * enterprise.  Checked before the request body is read.
 *
 * A refused attempt gets 429 with Retry-After and the same words whatever
 * the reason; the log line (QW1202) is what fail2ban matches.  This is
 * the gate (layer 4): it decides and returns the status, never draws. */
#ifndef QW_THROTTLE_H
#define QW_THROTTLE_H

#include "httpd.h"

typedef struct {
    int threshold;      /* failures before waits start */
    int base;           /* first wait, seconds; doubles each failure */
    int cap;            /* longest wait, seconds */
    int lock_after;     /* failures after which the wait is lock_secs; 0 */
    int lock_secs;
    int quiet;          /* seconds without attempts that reset the count */
    /* > 0: the counts above are kept per (account, source network: the
     * /24 or /64 of the client), and the account as a whole is locked for
     * account_lock_secs from this many failures on (from any source) */
    int account_lock_after;
    int account_lock_secs;
} qw_throttle_rule;

/* What one counted attempt did (qw_throttle_account_hit_info). */
#define QW_LOCK_SOURCE  1       /* this source is locked out of the account */
#define QW_LOCK_ACCOUNT 2       /* the account is locked for everyone */
typedef struct {
    int failures;               /* of this source (or the account) so far */
    int account_failures;       /* of the account from every source */
    int locked;                 /* 0, QW_LOCK_SOURCE or QW_LOCK_ACCOUNT:
                                 * this attempt started a lock */
    const char *source;         /* the source counted (NULL: none) */
} qw_throttle_info;

/* Members: 5 failures, then 60 s doubling up to 15 min; reset after 12 h.
 * Admins: the same per (account, source network), a 30 min lock of that
 * source from 10 failures on, and a 30 min lock of the whole account from
 * 100 failures (from any source) on: someone who knows an admin's name
 * can no longer keep that admin out from elsewhere. */
extern const qw_throttle_rule qw_throttle_member;
extern const qw_throttle_rule qw_throttle_admin;

/* Kinds of counters (separate per account). */
#define QW_THROTTLE_PASSWORD "password"
#define QW_THROTTLE_TOTP     "totp"

/* Hooks: mutex registration, the shared cache, its child attach. */
void qw_throttle_register_hooks(apr_pool_t *p);

/* Admin counters (sql/005: separate from the members' ones). */
#define QW_THROTTLE_ADMIN_PASSWORD "admin_password"
#define QW_THROTTLE_ADMIN_TOTP     "admin_totp"

/* Refuse: log why (QW1202, never shown), set Retry-After (seconds) and
 * Cache-Control, mark the page as ours (qw_req.ours) and return
 * HTTP_TOO_MANY_REQUESTS.  Nothing is sent: a page handler returns the
 * status (render/page.c draws the 429 page, the same words whatever the
 * reason), the admin API answers with its JSON 429 (qw_api_throttled). */
int qw_throttle_refuse(request_rec *r, long seconds, const char *why);

/* Per address: OK, or HTTP_TOO_MANY_REQUESTS (qw_throttle_refuse).  Call
 * before reading the body. */
int qw_throttle_addr_check(request_rec *r);
/* Count one failure for this address and its network. */
void qw_throttle_addr_fail(request_rec *r);

/* Per account, before hashing: OK to go on; HTTP_TOO_MANY_REQUESTS
 * (qw_throttle_refuse: nothing sent); HTTP_SERVICE_UNAVAILABLE when the database failed
 * (fail closed). *failures gets the count including this attempt. */
int qw_throttle_account_hit(request_rec *r, const char *ent,
                            const char *account, const char *kind,
                            const qw_throttle_rule *rule, int *failures);
/* The same, telling what the attempt did (info may be NULL). */
int qw_throttle_account_hit_info(request_rec *r, const char *ent,
                                 const char *account, const char *kind,
                                 const qw_throttle_rule *rule,
                                 qw_throttle_info *info);
/* After a success: the counter of this source (per-source kinds) or of
 * the account. */
void qw_throttle_account_clear(request_rec *r, const char *ent,
                               const char *account, const char *kind);

/* The /24 (IPv4) or /64 (IPv6) of an address as text, or NULL. */
const char *qw_addr_network(apr_pool_t *p, const char *ip);

#endif

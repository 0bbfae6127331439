/* What member and admin accounts do alike (account.c): the second step
 * (a TOTP code with reuse detection, or a recovery code), enrolment's new
 * secret and code check, the current password asked again, a password
 * change's checks, and hashing under the concurrency slot, each throttled
 * per account around the secret check.  A qw_account_kind holds the differences: the store's
 * tables, the throttle rule and counters, the audit actions; the log
 * lines (fail2ban matches some) are written out per kind. */
#ifndef QW_ACCOUNT_H
#define QW_ACCOUNT_H

#include "httpd.h"
#include "store/store.h"
#include "throttle.h"
#include "util/i18n.h"

typedef struct {
    const qw_principal *pr;            /* the store's tables */
    const qw_throttle_rule *rule;
    const char *throttle_password;     /* the account counters' kinds */
    const char *throttle_totp;
    /* admin: 1 for the admins' kind.  Log lines are written out once per
     * kind with their tags as literals (operators grep them, fail2ban
     * matches some, scripts/check-log-tags.sh checks them), chosen by
     * this flag. */
    int admin;
    const char *replay_action;         /* audit action of a reused code */
    const char *pw_wrong_action;       /* ... of a wrong current password
                                        * (NULL: none) */
    int need_password;                 /* 1: none is an error, not "wrong" */
} qw_account_kind;

extern const qw_account_kind qw_account_members;
extern const qw_account_kind qw_account_admins;

/* One account of a kind, as the shared flows need it. */
typedef struct {
    const qw_account_kind *kind;
    int64_t ent, id;                   /* enterprise_id; member or admin id */
    const char *enterprise;            /* its code */
    const char *account;
    const char *log_name;              /* "member 5", "admin a of e" */
    const char *object;                /* audit object */
    /* who is reminded of a reused code (0: nobody), and as which admin */
    int64_t remind_member;
    int64_t remind_admin_id;
    const char *remind_admin_account;
    /* what the current password is asked again for, in the failure's log
     * line (NULL: "password change"), and the audit action of a wrong
     * one (NULL: the kind's pw_wrong_action) */
    const char *purpose;
    const char *pw_wrong_action;
} qw_account;

/* The member member of enterprise ent (r's location), account its name. */
void qw_account_member(qw_account *a, request_rec *r, int64_t ent,
                       int64_t member, const char *account);

/* A TOTP code of a: 1 accepted (when enabled, the step consumed), 0
 * wrong (or not in the state enabled_only asks), -2 reused, -1 error;
 * *step_out the matched step. */
int qw_account_code_check(request_rec *r, qw_store *st, const qw_account *a,
                          const char *text, int enabled_only,
                          int64_t *step_out);

/* The second step: throttled (the TOTP counter, before any secret is
 * opened), the code, else the recovery code.  OK (counter cleared),
 * HTTP_TOO_MANY_REQUESTS (the 429 was sent), HTTP_UNAUTHORIZED (wrong or
 * reused: logged for fail2ban, the address counted) or
 * HTTP_SERVICE_UNAVAILABLE. */
int qw_account_twostep(request_rec *r, qw_store *st, const qw_account *a,
                       const char *code, const char *rec);

/* A new secret for enrolment (not on yet): QW_OK with its base32 text,
 * QW_ERR_CONFLICT when two-step is already on, QW_ERR_CRYPTO (no random
 * bytes) or the store's error. */
qw_status qw_account_totp_new(request_rec *r, qw_store *st,
                              const qw_account *a, const char **b32);

/* The secret of a's enrolment in progress again, to show the page once
 * more after a refused code (the app already set up still fits): QW_OK
 * with its base32 text; QW_ERR_CONFLICT when two-step is already on (that
 * secret is live and never shown again: the caller answers 409, members
 * and admins alike); QW_ERR_NOTFOUND when no enrolment was begun, or the
 * store's error. */
qw_status qw_account_totp_pending(request_rec *r, qw_store *st,
                                  const qw_account *a, const char **b32);

/* The current password asked again (a step-up): throttled like a login
 * (the password counter, before hashing), checked against the current
 * hash.  OK (counter cleared), HTTP_TOO_MANY_REQUESTS (refused, nothing
 * sent), HTTP_UNAUTHORIZED (wrong: logged for fail2ban, the address
 * counted) or HTTP_SERVICE_UNAVAILABLE. */
int qw_account_current_password(request_rec *r, qw_store *st,
                                const qw_account *a, const char *cur);

/* A password change's checks, members' and admins' alike (the kind's
 * policy pol and blocklist bl are the differences): the current password
 * cur as qw_account_current_password (one hash), then the new one pw
 * (pw2: its confirmation, NULL when the form has none) through
 * qw_pwpolicy_new_password: the policy, the current password by its
 * bytes, at most QW_PWP_HISTORY_MAX older hashes in the hashing slot,
 * stopping at the first match (QW1247 says how many).  A refusal after
 * one of those hashes counts like a failed login: the password counter
 * stays, the address is counted, an admin lock it started is noted;
 * otherwise the counter is cleared.  A refusal is logged (QW1241).
 * OK with *pr (QW_PWP_OK: make the change), or the current password's
 * HTTP_TOO_MANY_REQUESTS, HTTP_UNAUTHORIZED or HTTP_SERVICE_UNAVAILABLE
 * (also when no hashing slot was free). */
int qw_account_new_password(request_rec *r, qw_store *st,
                            const qw_account *a, const qw_pwpolicy *pol,
                            const qw_blocklist *bl, const char *cur,
                            const char *pw, const char *pw2,
                            qw_pwp_result *pr);

/* A database error in a step of a: logged (QW1013 for an admin)
 * and rolled back, when the kind logs it; HTTP_SERVICE_UNAVAILABLE. */
int qw_account_step_error(request_rec *r, qw_store *st, const qw_account *a,
                          const char *what);

/* pw against encoded (NULL: a dummy hash, the same work) in the hashing
 * slot: 0 with *ok set, -1 when no slot was free. */
int qw_account_pw_verify(request_rec *r, const char *encoded,
                         const char *pw, size_t len, int *ok);
/* A new hash of pw in the hashing slot, or NULL. */
char *qw_account_pw_hash(request_rec *r, const char *pw, size_t len);

/* account_form.c: the form fields both kinds' pages show, as markup (the
 * strings in lang). */
const char *qw_form_code_fields(request_rec *r, qw_lang lang);
const char *qw_form_enrol_intro(request_rec *r, qw_lang lang,
                                const char *svg, const char *b32);
const char *qw_form_enrol_field(request_rec *r, qw_lang lang);
/* The recovery codes as <li> items. */
const char *qw_form_recovery_list(request_rec *r,
                                  const apr_array_header_t *codes);
const char *qw_form_password_fields(request_rec *r, qw_lang lang);

#endif

/* Account security on the request path (issue 6): what happens between a
 * correct password and a session (second step, forced password change,
 * required enrolment), sessions of other kinds, delegated password checks,
 * and the effective password policy.  Pages: handle/twostep.c,
 * handle/password.c, handle/scanlogin.c. */
#ifndef QW_SIGNIN_H
#define QW_SIGNIN_H

#include "httpd.h"
#include "store/store.h"
#include "util/pwpolicy.h"

#define QW_PENDING_COOKIE "qiwei_pending"
#define QW_PENDING_TTL 300
#define QW_PENDING_MAX_ATTEMPTS 5

/* Hooks of the account-security part (blocklist, throttle cache) and the
 * pages' dispatch: DECLINED when name is not one of ours. */
void qw_security_register_hooks(apr_pool_t *p);
int qw_security_dispatch(request_rec *r, const char *name);

/* A qw_store on the request's pooled connection (NULL: no database). */
qw_store *qw_sec_store(request_rec *r, const char *actor);

/* The URL of sibling page name of the handler location serving r. */
const char *qw_sec_page_url(request_rec *r, const char *name);

/* After the first factor (password) succeeded for member: start a second
 * step, a forced change or a required enrolment (returns 303 to it), or
 * return DECLINED when a plain session may be issued (login.c does). */
int qw_signin_after_password(request_rec *r, const char *ent_id,
                             const char *member_id, const char *next);

/* Finish a login at auth_level level: the same checks minus what is done,
 * then a new session (the browser's old one is dropped) and 303 to next. */
int qw_signin_finish(request_rec *r, int64_t ent, int64_t member, int level,
                     const char *next, int totp_done, int pw_changed);

/* Drop the member session the browser presented, if any: 0, or -1 on a
 * database error. */
int qw_member_session_drop(request_rec *r);
/* A new session of kind with the given timeouts replacing the one the
 * browser presented, its cookie set: OK or HTTP_SERVICE_UNAVAILABLE. */
int qw_member_session_new(request_rec *r, int64_t ent, int64_t member,
                          const char *kind, int level, int idle,
                          int max_age);
/* The same, logged (QW1225). */
int qw_sec_session_issue(request_rec *r, int64_t ent, int64_t member,
                         const char *kind, int level, int idle, int max_age);

/* The pending login named by the browser's cookie (QW_ERR_NOTFOUND if
 * none). */
qw_status qw_sec_pending_of(request_rec *r, qw_store *st, qw_pending *out);
const char *qw_sec_pending_cookie_value(request_rec *r);
void qw_sec_pending_cookie_clear(request_rec *r);

/* The member policy for this request and enterprise settings. */
void qw_sec_policy_for(request_rec *r, const qw_member_security *ms,
                       qw_pwpolicy *pol);
const qw_blocklist *qw_sec_blocklist(void);
/* Whether members of this enterprise must have two-step: the setting
 * member_two_step when set, else QiweiTwoStep of the location. */
int qw_sec_two_step_required_for(request_rec *r,
                                 const qw_member_security *ms);

/* Password check through the location's QiweiPasswordProvider list: 1
 * granted, 0 denied, -1 provider error.  Not called when none is set. */
int qw_sec_delegated_check(request_rec *r, const char *account,
                           const char *password);
int qw_sec_delegated(request_rec *r);

#endif

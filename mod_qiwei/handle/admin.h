/* What the admin handler files share (admin_session.c, admin_authz.c,
 * admin_login.c, admin_twostep.c, admin_api_session.c, admin_pages.c);
 * what the rest of the module uses is in handle/api.h. */
#ifndef QW_ADMIN_H
#define QW_ADMIN_H

#include "httpd.h"
#include "handle/api.h"
#include "util/pwhash.h"

/* a session that owes a step lives at most this long */
#define ADMIN_PENDING_SECS 600
#define ADMIN_RECOVERY_CODES 10


/* admin_session.c */
void qw_admin_session_register(apr_pool_t *p);
/* Token text of the admin cookie (its hash into hash), or NULL (two
 * cookies of that name count as none: cookie tossing). */
const char *qw_admin_cookie_token(request_rec *r, unsigned char *hash);
/* What an admin still owes after `level` (1: password; 2: also TOTP):
 * "totp", "expired", "enrol", else NULL.  *err set on a database error. */
const char *qw_admin_next_step(request_rec *r, qw_store *st, int64_t eid,
                               int64_t aid, int level, int *err);
/* In the caller's transaction: a new token for the session at level owing
 * pending; the cookie is set and s updated. */
qw_status qw_admin_rotate(request_rec *r, qw_store *st, qw_admin_session *s,
                          int level, const char *pending);

/* admin_login.c */
void qw_admin_login_register(apr_pool_t *p);

/* admin_twostep.c: the work of the steps, for the API and the pages.
 * Each returns OK or a status (HTTP_TOO_MANY_REQUESTS: the 429 was sent;
 * HTTP_UNAUTHORIZED, HTTP_BAD_REQUEST, HTTP_CONFLICT as documented there;
 * HTTP_SERVICE_UNAVAILABLE). */
int qw_admin_may_enrol(request_rec *r, const qw_admin_session *s);
int qw_admin_may_change_password(request_rec *r, const qw_admin_session *s);
int qw_admin_twostep_verify(request_rec *r, qw_store *st,
                            qw_admin_session *s, const char *code,
                            const char *rec);
int qw_admin_twostep_begin(request_rec *r, qw_store *st,
                           const qw_admin_session *s, const char **b32,
                           const char **uri, const char **svg);
int qw_admin_twostep_confirm(request_rec *r, qw_store *st,
                             qw_admin_session *s, const char *code,
                             apr_array_header_t **codes, const char **b32);
int qw_admin_step_up(request_rec *r, qw_store *st, qw_admin_session *s,
                     const char *pw, const char *code);
int qw_admin_password_change(request_rec *r, qw_store *st,
                             qw_admin_session *s, const char *cur,
                             const char *pw, const char *pw2,
                             const char **why, const char **msg);

#endif

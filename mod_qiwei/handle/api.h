/* The admin side: admin sessions (admin_session.c, admin_login.c), the
 * versioned JSON API under <handler>/api/v1/ (api*.c) and Require
 * qiwei-admin (admin_authz.c). */
#ifndef QW_API_H
#define QW_API_H

#include <jansson.h>
#include "httpd.h"
#include "store/store.h"
#include "util/jbody.h"
#include "handle/handle.h"

struct qw_api;

/* QW_ADMIN_COOKIE: qiwei.h (the gate keeps it from back-ends) */
/* SECURITY-BASELINE: admins 15 min idle / 12 h absolute */
#define QW_ADMIN_IDLE 900
#define QW_ADMIN_MAX_AGE 43200
/* A step-up (password or two-step code given again) lets the session make
 * the privileged calls for this many seconds. */
#define QW_ADMIN_STEP_UP 300
/* The API refuses bodies above this (413) before reading them. */
#define QW_API_MAX_BODY QW_JBODY_MAX
/* not X-Qiwei-*: authn.c drops every client header of that prefix (they
 * are our identity headers) */
#define QW_API_CSRF_HEADER "X-CSRF-Token"
#define QW_API_CSRF_PURPOSE "admin-api"

/* The admin behind this request. */
typedef struct {
    int64_t enterprise_id;
    int64_t admin_id;
    int64_t session_id;
    int64_t bound_member_id;   /* 0: unbound */
    const char *account;
    int is_super;
    int auth_level;            /* 1 password; 2 with the second step */
    const char *modules;       /* canonical comma separated list */
    const char *token;         /* cookie text: the CSRF binding */
    /* a step still owed before the session is usable: "totp", "enrol",
     * "expired" (password), or NULL */
    const char *pending;
    int two_step_optional;     /* settings admin_two_step = "optional" */
    const char *enterprise;    /* code of the enterprise it belongs to */
    int step_up_left;          /* seconds the last step-up still counts */
    int idle_timeout;          /* the session's idle timeout, s */
    int idle_left;             /* s until it ends idle (this request
                                * counted) */
    int expires_left;          /* s until its absolute end */
} qw_admin_session;

/* admin_*.c */
void qw_admin_register_hooks(apr_pool_t *p);
/* The admin session of r (cached per request).  OK (*out NULL when none) or
 * HTTP_SERVICE_UNAVAILABLE. */
int qw_admin_resolve(request_rec *r, qw_admin_session **out);
/* The second-step level an admin session needs: 2 (two-step is required
 * for admins by default), 1 where the enterprise's settings say
 * admin_two_step "optional". */
int qw_admin_required_level(request_rec *r, const qw_admin_session *a);
/* 1 if a may act at all: no step pending, level high enough. */
int qw_admin_usable(request_rec *r, const qw_admin_session *a);
/* The steps of a pending session (api.c /session/...; JSON replies). */
int qw_admin_api_step(struct qw_api *a, const char *step);
/* GET <api>/session's body: the admin, auth_level, pending, usable, CSRF. */
json_t *qw_admin_session_json(struct qw_api *a);
/* 1 if a may manage module m (the super admin holds every module). */
int qw_admin_may(const qw_admin_session *a, const char *m);
/* Log in: throttles (per account, before hashing), checks the password,
 * makes the session, the audit row and the bound member's reminder (+
 * NOTIFY) in one transaction.  Returns OK with *token set and *pending the
 * step still owed (NULL: none), HTTP_UNAUTHORIZED (same for every reason),
 * HTTP_TOO_MANY_REQUESTS (nothing sent: a page returns the status, the
 * API answers qw_api_throttled), or 503.  The
 * caller checks the address throttle before reading the body. */
int qw_admin_login(request_rec *r, const char *account, const char *pw,
                   size_t pwlen, const char **token, const char **pending);
/* End the session the request presents (audit row).  OK or 503. */
int qw_admin_logout(request_rec *r);
const char *qw_admin_cookie_name(request_rec *r);
const char *qw_admin_cookie(request_rec *r, const char *value);
/* The handler location's path the admin cookie is scoped to ("/qiwei/"). */
const char *qw_admin_cookie_path(request_rec *r);
/* A Set-Cookie removing an admin cookie of earlier versions (Path=/). */
const char *qw_admin_cookie_legacy_clear(request_rec *r);
/* A qw_store for r acting as who (NULL: "system"). */
void qw_admin_store(request_rec *r, qw_store *st, const qw_admin_session *a);

int qw_handle_admin_login(request_rec *r);
/* The admin login's steps as pages: admin-twostep, admin-twostep-setup,
 * admin-password. */
int qw_handle_admin_step(request_rec *r, const char *name);
int qw_handle_admin_logout(request_rec *r);

/* api.c: dispatch of <handler>/api/v1/<rest> */
int qw_handle_api(request_rec *r, const char *rest);

/* One API call in progress. */
typedef struct qw_api {
    request_rec *r;
    qw_admin_session *admin;   /* NULL on member-facing calls */
    qw_viewer *viewer;         /* member-facing calls */
    qw_store st;
    const char *seg[6];        /* path segments after /api/v1/ */
    int barrier_done;          /* the change's revocation barrier ran */
    int nseg;
    json_t *body;              /* parsed request body (object) or NULL */
    long limit, offset;        /* pagination (?limit=&offset=) */
} qw_api;

/* Replies: each sets the status and writes the body; the handler then
 * returns OK. */
int qw_api_json(qw_api *a, int status, json_t *body);     /* steals body */
int qw_api_error(qw_api *a, int status, const char *field,
                 const char *message);
int qw_api_no_content(qw_api *a);
/* The JSON 429 after the gate refused (throttle.c: Retry-After set):
 * {"error":{"message":"too many attempts"}} whatever the reason.  OK. */
int qw_api_throttled(request_rec *r);
/* Map a store failure to a reply: 400 (field from the message when it
 * starts with a known field name), 404, 409 or 503; a refused or failed
 * change is logged (module, action, object). */
int qw_api_store_error(qw_api *a, qw_status rc, const char *module,
                       const char *action, const char *object);
/* The same for a change about a person: name (an account as typed) is
 * replaced by object in the failure row's message. */
int qw_api_store_error_about(qw_api *a, qw_status rc, const char *module,
                             const char *action, const char *object,
                             const char *name);
/* 403 for an action outside the admin's modules, with an audit row
 * "refused". */
int qw_api_refuse(qw_api *a, const char *module, const char *action,
                  const char *object, const char *reason);
/* Require module m: 0 when allowed, else the reply already sent. */
int qw_api_need(qw_api *a, const char *m, const char *action,
                const char *object, int *done);
/* The privileged calls (docs/admin-api.md lists them) need a step-up
 * within QW_ADMIN_STEP_UP seconds: 0 when the session has one, else the
 * 403 {"error":{"message":"step-up required","step_up":true}} is sent
 * (and the refusal logged, QW1104 and an audit row) and *done set. */
int qw_api_need_step_up(qw_api *a, const char *module, const char *action,
                        const char *object, int *done);
/* Read the JSON body (415, 413, 400 replies sent; returns 0 when done). */
int qw_api_read_body(qw_api *a, int *done);
/* The same with a bound of max bytes instead of QW_API_MAX_BODY: refused
 * (413) from Content-Length before anything is read, or as soon as more
 * than max bytes have arrived (chunked). */
int qw_api_read_body_max(qw_api *a, apr_size_t max, int *done);
/* Every key of the body (a->body, after qw_api_read_body) must be one of
 * keys (NULL-terminated): else the 400 {"error":{"field":"<key>",
 * "message":"unknown key"}} is sent (field "<within>.<key>" when within is
 * not NULL: a nested object) and *done set.  Every handler that reads a
 * body calls it. */
int qw_api_keys(qw_api *a, const char *within, const char *const *keys,
                int *done);
/* Body field accessors: 0 on success; on a wrong type or a missing
 * required field the 400 reply is sent and *done set. */
int qw_api_str(qw_api *a, const char *field, int required, const char **out,
               int *done);
int qw_api_bool(qw_api *a, const char *field, int *out, int *done);
/* An array of strings as a comma separated list (NULL when absent). */
int qw_api_str_list(qw_api *a, const char *field, int required,
                    const char **csv, int *done);
/* A JSON array of the entries of a comma separated list. */
json_t *qw_api_csv_array(const char *csv);

/* resources */
int qw_api_departments(qw_api *a);
int qw_api_members(qw_api *a);
int qw_api_roles(qw_api *a);
int qw_api_admins(qw_api *a);
int qw_api_audit(qw_api *a);
int qw_api_settings(qw_api *a);
int qw_api_articles(qw_api *a);
int qw_api_directory(qw_api *a);     /* member-facing */
int qw_api_my_reminders(qw_api *a);  /* member-facing */
/* The mailbox (api_mailbox.c, docs/mailbox.md): <api>/mailbox/... for
 * admins (module news), <api>/me/mailbox/... for members, whose changes
 * carry X-CSRF-Token of this purpose (bound to the member's session). */
#define QW_MAILBOX_CSRF_PURPOSE "mailbox-api"
int qw_api_mailbox(qw_api *a);
int qw_api_my_mailbox(qw_api *a);    /* member-facing */
/* Count a refusal of the mailbox API under its log tag (a string literal,
 * one of metrics.c's refusal tags) and set the QIWEI_REASON note. */
void qw_api_mailbox_refused(request_rec *r, const char *tag);
/* <handler>/my-reminders (a member's page) */
int qw_handle_my_reminders(request_rec *r);
/* The member's login reminders rows (qw_reminder) as markup in lang: the
 * my-reminders page and the home page show the same. */
const char *qw_reminders_html(request_rec *r, qw_lang lang,
                              const apr_array_header_t *rows);

#endif

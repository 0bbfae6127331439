/* Shared declarations of the httpd side of mod_qiwei. */
#ifndef QIWEI_H
#define QIWEI_H

#include <stdint.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_tables.h"

#include "util/keyring.h"

#if defined(APLOG_USE_MODULE) && !defined(QW_MODULE_RECORD)
APLOG_USE_MODULE(qiwei);
#endif
extern module AP_MODULE_DECLARE_DATA qiwei_module;

/* Auth names used in httpd.conf. */
#define QW_AUTH_TYPE "Qiwei"
#define QW_HANDLER "qiwei"
#define QW_CSRF_COOKIE "qiwei_csrf"

/* The member behind the current request, as established by check_authn. */
typedef struct {
    int64_t enterprise_id;
    const char *enterprise_code;
    int64_t member_id;
    int64_t session_id;
    const char *account;
    const char *display_name;
    const char *kind;              /* member | scan | admin */
    int auth_level;
    /* department codes the member is in, ancestors included */
    apr_array_header_t *departments;
    /* department codes the member is directly in */
    apr_array_header_t *direct_departments;
    apr_array_header_t *roles;
    const char *token;             /* the cookie's token text: CSRF binding */
} qw_viewer;

/* An article's watermark setting for this request (qw_req). */
#define QW_WM_INHERIT 0     /* the location's QiweiWatermark decides */
#define QW_WM_OFF 1
#define QW_WM_ON 2

/* Per-request state, in r->request_config. */
typedef struct {
    qw_viewer *viewer;      /* NULL when no valid session */
    int resolved;           /* viewer lookup done for this request */
    int db_failed;          /* the database could not be asked */
    int ours;               /* our authn or handler ran: our error pages */
    /* articles (article.c) */
    int watermark_override; /* QW_WM_*: the article's own setting */
    const char *external_link_id;  /* share-link reader without a session:
                                    * the link id (16 hex digits) */
    void *article;          /* article.c's per-request decision */
} qw_req;

qw_req *qw_req_get(request_rec *r, int create);

/* The server-wide key ring loaded at post_config (NULL before). */
const qw_keyring *qw_keys(void);

/* A purpose key derived once per config cycle from the current master key;
 * NULL if no key file has been loaded. */
const unsigned char *qw_csrf_key(void);

/* Argon2id concurrency bound (handle/account.c uses it). */
apr_status_t qw_pw_slot_acquire(request_rec *r);
void qw_pw_slot_release(void);

/* authn.c */
void qw_authn_register_hooks(apr_pool_t *p);
/* Name of the session cookie for this request (the __Host- prefix is added
 * when the cookie is Secure). */
const char *qw_session_cookie_name(request_rec *r);
int qw_cookie_is_secure(request_rec *r);
/* The raw value of the session cookie the request carries, or NULL. */
const char *qw_cookie_value_of_session(request_rec *r);
/* "Set-Cookie" value for the session cookie; value NULL clears it. */
const char *qw_session_cookie(request_rec *r, const char *value);
/* Establishes r's viewer from its cookie (cached per request).  Returns OK
 * (viewer may be NULL: no session) or HTTP_SERVICE_UNAVAILABLE. */
int qw_viewer_resolve(request_rec *r, qw_viewer **out);

/* The session statement's columns (db.c's sql_session), in that order, at
 * the start of every statement given to qw_viewer_resolve_with. */
#define QW_SESSION_COLUMNS 12

/* qw_viewer_resolve for a caller that needs more from the database in the
 * same round trip.  When the viewer has to be read from the database (not
 * from the request, the request it came from, or the cache), stmt runs
 * instead of the session statement, with $1 the enterprise code, $2 the
 * session hash and $3... the caller's values; its first QW_SESSION_COLUMNS
 * columns are the session statement's, the rest the caller's.  Then *res
 * is that row (the caller PQclears it) and *gen what the caller hands to
 * qw_cache_*_put for what it read; otherwise *res is NULL. */
typedef struct {
    const char *stmt;
    int nvalues;
    const char *const *values;       /* text parameters $3... */
    struct pg_result *res;           /* out: a PGresult */
    apr_uint64_t gen;                /* out */
} qw_resolve_with;
int qw_viewer_resolve_with(request_rec *r, qw_viewer **out,
                           qw_resolve_with *with);
/* Sets 503 headers (Retry-After) and marks the request. */
int qw_unavailable(request_rec *r);

/* authz.c */
void qw_authz_register_hooks(apr_pool_t *p);

/* wm_filter.c */
void qw_wm_register_hooks(apr_pool_t *p);

/* article.c: QiweiArticle*, Require qiwei-article, share links, the
 * encrypted article store */
void qw_article_register_hooks(apr_pool_t *p);

/* handle/handler.c */
void qw_handler_register_hooks(apr_pool_t *p);

#endif

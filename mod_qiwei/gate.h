/* The gate (layer 4): authentication, the authorization providers,
 * articles and (throttle.h) throttling.  They decide and return statuses;
 * they never draw a page (render/ does, from the status, or the handler). */
#ifndef QW_GATE_H
#define QW_GATE_H

#include "req.h"

/* authn.c */
void qw_authn_register_hooks(apr_pool_t *p);

/* Establishes r's viewer from its cookie (cached per request).  Returns OK
 * (viewer may be NULL: no session) or HTTP_SERVICE_UNAVAILABLE. */
int qw_viewer_resolve(request_rec *r, qw_viewer **out);

/* Where to send someone to log in and come back to next (a local path,
 * escaped here): QiweiLoginURL with "next=" added after "?" or, when the
 * URL already has a query, "&".  The one spelling of the login redirect. */
const char *qw_login_location(request_rec *r, const char *next);

/* qw_viewer_resolve for a caller that needs more from the database in the
 * same round trip.  When the viewer has to be read from the database (not
 * from the request, the request it came from, or the cache), stmt runs
 * instead of the session statement, with $1 the enterprise code, $2 the
 * session hash and $3... the caller's values; its first QW_SESSION_COLUMNS
 * (db.h) columns are the session statement's, the rest the caller's.  Then
 * *res is that row (the caller PQclears it) and *gen what the caller hands to
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

/* backend.c: mod_qiwei's cookies kept from back-ends, Cache-Control:
 * private on authenticated responses */
void qw_backend_register_hooks(apr_pool_t *p);

/* authz.c */
void qw_authz_register_hooks(apr_pool_t *p);

/* article.c: QiweiArticle*, Require qiwei-article, share links, the
 * encrypted article store */
void qw_article_register_hooks(apr_pool_t *p);

/* SetHandler qiwei-article: serve the stored body (as QiweiArticleStore
 * On does); handle/article_body.c. */
#define QW_ARTICLE_HANDLER "qiwei-article"

/* What article.c decided for r about a stored body. */
typedef struct {
    int decided;             /* the lookup ran for this very URI */
    int found;
    const char *path;        /* the URI decided */
    int64_t enterprise_id, article_id;
    const char *body_type;
    const char *body_hex, *dek_hex;   /* NULL when not fetched / none */
} qw_article_body;
void qw_article_stored(request_rec *r, qw_article_body *out);

#endif

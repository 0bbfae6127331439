/* The request context (layer 2): per-request state, the session cookie's
 * name and attributes, the 503 marking.  Used by every layer above. */
#ifndef QW_REQ_H
#define QW_REQ_H

#include "qiwei.h"

/* Per-request state, in r->request_config. */
typedef struct {
    qw_viewer *viewer;      /* NULL when no valid session */
    int resolved;           /* viewer lookup done for this request */
    int db_failed;          /* the database could not be asked */
    int ours;               /* our authn or handler ran: our error pages */
    int admin;              /* an admin session let r through */
    /* the gate's decision, for the metrics and the QIWEI_DECISION note */
    int gate;               /* AuthType Qiwei: our authn ran */
    int unauth;             /* it answered "log in" (401 or redirect) */
    int provider;           /* qw_gate_provider: the last that decided */
    int allowed;            /* the request got past the access checks */
    const char *reason;     /* log tag of the last refusal (QW_REASON) */
    int session_over;       /* the cookie named a session that is over:
                             * Clear-Site-Data is set (authn.c) */
    /* articles (article.c) */
    int watermark_override; /* QW_WM_*: the article's own setting */
    const char *external_link_id;  /* share-link reader without a session:
                                    * the link id (16 hex digits) */
    void *article;          /* article.c's per-request decision */
} qw_req;

qw_req *qw_req_get(request_rec *r, int create);

/* Remember why the gate refuses r: the log tag (a string literal) of the
 * line that says so.  Counted by tag and put in the QIWEI_REASON note if
 * the request ends refused (metrics.h, authn.c). */
#define QW_REASON(r, tag) (qw_req_get((r), 1)->reason = (tag))

/* Name of the session cookie for this request (the __Host- prefix is added
 * when the cookie is Secure). */
const char *qw_session_cookie_name(request_rec *r);
int qw_cookie_is_secure(request_rec *r);
/* The raw value of the session cookie the request carries, or NULL. */
const char *qw_cookie_value_of_session(request_rec *r);
/* "Set-Cookie" value for the session cookie; value NULL clears it. */
const char *qw_session_cookie(request_rec *r, const char *value);

/* Sets 503 headers (Retry-After) and marks the request. */
int qw_unavailable(request_rec *r);

#endif

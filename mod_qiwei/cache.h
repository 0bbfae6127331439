/* Revocation-safe session cache (QiweiCacheMode cached).
 *
 * Each httpd child keeps a fixed-size table of recently seen sessions (the
 * viewer record the session query returns) and a listener thread with its
 * own PostgreSQL connection on channel qiwei_inval.  Triggers (sql/) send a
 * NOTIFY in the same transaction as every change that affects access: a
 * session ended, a member's status, departments or roles changed, a
 * department tree or role changed.  The listener evicts what the message
 * names.  Rules that make it safe:
 *   - the cache is used only while the listener is connected and answered
 *     its last heartbeat (every 500 ms) within 1.5 s; otherwise every request
 *     asks the database (as in strict mode): never stale silently;
 *   - it is wiped whenever the listener (re)connects or loses its connection;
 *   - a result read from the database is stored only if no invalidation
 *     arrived while it was being read (generation check);
 *   - an entry is valid at most until the session's absolute expiry or its
 *     next "last seen" write, whichever is first, so idle timeouts and
 *     activity tracking work exactly as without the cache.
 *
 * A second table holds article decisions (article.c): for (enterprise,
 * member, module, path), whether the article exists and whether the member
 * is in its audience, plus the article's flags.  The same listener, health
 * and generation rules apply; sql/003_articles.sql sends
 *   a:<enterprise>:<article>  an article, its audience or its people changed
 *   e:<enterprise>            an article was created (a cached "no such
 *                             article" may be wrong now) or moved, or the
 *                             enterprise's sharing switch changed
 * and 'm:' (the member's departments or roles) and 'e:' (departments,
 * roles) evict the decisions that depend on them. */
#ifndef QW_CACHE_H
#define QW_CACHE_H

#include "httpd.h"
#include "qiwei.h"

#define QW_CACHE_DEFAULT_ENTRIES 8192

void qw_cache_child_init(apr_pool_t *pchild, server_rec *s);

/* Cached viewer for (enterprise code, session hash), copied into r->pool,
 * or NULL.  *gen receives the generation to hand to qw_cache_put after a
 * database read (0 when the cache is not usable now). */
qw_viewer *qw_cache_get(request_rec *r, const char *ent,
                        const unsigned char *hash, apr_uint64_t *gen);

/* Remember v for ttl (the database's "valid for" answer) unless an
 * invalidation arrived since gen was read. */
void qw_cache_put(request_rec *r, const char *ent, const unsigned char *hash,
                  const qw_viewer *v, apr_uint64_t gen,
                  apr_interval_time_t ttl);

/* An article decision for one member (article.c's art_state, minus what
 * belongs to the request).  The enterprise is the viewer's. */
typedef struct {
    int found;                 /* an article exists at (module, path) */
    int shadowed;              /* no article there, but one at a prefix of
                                * the path ending before '/' or ';'
                                * (article_id is that one's) */
    int shadow_known;          /* shadowed was looked up (only locations
                                * with QiweiArticleMissing allow do) */
    int allowed;               /* the member is in its audience */
    apr_int64_t article_id;
    int confidential;
    int share_effective;
    apr_uint32_t share_version;
    int watermark;             /* -1 inherit, 0 off, 1 on */
} qw_art_decision;

/* Longest path (bytes) whose decisions are cached; longer ones always ask
 * the database. */
#define QW_CACHE_ART_PATH_MAX 255

/* The cached decision for viewer v (its enterprise and member) on (mod,
 * path) into *out: 1 on a hit, else 0.  *gen as for qw_cache_get. */
int qw_cache_article_get(request_rec *r, const qw_viewer *v,
                         const char *mod, const char *path,
                         qw_art_decision *out, apr_uint64_t *gen);

/* Remember a decision read from the database unless an invalidation
 * arrived since gen was read. */
void qw_cache_article_put(request_rec *r, const qw_viewer *v,
                          const char *mod, const char *path,
                          const qw_art_decision *d, apr_uint64_t gen);

/* For tests and the status line: is the cache in use in this child? */
int qw_cache_usable(server_rec *s);

#endif

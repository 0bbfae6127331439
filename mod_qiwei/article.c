/* Articles on the request path (R7, R8, the confidential-read log of R5):
 *
 *   QiweiArticleModule NAME   marks a location as holding articles of a
 *                             module; an article is named by the request's
 *                             decoded URL path (r->uri), in full.
 *   Require qiwei-article     grants when the viewer is in the article's
 *                             audience, or holds a valid share link.
 *   QiweiArticleStore On      serve the body mod_qiwei stores, encrypted.
 *
 * One prepared statement per request decides: it finds the article by
 * (enterprise, module, path) and evaluates the audience for the viewer
 * (owner, responsible/related people, members, roles, departments with
 * their sub-departments), and, where the location serves stored bodies,
 * returns the encrypted body too.  The lookup runs once, in check_authn
 * (before AuthType Qiwei's own hook), and is cached in the request, so the
 * provider has no side effects and may be evaluated any number of times.
 *
 * In QiweiCacheMode cached, a member's decision (found, in the audience,
 * the article's flags) is kept in the per-child cache (cache.h) and reused
 * without asking the database until a trigger says that the article, its
 * audience or people, the member's departments or roles, or the enterprise
 * changed.  Not cached: requests that carry a share link, locations that
 * serve stored bodies (the body comes from the database anyway), and
 * anything while the cache's listener is unhealthy.  A confidential read
 * is still written to the log on every request, cached or not.
 *
 * Share links (util/share.h) arrive as the query parameter qs=.  A request
 * with a link and no session is authenticated here as an external reader
 * ("external:<link id>"), so AuthType Qiwei does not send it to the login
 * page: invalid or revoked links get 403, expired ones 410.  A link is
 * revoked when the article's share_version moved on (all links at once)
 * or when its own row in share_links says so (one link, sql/018): the
 * token is decoded first and its link id is a parameter of the article
 * statement, which answers both in the one round trip.
 *
 * Reads of confidential articles and every external view are written to
 * the operation log (audit_log, module = the article's module, action
 * "read") in a fixup, before any content is produced; when that write
 * fails the read is refused (503): a read is never served unlogged. */
#include "apr_strings.h"
#include "ap_provider.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "util_filter.h"

#include "gate.h"
#include "cache.h"
#include "db.h"
#include "cfg/config.h"
#include "store/store.h"
#include "util/json.h"
#include "util/path.h"
#include "util/share.h"
#include "util/text.h"
#include "util/token.h"
#include "metrics.h"

#define ART_HEADERS_FILTER "QIWEI_ARTICLE_HEADERS"
#define ART_STMT "qw_article"
#define ART_STMT_SHADOW "qw_article_shadow"
#define ART_SESSION_STMT "qw_session_article"
#define ART_SESSION_STMT_SHADOW "qw_session_article_shadow"
#define SHARE_PARAM "qs"

/* The article decision, as columns of a statement in which e is the
 * enterprise's row and m the member's (all NULL for no member); ART_COL_*
 * numbers them from the first:
 *   ARTICLE_ID     NULL: no article at exactly that path
 *   SHARE_EFFECTIVE  sharing in effect (article and enterprise)
 *   WATERMARK      -1: inherit
 *   ALLOWED        the member is in the audience
 *   BODY_HEX, DEK_HEX  the stored body and its wrapped key, hex (only when
 *                  STORE is true)
 *   LINK_REVOKED   the share link the request carries (LINK, its link id
 *      in hex, NULL for none) was revoked one by one (sql/018: a row of
 *      share_links with revoked_at).  An index probe on the primary key
 *      of share_links (ART_LINK_JOIN), in the same statement: no round
 *      trip of its own.  A link with no row (made before schema 18) is
 *      not revoked by it; its share_version still decides.
 *   SHADOW_ID      (ART_SHADOW) the id of an article whose path is a proper
 *      prefix of PATH followed by '/' or ';', or which ends with '/' (NULL
 *      when none).  Such a path reaches that article's file, script or
 *      back-end (PATH_INFO, a ";param" a proxy passes on, a trailing
 *      slash): QiweiArticleMissing allow must not grant it.  PFX holds the
 *      candidate prefixes' lengths in characters, shortest first
 *      (qw_path_cut_lengths()): one index probe each.  Only the statements
 *      for QiweiArticleMissing allow have it: with deny (the default) a
 *      path with no article is refused anyway, and the sub-plan is the
 *      dearest part of the statement to set up.  The others return NULL.
 * The audience test (QW_SQL_ARTICLE_AUDIENCE, store/store.h: the member's
 * home page lists articles by the same text) compares id arrays that
 * triggers keep in the two rows (sql/009_access_ids.sql): the member's departments with their ancestors
 * and roles, the article's named members and people, roles and departments.
 * It is an expression over rows the statement has fetched anyway, with no
 * sub-plan for PostgreSQL to set up per request.  MOD, PATH, STORE and PFX
 * are the statement's parameter numbers, SHADOW the last column's
 * expression. */
#define ART_COLS(X, L, STORE, SHADOW) \
    X(ENTERPRISE_ID, " a.enterprise_id") \
    X(ARTICLE_ID, " a.article_id") \
    X(CONFIDENTIAL, " a.confidential") \
    X(SHARE_EFFECTIVE, " a.share_enabled AND e.allow_external_share") \
    X(SHARE_VERSION, " a.share_version") \
    X(WATERMARK, " coalesce(a.watermark, -1)") \
    X(ALLOWED, " m.member_id IS NOT NULL AND" QW_SQL_ARTICLE_AUDIENCE) \
    X(BODY_TYPE, " a.body_type") \
    X(BODY_HEX, \
      " CASE WHEN " STORE "::boolean THEN encode(a.body_enc, 'hex') END") \
    X(DEK_HEX, \
      " CASE WHEN " STORE "::boolean THEN encode(a.dek_wrapped, 'hex') END") \
    X(LINK_REVOKED, " sl.link_id IS NOT NULL") \
    L(SHADOW_ID, SHADOW)
#define ART_COL_ENUM(name, expr) ART_COL_##name,
enum {
    ART_COLS(ART_COL_ENUM, ART_COL_ENUM, "", "")
    ART_NCOLUMNS
};
#define ART_COLUMNS(STORE, SHADOW) \
    ART_COLS(QW_COL_SQL, QW_COL_SQL_LAST, STORE, SHADOW)
#define ART_SHADOW(MOD, PATH, PFX) \
    " (SELECT sa.article_id" \
    "    FROM unnest(" PFX "::int[]) WITH ORDINALITY AS px(len, n)" \
    "    JOIN articles sa ON sa.enterprise_id = e.enterprise_id" \
    "     AND sa.module = " MOD " AND sa.path = left(" PATH ", px.len)" \
    "   ORDER BY px.n LIMIT 1)"
#define ART_NO_SHADOW " NULL::bigint"
#define ART_JOIN(MOD, PATH) \
    "  LEFT JOIN articles a ON a.enterprise_id = e.enterprise_id" \
    "   AND a.module = " MOD " AND a.path = " PATH
#define ART_LINK_JOIN(LINK) \
    "  LEFT JOIN share_links sl ON sl.enterprise_id = a.enterprise_id" \
    "   AND sl.article_id = a.article_id AND sl.link_id = " LINK "::text" \
    "   AND sl.revoked_at IS NOT NULL"

/* The decision alone: $1 enterprise code, $2 module, $3 path, $4 member id
 * or NULL, $5 whether to return the stored body, then for the _shadow
 * variant $6 the prefix lengths, and last ($6, or $7 with _shadow) the
 * link id of the request's share link or NULL.  One row when the
 * enterprise exists. */
#define SQL_ARTICLE(SHADOW, LINK) \
    "SELECT" ART_COLUMNS("$5", SHADOW) \
    "  FROM enterprises e" \
    ART_JOIN("$2", "$3") \
    ART_LINK_JOIN(LINK) \
    "  LEFT JOIN members m ON m.enterprise_id = e.enterprise_id" \
    "                     AND m.member_id = $4::bigint" \
    " WHERE e.code = $1"
static const char sql_article[] = SQL_ARTICLE(ART_NO_SHADOW, "$6");
static const char sql_article_shadow[] =
    SQL_ARTICLE(ART_SHADOW("$2", "$3", "$6"), "$7");

/* The session and the decision in one round trip, for a viewer who is not
 * cached (every request in QiweiCacheMode strict): the session statement
 * (db.h) with the article columns after its own.  $1 enterprise code,
 * $2 session hash, $3 module, $4 path, $5 store, for the _shadow variant
 * $6 the prefix lengths, and last ($6, or $7 with _shadow) the share
 * link's id or NULL.  No row when the session is not valid. */
#define SQL_SESSION_ARTICLE(SHADOW, LINK) \
    QW_SQL_SESSION_SELECT "," ART_COLUMNS("$5", SHADOW) \
    QW_SQL_SESSION_FROM \
    ART_JOIN("$3", "$4") \
    ART_LINK_JOIN(LINK) \
    QW_SQL_SESSION_WHERE
static const char sql_session_article[] =
    SQL_SESSION_ARTICLE(ART_NO_SHADOW, "$6");
static const char sql_session_article_shadow[] =
    SQL_SESSION_ARTICLE(ART_SHADOW("$3", "$4", "$6"), "$7");

/* Longest article path, in characters (sql/003_articles.sql). */
#define ART_PATH_MAX 1024

/* The decision for one request. */
typedef struct {
    int looked;              /* the lookup ran (found or not) */
    int found;
    int shadowed;            /* not found, but under an article's path */
    int64_t shadow_id;       /* that article, with shadowed */
    int shadow_known;        /* shadowed was looked up (QiweiArticleMissing
                              * allow); else it is 0 unasked */
    int allowed;             /* the session's member is in the audience */
    int share_ok;            /* a valid share link for this very article */
    const char *link_id;     /* hex, with share_ok */
    int tok_decoded;         /* the request's token was decoded: */
    qw_share_result tok_sr;  /* how, */
    qw_share tok;            /* into what (with QW_SHARE_OK or _EXPIRED) */
    const char *tok_link;    /* an authentic, unexpired token's link id in
                              * hex, for the statement (LINK); else NULL */
    int link_revoked;        /* that link was revoked one by one */
    int64_t enterprise_id, article_id;
    const char *mod;
    const char *path;        /* the URI decided: a request that inherits
                              * this decision for another URI decides anew
                              * (fresh_decision) */
    int confidential;
    int share_effective;
    uint32_t share_version;
    int watermark;           /* -1 inherit, 0 off, 1 on */
    const char *body_type;
    const char *body_hex, *dek_hex;   /* NULL when not fetched / none */
    int logged;              /* the read was written to the log */
} art_state;

/* The decision in force for r: its own, or the one of the request it
 * was made from (an internal redirect or subrequest, for which httpd skips
 * the auth hooks when the per-dir config is the same), or NULL. */
static art_state *state_any(request_rec *r)
{
    request_rec *o;
    qw_req *q = qw_req_get(r, 0);

    if (q && q->article) {
        return q->article;
    }
    for (o = r->prev ? r->prev : r->main; o; o = o->prev ? o->prev : o->main) {
        qw_req *oq = qw_req_get(o, 0);
        if (oq && oq->article) {
            return oq->article;
        }
    }
    return NULL;
}

/* A decision is about one URI: one made for another (the parent of a
 * DirectoryIndex or MultiViews subrequest, a request whose r->uri a fast
 * redirect replaced) says nothing about r.  NULL then. */
static art_state *state_of(request_rec *r)
{
    art_state *st = state_any(r);

    if (st && st->looked && st->path && strcmp(st->path, r->uri)) {
        return NULL;
    }
    return st;
}

/* The value of qs= in the query string, or NULL.  No percent-decoding: a
 * token is base64url and anything else is not a token. */
static const char *share_param(request_rec *r, size_t *len)
{
    const char *a = r->args, *v, *end;

    while (a && *a) {
        end = strchr(a, '&');
        if (!strncmp(a, SHARE_PARAM "=", sizeof(SHARE_PARAM))) {
            v = a + sizeof(SHARE_PARAM);
            *len = end ? (size_t)(end - v) : strlen(v);
            return v;
        }
        a = end ? end + 1 : NULL;
    }
    return NULL;
}

/* An article's path is UTF-8 text with no control character (sql/003):
 * a request path that is not cannot be one, or be under one, and would
 * fail the statement.  And a decision is for one spelling of a path: a
 * second one ("//", "/./", "/../", %2F, a trailing dot, '\', ";x/")
 * may reach the same file, script or back-end under a name that has no
 * article (QiweiArticleMissing allow would grant it), so it is refused
 * rather than decided (util/path.h).  The path as sent is checked only for
 * the client's own request: a subrequest or internal redirect was spelled
 * by the server, and is checked as decoded.  Both refused with 400 where
 * articles are decided; a redirect to the canonical form would guess what
 * a back-end makes of the other spelling. */
static int path_ok(request_rec *r)
{
    const char *raw = NULL;
    size_t rawlen = 0;
    qw_path_verdict v;

    if (!qw_valid_utf8_text(r->uri, strlen(r->uri))) {
        QW_REASON(r, "QW0915");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0915: request path (%" APR_SIZE_T_FMT " bytes) "
                      "from %s is not UTF-8 text: refused", strlen(r->uri),
                      r->useragent_ip);
        return 0;
    }
    if (!r->main && !r->prev) {
        raw = qw_path_of_target(r->unparsed_uri, &rawlen);
    }
    v = qw_path_check(r->uri, raw, rawlen);
    if (v == QW_PATH_CANONICAL) {
        return 1;
    }
    QW_REASON(r, "QW0916");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0916: request path %s (sent as %.*s) from %s is not "
                  "canonical (%s): refused; the canonical path is %s",
                  r->uri, raw ? (int)rawlen : 1, raw ? raw : "-",
                  r->useragent_ip, qw_path_verdict_text(v),
                  qw_path_canonical(r->pool, r->uri));
    return 0;
}

/* st from the article columns of res's row 0, starting at column off. */
static void take_row(request_rec *r, art_state *st, const char *mod,
                     PGresult *res, int off)
{
    st->looked = 1;
    st->mod = mod;
    st->path = r->uri;
    if (PQntuples(res) != 1 || PQnfields(res) < off + ART_NCOLUMNS) {
        return;
    }
#define COL(name) PQgetvalue(res, 0, off + ART_COL_##name)
#define NUL(name) PQgetisnull(res, 0, off + ART_COL_##name)
    if (!NUL(SHADOW_ID)) {
        st->shadowed = 1;
        st->shadow_id = apr_atoi64(COL(SHADOW_ID));
    }
    if (!NUL(ARTICLE_ID)) {
        st->found = 1;
        st->enterprise_id = apr_atoi64(COL(ENTERPRISE_ID));
        st->article_id = apr_atoi64(COL(ARTICLE_ID));
        st->confidential = !strcmp(COL(CONFIDENTIAL), "t");
        st->share_effective = !strcmp(COL(SHARE_EFFECTIVE), "t");
        st->share_version = (uint32_t)apr_atoi64(COL(SHARE_VERSION));
        st->watermark = atoi(COL(WATERMARK));
        st->allowed = !strcmp(COL(ALLOWED), "t");
        st->link_revoked = !strcmp(COL(LINK_REVOKED), "t");
        if (!NUL(BODY_TYPE)) {
            st->body_type = apr_pstrdup(r->pool, COL(BODY_TYPE));
        }
        if (!NUL(BODY_HEX) && !NUL(DEK_HEX)) {
            st->body_hex = apr_pstrdup(r->pool, COL(BODY_HEX));
            st->dek_hex = apr_pstrdup(r->pool, COL(DEK_HEX));
        }
    }
#undef COL
#undef NUL
}

static void log_decision(request_rec *r, const art_state *st)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0901: %s article %s: %s%s", st->mod, r->uri,
                  st->found ? "found" : st->shadowed
                  ? "no such article, but under one" : "no such article",
                  st->found ? (st->allowed ? ", viewer in audience"
                                           : ", viewer not in audience")
                            : "");
}

/* Run the article query.  Returns OK (st filled, st->found may be 0) or
 * HTTP_SERVICE_UNAVAILABLE. */
static int lookup(request_rec *r, art_state *st, const char *mod,
                  const qw_viewer *v)
{
    qw_dir_cfg *d = qw_dir(r);
    const char *values[7];
    PGresult *res;
    int shadow;

    st->looked = 1;
    st->mod = mod;
    st->path = r->uri;
    values[0] = d->enterprise;
    values[1] = mod;
    values[2] = r->uri;
    values[3] = v ? apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                 v->member_id) : NULL;
    values[4] = qw_cfg_article_store(d) ? "true" : "false";
    shadow = qw_cfg_article_missing_allow(d);
    values[5] = shadow ? qw_path_cut_lengths(r->pool, r->uri, ART_PATH_MAX)
                       : NULL;
    values[shadow ? 6 : 5] = st->tok_link;
    res = qw_db_exec(r, shadow ? ART_STMT_SHADOW : ART_STMT,
                     shadow ? 7 : 6, values, NULL, NULL);
    if (!res) {
        return qw_unavailable(r);
    }
    take_row(r, st, mod, res, 0);
    st->shadow_known = shadow;
    PQclear(res);
    log_decision(r, st);
    return OK;
}

/* Keep the decision st, read from the database for viewer v after the
 * cache handed out gen, in the cache. */
static void remember(request_rec *r, const art_state *st, const char *mod,
                     const qw_viewer *v, apr_uint64_t gen)
{
    qw_art_decision dec;

    /* the article must be the viewer's enterprise's: the key says so */
    if (!gen || (st->found && st->enterprise_id != v->enterprise_id)) {
        return;
    }
    memset(&dec, 0, sizeof(dec));
    dec.found = st->found;
    dec.allowed = st->allowed;
    dec.shadowed = st->shadowed;
    dec.shadow_known = st->shadow_known;
    if (st->shadowed) {
        dec.article_id = st->shadow_id;     /* evicted with that article */
    }
    if (st->found) {
        dec.article_id = st->article_id;
        dec.confidential = st->confidential;
        dec.share_effective = st->share_effective;
        dec.share_version = st->share_version;
        dec.watermark = st->watermark;
    }
    else {
        dec.watermark = -1;
    }
    qw_cache_article_put(r, v, mod, r->uri, &dec, gen);
}

/* Establish the viewer and, when the viewer has to be read from the
 * database, the decision for r in the same statement.  Returns as
 * qw_viewer_resolve; st->looked says whether the decision was made. */
static int resolve(request_rec *r, art_state *st, const char *mod,
                   qw_viewer **v, int cacheable)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_resolve_with with;
    const char *values[5];
    int rc, shadow;

    values[0] = mod;
    values[1] = r->uri;
    values[2] = qw_cfg_article_store(d) ? "true" : "false";
    shadow = qw_cfg_article_missing_allow(d);
    values[3] = shadow ? qw_path_cut_lengths(r->pool, r->uri, ART_PATH_MAX)
                       : NULL;
    values[shadow ? 4 : 3] = st->tok_link;
    with.stmt = shadow ? ART_SESSION_STMT_SHADOW : ART_SESSION_STMT;
    with.nvalues = shadow ? 5 : 4;
    with.values = values;
    rc = qw_viewer_resolve_with(r, v, &with);
    if (with.res) {
        if (rc == OK && *v) {
            take_row(r, st, mod, with.res, QW_SESSION_COLUMNS);
            st->shadow_known = shadow;
            log_decision(r, st);
            if (cacheable) {
                remember(r, st, mod, *v, with.gen);
            }
        }
        PQclear(with.res);
    }
    return rc;
}

/* The viewer's decision, from the cache when it has one, else from the
 * database (then remembered).  Returns as lookup. */
static int lookup_member(request_rec *r, art_state *st, const char *mod,
                         const qw_viewer *v, int cacheable)
{
    qw_art_decision dec;
    apr_uint64_t gen = 0;
    int rc;

    if (st->looked) {
        return OK;              /* made with the viewer (resolve()) */
    }
    /* a decision cached where the shadow check was not made (deny mode)
     * does not do for a location that allows missing articles */
    if (cacheable && qw_cache_article_get(r, v, mod, r->uri, &dec, &gen)
        && (dec.shadow_known
            || !qw_cfg_article_missing_allow(qw_dir(r)))) {
        st->looked = 1;
        st->mod = mod;
        st->path = r->uri;
        st->found = dec.found;
        st->allowed = dec.allowed;
        st->shadowed = dec.shadowed;
        st->shadow_known = dec.shadow_known;
        if (dec.shadowed) {
            st->shadow_id = dec.article_id;
        }
        if (dec.found) {
            st->enterprise_id = v->enterprise_id;
            st->article_id = dec.article_id;
            st->confidential = dec.confidential;
            st->share_effective = dec.share_effective;
            st->share_version = dec.share_version;
            st->watermark = dec.watermark;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0912: %s article %s: decision from the cache "
                      "(%s)", mod, r->uri,
                      !dec.found ? (dec.shadowed
                                    ? "no such article, but under one"
                                    : "no such article")
                      : dec.allowed ? "viewer in audience"
                                    : "viewer not in audience");
        return OK;
    }
    if ((rc = lookup(r, st, mod, v)) != OK || !cacheable) {
        return rc;
    }
    remember(r, st, mod, v, gen);
    return OK;
}

/* Decode the request's share token before the article statement runs, so
 * that the statement can say whether that very link was revoked
 * (LINK_REVOKED).  Pure: the verdict is logged by check_share. */
static void decode_token(request_rec *r, art_state *st, const char *tok,
                         size_t toklen)
{
    if (!tok || st->tok_decoded) {
        return;
    }
    st->tok_decoded = 1;
    st->tok_sr = qw_share_decode(qw_keys(), tok, toklen,
                                 apr_time_sec(r->request_time), &st->tok);
    if (st->tok_sr == QW_SHARE_OK) {
        st->tok_link = qw_share_link_hex(r->pool, st->tok.link_id);
    }
}

/* Check a share token against the article.  Returns OK (st->share_ok
 * set), HTTP_FORBIDDEN, HTTP_GONE or HTTP_SERVICE_UNAVAILABLE. */
static int check_share(request_rec *r, art_state *st, const char *mod,
                       const char *tok, size_t toklen)
{
    qw_share s;
    qw_share_result sr;
    const char *why = NULL;
    int rc;

    decode_token(r, st, tok, toklen);
    sr = st->tok_sr;
    s = st->tok;
    if (sr == QW_SHARE_INVALID) {
        QW_REASON(r, "QW0902");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0902: invalid share link (%" APR_SIZE_T_FMT
                      " bytes) for %s from %s", toklen, r->uri,
                      r->useragent_ip);
        qw_metrics_inc(QW_C_SHARE_REFUSED);
        return HTTP_FORBIDDEN;
    }
    if (sr == QW_SHARE_EXPIRED) {
        QW_REASON(r, "QW0903");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0903: expired share link %s for %s from %s",
                      qw_share_link_hex(r->pool, s.link_id), r->uri,
                      r->useragent_ip);
        qw_metrics_inc(QW_C_SHARE_REFUSED);
        return HTTP_GONE;
    }
    if (!st->looked && (rc = lookup(r, st, mod, NULL)) != OK) {
        return rc;
    }
    if (!st->found) {
        why = "no such article";
    }
    else if (s.enterprise_id != st->enterprise_id
             || s.article_id != st->article_id) {
        why = "the link is for another article";
    }
    else if (!st->share_effective) {
        why = "sharing is off (article or enterprise)";
    }
    else if (s.share_version != st->share_version) {
        why = "the link was revoked";
    }
    else if (st->link_revoked) {
        why = "this link was revoked (DELETE links/ID)";
    }
    if (why) {
        QW_REASON(r, "QW0904");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0904: share link %s refused for %s from %s: %s",
                      qw_share_link_hex(r->pool, s.link_id), r->uri,
                      r->useragent_ip, why);
        qw_metrics_inc(QW_C_SHARE_REFUSED);
        return HTTP_FORBIDDEN;
    }
    qw_metrics_inc(QW_C_SHARE_SERVED);
    st->share_ok = 1;
    st->link_id = qw_share_link_hex(r->pool, s.link_id);
    return OK;
}

static int art_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    const char *mod, *tok;
    qw_req *q;
    qw_viewer *v;
    art_state *st;
    size_t toklen = 0;
    int rc, cacheable;

    if (!type || strcasecmp(type, QW_AUTH_TYPE)
        || !(mod = qw_cfg_article_module(qw_dir(r)))) {
        return DECLINED;
    }
    q = qw_req_get(r, 1);
    q->ours = 1;
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->watermark = -1;
    q->article = st;
    tok = share_param(r, &toklen);
    if (!path_ok(r)) {
        return HTTP_BAD_REQUEST;
    }
    decode_token(r, st, tok, toklen);
    /* a link needs the article's current share state, and a stored body
     * comes from the database anyway: only plain member reads use the
     * cache */
    cacheable = !tok && !qw_cfg_article_store(qw_dir(r));

    rc = resolve(r, st, mod, &v, cacheable);
    if (rc != OK) {
        return rc;
    }
    if (!qw_dir(r)->enterprise) {
        return DECLINED;            /* authn.c refuses it */
    }
    if (v) {
        rc = lookup_member(r, st, mod, v, cacheable);
        if (rc != OK) {
            return rc;
        }
        /* a member outside the audience may still hold a link; a bad
         * link changes nothing for a member */
        if (tok && st->found && !st->allowed) {
            rc = check_share(r, st, mod, tok, toklen);
            if (rc == HTTP_SERVICE_UNAVAILABLE) {
                return rc;
            }
        }
        return DECLINED;            /* AuthType Qiwei sets the identity */
    }
    if (!tok) {
        return DECLINED;            /* AuthType Qiwei asks for a login */
    }
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    rc = check_share(r, st, mod, tok, toklen);
    if (rc != OK) {
        return rc;
    }
    q->external_link_id = st->link_id;
    r->user = apr_pstrcat(r->pool, "external:", st->link_id, NULL);
    r->ap_auth_type = (char *)QW_AUTH_TYPE;
    apr_table_setn(r->subprocess_env, "QIWEI_EXTERNAL_LINK", st->link_id);
    apr_table_setn(r->subprocess_env, "QIWEI_ENTERPRISE",
                   qw_dir(r)->enterprise);
    if (qw_cfg_identity_headers(qw_dir(r))) {
        apr_table_setn(r->headers_in, "X-Qiwei-External-Link", st->link_id);
        apr_table_setn(r->headers_in, "X-Qiwei-Enterprise",
                       qw_dir(r)->enterprise);
    }
    return OK;
}

/* Require qiwei-article: no arguments, no side effects. */
static const char *article_parse(cmd_parms *cmd, const char *line,
                                 const void **parsed)
{
    if (line && *line) {
        return "Require qiwei-article takes no arguments";
    }
    return NULL;
}

static authz_status article_check(request_rec *r, const char *line,
                                  const void *parsed)
{
    art_state *st = state_of(r);
    qw_req *q;

    qw_req_get(r, 1)->provider = QW_PROV_ARTICLE;
    if (st && st->share_ok) {
        return AUTHZ_GRANTED;
    }
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    if (!st || !st->looked) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW0905: Require qiwei-article at %s without an "
                      "article decision: needs AuthType Qiwei and "
                      "QiweiArticleModule", r->uri);
        return AUTHZ_DENIED;
    }
    if (!st->found) {
        q = qw_req_get(r, 0);
        if (qw_cfg_article_missing_allow(qw_dir(r)) && q && q->viewer
            && !st->shadowed) {
            return AUTHZ_GRANTED;
        }
        if (st->shadowed) {
            QW_REASON(r, "QW0913");
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "QW0913: no %s article at %s, but it is under "
                          "article %" APR_INT64_T_FMT ": refused", st->mod,
                          r->uri, st->shadow_id);
            return AUTHZ_DENIED;
        }
        QW_REASON(r, "QW0906");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0906: no %s article at %s: refused "
                      "(QiweiArticleMissing deny)", st->mod, r->uri);
        return AUTHZ_DENIED;
    }
    if (st->allowed) {
        return AUTHZ_GRANTED;
    }
    QW_REASON(r, "QW0907");
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0907: %s is not in the audience of %s article %"
                  APR_INT64_T_FMT, r->user, st->mod, st->article_id);
    return AUTHZ_DENIED;
}

static const authz_provider article_provider = {
    &article_check, &article_parse
};

/* Write the read to the operation log in its own transaction.  OK or 503. */
static int log_read(request_rec *r, art_state *st)
{
    qw_req *q = qw_req_get(r, 1);
    qw_viewer *v = q->viewer;
    qw_store s;
    qw_status rc;
    const char *details;

    /* a member who came with a link is still logged as that member; the
     * link is in the details either way */
    if (qw_db_store(r, &s, v ? apr_psprintf(r->pool, "member:%"
                                            APR_INT64_T_FMT, v->member_id)
                             : apr_pstrcat(r->pool, "external:", st->link_id,
                                           NULL),
                    v ? "member" : "external") != 0 || !s.keys) {
        return qw_unavailable(r);
    }
    details = qw_json_text(r->pool, json_pack("{s:b, s:s?}", "confidential",
                                              st->confidential, "link",
                                              st->share_ok ? st->link_id
                                                           : NULL));
    if ((rc = qw_store_begin(&s)) != QW_OK
        || (rc = qw_audit_append(&s, st->enterprise_id, st->mod, "read",
                                 apr_psprintf(r->pool, "article:%"
                                              APR_INT64_T_FMT " %s",
                                              st->article_id, st->path),
                                 "success", NULL, details)) != QW_OK
        || (rc = qw_store_commit(&s)) != QW_OK) {
        qw_store_rollback(&s);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0908: cannot log the read of article %"
                      APR_INT64_T_FMT ": %s; refused", st->article_id,
                      s.err ? s.err : qw_status_name(rc));
        return qw_unavailable(r);
    }
    st->logged = 1;
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0909: %s read %s article %" APR_INT64_T_FMT " (%s) "
                  "from %s", s.who.actor, st->confidential ? "confidential"
                  : "shared", st->article_id, st->path, r->useragent_ip);
    return OK;
}

/* Decide r anew, for its own URI, and run the location's authorization
 * again with that decision.  For a request that reached an article
 * location with a decision made for another URI: a subrequest or internal
 * redirect for which httpd skipped the auth hooks (same per-dir config,
 * AP_AUTH_INTERNAL_PER_CONF), or a request whose r->uri a fast redirect
 * (mod_dir's DirectoryIndex, MultiViews) replaced after authorization.
 * Without this, /news/ (granted) would serve /news/index.html, a
 * restricted article, through its DirectoryIndex subrequest.  Returns OK
 * or the status to refuse with. */
static int redecide(request_rec *r, const char *mod)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_req *q = qw_req_get(r, 1);
    art_state *st;
    qw_viewer *v;
    const char *tok;
    size_t toklen = 0;
    int rc, cacheable;

    q->ours = 1;
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->watermark = -1;
    q->article = st;
    if (!d->enterprise) {
        return HTTP_FORBIDDEN;
    }
    if (!path_ok(r)) {
        return HTTP_BAD_REQUEST;
    }
    tok = share_param(r, &toklen);
    decode_token(r, st, tok, toklen);
    cacheable = !tok && !qw_cfg_article_store(d);
    if ((rc = resolve(r, st, mod, &v, cacheable)) != OK) {
        return rc;
    }
    if (v) {
        rc = lookup_member(r, st, mod, v, cacheable);
        if (rc == OK && tok && st->found && !st->allowed
            && check_share(r, st, mod, tok, toklen)
               == HTTP_SERVICE_UNAVAILABLE) {
            rc = HTTP_SERVICE_UNAVAILABLE;
        }
    }
    else if (tok) {
        rc = check_share(r, st, mod, tok, toklen);
    }
    else {
        rc = lookup(r, st, mod, NULL);
    }
    if (rc != OK) {
        return rc;
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0914: %s inherited a decision for another URI: "
                  "decided again", r->uri);
    /* every Require of the location, so that qiwei-article composes as
     * it does on the main path */
    rc = ap_run_auth_checker(r);
    return rc == OK ? OK : rc == DECLINED ? HTTP_FORBIDDEN : rc;
}

static int art_fixups(request_rec *r)
{
    art_state *st;
    qw_req *q;
    const char *type = ap_auth_type(r), *mod;
    int rc;

    if (type && !strcasecmp(type, QW_AUTH_TYPE)
        && (mod = qw_cfg_article_module(qw_dir(r)))
        && (!state_any(r) || !state_of(r))) {
        if ((rc = redecide(r, mod)) != OK) {
            return rc;
        }
    }
    st = state_of(r);
    if (!st || !st->looked || !st->found) {
        return DECLINED;
    }
    q = qw_req_get(r, 1);
    if (st->watermark >= 0) {
        q->watermark_override = st->watermark ? QW_WM_ON : QW_WM_OFF;
    }
    if (st->share_ok && !q->viewer) {
        q->external_link_id = st->link_id;
    }
    if (!r->main && !st->logged
        && (st->confidential || (st->share_ok && !(q->viewer
                                                   && st->allowed)))) {
        return log_read(r, st) == OK ? DECLINED : HTTP_SERVICE_UNAVAILABLE;
    }
    return DECLINED;
}

static int art_fixups_late(request_rec *r)
{
    return art_fixups(r);
}

/* Article pages are per-viewer and access-controlled: no shared cache may
 * keep them, and a share link in the URL must not leak via Referer. */
static apr_status_t headers_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;

    apr_table_unset(r->headers_out, "Cache-Control");
    apr_table_unset(r->err_headers_out, "Cache-Control");
    apr_table_setn(r->headers_out, "Cache-Control", "private, no-store");
    apr_table_setn(r->headers_out, "Referrer-Policy", "no-referrer");
    apr_table_unset(r->err_headers_out, "Referrer-Policy");
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static void art_insert_filter(request_rec *r)
{
    art_state *st = state_of(r);

    if (!r->main && st && st->looked) {
        ap_add_output_filter(ART_HEADERS_FILTER, NULL, r, r->connection);
    }
}

void qw_article_stored(request_rec *r, qw_article_body *out)
{
    art_state *st = state_of(r);

    memset(out, 0, sizeof(*out));
    if (!st || !st->looked) {
        return;
    }
    out->decided = 1;
    out->found = st->found;
    out->path = st->path;
    out->enterprise_id = st->enterprise_id;
    out->article_id = st->article_id;
    out->body_type = st->body_type;
    out->body_hex = st->body_hex;
    out->dek_hex = st->dek_hex;
}

void qw_article_register_hooks(apr_pool_t *p)
{
    /* all four only read */
    qw_db_register_statement(ART_STMT, sql_article, QW_DB_IDEMPOTENT);
    qw_db_register_statement(ART_STMT_SHADOW, sql_article_shadow,
                             QW_DB_IDEMPOTENT);
    qw_db_register_statement(ART_SESSION_STMT, sql_session_article,
                             QW_DB_IDEMPOTENT);
    qw_db_register_statement(ART_SESSION_STMT_SHADOW,
                             sql_session_article_shadow, QW_DB_IDEMPOTENT);
    /* before AuthType Qiwei's own check_authn (APR_HOOK_MIDDLE) */
    ap_hook_check_authn(art_check_authn, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "qiwei-article",
                              AUTHZ_PROVIDER_VERSION, &article_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    /* before the watermark's fixup (APR_HOOK_LAST) reads our setting */
    ap_hook_fixups(art_fixups, NULL, NULL, APR_HOOK_MIDDLE);
    /* again after mod_dir's fixup (APR_HOOK_LAST), whose DirectoryIndex
     * fast redirect puts another URI into r after it was decided */
    ap_hook_fixups(art_fixups_late, NULL, NULL, APR_HOOK_REALLY_LAST);
    ap_register_output_filter(ART_HEADERS_FILTER, headers_filter, NULL,
                              AP_FTYPE_CONTENT_SET + 1);
    ap_hook_insert_filter(art_insert_filter, NULL, NULL, APR_HOOK_MIDDLE);
    /* the stored body is served by handle/article_body.c */
}

/* Admin API: articles (modules news, wiki, minutes, forms and the
 * operator's own).  An article is addressed by its numeric id
 * (/articles/ID): its path holds slashes, which the API's path splitting
 * cannot carry.  The admin must hold the article's module for every call,
 * reads included; a refusal is a 403 with a "refused" audit row.  Every
 * change goes through store/article.c, which logs it (actor: the admin) in
 * the transaction that makes it. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "util_script.h"

#include <stdlib.h>
#include <openssl/crypto.h>

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/api.h"
#include "util/envelope.h"
#include "util/share.h"
#include "util/text.h"

#define TEN_YEARS ((json_int_t)10 * 366 * 86400)

/* the keys each body may have (others: 400) */
static const char *const keys_create[] = { "module", "path", "title",
                                           "owner", "confidential",
                                           "watermark", "audience", NULL };
static const char *const keys_audience[] = { "all", "departments", "roles",
                                             "members", NULL };
static const char *const keys_people[] = { "responsible", "related", NULL };
static const char *const keys_confidential[] = { "confidential", NULL };
static const char *const keys_title[] = { "title", NULL };
static const char *const keys_watermark[] = { "watermark", NULL };
static const char *const keys_share[] = { "share", NULL };
static const char *const keys_link[] = { "expires_in", NULL };

static const char *ent(qw_api *a)
{
    return qw_dir(a->r)->enterprise;
}

static int method_not_allowed(qw_api *a)
{
    return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                        "method not allowed");
}

static int not_found(qw_api *a)
{
    return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such article");
}

/* the object name the store's audit rows use */
static const char *object_of(qw_api *a, const qw_article *ar)
{
    return apr_psprintf(a->r->pool, "article:%s %s",
                        qw_i64(a->r->pool, ar->id), ar->path);
}

static json_t *article_json(const qw_article *ar)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_integer(ar->id));
    json_object_set_new(o, "module", json_string(ar->module));
    json_object_set_new(o, "path", json_string(ar->path));
    json_object_set_new(o, "title", json_string(ar->title));
    json_object_set_new(o, "owner", ar->owner ? json_string(ar->owner)
                                              : json_null());
    json_object_set_new(o, "audience",
                        json_pack("{s:b, s:o, s:o, s:o}",
                                  "all", ar->audience_all,
                                  "departments",
                                  qw_api_csv_array(ar->departments),
                                  "roles", qw_api_csv_array(ar->roles),
                                  "members",
                                  qw_api_csv_array(ar->members)));
    json_object_set_new(o, "responsible",
                        qw_api_csv_array(ar->responsible));
    json_object_set_new(o, "related", qw_api_csv_array(ar->related));
    json_object_set_new(o, "confidential",
                        json_boolean(ar->confidential));
    json_object_set_new(o, "share",
                        json_pack("{s:b, s:b, s:i}",
                                  "enabled", ar->share_enabled,
                                  "effective", ar->share_effective,
                                  "version", ar->share_version));
    json_object_set_new(o, "watermark",
                        json_string(ar->watermark < 0 ? "inherit"
                                    : ar->watermark ? "on" : "off"));
    json_object_set_new(o, "body",
                        ar->body_type
                        ? json_pack("{s:s, s:I, s:i}", "type",
                                    ar->body_type, "stored_bytes",
                                    (json_int_t)ar->body_bytes,
                                    "key_id", ar->dek_kid)
                        : json_null());
    json_object_set_new(o, "updated_at", json_string(ar->updated_at));
    return o;
}

/* The article with this id (text from the URL) in the admin's
 * enterprise.  0: *out filled; else the reply (400/404/503) is sent. */
static int article_by_id(qw_api *a, const char *idtext, qw_article *out,
                         int *done)
{
    apr_array_header_t *all;
    char *end;
    int64_t id;
    qw_status rc;
    int i;

    id = apr_strtoi64(idtext, &end, 10);
    if (!*idtext || *end || id <= 0) {
        *done = not_found(a);
        return 1;
    }
    if ((rc = qw_article_list(&a->st, ent(a), NULL, &all)) != QW_OK) {
        *done = qw_api_store_error(a, rc, NULL, NULL, NULL);
        return 1;
    }
    for (i = 0; i < all->nelts; i++) {
        qw_article *ar = &APR_ARRAY_IDX(all, i, qw_article);
        if (ar->id == id) {
            *out = *ar;
            return 0;
        }
    }
    *done = not_found(a);
    return 1;
}

/* Answer with the article as it is now. */
static int reply_article(qw_api *a, int status, const char *mod,
                         const char *path)
{
    qw_article ar;
    qw_status rc;

    memset(&ar, 0, sizeof(ar));
    if ((rc = qw_article_get(&a->st, ent(a), mod, path, &ar)) != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    return qw_api_json(a, status, article_json(&ar));
}

/* The audience object of the body (field "audience" when nested, else the
 * body itself).  Absent lists are empty. */
static int audience_of(qw_api *a, json_t *obj, qw_audience *aud, int *done)
{
    const char *within = obj == a->body ? NULL : "audience";
    json_t *saved = a->body;
    int all, bad;

    memset(aud, 0, sizeof(*aud));
    if (obj && !json_is_object(obj)) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, "audience",
                             "audience must be an object");
        return 1;
    }
    /* the field accessors read a->body: point them at the object */
    a->body = obj;
    bad = qw_api_keys(a, within, keys_audience, done)
          || qw_api_bool(a, "all", &all, done)
          || qw_api_str_list(a, "departments", 0, &aud->departments, done)
          || qw_api_str_list(a, "roles", 0, &aud->roles, done)
          || qw_api_str_list(a, "members", 0, &aud->members, done);
    a->body = saved;
    aud->all = all == 1;
    return bad;
}

static int watermark_of(qw_api *a, const char *v, int *wm, int *done)
{
    if (!v || !strcmp(v, "inherit")) {
        *wm = QW_ARTICLE_WM_INHERIT;
    }
    else if (!strcmp(v, "on")) {
        *wm = 1;
    }
    else if (!strcmp(v, "off")) {
        *wm = 0;
    }
    else {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, "watermark",
                             "watermark must be on, off or inherit");
        return 1;
    }
    return 0;
}

static int list_articles(qw_api *a)
{
    apr_table_t *args;
    apr_array_header_t *all;
    const char *mod;
    json_t *items = json_array();
    int done = OK, i, n = 0;
    qw_status rc;

    ap_args_to_table(a->r, &args);
    mod = apr_table_get(args, "module");
    if (mod) {
        if (!qw_valid_article_module(mod)) {
            json_decref(items);
            return qw_api_error(a, HTTP_BAD_REQUEST, "module",
                                "module is not a valid module name");
        }
        if (qw_api_need(a, mod, "read", "articles", &done)) {
            json_decref(items);
            return done;
        }
    }
    if ((rc = qw_article_list(&a->st, ent(a), mod, &all)) != QW_OK) {
        json_decref(items);
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    /* without a filter: the articles of the modules the admin holds */
    for (i = 0; i < all->nelts; i++) {
        qw_article *ar = &APR_ARRAY_IDX(all, i, qw_article);
        if (!qw_admin_may(a->admin, ar->module)) {
            continue;
        }
        if (n >= a->offset && n < a->offset + a->limit) {
            json_array_append_new(items, article_json(ar));
        }
        n++;
    }
    return qw_api_json(a, HTTP_OK,
                       json_pack("{s:o, s:i, s:i, s:i}", "items", items,
                                 "total", n, "limit", (json_int_t)a->limit,
                                 "offset", (json_int_t)a->offset));
}

static int create_article(qw_api *a)
{
    const char *mod, *path, *title, *owner, *wmtext;
    json_t *audobj;
    qw_audience aud;
    int done = OK, conf, wm;
    int64_t id;
    qw_status rc;

    /* the module decides the right, so it is read first; the rest of the
     * body is checked only for an admin allowed to create there */
    if (qw_api_read_body(a, &done)
        || qw_api_keys(a, NULL, keys_create, &done)
        || qw_api_str(a, "module", 1, &mod, &done)) {
        return done;
    }
    if (!qw_valid_article_module(mod)) {
        return qw_api_error(a, HTTP_BAD_REQUEST, "module",
                            "module is not a valid module name");
    }
    if (qw_api_need(a, mod, "create", "article", &done)
        || qw_api_str(a, "path", 1, &path, &done)
        || qw_api_str(a, "title", 1, &title, &done)
        || qw_api_str(a, "owner", 1, &owner, &done)
        || qw_api_bool(a, "confidential", &conf, &done)
        || qw_api_str(a, "watermark", 0, &wmtext, &done)
        || watermark_of(a, wmtext, &wm, &done)) {
        return done;
    }
    audobj = json_object_get(a->body, "audience");
    if (json_is_null(audobj)) {
        audobj = NULL;
    }
    if (audience_of(a, audobj, &aud, &done)) {
        return done;
    }
    rc = qw_article_add(&a->st, ent(a), mod, path, title, owner, &aud,
                        conf == 1, wm, &id);
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, mod, "create",
                                  apr_pstrcat(a->r->pool, "article:",
                                              path, NULL));
    }
    return reply_article(a, HTTP_CREATED, mod, path);
}

/* The body being read: heap memory (not r->pool, which would keep every
 * outgrown buffer until the request ends), cleansed and freed with r. */
typedef struct {
    unsigned char *buf;
    apr_size_t len, cap;
} body_buf;

static apr_status_t body_buf_free(void *p)
{
    body_buf *b = p;

    if (b->buf) {
        OPENSSL_cleanse(b->buf, b->len);
        free(b->buf);
        b->buf = NULL;
    }
    b->len = b->cap = 0;
    return APR_SUCCESS;
}

/* Room for at least one more byte, never more than QW_ENV_MAX_BODY + 1
 * in all (one byte over the limit tells that the body is too large). */
static int body_buf_grow(body_buf *b)
{
    apr_size_t cap = b->cap ? b->cap * 2 : 65536;
    unsigned char *nb;

    if (cap > QW_ENV_MAX_BODY + 1) {
        cap = QW_ENV_MAX_BODY + 1;
    }
    if (cap <= b->cap || !(nb = malloc(cap))) {
        return -1;
    }
    if (b->buf) {
        memcpy(nb, b->buf, b->len);
        OPENSSL_cleanse(b->buf, b->len);
        free(b->buf);
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

static int body_too_large(qw_api *a, body_buf *b)
{
    body_buf_free(b);
    /* the rest is not read: the connection cannot be reused */
    a->r->connection->keepalive = AP_CONN_CLOSE;
    return qw_api_error(a, HTTP_REQUEST_ENTITY_TOO_LARGE, NULL,
                        "article body too large");
}

/* PUT /articles/ID/body: the raw body, stored encrypted.  Its
 * Content-Type is the type it will be served with.  At most
 * QW_ENV_MAX_BODY bytes: a larger Content-Length is refused before a byte
 * is read, a chunked body as soon as it passes the limit. */
static int put_body(qw_api *a, const qw_article *ar, const char *obj)
{
    request_rec *r = a->r;
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    body_buf *b = apr_pcalloc(r->pool, sizeof(*b));
    apr_off_t clen = -1;
    char *end;
    long got = 0;
    qw_status rc;
    int st;

    if (!ct || !*ct || !strchr(ct, '/')) {
        return qw_api_error(a, HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                            "Content-Type must name the body's type");
    }
    if (cl && (apr_strtoff(&clen, cl, &end, 10) != APR_SUCCESS || *end
               || clen < 0)) {
        return qw_api_error(a, HTTP_BAD_REQUEST, NULL,
                            "Content-Length is not valid");
    }
    if (clen > QW_ENV_MAX_BODY) {
        return body_too_large(a, b);
    }
    if ((st = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return qw_api_error(a, st, NULL, "unreadable request body");
    }
    apr_pool_cleanup_register(r->pool, b, body_buf_free,
                              apr_pool_cleanup_null);
    if (ap_should_client_block(r)) {
        /* a Content-Length is a claim, not a reason to allocate 16 MB:
         * grow as the body arrives */
        for (;;) {
            if (b->len == b->cap && body_buf_grow(b) != 0) {
                if (b->cap > QW_ENV_MAX_BODY) {
                    return body_too_large(a, b);
                }
                body_buf_free(b);
                return qw_api_error(a, HTTP_SERVICE_UNAVAILABLE, NULL,
                                    "service unavailable");
            }
            got = ap_get_client_block(r, (char *)b->buf + b->len,
                                      b->cap - b->len);
            if (got <= 0) {
                break;
            }
            b->len += got;
            if (b->len > QW_ENV_MAX_BODY) {
                return body_too_large(a, b);
            }
        }
        if (got < 0) {
            body_buf_free(b);
            return qw_api_error(a, HTTP_BAD_REQUEST, NULL,
                                "unreadable request body");
        }
    }
    rc = qw_article_set_body(&a->st, ent(a), ar->module, ar->path,
                             b->buf ? b->buf : (const unsigned char *)"",
                             b->len, ct);
    body_buf_free(b);
    if (rc == QW_ERR_INVALID && a->st.err
        && !strncmp(a->st.err, "content type", 12)) {
        return qw_api_error(a, HTTP_UNSUPPORTED_MEDIA_TYPE, NULL,
                            "Content-Type is not a valid media type");
    }
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, ar->module, "update", obj);
    }
    return reply_article(a, HTTP_OK, ar->module, ar->path);
}

/* POST /articles/ID/links: a share link for this server. */
static int post_link(qw_api *a, const qw_article *ar, const char *obj)
{
    request_rec *r = a->r;
    json_t *v;
    json_int_t ttl = 0;
    char *token = NULL;
    uint64_t link;
    int master, done = OK;
    qw_share s;
    qw_status rc;
    json_t *out;
    const char *url;

    /* no body (or an empty one) means "no expiry" */
    {
        const char *cl = apr_table_get(r->headers_in, "Content-Length");
        if ((cl && strcmp(cl, "0"))
            || apr_table_get(r->headers_in, "Transfer-Encoding")) {
            if (qw_api_read_body(a, &done)
                || qw_api_keys(a, NULL, keys_link, &done)) {
                return done;
            }
        }
    }
    v = a->body ? json_object_get(a->body, "expires_in") : NULL;
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1
            || json_integer_value(v) > TEN_YEARS) {
            return qw_api_error(a, HTTP_BAD_REQUEST, "expires_in",
                                "expires_in must be 1 to 316224000 "
                                "seconds");
        }
        ttl = json_integer_value(v);
    }
    rc = qw_article_share_link(&a->st, ent(a), ar->module, ar->path,
                               (int64_t)ttl, &token, &link, &master);
    if (rc == QW_ERR_INVALID && a->st.err
        && !strncmp(a->st.err, "external sharing is off", 23)) {
        /* a state conflict, not bad input: switch sharing on first */
        return qw_api_error(a, HTTP_CONFLICT, "share", a->st.err);
    }
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, ar->module, "share-link", obj);
    }
    /* the expiry the store signed (on the database's clock) */
    memset(&s, 0, sizeof(s));
    if (qw_share_decode(a->st.keys, token, strlen(token), 0, &s)
        != QW_SHARE_OK) {
        s.expires = 0;
    }
    url = apr_pstrcat(r->pool,
                      ap_construct_url(r->pool,
                                       ap_escape_uri(r->pool, ar->path), r),
                      "?qs=", token, NULL);
    out = json_pack("{s:s, s:s, s:o, s:b}", "url", url, "link_id",
                    qw_share_link_hex(r->pool, link), "expires_at",
                    s.expires ? json_integer(s.expires) : json_null(),
                    "enterprise_allows_sharing", master);
    OPENSSL_cleanse(token, strlen(token));
    return qw_api_json(a, HTTP_CREATED, out);
}

/* GET /articles/ID/links: the live share links (never their tokens),
 * newest first. */
static int list_links(qw_api *a, const qw_article *ar)
{
    apr_array_header_t *rows;
    json_t *items = json_array();
    qw_status rc;
    int i;

    rc = qw_article_links(&a->st, ent(a), ar->id, a->limit, a->offset,
                          &rows);
    if (rc != QW_OK) {
        json_decref(items);
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    for (i = 0; i < rows->nelts; i++) {
        const qw_share_link_row *w = &APR_ARRAY_IDX(rows, i,
                                                    qw_share_link_row);
        json_array_append_new(items, json_pack(
            "{s:s, s:s, s:s?, s:s}", "link_id", w->link_id, "created_at",
            w->created_at, "expires_at", w->expires_at, "created_by",
            w->created_by));
    }
    return qw_api_json(a, HTTP_OK,
                       json_pack("{s:o, s:b, s:i, s:i}", "items", items,
                                 "share_effective", ar->share_effective,
                                 "limit", (json_int_t)a->limit,
                                 "offset", (json_int_t)a->offset));
}

/* DELETE /articles/ID/links/LINK_ID: revoke that one link.  204 when
 * revoked now or before (idempotent; only the first writes a row), 404
 * for a link the article has no record of. */
static int delete_link(qw_api *a, const qw_article *ar, const char *obj,
                       const char *link)
{
    int already = 0;
    qw_status rc;

    rc = qw_article_revoke_link(&a->st, ent(a), ar->module, ar->path, link,
                                &already);
    if (rc == QW_ERR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, a->r,
                      "QW1350: no share link %s for %s: 404",
                      qw_sanitize_text(a->r->pool, link, 40), obj);
        return qw_api_error(a, HTTP_NOT_FOUND, "link_id",
                            "no such share link for this article (a link "
                            "made before schema 18 is revoked only with "
                            "all the others: PUT share revoke)");
    }
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, ar->module, "share-link-revoke",
                                  obj);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, a->r,
                  "QW1351: share link %s of %s revoked%s by %s", link, obj,
                  already ? " (before)" : "", a->st.who.actor
                  ? a->st.who.actor : "-");
    return qw_api_no_content(a);
}

/* GET /articles/ID/readers: who read it, as the operation log has it
 * (article.c writes every read of a confidential article and every view
 * through a share link), newest first. */
static int list_readers(qw_api *a, const qw_article *ar, const char *obj)
{
    apr_array_header_t *rows;
    json_t *items = json_array();
    qw_status rc;
    int i;

    rc = qw_audit_article_reads(&a->st, ent(a), ar->module, obj, a->limit,
                                a->offset, &rows);
    if (rc != QW_OK) {
        json_decref(items);
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    for (i = 0; i < rows->nelts; i++) {
        const qw_audit_row *w = &APR_ARRAY_IDX(rows, i, qw_audit_row);
        json_t *details = w->details ? json_loads(w->details, 0, NULL) : NULL;
        json_t *link = details ? json_object_get(details, "link") : NULL;
        json_array_append_new(items, json_pack(
            "{s:s, s:s, s:s?, s:s?, s:O?}", "at", w->at, "reader", w->actor,
            "source_ip", w->source_ip, "user_agent", w->user_agent,
            "link", json_is_string(link) ? link : NULL));
        json_decref(details);
    }
    return qw_api_json(a, HTTP_OK,
                       json_pack("{s:o, s:b, s:i, s:i}", "items", items,
                                 "confidential", ar->confidential,
                                 "limit", (json_int_t)a->limit,
                                 "offset", (json_int_t)a->offset));
}

static int one_article(qw_api *a)
{
    request_rec *r = a->r;
    qw_article ar;
    const char *obj, *sub = a->nseg >= 3 ? a->seg[2] : NULL;
    int done = OK;
    qw_status rc;

    if (a->nseg > 4 || (a->nseg == 4 && strcmp(a->seg[2], "links"))) {
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    if (sub && strcmp(sub, "audience") && strcmp(sub, "people")
        && strcmp(sub, "body") && strcmp(sub, "confidential")
        && strcmp(sub, "watermark") && strcmp(sub, "share")
        && strcmp(sub, "links") && strcmp(sub, "readers")
        && strcmp(sub, "title")) {
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    memset(&ar, 0, sizeof(ar));
    if (article_by_id(a, a->seg[1], &ar, &done)) {
        return done;
    }
    obj = object_of(a, &ar);

    if (!sub) {
        if (r->method_number == M_GET) {
            if (qw_api_need(a, ar.module, "read", obj, &done)) {
                return done;
            }
            return qw_api_json(a, HTTP_OK, article_json(&ar));
        }
        if (r->method_number == M_DELETE) {
            if (qw_api_need(a, ar.module, "delete", obj, &done)) {
                return done;
            }
            rc = qw_article_delete(&a->st, ent(a), ar.module, ar.path);
            if (rc != QW_OK) {
                return qw_api_store_error(a, rc, ar.module, "delete", obj);
            }
            return qw_api_no_content(a);
        }
        return method_not_allowed(a);
    }
    if (!strcmp(sub, "readers")) {
        if (r->method_number != M_GET) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, ar.module, "read", obj, &done)) {
            return done;
        }
        return list_readers(a, &ar, obj);
    }
    if (!strcmp(sub, "links") && a->nseg == 4) {
        if (r->method_number != M_DELETE) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, ar.module, "share-link-revoke", obj, &done)) {
            return done;
        }
        return delete_link(a, &ar, obj, a->seg[3]);
    }
    if (!strcmp(sub, "links")) {
        if (r->method_number == M_GET) {
            if (qw_api_need(a, ar.module, "read", obj, &done)) {
                return done;
            }
            return list_links(a, &ar);
        }
        if (r->method_number != M_POST) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, ar.module, "share-link", obj, &done)) {
            return done;
        }
        return post_link(a, &ar, obj);
    }
    if (r->method_number != M_PUT) {
        return method_not_allowed(a);
    }
    if (qw_api_need(a, ar.module, "update", obj, &done)) {
        return done;
    }
    if (!strcmp(sub, "body")) {
        return put_body(a, &ar, obj);
    }
    if (qw_api_read_body(a, &done)) {
        return done;
    }
    if (!strcmp(sub, "audience")) {
        qw_audience aud;
        /* the body is the audience object itself */
        if (audience_of(a, a->body, &aud, &done)) {
            return done;
        }
        rc = qw_article_set_audience(&a->st, ent(a), ar.module, ar.path,
                                     &aud);
    }
    else if (!strcmp(sub, "people")) {
        const char *resp, *rel;
        if (qw_api_keys(a, NULL, keys_people, &done)
            || qw_api_str_list(a, "responsible", 0, &resp, &done)
            || qw_api_str_list(a, "related", 0, &rel, &done)) {
            return done;
        }
        rc = qw_article_set_people(&a->st, ent(a), ar.module, ar.path,
                                   resp, rel);
    }
    else if (!strcmp(sub, "confidential")) {
        int on;
        if (qw_api_keys(a, NULL, keys_confidential, &done)
            || qw_api_bool(a, "confidential", &on, &done)) {
            return done;
        }
        if (on < 0) {
            return qw_api_error(a, HTTP_BAD_REQUEST, "confidential",
                                "confidential is required");
        }
        rc = qw_article_set_confidential(&a->st, ent(a), ar.module,
                                         ar.path, on);
    }
    else if (!strcmp(sub, "title")) {
        const char *v;
        if (qw_api_keys(a, NULL, keys_title, &done)
            || qw_api_str(a, "title", 1, &v, &done)) {
            return done;
        }
        if (!strcmp(v, ar.title)) {         /* the same: nothing to do */
            return qw_api_json(a, HTTP_OK, article_json(&ar));
        }
        rc = qw_article_set_title(&a->st, ent(a), ar.module, ar.path, v);
    }
    else if (!strcmp(sub, "watermark")) {
        const char *v;
        int wm;
        if (qw_api_keys(a, NULL, keys_watermark, &done)
            || qw_api_str(a, "watermark", 1, &v, &done)
            || watermark_of(a, v, &wm, &done)) {
            return done;
        }
        rc = qw_article_set_watermark(&a->st, ent(a), ar.module, ar.path,
                                      wm);
    }
    else {                                  /* share */
        const char *v;
        if (qw_api_keys(a, NULL, keys_share, &done)
            || qw_api_str(a, "share", 1, &v, &done)) {
            return done;
        }
        if (!strcmp(v, "revoke")) {
            rc = qw_article_revoke_links(&a->st, ent(a), ar.module,
                                         ar.path);
        }
        else if (!strcmp(v, "on") || !strcmp(v, "off")) {
            rc = qw_article_set_share(&a->st, ent(a), ar.module, ar.path,
                                      !strcmp(v, "on"));
        }
        else {
            return qw_api_error(a, HTTP_BAD_REQUEST, "share",
                                "share must be on, off or revoke");
        }
    }
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, ar.module, "update", obj);
    }
    return reply_article(a, HTTP_OK, ar.module, ar.path);
}

int qw_api_articles(qw_api *a)
{
    if (a->nseg == 1) {
        if (a->r->method_number == M_GET) {
            return list_articles(a);
        }
        if (a->r->method_number == M_POST) {
            return create_article(a);
        }
        return method_not_allowed(a);
    }
    return one_article(a);
}

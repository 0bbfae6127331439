/* Articles: audiences, people, stored encrypted bodies, share links and key
 * re-wrapping.  Every change is one transaction with its audit row, logged
 * under the article's own module (news, wiki...), so a module's admins see
 * what happened to their articles. */
#include <string.h>
#include <time.h>

#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "store/store.h"
#include "util/envelope.h"
#include "util/path.h"
#include "util/share.h"
#include "util/text.h"

#define TITLE_MAX_CHARS 300
#define PATH_MAX_BYTES 1024
#define DEFAULT_BODY_TYPE "text/html; charset=utf-8"

int qw_valid_article_module(const char *s)
{
    size_t i, n;

    if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z')) {
        return 0;
    }
    n = strlen(s);
    if (n > 32) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
              || c == '-')) {
            return 0;
        }
    }
    return 1;
}

int qw_valid_article_path(const char *s)
{
    size_t n, i;

    if (s == NULL || s[0] != '/') {
        return 0;
    }
    n = strlen(s);
    if (n > PATH_MAX_BYTES || !qw_valid_utf8_text(s, n)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] == '?' || s[i] == '#' || (unsigned char)s[i] < 0x20
            || s[i] == 0x7f) {
            return 0;
        }
    }
    /* a request for any other spelling is refused (article.c): an article
     * there could never be read */
    return qw_path_check(s, NULL, 0) == QW_PATH_CANONICAL;
}

static qw_status check_name(qw_store *st, const char *module,
                            const char *path)
{
    if (!qw_valid_article_module(module)) {
        return qw_store_error(st, QW_ERR_INVALID, "module '%s' is not valid:"
                              " 1-32 of a-z 0-9 _ -, starting with a letter",
                              module ? module : "");
    }
    if (!qw_valid_article_path(path)) {
        return qw_store_error(st, QW_ERR_INVALID, "article path '%s' is not "
                              "valid: a decoded URL path starting with '/' "
                              "in its canonical spelling (no ?, #, control "
                              "characters, //, . or .. segments, \\, "
                              "segments ending in . or space, ; before the "
                              "last segment; at most %d bytes)",
                              path ? path : "", PATH_MAX_BYTES);
    }
    return QW_OK;
}

/* JSON text of a jansson object (consumed), from st->pool. */
static const char *json_text(qw_store *st, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *r = s ? apr_pstrdup(st->pool, s) : NULL;

    free(s);
    json_decref(o);
    return r;
}

static const char *object_of(qw_store *st, int64_t aid, const char *path)
{
    return apr_psprintf(st->pool, "article:%s %s", qw_i64(st->pool, aid),
                        path);
}

/* Inside a transaction: the article's ids, its row locked. */
static qw_status lock_article(qw_store *st, const char *ent,
                              const char *module, const char *path,
                              int64_t *eid, int64_t *aid)
{
    const char *params[3];
    PGresult *res;
    qw_status rc;

    if ((rc = check_name(st, module, path)) != QW_OK) {
        return rc;
    }
    *eid = qw_store_enterprise_id(st, ent, &rc);
    if (*eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, *eid);
    params[1] = module;
    params[2] = path;
    res = qw_store_exec(st, "SELECT article_id FROM articles WHERE "
                        "enterprise_id = $1 AND module = $2 AND path = $3 "
                        "FOR UPDATE", 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no %s article %s in %s",
                              module, path, ent);
    }
    *aid = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    return QW_OK;
}

/* Spaces are allowed around the commas of a list. */
#define CSV_ARRAY(n) "string_to_array(regexp_replace(" n ", '\\s', '', 'g')," \
                     " ',')"

typedef struct {
    const char *what;        /* for messages */
    const char *unknown_sql; /* $1 eid, $2 csv: first unknown name (one
                              * column) */
    const char *insert_sql;  /* $1 eid, $2 csv, $3 article id, [$4] */
} ref_kind;

static const ref_kind ref_department = {
    "department",
    "SELECT u.c FROM unnest(" CSV_ARRAY("$2") ") u(c) WHERE u.c <> '' AND "
    "NOT EXISTS (SELECT 1 FROM departments d WHERE d.enterprise_id = $1 "
    "AND d.code = u.c) LIMIT 1",
    "INSERT INTO article_audience (enterprise_id, article_id, kind, "
    "department_id) SELECT DISTINCT $1::bigint, $3::bigint, 'department', "
    "d.department_id FROM departments d WHERE d.enterprise_id = $1 AND "
    "d.code = ANY(" CSV_ARRAY("$2") ")"
};

static const ref_kind ref_role = {
    "role",
    "SELECT u.c FROM unnest(" CSV_ARRAY("$2") ") u(c) WHERE u.c <> '' AND "
    "NOT EXISTS (SELECT 1 FROM roles r WHERE r.enterprise_id = $1 "
    "AND r.name = u.c) LIMIT 1",
    "INSERT INTO article_audience (enterprise_id, article_id, kind, "
    "role_id) SELECT DISTINCT $1::bigint, $3::bigint, 'role', r.role_id "
    "FROM roles r WHERE r.enterprise_id = $1 AND "
    "r.name = ANY(" CSV_ARRAY("$2") ")"
};

static const ref_kind ref_member = {
    "member",
    "SELECT u.c FROM unnest(" CSV_ARRAY("lower($2)") ") u(c) WHERE u.c <> '' "
    "AND NOT EXISTS (SELECT 1 FROM members m WHERE m.enterprise_id = $1 "
    "AND m.account = u.c) LIMIT 1",
    "INSERT INTO article_audience (enterprise_id, article_id, kind, "
    "member_id) SELECT DISTINCT $1::bigint, $3::bigint, 'member', "
    "m.member_id FROM members m WHERE m.enterprise_id = $1 AND "
    "m.account = ANY(" CSV_ARRAY("lower($2)") ")"
};

static const ref_kind ref_person = {
    "member",
    "SELECT u.c FROM unnest(" CSV_ARRAY("lower($2)") ") u(c) WHERE u.c <> '' "
    "AND NOT EXISTS (SELECT 1 FROM members m WHERE m.enterprise_id = $1 "
    "AND m.account = u.c) LIMIT 1",
    "INSERT INTO article_people (enterprise_id, article_id, member_id, "
    "relation) SELECT DISTINCT $1::bigint, $3::bigint, m.member_id, $4 "
    "FROM members m WHERE m.enterprise_id = $1 AND "
    "m.account = ANY(" CSV_ARRAY("lower($2)") ")"
};

static qw_status insert_refs(qw_store *st, const ref_kind *k, int64_t eid,
                             int64_t aid, const char *csv,
                             const char *relation)
{
    const char *params[4];
    PGresult *res;
    qw_status rc;

    if (csv == NULL || *csv == '\0') {
        return QW_OK;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = csv;
    params[2] = qw_i64(st->pool, aid);
    params[3] = relation;
    res = qw_store_exec(st, k->unknown_sql, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) > 0) {
        rc = qw_store_error(st, QW_ERR_NOTFOUND, "no %s '%s' in this "
                            "enterprise", k->what,
                            PQgetvalue(res, 0, QW_COL_ONLY));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, k->insert_sql, relation ? 4 : 3, params, &rc);
    PQclear(res);
    return res ? QW_OK : rc;
}

static qw_status write_audience(qw_store *st, int64_t eid, int64_t aid,
                                const qw_audience *aud)
{
    const char *params[3];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    params[2] = aud && aud->all ? "true" : "false";
    res = qw_store_exec(st, "DELETE FROM article_audience WHERE "
                        "enterprise_id = $1 AND article_id = $2", 2, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, "UPDATE articles SET audience_all = $3, "
                        "updated_at = now() WHERE enterprise_id = $1 AND "
                        "article_id = $2", 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    if (aud == NULL) {
        return QW_OK;
    }
    if ((rc = insert_refs(st, &ref_department, eid, aid, aud->departments,
                          NULL)) != QW_OK
        || (rc = insert_refs(st, &ref_role, eid, aid, aud->roles, NULL))
           != QW_OK
        || (rc = insert_refs(st, &ref_member, eid, aid, aud->members, NULL))
           != QW_OK) {
        return rc;
    }
    return QW_OK;
}

/* The members of a list of accounts as "member:3,member:7" for the
 * operation log, which outlives them and so names members by id only. */
static const char *member_ids(qw_store *st, int64_t eid, const char *csv)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;
    const char *out;

    if (csv == NULL || *csv == '\0') {
        return "";
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = csv;
    res = qw_store_exec(st, "SELECT coalesce(string_agg('member:' || "
                        "m.member_id, ',' ORDER BY m.member_id), '') "
                        "FROM members m WHERE m.enterprise_id = $1 AND "
                        "m.account = ANY(" CSV_ARRAY("lower($2)") ")",
                        2, params, &rc);
    if (res == NULL) {
        return "";              /* the transaction fails with the error */
    }
    out = apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    return out;
}

static json_t *audience_json(qw_store *st, int64_t eid,
                             const qw_audience *aud)
{
    return json_pack("{s:b, s:s, s:s, s:s}", "all", aud && aud->all,
                     "departments", aud && aud->departments
                                    ? aud->departments : "",
                     "roles", aud && aud->roles ? aud->roles : "",
                     "members", member_ids(st, eid,
                                           aud ? aud->members : NULL));
}

/* One change to one article, run by qw_store_write: the article and what
 * each change needs. */
typedef struct {
    const char *ent, *module, *path;
    const qw_audience *aud;                     /* add, set_audience */
    const char *title, *owner_account;          /* add */
    int confidential, watermark;
    int64_t id;
    const char *responsible, *related;          /* set_people */
    const unsigned char *body;                  /* set_body */
    size_t len;
    const char *content_type;
    const char *set, *value, *action;           /* simple_update */
    json_t *details;                            /* owned until consumed */
    const char **returned;
    int64_t ttl;                                /* share_link */
    char **token;
    uint64_t *link_id;
    int *master_on;
} article_change;

static qw_status article_audit(qw_store *st, qw_store_audit *audit,
                               int64_t eid, const char *module,
                               const char *action, const char *object,
                               const char *details)
{
    (void)st;
    audit->enterprise_id = eid;
    audit->module = module;
    audit->action = action;
    audit->object = object;
    audit->details_json = details;
    return QW_OK;
}

static qw_status article_add_write(qw_store *st, void *baton,
                                   qw_store_audit *audit)
{
    article_change *b = baton;
    const char *ent = b->ent, *module = b->module, *path = b->path;
    const char *params[7];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;
    json_t *d;

    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = module;
    params[2] = path;
    params[3] = b->title;
    params[4] = qw_ascii_lower(st->pool, b->owner_account);
    params[5] = b->confidential ? "true" : "false";
    params[6] = b->watermark == QW_ARTICLE_WM_INHERIT ? NULL
                : b->watermark ? "1" : "0";
    res = qw_store_insert(st, "INSERT INTO articles (enterprise_id, module, "
                          "path, title, owner_member_id, confidential, "
                          "watermark) SELECT $1, $2, $3, $4, m.member_id, "
                          "$6, $7::smallint FROM members m WHERE "
                          "m.enterprise_id = $1 AND m.account = $5 "
                          "RETURNING article_id", 7, params, &rc,
                          "a %s article %s already exists in %s",
                          module, path, ent);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no member '%s' in %s",
                              b->owner_account, ent);
    }
    aid = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    if ((rc = write_audience(st, eid, aid, b->aud)) != QW_OK) {
        return rc;
    }
    b->id = aid;
    d = json_pack("{s:s, s:s, s:b, s:o}", "title", b->title,
                  "owner", member_ids(st, eid, params[4]),
                  "confidential", b->confidential,
                  "audience", audience_json(st, eid, b->aud));
    return article_audit(st, audit, eid, module, "create",
                         object_of(st, aid, path), json_text(st, d));
}

qw_status qw_article_add(qw_store *st, const char *ent, const char *module,
                         const char *path, const char *title,
                         const char *owner_account, const qw_audience *aud,
                         int confidential, int watermark, int64_t *id)
{
    article_change b;
    qw_status rc;

    if ((rc = check_name(st, module, path)) != QW_OK
        || (rc = qw_store_check_text(st, "title", title, TITLE_MAX_CHARS))
           != QW_OK
        || (rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    if (owner_account == NULL || !qw_valid_account(owner_account)) {
        return qw_store_error(st, QW_ERR_INVALID, "the owner must be a "
                              "member's account");
    }
    memset(&b, 0, sizeof(b));
    b.ent = ent;
    b.module = module;
    b.path = path;
    b.title = title;
    b.owner_account = owner_account;
    b.aud = aud;
    b.confidential = confidential;
    b.watermark = watermark;
    if ((rc = qw_store_write(st, article_add_write, &b)) == QW_OK && id) {
        *id = b.id;
    }
    return rc;
}

/* Before the transaction: what every change of an existing article needs. */
static qw_status article_change_init(qw_store *st, article_change *b,
                                     const char *ent, const char *module,
                                     const char *path)
{
    memset(b, 0, sizeof(*b));
    b->ent = ent;
    b->module = module;
    b->path = path;
    return qw_store_need_keys(st);
}

static qw_status set_audience_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    article_change *b = baton;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = lock_article(st, b->ent, b->module, b->path, &eid, &aid))
        != QW_OK
        || (rc = write_audience(st, eid, aid, b->aud)) != QW_OK) {
        return rc;
    }
    return article_audit(st, audit, eid, b->module, "update",
                         object_of(st, aid, b->path),
                         json_text(st, json_pack("{s:o}", "audience",
                                                 audience_json(st, eid,
                                                               b->aud))));
}

qw_status qw_article_set_audience(qw_store *st, const char *ent,
                                  const char *module, const char *path,
                                  const qw_audience *aud)
{
    article_change b;
    qw_status rc;

    if ((rc = article_change_init(st, &b, ent, module, path)) != QW_OK) {
        return rc;
    }
    b.aud = aud;
    return qw_store_write(st, set_audience_write, &b);
}

static qw_status set_people_write(qw_store *st, void *baton,
                                  qw_store_audit *audit)
{
    article_change *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = lock_article(st, b->ent, b->module, b->path, &eid, &aid))
        != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    res = qw_store_exec(st, "DELETE FROM article_people WHERE "
                        "enterprise_id = $1 AND article_id = $2", 2, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    if ((rc = insert_refs(st, &ref_person, eid, aid, b->responsible,
                          "responsible")) != QW_OK
        || (rc = insert_refs(st, &ref_person, eid, aid, b->related,
                             "related")) != QW_OK) {
        return rc;
    }
    return article_audit(st, audit, eid, b->module, "update",
                         object_of(st, aid, b->path),
                         json_text(st, json_pack("{s:s, s:s}", "responsible",
                                                 member_ids(st, eid,
                                                            b->responsible),
                                                 "related",
                                                 member_ids(st, eid,
                                                            b->related))));
}

qw_status qw_article_set_people(qw_store *st, const char *ent,
                                const char *module, const char *path,
                                const char *responsible, const char *related)
{
    article_change b;
    qw_status rc;

    if ((rc = article_change_init(st, &b, ent, module, path)) != QW_OK) {
        return rc;
    }
    b.responsible = responsible;
    b.related = related;
    return qw_store_write(st, set_people_write, &b);
}

static int valid_content_type(const char *s)
{
    size_t i, n = s ? strlen(s) : 0;

    if (n == 0 || n > 200 || strchr(s, '/') == NULL) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return 0;
        }
    }
    return 1;
}

static qw_status set_body_write(qw_store *st, void *baton,
                                qw_store_audit *audit)
{
    article_change *b = baton;
    unsigned char *enc, *wrapped;
    size_t enclen, wlen;
    const char *params[6];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = lock_article(st, b->ent, b->module, b->path, &eid, &aid))
        != QW_OK) {
        return rc;
    }
    if (qw_env_seal(st->pool, st->keys, eid, aid, b->body, b->len, &enc,
                    &enclen, &wrapped, &wlen) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO, "cannot encrypt the body");
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    params[2] = qw_store_bytea(st->pool, enc, enclen);
    params[3] = qw_store_bytea(st->pool, wrapped, wlen);
    params[4] = apr_psprintf(st->pool, "%u",
                             (unsigned)qw_env_kid(wrapped, wlen));
    params[5] = b->content_type;
    res = qw_store_exec(st, "UPDATE articles SET body_enc = $3::bytea, "
                        "dek_wrapped = $4::bytea, dek_kid = $5, "
                        "body_type = $6, updated_at = now() WHERE "
                        "enterprise_id = $1 AND article_id = $2", 6, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return article_audit(st, audit, eid, b->module, "update",
                         object_of(st, aid, b->path),
                         json_text(st, json_pack("{s:I, s:s, s:i}",
                                                 "body_bytes",
                                                 (json_int_t)b->len,
                                                 "body_type",
                                                 b->content_type, "key_id",
                                                 (int)qw_env_kid(wrapped,
                                                                 wlen))));
}

qw_status qw_article_set_body(qw_store *st, const char *ent,
                              const char *module, const char *path,
                              const unsigned char *body, size_t len,
                              const char *content_type)
{
    article_change b;
    qw_status rc;

    if (content_type == NULL) {
        content_type = DEFAULT_BODY_TYPE;
    }
    if (!valid_content_type(content_type)) {
        return qw_store_error(st, QW_ERR_INVALID, "content type '%s' is not "
                              "valid", content_type);
    }
    if (len > QW_ENV_MAX_BODY) {
        return qw_store_error(st, QW_ERR_INVALID, "body too large: at most "
                              "%d bytes", QW_ENV_MAX_BODY);
    }
    if ((rc = article_change_init(st, &b, ent, module, path)) != QW_OK) {
        return rc;
    }
    b.body = body;
    b.len = len;
    b.content_type = content_type;
    return qw_store_write(st, set_body_write, &b);
}

/* $1 enterprise id, $2 module, $3 path: the stored body (NULL when none)
 * and its wrapped data key, in hex. */
#define BODY_COLS(X, L) \
    X(ARTICLE_ID, " article_id") \
    X(BODY_HEX, " encode(body_enc, 'hex')") \
    X(DEK_HEX, " encode(dek_wrapped, 'hex')") \
    L(BODY_TYPE, " body_type")
#define BODY_COL_ENUM(name, expr) BODY_COL_##name,
enum { BODY_COLS(BODY_COL_ENUM, BODY_COL_ENUM) };
static const char sql_article_body[] =
    "SELECT" BODY_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM articles"
    " WHERE enterprise_id = $1 AND module = $2 AND "
    "path = $3";

qw_status qw_article_get_body(qw_store *st, const char *ent,
                              const char *module, const char *path,
                              unsigned char **body, size_t *len,
                              const char **content_type)
{
    const char *params[3];
    unsigned char *enc, *wrapped;
    size_t enclen, wlen;
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = check_name(st, module, path)) != QW_OK
        || (rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = module;
    params[2] = path;
    res = qw_store_exec(st, sql_article_body, 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
#define COL(name) PQgetvalue(res, 0, BODY_COL_##name)
    if (PQntuples(res) != 1 || PQgetisnull(res, 0, BODY_COL_BODY_HEX)) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no stored body for %s "
                              "article %s in %s", module, path, ent);
    }
    aid = apr_atoi64(COL(ARTICLE_ID));
    if (qw_store_unhex(st->pool, COL(BODY_HEX), &enc, &enclen) != 0
        || qw_store_unhex(st->pool, COL(DEK_HEX), &wrapped, &wlen) != 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_DB, "unreadable stored body");
    }
    *content_type = apr_pstrdup(st->pool, COL(BODY_TYPE));
#undef COL
    PQclear(res);
    if (qw_env_open(st->pool, st->keys, eid, aid, enc, enclen, wrapped, wlen,
                    body, len) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO, "the stored body of article"
                              " %s does not decrypt (key missing from the "
                              "key file, or the row was altered)",
                              qw_i64(st->pool, aid));
    }
    return QW_OK;
}

static qw_status simple_update_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    article_change *b = baton;
    json_t *details = b->details;
    const char *params[3];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    b->details = NULL;                  /* consumed here, whatever happens */
    if ((rc = lock_article(st, b->ent, b->module, b->path, &eid, &aid))
        != QW_OK) {
        json_decref(details);
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    params[2] = b->value;
    res = qw_store_exec(st, apr_pstrcat(st->pool, "UPDATE articles SET ",
                                        b->set, ", updated_at = now() WHERE "
                                        "enterprise_id = $1 AND article_id = "
                                        "$2 RETURNING share_version", NULL),
                        strstr(b->set, "$3") ? 3 : 2, params, &rc);
    if (res == NULL) {
        json_decref(details);
        return rc;
    }
    if (b->returned) {
        *b->returned = apr_pstrdup(st->pool,
                                   PQgetvalue(res, 0, QW_COL_ONLY));
    }
    if (details) {
        json_object_set_new(details, "share_version",
                            json_integer(atoi(PQgetvalue(res, 0,
                                                         QW_COL_ONLY))));
    }
    PQclear(res);
    return article_audit(st, audit, eid, b->module, b->action,
                         object_of(st, aid, b->path),
                         json_text(st, details));
}

/* UPDATE articles SET <set> for one article, with its audit row. */
static qw_status simple_update(qw_store *st, const char *ent,
                               const char *module, const char *path,
                               const char *set, const char *value,
                               const char *action, json_t *details,
                               const char **returned)
{
    article_change b;
    qw_status rc;

    if ((rc = article_change_init(st, &b, ent, module, path)) != QW_OK) {
        json_decref(details);
        return rc;
    }
    b.set = set;
    b.value = value;
    b.action = action;
    b.details = details;
    b.returned = returned;
    rc = qw_store_write(st, simple_update_write, &b);
    json_decref(b.details);             /* when BEGIN failed */
    return rc;
}

qw_status qw_article_set_confidential(qw_store *st, const char *ent,
                                      const char *module, const char *path,
                                      int on)
{
    return simple_update(st, ent, module, path, "confidential = $3::boolean",
                         on ? "true" : "false", "update",
                         json_pack("{s:b}", "confidential", on), NULL);
}

qw_status qw_article_set_title(qw_store *st, const char *ent,
                               const char *module, const char *path,
                               const char *title)
{
    qw_status rc;

    if ((rc = qw_store_check_text(st, "title", title, TITLE_MAX_CHARS))
        != QW_OK) {
        return rc;
    }
    /* logged like the title of a create */
    return simple_update(st, ent, module, path, "title = $3", title,
                         "update", json_pack("{s:s}", "title", title), NULL);
}

qw_status qw_article_set_watermark(qw_store *st, const char *ent,
                                   const char *module, const char *path,
                                   int watermark)
{
    const char *v = watermark == QW_ARTICLE_WM_INHERIT ? NULL
                    : watermark ? "1" : "0";
    return simple_update(st, ent, module, path,
                         "watermark = $3::smallint", v, "update",
                         json_pack("{s:s}", "watermark",
                                   v ? (watermark ? "on" : "off")
                                     : "inherit"), NULL);
}

qw_status qw_article_set_share(qw_store *st, const char *ent,
                               const char *module, const char *path, int on)
{
    if (on) {
        return simple_update(st, ent, module, path, "share_enabled = true",
                             NULL, "share",
                             json_pack("{s:b}", "share_enabled", 1), NULL);
    }
    return simple_update(st, ent, module, path, "share_enabled = false, "
                         "share_version = share_version + 1", NULL, "share",
                         json_pack("{s:b}", "share_enabled", 0), NULL);
}

qw_status qw_article_revoke_links(qw_store *st, const char *ent,
                                  const char *module, const char *path)
{
    return simple_update(st, ent, module, path,
                         "share_version = share_version + 1", NULL,
                         "share-revoke", json_object(), NULL);
}

/* $1 enterprise id, $2 article id: the article's sharing state, the
 * enterprise's master switch, and the database's clock in seconds. */
#define SHARE_STATE_COLS(X, L) \
    X(SHARE_ENABLED, " a.share_enabled") \
    X(SHARE_VERSION, " a.share_version") \
    X(ALLOW_EXTERNAL_SHARE, " e.allow_external_share") \
    L(NOW, " extract(epoch FROM now())::bigint")
#define SHARE_STATE_COL_ENUM(name, expr) SHARE_STATE_COL_##name,
enum { SHARE_STATE_COLS(SHARE_STATE_COL_ENUM, SHARE_STATE_COL_ENUM) };
static const char sql_share_state[] =
    "SELECT" SHARE_STATE_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM articles a "
    "JOIN enterprises e USING (enterprise_id) WHERE "
    "a.enterprise_id = $1 AND a.article_id = $2";

static qw_status share_link_write(qw_store *st, void *baton,
                                  qw_store_audit *audit)
{
    article_change *b = baton;
    const char *params[2], *ins[6];
    PGresult *res;
    qw_status rc;
    qw_share s;
    int64_t eid, aid;
    int enabled;

    if ((rc = lock_article(st, b->ent, b->module, b->path, &eid, &aid))
        != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    res = qw_store_exec(st, sql_share_state, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
#define COL(name) PQgetvalue(res, 0, SHARE_STATE_COL_##name)
    enabled = !strcmp(COL(SHARE_ENABLED), "t");
    memset(&s, 0, sizeof(s));
    s.enterprise_id = eid;
    s.article_id = aid;
    s.share_version = (uint32_t)apr_atoi64(COL(SHARE_VERSION));
    *b->master_on = !strcmp(COL(ALLOW_EXTERNAL_SHARE), "t");
    /* expiry on the database's clock: the one every qiweictl host shares
     * (httpd nodes must keep theirs in sync, e.g. with NTP) */
    s.expires = b->ttl ? apr_atoi64(COL(NOW)) + b->ttl : 0;
#undef COL
    PQclear(res);
    if (!enabled) {
        return qw_store_error(st, QW_ERR_INVALID, "external sharing is off "
                              "for this article: switch it on first");
    }
    s.link_id = qw_share_new_link_id();
    if (s.link_id == 0
        || (*b->token = qw_share_encode(st->pool, st->keys, &s)) == NULL) {
        return qw_store_error(st, QW_ERR_CRYPTO, "cannot make the link");
    }
    *b->link_id = s.link_id;
    /* the record the list and the revocation of one link use
     * (sql/018_share_links.sql), in this transaction with the audit row */
    ins[0] = params[0];
    ins[1] = params[1];
    ins[2] = qw_share_link_hex(st->pool, s.link_id);
    ins[3] = apr_psprintf(st->pool, "%u", (unsigned)s.share_version);
    ins[4] = s.expires ? qw_i64(st->pool, s.expires) : NULL;
    ins[5] = st->who.actor ? st->who.actor : "system";
    res = qw_store_exec(st, "INSERT INTO share_links (enterprise_id, "
                        "article_id, link_id, share_version, expires_at, "
                        "created_by) VALUES ($1, $2, $3, $4, "
                        "to_timestamp($5::bigint), $6)", 6, ins, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return article_audit(st, audit, eid, b->module, "share-link",
                         object_of(st, aid, b->path),
                         json_text(st, json_pack("{s:s, s:I, s:i}", "link",
                                                 qw_share_link_hex(st->pool,
                                                                   s.link_id),
                                                 "expires",
                                                 (json_int_t)s.expires,
                                                 "share_version",
                                                 (int)s.share_version)));
}

qw_status qw_article_share_link(qw_store *st, const char *ent,
                                const char *module, const char *path,
                                int64_t ttl, char **token, uint64_t *link_id,
                                int *master_on)
{
    article_change b;
    qw_status rc;

    *token = NULL;
    if (ttl < 0 || ttl > (int64_t)10 * 366 * 86400) {
        return qw_store_error(st, QW_ERR_INVALID, "expiry must be 0 (none) "
                              "to ten years in seconds");
    }
    if ((rc = article_change_init(st, &b, ent, module, path)) != QW_OK) {
        return rc;
    }
    b.ttl = ttl;
    b.token = token;
    b.link_id = link_id;
    b.master_on = master_on;
    rc = qw_store_write(st, share_link_write, &b);
    if (rc != QW_OK && *token != NULL) {
        /* made, but its audit row or the commit failed */
        OPENSSL_cleanse(*token, strlen(*token));
        *token = NULL;
    }
    return rc;
}

/* $1 enterprise id, $2 article id, $3 limit, $4 offset: the live links
 * of the article (made under its current share_version, not revoked, not
 * expired), newest first. */
#define LINK_COLS(X, L) \
    X(LINK_ID, " sl.link_id") \
    X(CREATED_AT, " to_char(sl.created_at AT TIME ZONE 'UTC', " \
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(EXPIRES_AT, " to_char(sl.expires_at AT TIME ZONE 'UTC', " \
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    L(CREATED_BY, " sl.created_by")
#define LINK_COL_ENUM(name, expr) LINK_COL_##name,
enum { LINK_COLS(LINK_COL_ENUM, LINK_COL_ENUM) };
static const char sql_links[] =
    "SELECT" LINK_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM articles a JOIN share_links sl"
    "   ON sl.enterprise_id = a.enterprise_id"
    "  AND sl.article_id = a.article_id"
    "  AND sl.share_version = a.share_version"
    " WHERE a.enterprise_id = $1 AND a.article_id = $2"
    "   AND sl.revoked_at IS NULL"
    "   AND (sl.expires_at IS NULL OR sl.expires_at > now())"
    " ORDER BY sl.created_at DESC, sl.link_id LIMIT $3 OFFSET $4";

qw_status qw_article_links(qw_store *st, const char *ent, int64_t article_id,
                           long limit, long offset,
                           apr_array_header_t **out)
{
    const char *params[4];
    PGresult *res;
    qw_status rc;
    int i, n;
    int64_t eid = qw_store_enterprise_id(st, ent, &rc);

    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, article_id);
    params[2] = apr_ltoa(st->pool, limit > 0 ? limit : 100);
    params[3] = apr_ltoa(st->pool, offset > 0 ? offset : 0);
    res = qw_store_exec(st, sql_links, 4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    n = PQntuples(res);
    *out = apr_array_make(st->pool, n + 1, sizeof(qw_share_link_row));
    for (i = 0; i < n; i++) {
        qw_share_link_row *w = apr_array_push(*out);
#define COL(name) PQgetvalue(res, i, LINK_COL_##name)
        w->link_id = apr_pstrdup(st->pool, COL(LINK_ID));
        w->created_at = apr_pstrdup(st->pool, COL(CREATED_AT));
        w->expires_at = PQgetisnull(res, i, LINK_COL_EXPIRES_AT) ? NULL
                        : apr_pstrdup(st->pool, COL(EXPIRES_AT));
        w->created_by = apr_pstrdup(st->pool, COL(CREATED_BY));
#undef COL
    }
    PQclear(res);
    return QW_OK;
}

static qw_status revoke_link_write(qw_store *st, void *baton,
                                   qw_store_audit *audit)
{
    article_change *b = baton;
    const char *params[4];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;
    int n;

    if ((rc = lock_article(st, b->ent, b->module, b->path, &eid, &aid))
        != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    params[2] = b->value;
    params[3] = st->who.actor ? st->who.actor : "system";
    res = qw_store_exec(st, "UPDATE share_links SET revoked_at = now(), "
                        "revoked_by = $4 WHERE enterprise_id = $1 AND "
                        "article_id = $2 AND link_id = $3 AND revoked_at "
                        "IS NULL", 4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    n = atoi(PQcmdTuples(res));
    PQclear(res);
    if (n == 0) {
        res = qw_store_exec(st, "SELECT 1 FROM share_links WHERE "
                            "enterprise_id = $1 AND article_id = $2 AND "
                            "link_id = $3", 3, params, &rc);
        if (res == NULL) {
            return rc;
        }
        n = PQntuples(res);
        PQclear(res);
        if (n == 0) {
            return qw_store_error(st, QW_ERR_NOTFOUND, "no share link %s "
                                  "for this article (links made before "
                                  "schema 18 are revoked all at once: PUT "
                                  "share revoke)", b->value);
        }
        audit->unchanged = 1;           /* revoked before: nothing to do */
        *b->returned = "already";
        return QW_OK;
    }
    return article_audit(st, audit, eid, b->module, "share-link-revoke",
                         object_of(st, aid, b->path),
                         json_text(st, json_pack("{s:s}", "link",
                                                 b->value)));
}

qw_status qw_article_revoke_link(qw_store *st, const char *ent,
                                 const char *module, const char *path,
                                 const char *link_id, int *already)
{
    article_change b;
    const char *ret = NULL;
    qw_status rc;
    size_t i;

    *already = 0;
    if (link_id == NULL || strlen(link_id) != 16) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such share link");
    }
    for (i = 0; i < 16; i++) {
        if (!((link_id[i] >= '0' && link_id[i] <= '9')
              || (link_id[i] >= 'a' && link_id[i] <= 'f'))) {
            return qw_store_error(st, QW_ERR_NOTFOUND, "no such share link");
        }
    }
    if ((rc = article_change_init(st, &b, ent, module, path)) != QW_OK) {
        return rc;
    }
    b.value = link_id;
    b.returned = &ret;
    rc = qw_store_write(st, revoke_link_write, &b);
    *already = rc == QW_OK && ret != NULL;
    return rc;
}

/* An article's row, as fill() reads it, from a statement in which a is
 * the article, e its enterprise and m its owner (NULL when none). */
#define ARTICLE_COLS(X, L) \
    X(ARTICLE_ID, " a.article_id") \
    X(ENTERPRISE_ID, " a.enterprise_id") \
    X(MODULE, " a.module") \
    X(PATH, " a.path") \
    X(TITLE, " a.title") \
    X(OWNER, " m.account") \
    X(AUDIENCE_ALL, " a.audience_all") \
    X(CONFIDENTIAL, " a.confidential") \
    X(SHARE_ENABLED, " a.share_enabled") \
    X(SHARE_EFFECTIVE, " a.share_enabled AND e.allow_external_share") \
    X(SHARE_VERSION, " a.share_version") \
    X(WATERMARK, " coalesce(a.watermark, -1)") \
    X(BODY_TYPE, " a.body_type") \
    X(BODY_BYTES, " coalesce(length(a.body_enc), 0)") \
    X(DEK_KID, " coalesce(a.dek_kid, 0)") \
    L(UPDATED_AT, " to_char(a.updated_at AT TIME ZONE 'UTC', " \
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
#define ARTICLE_COL_ENUM(name, expr) ARTICLE_COL_##name,
enum {
    ARTICLE_COLS(ARTICLE_COL_ENUM, ARTICLE_COL_ENUM)
    ARTICLE_COLUMNS         /* how many; a longer statement's own start */
};
#define ARTICLE_SELECT "SELECT" ARTICLE_COLS(QW_COL_SQL, QW_COL_SQL_LAST)

static void fill(qw_store *st, PGresult *res, int i, qw_article *a)
{
    apr_pool_t *p = st->pool;

    memset(a, 0, sizeof(*a));
#define COL(name) PQgetvalue(res, i, ARTICLE_COL_##name)
#define NUL(name) PQgetisnull(res, i, ARTICLE_COL_##name)
    a->id = apr_atoi64(COL(ARTICLE_ID));
    a->enterprise_id = apr_atoi64(COL(ENTERPRISE_ID));
    a->module = apr_pstrdup(p, COL(MODULE));
    a->path = apr_pstrdup(p, COL(PATH));
    a->title = apr_pstrdup(p, COL(TITLE));
    a->owner = NUL(OWNER) ? NULL : apr_pstrdup(p, COL(OWNER));
    a->audience_all = !strcmp(COL(AUDIENCE_ALL), "t");
    a->confidential = !strcmp(COL(CONFIDENTIAL), "t");
    a->share_enabled = !strcmp(COL(SHARE_ENABLED), "t");
    a->share_effective = !strcmp(COL(SHARE_EFFECTIVE), "t");
    a->share_version = atoi(COL(SHARE_VERSION));
    a->watermark = atoi(COL(WATERMARK));
    a->body_type = NUL(BODY_TYPE) ? NULL : apr_pstrdup(p, COL(BODY_TYPE));
    a->body_bytes = apr_atoi64(COL(BODY_BYTES));
    a->dek_kid = atoi(COL(DEK_KID));
    a->updated_at = apr_pstrdup(p, COL(UPDATED_AT));
#undef COL
#undef NUL
}

/* $1 enterprise id, $2 module, $3 path: the article's row (ARTICLE_COLS)
 * followed by its audience and people, as sorted, comma-separated codes,
 * names and accounts (ARTICLE_REFS_COL_*, counted from ARTICLE_COLUMNS). */
#define ARTICLE_REFS_COLS(X, L) \
    X(DEPARTMENTS, \
      " (SELECT coalesce(string_agg(d.code, ',' ORDER BY d.code), '') " \
      "   FROM article_audience x JOIN departments d ON d.enterprise_id = " \
      "   x.enterprise_id AND d.department_id = x.department_id " \
      "  WHERE x.enterprise_id = a.enterprise_id " \
      "    AND x.article_id = a.article_id)") \
    X(ROLES, \
      " (SELECT coalesce(string_agg(r.name, ',' ORDER BY r.name), '') " \
      "   FROM article_audience x JOIN roles r ON r.enterprise_id = " \
      "   x.enterprise_id AND r.role_id = x.role_id " \
      "  WHERE x.enterprise_id = a.enterprise_id " \
      "    AND x.article_id = a.article_id)") \
    X(MEMBERS, \
      " (SELECT coalesce(string_agg(u.account, ',' ORDER BY u.account), '')" \
      "   FROM article_audience x JOIN members u ON u.enterprise_id = " \
      "   x.enterprise_id AND u.member_id = x.member_id " \
      "  WHERE x.enterprise_id = a.enterprise_id " \
      "    AND x.article_id = a.article_id)") \
    X(RESPONSIBLE, \
      " (SELECT coalesce(string_agg(u.account, ',' ORDER BY u.account), '')" \
      "   FROM article_people x JOIN members u ON u.enterprise_id = " \
      "   x.enterprise_id AND u.member_id = x.member_id " \
      "  WHERE x.enterprise_id = a.enterprise_id " \
      "    AND x.article_id = a.article_id " \
      "    AND x.relation = 'responsible')") \
    L(RELATED, \
      " (SELECT coalesce(string_agg(u.account, ',' ORDER BY u.account), '')" \
      "   FROM article_people x JOIN members u ON u.enterprise_id = " \
      "   x.enterprise_id AND u.member_id = x.member_id " \
      "  WHERE x.enterprise_id = a.enterprise_id " \
      "    AND x.article_id = a.article_id AND x.relation = 'related')")
#define ARTICLE_REFS_COL_ENUM(name, expr) ARTICLE_REFS_COL_##name,
enum { ARTICLE_REFS_COLS(ARTICLE_REFS_COL_ENUM, ARTICLE_REFS_COL_ENUM) };
static const char sql_article_get[] =
    ARTICLE_SELECT "," ARTICLE_REFS_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM articles a JOIN enterprises e ON e.enterprise_id = "
    "a.enterprise_id LEFT JOIN members m ON m.enterprise_id = "
    "a.enterprise_id AND m.member_id = a.owner_member_id "
    "WHERE a.enterprise_id = $1 AND a.module = $2 AND a.path = $3";

qw_status qw_article_get(qw_store *st, const char *ent, const char *module,
                         const char *path, qw_article *out)
{
    const char *params[3];
    PGresult *res;
    qw_status rc;
    int64_t eid;

    if ((rc = check_name(st, module, path)) != QW_OK) {
        return rc;
    }
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = module;
    params[2] = path;
    res = qw_store_exec(st, sql_article_get, 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no %s article %s in %s",
                              module, path, ent);
    }
    fill(st, res, 0, out);
#define COL(name) PQgetvalue(res, 0, ARTICLE_COLUMNS + ARTICLE_REFS_COL_##name)
    out->departments = apr_pstrdup(st->pool, COL(DEPARTMENTS));
    out->roles = apr_pstrdup(st->pool, COL(ROLES));
    out->members = apr_pstrdup(st->pool, COL(MEMBERS));
    out->responsible = apr_pstrdup(st->pool, COL(RESPONSIBLE));
    out->related = apr_pstrdup(st->pool, COL(RELATED));
#undef COL
    PQclear(res);
    return QW_OK;
}

/* $1 enterprise id, $2 a module or NULL for all: their articles, each
 * with its audience and people (as qw_article_get: the admin API's list
 * and GET articles/ID describe an article by this). */
static const char sql_article_list[] =
    ARTICLE_SELECT "," ARTICLE_REFS_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM articles a "
    "JOIN enterprises e ON e.enterprise_id = "
    "a.enterprise_id LEFT JOIN members m ON "
    "m.enterprise_id = a.enterprise_id AND m.member_id = "
    "a.owner_member_id WHERE a.enterprise_id = $1 AND "
    "($2::text IS NULL OR a.module = $2) "
    "ORDER BY a.module, a.path";

qw_status qw_article_list(qw_store *st, const char *ent, const char *module,
                          apr_array_header_t **out)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid;
    int i;

    if (module && !qw_valid_article_module(module)) {
        return check_name(st, module, "/");
    }
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = module;
    res = qw_store_exec(st, sql_article_list, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1, sizeof(qw_article));
    for (i = 0; i < PQntuples(res); i++) {
        qw_article *a = apr_array_push(*out);
        fill(st, res, i, a);
#define COL(name) PQgetvalue(res, i, ARTICLE_COLUMNS + ARTICLE_REFS_COL_##name)
        a->departments = apr_pstrdup(st->pool, COL(DEPARTMENTS));
        a->roles = apr_pstrdup(st->pool, COL(ROLES));
        a->members = apr_pstrdup(st->pool, COL(MEMBERS));
        a->responsible = apr_pstrdup(st->pool, COL(RESPONSIBLE));
        a->related = apr_pstrdup(st->pool, COL(RELATED));
#undef COL
    }
    PQclear(res);
    return QW_OK;
}

static qw_status delete_write(qw_store *st, void *baton,
                              qw_store_audit *audit)
{
    article_change *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = lock_article(st, b->ent, b->module, b->path, &eid, &aid))
        != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    res = qw_store_exec(st, "DELETE FROM articles WHERE enterprise_id = $1 "
                        "AND article_id = $2", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return article_audit(st, audit, eid, b->module, "delete",
                         object_of(st, aid, b->path), NULL);
}

qw_status qw_article_delete(qw_store *st, const char *ent,
                            const char *module, const char *path)
{
    article_change b;
    qw_status rc;

    if ((rc = article_change_init(st, &b, ent, module, path)) != QW_OK) {
        return rc;
    }
    return qw_store_write(st, delete_write, &b);
}

/* One enterprise's data keys rewrapped under the current key. */
typedef struct {
    int64_t eid;
    long n;
} rewrap_baton;

/* $1 enterprise id, $2 the current key id: the data keys wrapped under
 * another key, locked. */
#define REWRAP_COLS(X, L) \
    X(ARTICLE_ID, " article_id") \
    L(DEK_HEX, " encode(dek_wrapped, 'hex')")
#define REWRAP_COL_ENUM(name, expr) REWRAP_COL_##name,
enum { REWRAP_COLS(REWRAP_COL_ENUM, REWRAP_COL_ENUM) };
static const char sql_rewrap_keys[] =
    "SELECT" REWRAP_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM articles WHERE enterprise_id = $1 AND "
    "dek_kid IS NOT NULL AND dek_kid <> $2 "
    "ORDER BY article_id FOR UPDATE";

static qw_status rewrap_write(qw_store *st, void *baton,
                              qw_store_audit *audit)
{
    rewrap_baton *b = baton;
    int64_t eid = b->eid;
    const char *params[5];
    uint32_t cur = qw_keyring_current(st->keys);
    PGresult *res;
    qw_status rc;
    long n = 0;
    int i;

    params[0] = qw_i64(st->pool, eid);
    params[1] = apr_psprintf(st->pool, "%u", (unsigned)cur);
    res = qw_store_exec(st, sql_rewrap_keys, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        int64_t aid = apr_atoi64(PQgetvalue(res, i, REWRAP_COL_ARTICLE_ID));
        unsigned char *w, *nw;
        size_t wl, nwl;
        PGresult *u;

        if (qw_store_unhex(st->pool, PQgetvalue(res, i, REWRAP_COL_DEK_HEX),
                           &w, &wl) != 0
            || qw_env_rewrap(st->pool, st->keys, eid, aid, w, wl, &nw, &nwl)
               != 0) {
            PQclear(res);
            return qw_store_error(st, QW_ERR_CRYPTO, "the data key of "
                                  "article %s does not unwrap (its key id "
                                  "%u is not in the key file, or the row "
                                  "was altered); nothing of enterprise %s "
                                  "was changed", qw_i64(st->pool, aid),
                                  qw_env_kid(w, wl), qw_i64(st->pool, eid));
        }
        params[2] = qw_i64(st->pool, aid);
        params[3] = qw_store_bytea(st->pool, nw, nwl);
        u = qw_store_exec(st, "UPDATE articles SET dek_wrapped = $4::bytea, "
                          "dek_kid = $2 WHERE enterprise_id = $1 AND "
                          "article_id = $3", 4, params, &rc);
        if (u == NULL) {
            PQclear(res);
            return rc;
        }
        PQclear(u);
        n++;
    }
    PQclear(res);
    if (n == 0) {
        audit->unchanged = 1;
        return QW_OK;
    }
    b->n = n;
    return article_audit(st, audit, eid, "settings", "rewrap", "articles",
                         json_text(st, json_pack("{s:I, s:i}", "keys",
                                                 (json_int_t)n, "key_id",
                                                 (int)cur)));
}

static qw_status rewrap_enterprise(qw_store *st, int64_t eid, long *done)
{
    rewrap_baton b;
    qw_status rc;

    b.eid = eid;
    b.n = 0;
    if ((rc = qw_store_write(st, rewrap_write, &b)) == QW_OK) {
        *done += b.n;
    }
    return rc;
}

qw_status qw_article_rewrap_all(qw_store *st, long *done)
{
    const char *params[1];
    PGresult *res;
    qw_status rc;
    int i;

    *done = 0;
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    params[0] = apr_psprintf(st->pool, "%u",
                             (unsigned)qw_keyring_current(st->keys));
    res = qw_store_exec(st, "SELECT DISTINCT enterprise_id FROM articles "
                        "WHERE dek_kid IS NOT NULL AND dek_kid <> $1 "
                        "ORDER BY enterprise_id", 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        rc = rewrap_enterprise(st,
                               apr_atoi64(PQgetvalue(res, i, QW_COL_ONLY)),
                               done);
        if (rc != QW_OK) {
            break;
        }
    }
    PQclear(res);
    return rc;
}

/* $1 enterprise id, $2 member id, $3 how many per module: the articles the
 * member may read, by module, newest first.  The member's row is joined
 * only when active, so a member disabled meanwhile lists nothing. */
#define READABLE_COLS(X, L) \
    X(MODULE, " x.module") \
    X(PATH, " x.path") \
    X(TITLE, " x.title") \
    X(CREATED_AT, " to_char(x.created_at AT TIME ZONE 'UTC', " \
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    L(MODULE_TOTAL, " x.total")
#define READABLE_COL_ENUM(name, expr) READABLE_COL_##name,
enum { READABLE_COLS(READABLE_COL_ENUM, READABLE_COL_ENUM) };
static const char sql_article_readable[] =
    "SELECT" READABLE_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM (SELECT a.module, a.path, a.title, a.created_at,"
    "               row_number() OVER (PARTITION BY a.module"
    "                   ORDER BY a.created_at DESC, a.article_id DESC) AS n,"
    "               count(*) OVER (PARTITION BY a.module) AS total"
    "          FROM articles a"
    "          JOIN members m ON m.enterprise_id = a.enterprise_id"
    "                        AND m.member_id = $2 AND m.status = 'active'"
    "         WHERE a.enterprise_id = $1 AND" QW_SQL_ARTICLE_AUDIENCE
    "       ) x"
    " WHERE x.n <= $3"
    " ORDER BY x.module, x.n";

qw_status qw_article_readable(qw_store *st, int64_t eid, int64_t member,
                              int per_module, apr_array_header_t **out)
{
    const char *params[3];
    PGresult *res;
    qw_status rc;
    int i;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, member);
    params[2] = apr_itoa(st->pool, per_module);
    res = qw_store_read(st, sql_article_readable, 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_article_entry));
    for (i = 0; i < PQntuples(res); i++) {
        qw_article_entry *e = apr_array_push(*out);
#define COL(name) PQgetvalue(res, i, READABLE_COL_##name)
        e->module = apr_pstrdup(st->pool, COL(MODULE));
        e->path = apr_pstrdup(st->pool, COL(PATH));
        e->title = apr_pstrdup(st->pool, COL(TITLE));
        e->created_at = apr_pstrdup(st->pool, COL(CREATED_AT));
        e->module_total = atoi(COL(MODULE_TOTAL));
#undef COL
    }
    PQclear(res);
    return QW_OK;
}

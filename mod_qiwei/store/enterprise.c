/* Enterprises (tenants), departments and member roles. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "store/store.h"
#include "util/json.h"
#include "util/text.h"

#define NAME_MAX_CHARS 200

typedef struct {
    const char *code, *name;
    int64_t eid;
} enterprise_add_baton;

static qw_status enterprise_add_write(qw_store *st, void *baton,
                                      qw_store_audit *audit)
{
    enterprise_add_baton *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;

    params[0] = b->code;
    params[1] = b->name;
    res = qw_store_insert(st, "INSERT INTO enterprises (code, name) "
                          "VALUES ($1, $2) RETURNING enterprise_id",
                          2, params, &rc, "enterprise '%s' already exists",
                          b->code);
    if (res == NULL) {
        return rc;
    }
    b->eid = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    audit->enterprise_id = b->eid;
    audit->module = "settings";
    audit->action = "create";
    audit->object = apr_psprintf(st->pool, "enterprise:%s %s",
                                 qw_i64(st->pool, b->eid), b->code);
    return QW_OK;
}

qw_status qw_enterprise_add(qw_store *st, const char *code, const char *name,
                            int64_t *id)
{
    enterprise_add_baton b;
    qw_status rc;

    if (code == NULL || !qw_valid_enterprise_code(code)) {
        return qw_store_error(st, QW_ERR_INVALID, "enterprise code '%s' is "
                              "not valid: 1-63 of a-z 0-9 -, starting with "
                              "a letter or digit", code ? code : "");
    }
    if ((rc = qw_store_check_text(st, "enterprise name", name,
                                  NAME_MAX_CHARS)) != QW_OK
        || (rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    b.code = code;
    b.name = name;
    if ((rc = qw_store_write(st, enterprise_add_write, &b)) != QW_OK) {
        return rc;
    }
    if (id) {
        *id = b.eid;
    }
    return QW_OK;
}

/* Every enterprise, by code. */
#define ENT_LIST_COLS(X, L) \
    X(ENTERPRISE_ID, " enterprise_id") \
    X(CODE, " code") \
    X(NAME, " name") \
    L(ALLOW_EXTERNAL_SHARE, " allow_external_share")
#define ENT_LIST_COL_ENUM(name, expr) ENT_LIST_COL_##name,
enum { ENT_LIST_COLS(ENT_LIST_COL_ENUM, ENT_LIST_COL_ENUM) };
static const char sql_enterprise_list[] =
    "SELECT" ENT_LIST_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM enterprises ORDER BY code";

qw_status qw_enterprise_name(qw_store *st, const char *code,
                             const char **name)
{
    const char *params[1];
    PGresult *res;
    qw_status rc;

    params[0] = code;
    res = qw_store_read(st, "SELECT name FROM enterprises WHERE code = $1",
                        1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
    *name = apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    return QW_OK;
}

qw_status qw_enterprise_list(qw_store *st, apr_array_header_t **out)
{
    PGresult *res;
    qw_status rc;
    int i;

    res = qw_store_exec(st, sql_enterprise_list, 0, NULL, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1, sizeof(qw_enterprise));
    for (i = 0; i < PQntuples(res); i++) {
        qw_enterprise *e = apr_array_push(*out);

#define COL(name) PQgetvalue(res, i, ENT_LIST_COL_##name)
        e->id = apr_atoi64(COL(ENTERPRISE_ID));
        e->code = apr_pstrdup(st->pool, COL(CODE));
        e->name = apr_pstrdup(st->pool, COL(NAME));
        e->allow_external_share = strcmp(COL(ALLOW_EXTERNAL_SHARE), "t") == 0;
#undef COL
    }
    PQclear(res);
    return QW_OK;
}

qw_status qw_enterprise_revoke_share_links(qw_store *st,
                                           int64_t enterprise_id)
{
    const char *params[1];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, enterprise_id);
    res = qw_store_exec(st, "UPDATE articles SET share_version ="
                        " share_version + 1 WHERE enterprise_id = $1",
                        1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

typedef struct {
    const char *code;
    int allow;
} external_share_baton;

static qw_status external_share_write(qw_store *st, void *baton,
                                      qw_store_audit *audit)
{
    external_share_baton *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid;
    int allow = b->allow, was;

    eid = qw_store_enterprise_id(st, b->code, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = allow ? "true" : "false";
    res = qw_store_exec(st, "SELECT allow_external_share FROM enterprises "
                        "WHERE enterprise_id = $1 FOR UPDATE", 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    was = strcmp(PQgetvalue(res, 0, QW_COL_ONLY), "t") == 0;
    PQclear(res);
    if (was == !!allow) {
        audit->unchanged = 1;           /* nothing changes, nothing to log */
        return QW_OK;
    }
    res = qw_store_exec(st, "UPDATE enterprises SET allow_external_share = $2"
                        " WHERE enterprise_id = $1", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    /* off kills the links: switching back on must not revive them */
    if (!allow && (rc = qw_enterprise_revoke_share_links(st, eid)) != QW_OK) {
        return rc;
    }
    audit->enterprise_id = eid;
    audit->module = "settings";
    audit->action = "update";
    audit->object = apr_psprintf(st->pool, "enterprise:%s %s", params[0],
                                 b->code);
    audit->details_json = allow ? "{\"allow_external_share\": true}"
                                : "{\"allow_external_share\": false}";
    return QW_OK;
}

qw_status qw_enterprise_set_external_share(qw_store *st, const char *code,
                                           int allow)
{
    external_share_baton b;
    qw_status rc;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    b.code = code;
    b.allow = allow;
    return qw_store_write(st, external_share_write, &b);
}

typedef struct {
    const char *ent, *code, *name, *parent_code;
} department_add_baton;

static qw_status department_add_write(qw_store *st, void *baton,
                                      qw_store_audit *audit)
{
    department_add_baton *b = baton;
    const char *ent = b->ent, *code = b->code, *parent_code = b->parent_code;
    const char *params[5];
    PGresult *res;
    qw_status rc;
    int64_t eid, did;
    const char *parent_id = NULL;

    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    if (parent_code != NULL) {
        params[1] = parent_code;
        /* FOR SHARE: the parent cannot vanish before we commit */
        res = qw_store_exec(st, "SELECT department_id FROM departments "
                            "WHERE enterprise_id = $1 AND code = $2 "
                            "FOR SHARE", 2, params, &rc);
        if (res == NULL) {
            return rc;
        }
        if (PQntuples(res) != 1) {
            PQclear(res);
            return qw_store_error(st, QW_ERR_NOTFOUND, "no department with "
                                  "code '%s' in enterprise '%s'",
                                  parent_code, ent);
        }
        parent_id = apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY));
        PQclear(res);
    }
    params[1] = code;
    params[2] = b->name;
    params[3] = parent_id;
    res = qw_store_insert(st, "INSERT INTO departments (enterprise_id, code, "
                          "name, parent_id, path) VALUES ($1, $2, $3, $4, '')"
                          " RETURNING department_id", 4, params, &rc,
                          "department '%s' already exists in enterprise "
                          "'%s'", code, ent);
    if (res == NULL) {
        return rc;
    }
    did = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    params[1] = qw_i64(st->pool, did);
    params[2] = parent_id;
    res = qw_store_exec(st, "UPDATE departments SET path = coalesce("
                        "(SELECT p.path FROM departments p "
                        "WHERE p.enterprise_id = $1 AND p.department_id = $3),"
                        " '/') || department_id || '/' "
                        "WHERE enterprise_id = $1 AND department_id = $2",
                        3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    audit->enterprise_id = eid;
    audit->module = "directory";
    audit->action = "create";
    audit->object = apr_psprintf(st->pool, "department:%s %s", params[1],
                                 code);
    return QW_OK;
}

qw_status qw_department_add(qw_store *st, const char *ent, const char *code,
                            const char *name, const char *parent_code)
{
    department_add_baton b;
    qw_status rc;

    if (code == NULL || !qw_valid_department_code(code)) {
        return qw_store_error(st, QW_ERR_INVALID, "department code '%s' is "
                              "not valid: 1-63 of A-Z a-z 0-9 _ . -, starting"
                              " with a letter or digit", code ? code : "");
    }
    if (parent_code != NULL && !qw_valid_department_code(parent_code)) {
        return qw_store_error(st, QW_ERR_INVALID, "parent department code "
                              "'%s' is not valid", parent_code);
    }
    if ((rc = qw_store_check_text(st, "department name", name,
                                  NAME_MAX_CHARS)) != QW_OK
        || (rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    b.ent = ent;
    b.code = code;
    b.name = name;
    b.parent_code = parent_code;
    return qw_store_write(st, department_add_write, &b);
}

/* $1 enterprise id: its departments in tree order (by path), each with
 * its parent's code (NULL for a top-level one). */
#define DEPT_LIST_COLS(X, L) \
    X(DEPARTMENT_ID, " d.department_id") \
    X(CODE, " d.code") \
    X(NAME, " d.name") \
    X(PARENT_CODE, " p.code") \
    L(PATH, " d.path")
#define DEPT_LIST_COL_ENUM(name, expr) DEPT_LIST_COL_##name,
enum { DEPT_LIST_COLS(DEPT_LIST_COL_ENUM, DEPT_LIST_COL_ENUM) };
static const char sql_department_list[] =
    "SELECT" DEPT_LIST_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM departments d LEFT JOIN departments p "
    "ON p.enterprise_id = d.enterprise_id "
    "AND p.department_id = d.parent_id "
    "WHERE d.enterprise_id = $1 ORDER BY d.path";

qw_status qw_department_list(qw_store *st, const char *ent,
                             apr_array_header_t **out)
{
    const char *params[1];
    PGresult *res;
    qw_status rc;
    int64_t eid;
    int i;

    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    res = qw_store_exec(st, sql_department_list, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1, sizeof(qw_department));
    for (i = 0; i < PQntuples(res); i++) {
        qw_department *d = apr_array_push(*out);

#define COL(name) PQgetvalue(res, i, DEPT_LIST_COL_##name)
        d->id = apr_atoi64(COL(DEPARTMENT_ID));
        d->code = apr_pstrdup(st->pool, COL(CODE));
        d->name = apr_pstrdup(st->pool, COL(NAME));
        d->parent_code = PQgetisnull(res, i, DEPT_LIST_COL_PARENT_CODE) ? NULL
                         : apr_pstrdup(st->pool, COL(PARENT_CODE));
        d->path = apr_pstrdup(st->pool, COL(PATH));
#undef COL
    }
    PQclear(res);
    return QW_OK;
}

typedef struct {
    const char *ent, *name;
} role_add_baton;

static qw_status role_add_write(qw_store *st, void *baton,
                                qw_store_audit *audit)
{
    role_add_baton *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid;

    eid = qw_store_enterprise_id(st, b->ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = b->name;
    res = qw_store_insert(st, "INSERT INTO roles (enterprise_id, name) "
                          "VALUES ($1, $2) RETURNING role_id", 2, params, &rc,
                          "role '%s' already exists in enterprise '%s'",
                          b->name, b->ent);
    if (res == NULL) {
        return rc;
    }
    audit->enterprise_id = eid;
    audit->module = "directory";
    audit->action = "create";
    audit->object = apr_psprintf(st->pool, "role:%s %s",
                                 PQgetvalue(res, 0, QW_COL_ONLY), b->name);
    PQclear(res);
    return QW_OK;
}

qw_status qw_role_add(qw_store *st, const char *ent, const char *name)
{
    role_add_baton b;
    qw_status rc;

    /* same alphabet as department codes (schema CHECK) */
    if (name == NULL || !qw_valid_department_code(name)) {
        return qw_store_error(st, QW_ERR_INVALID, "role name '%s' is not "
                              "valid: 1-63 of A-Z a-z 0-9 _ . -, starting "
                              "with a letter or digit", name ? name : "");
    }
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    b.ent = ent;
    b.name = name;
    return qw_store_write(st, role_add_write, &b);
}

/* --- changing and deleting a department (the console, issue 15) --- */

typedef struct {
    const char *ent, *code, *name, *parent_code;
    int move;                   /* parent_code given (NULL: to the top) */
} department_update_baton;

/* $1 enterprise id, $2 code: the department, locked (FOR UPDATE: a
 * department added under it, or a concurrent move, waits for us; FOR
 * SHARE: a new parent cannot vanish or move before we commit). */
#define DEPT_LOCK_COLS(X, L) \
    X(DEPARTMENT_ID, " department_id") \
    X(PATH, " path") \
    X(NAME, " name") \
    L(PARENT_ID, " parent_id")
#define DEPT_LOCK_COL_ENUM(name, expr) DEPT_LOCK_COL_##name,
enum { DEPT_LOCK_COLS(DEPT_LOCK_COL_ENUM, DEPT_LOCK_COL_ENUM) };
static const char sql_department_lock_update[] =
    "SELECT" DEPT_LOCK_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM departments WHERE enterprise_id = $1 AND code = $2 FOR UPDATE";
static const char sql_department_lock_share[] =
    "SELECT" DEPT_LOCK_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM departments WHERE enterprise_id = $1 AND code = $2 FOR SHARE";

static PGresult *department_lock(qw_store *st, const char *const *params,
                                 int for_update, qw_status *rc)
{
    return qw_store_exec(st, for_update ? sql_department_lock_update
                                        : sql_department_lock_share,
                         2, params, rc);
}

static qw_status department_update_write(qw_store *st, void *baton,
                                         qw_store_audit *audit)
{
    department_update_baton *b = baton;
    const char *params[5];
    PGresult *res;
    qw_status rc;
    int64_t eid;
    const char *did, *old_path, *old_name, *old_parent;
    const char *new_parent = NULL, *new_path;
    int renamed, moved;

    eid = qw_store_enterprise_id(st, b->ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    /* moves of one enterprise's tree one at a time: two crossing moves
     * (A under B, B under A) cannot both pass the cycle test */
    if (b->move) {
        res = qw_store_exec(st, "SELECT pg_advisory_xact_lock(hashtext("
                            "'qiwei department tree'), $1::int)", 1,
                            params, &rc);
        if (res == NULL) {
            return rc;
        }
        PQclear(res);
    }
    params[1] = b->code;
    if ((res = department_lock(st, params, 1, &rc)) == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no department with code "
                              "'%s' in enterprise '%s'", b->code, b->ent);
    }
#define COL(name) PQgetvalue(res, 0, DEPT_LOCK_COL_##name)
    did = apr_pstrdup(st->pool, COL(DEPARTMENT_ID));
    old_path = apr_pstrdup(st->pool, COL(PATH));
    old_name = apr_pstrdup(st->pool, COL(NAME));
    old_parent = PQgetisnull(res, 0, DEPT_LOCK_COL_PARENT_ID) ? NULL
                 : apr_pstrdup(st->pool, COL(PARENT_ID));
#undef COL
    PQclear(res);
    new_path = old_path;
    if (b->move && b->parent_code != NULL) {
        const char *ppath;
        params[1] = b->parent_code;
        if ((res = department_lock(st, params, 0, &rc)) == NULL) {
            return rc;
        }
        if (PQntuples(res) != 1) {
            PQclear(res);
            return qw_store_error(st, QW_ERR_NOTFOUND, "no department with "
                                  "code '%s' in enterprise '%s'",
                                  b->parent_code, b->ent);
        }
        new_parent = apr_pstrdup(st->pool, PQgetvalue(res, 0,
                                                      DEPT_LOCK_COL_DEPARTMENT_ID));
        ppath = apr_pstrdup(st->pool, PQgetvalue(res, 0, DEPT_LOCK_COL_PATH));
        PQclear(res);
        if (!strncmp(ppath, old_path, strlen(old_path))) {
            return qw_store_error(st, QW_ERR_CONFLICT, "department '%s' "
                                  "cannot move under '%s': that is itself "
                                  "or one of its sub-departments", b->code,
                                  b->parent_code);
        }
        new_path = apr_pstrcat(st->pool, ppath, did, "/", NULL);
    } else if (b->move) {
        new_path = apr_pstrcat(st->pool, "/", did, "/", NULL);
    }
    moved = b->move && ((new_parent == NULL) != (old_parent == NULL)
                        || (new_parent && strcmp(new_parent, old_parent)));
    renamed = b->name != NULL && strcmp(b->name, old_name);
    if (!moved && !renamed) {
        audit->unchanged = 1;
        return QW_OK;
    }
    if (renamed) {
        params[1] = did;
        params[2] = b->name;
        res = qw_store_exec(st, "UPDATE departments SET name = $3 "
                            "WHERE enterprise_id = $1 AND department_id = $2",
                            3, params, &rc);
        if (res == NULL) {
            return rc;
        }
        PQclear(res);
    }
    if (moved) {
        /* the department and its whole subtree: the old path prefix
         * becomes the new one (one statement: the access trigger sees
         * every row that moved) */
        params[1] = did;
        params[2] = new_parent;
        params[3] = old_path;
        params[4] = new_path;
        res = qw_store_exec(st, "UPDATE departments SET parent_id = CASE "
                            "WHEN department_id = $2 THEN $3::bigint "
                            "ELSE parent_id END, path = $5 || "
                            "substr(path, length($4) + 1) "
                            "WHERE enterprise_id = $1 "
                            "AND left(path, length($4)) = $4",
                            5, params, &rc);
        if (res == NULL) {
            return rc;
        }
        PQclear(res);
    }
    audit->enterprise_id = eid;
    audit->module = "directory";
    audit->action = "update";
    audit->object = apr_psprintf(st->pool, "department:%s %s", did, b->code);
    audit->details_json = qw_json_text(st->pool,
                                       json_pack("{s:s?, s:s?}",
                                                 "name", renamed ? "set"
                                                                 : NULL,
                                                 "parent", moved ? "set"
                                                                 : NULL));
    return QW_OK;
}

qw_status qw_department_update(qw_store *st, const char *ent,
                               const char *code, const char *name,
                               int move, const char *parent_code)
{
    department_update_baton b;
    qw_status rc;

    if (code == NULL || !qw_valid_department_code(code)) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no department with code "
                              "'%s' in enterprise '%s'", code ? code : "",
                              ent);
    }
    if (move && parent_code != NULL
        && !qw_valid_department_code(parent_code)) {
        return qw_store_error(st, QW_ERR_INVALID, "parent department code "
                              "'%s' is not valid", parent_code);
    }
    if (name != NULL
        && (rc = qw_store_check_text(st, "department name", name,
                                     NAME_MAX_CHARS)) != QW_OK) {
        return rc;
    }
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    b.ent = ent;
    b.code = code;
    b.name = name;
    b.move = move;
    b.parent_code = parent_code;
    return qw_store_write(st, department_update_write, &b);
}

typedef struct {
    const char *ent, *code;
} department_delete_baton;

/* $1 enterprise id, $2 department id: what still uses it */
#define DEPT_USES_COLS(X, L) \
    X(SUBS, " (SELECT count(*) FROM departments WHERE enterprise_id = $1" \
            " AND parent_id = $2)") \
    X(MEMBERS, " (SELECT count(*) FROM member_departments WHERE" \
               " enterprise_id = $1 AND department_id = $2)") \
    L(ARTICLES, " (SELECT count(*) FROM article_audience WHERE" \
                " enterprise_id = $1 AND department_id = $2)")
#define DEPT_USES_COL_ENUM(name, expr) DEPT_USES_COL_##name,
enum { DEPT_USES_COLS(DEPT_USES_COL_ENUM, DEPT_USES_COL_ENUM) };
static const char sql_department_uses[] =
    "SELECT" DEPT_USES_COLS(QW_COL_SQL, QW_COL_SQL_LAST);

static qw_status department_delete_write(qw_store *st, void *baton,
                                         qw_store_audit *audit)
{
    department_delete_baton *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid;
    const char *did;
    long subs, members, articles;

    eid = qw_store_enterprise_id(st, b->ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = b->code;
    if ((res = department_lock(st, params, 1, &rc)) == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no department with code "
                              "'%s' in enterprise '%s'", b->code, b->ent);
    }
    did = apr_pstrdup(st->pool, PQgetvalue(res, 0,
                                           DEPT_LOCK_COL_DEPARTMENT_ID));
    PQclear(res);
    /* empty only: no sub-department, no member, and named in no article's
     * audience (deleting it would silently change who may read those) */
    params[1] = did;
    res = qw_store_exec(st, sql_department_uses, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    subs = atol(PQgetvalue(res, 0, DEPT_USES_COL_SUBS));
    members = atol(PQgetvalue(res, 0, DEPT_USES_COL_MEMBERS));
    articles = atol(PQgetvalue(res, 0, DEPT_USES_COL_ARTICLES));
    PQclear(res);
    if (subs || members || articles) {
        return qw_store_error(st, QW_ERR_CONFLICT, "department '%s' is not "
                              "empty: %ld sub-departments, %ld members, "
                              "named in the audience of %ld articles; move "
                              "or remove them first", b->code, subs,
                              members, articles);
    }
    res = qw_store_exec(st, "DELETE FROM departments WHERE enterprise_id = $1"
                        " AND department_id = $2", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    audit->enterprise_id = eid;
    audit->module = "directory";
    audit->action = "delete";
    audit->object = apr_psprintf(st->pool, "department:%s %s", did, b->code);
    return QW_OK;
}

qw_status qw_department_delete(qw_store *st, const char *ent,
                               const char *code)
{
    department_delete_baton b;
    qw_status rc;

    if (code == NULL || !qw_valid_department_code(code)) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no department with code "
                              "'%s' in enterprise '%s'", code ? code : "",
                              ent);
    }
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    b.ent = ent;
    b.code = code;
    return qw_store_write(st, department_delete_write, &b);
}

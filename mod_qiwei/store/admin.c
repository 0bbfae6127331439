/* Admin accounts and sub-admin roles (R6), login reminders (R4), reading
 * and exporting the operation log (R5), enterprise settings and member
 * privacy (R15).  Shared by qiweictl and the admin API: every write runs in
 * one transaction together with its audit row. */
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <jansson.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "store/store.h"
#include "util/rights.h"
#include "util/seal.h"
#include "util/json.h"
#include "util/text.h"


static qw_status norm_account(qw_store *st, const char *what, const char *in,
                              const char **out)
{
    const char *a;

    if (in == NULL || *in == '\0') {
        return qw_store_error(st, QW_ERR_INVALID, "%s must not be empty",
                              what);
    }
    a = qw_ascii_lower(st->pool, in);
    if (a == NULL || !qw_valid_account(a)) {
        return qw_store_error(st, QW_ERR_INVALID, "%s is not valid: 1-64 of "
                              "a-z 0-9 . _ @ -, starting with a letter or "
                              "digit", what);
    }
    *out = a;
    return QW_OK;
}

/* The "等保" rule for admins (SECURITY-BASELINE, R11): at least 12
 * characters with digits, upper and lower case letters and symbols.  The
 * blocklist, history and expiry come with util/pwpolicy (issue 6). */
/* Well-formed text only; the rules themselves are the enterprise's admin
 * policy (qw_admin_password_check). */
static qw_status check_admin_password(qw_store *st, const char *pw,
                                      size_t len)
{
    if (pw == NULL || len == 0 || len > QW_PW_MAX_LEN
        || memchr(pw, '\0', len) != NULL || !qw_valid_utf8_text(pw, len)) {
        return qw_store_error(st, QW_ERR_INVALID, "password must be 1-%d "
                              "bytes of UTF-8 text without control "
                              "characters", QW_PW_MAX_LEN);
    }
    return QW_OK;
}

static const char *admin_object(qw_store *st, int64_t id, const char *acct)
{
    return apr_psprintf(st->pool, "admin:%s %s", qw_i64(st->pool, id), acct);
}

/* One admin-side change, run by qw_store_write: the enterprise and what
 * each change needs. */
typedef struct {
    const char *ent, *account;
    const char *hash, *bind_member;             /* add, set_password */
    int is_super;
    int64_t id;
    const char *status;                         /* set_status */
    const char *name, *mods;                    /* role_put, role_delete */
    int *created;
    const char *role;                           /* grant, revoke */
    int grant;
    int *changed;
    const qw_audit_filter *filter;              /* audit_export */
    long *rows;
    const qw_settings *settings;                /* settings_set */
    const qw_settings_defaults *defaults;
    const char *display_name, *mobile, *email;  /* member_edit */
    int hide_mobile;
    int64_t eid;                                /* audit_note */
    const char *module, *action, *object, *result, *reason, *details;
} admin_change;

/* Keys first (sealed fields, the audit MAC), then the unit of work. */
static qw_status admin_write(qw_store *st, qw_store_write_fn fn,
                             admin_change *b)
{
    qw_status rc;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    return qw_store_write(st, fn, b);
}

/* In the transaction: the enterprise's id. */
static qw_status open_ent(qw_store *st, const char *ent, int64_t *eid)
{
    qw_status rc;

    *eid = qw_store_enterprise_id(st, ent, &rc);
    return *eid < 0 ? rc : QW_OK;
}

static void admin_change_init(admin_change *b, const char *ent,
                              const char *account)
{
    memset(b, 0, sizeof(*b));
    b->ent = ent;
    b->account = account;
}

static qw_status admin_audit(qw_store_audit *audit, int64_t eid,
                             const char *module, const char *action,
                             const char *object, const char *details)
{
    audit->enterprise_id = eid;
    audit->module = module;
    audit->action = action;
    audit->object = object;
    audit->details_json = details;
    return QW_OK;
}

/* $1 enterprise id, $2 account: the admin account, locked. */
#define FIND_ADMIN_COLS(X, L) \
    X(ADMIN_ID, " admin_id") \
    L(IS_SUPER, " is_super")
#define FIND_ADMIN_COL_ENUM(name, expr) FIND_ADMIN_COL_##name,
enum { FIND_ADMIN_COLS(FIND_ADMIN_COL_ENUM, FIND_ADMIN_COL_ENUM) };
static const char sql_find_admin[] =
    "SELECT" FIND_ADMIN_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM admin_accounts "
    "WHERE enterprise_id = $1 AND account = $2 "
    "FOR UPDATE";

/* Lock and read an admin account of eid. */
static qw_status find_admin(qw_store *st, int64_t eid, const char *account,
                            int64_t *id, int *is_super)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    res = qw_store_exec(st, sql_find_admin, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no admin account '%s'",
                              account);
    }
    *id = apr_atoi64(PQgetvalue(res, 0, FIND_ADMIN_COL_ADMIN_ID));
    if (is_super) {
        *is_super = !strcmp(PQgetvalue(res, 0, FIND_ADMIN_COL_IS_SUPER), "t");
    }
    PQclear(res);
    return QW_OK;
}

/* In the transaction: the enterprise's id and b's admin account, locked. */
static qw_status open_admin(qw_store *st, const admin_change *b,
                            int64_t *eid, int64_t *aid)
{
    qw_status rc;

    if ((rc = open_ent(st, b->ent, eid)) != QW_OK) {
        return rc;
    }
    return find_admin(st, *eid, b->account, aid, NULL);
}

static qw_status find_member_id(qw_store *st, int64_t eid,
                                const char *account, int64_t *mid)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    res = qw_store_exec(st, "SELECT member_id FROM members WHERE "
                        "enterprise_id = $1 AND account = $2", 2, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no member '%s'",
                              account);
    }
    *mid = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    return QW_OK;
}

static qw_status admin_add_write(qw_store *st, void *baton,
                                 qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[5], *account = b->account;
    PGresult *res;
    qw_status rc;
    int64_t eid, mid = 0, aid;

    if ((rc = open_ent(st, b->ent, &eid)) != QW_OK) {
        return rc;
    }
    if (b->bind_member
        && (rc = find_member_id(st, eid, b->bind_member, &mid)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    params[2] = b->hash;
    params[3] = b->is_super ? "t" : "f";
    params[4] = mid ? qw_i64(st->pool, mid) : NULL;
    res = qw_store_insert(st, "INSERT INTO admin_accounts (enterprise_id, "
                          "account, password_hash, is_super, "
                          "bound_member_id, password_changed_at) VALUES "
                          "($1, $2, $3, $4, $5, CASE WHEN $3::text IS NULL "
                          "THEN NULL ELSE now() END) RETURNING admin_id",
                          5, params, &rc,
                          "admin account '%s' already exists", account);
    if (res == NULL) {
        return rc;
    }
    aid = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    b->id = aid;
    return admin_audit(audit, eid, "settings", "create",
                       admin_object(st, aid, account),
                       qw_json_text(st->pool,
                           json_pack("{s:s, s:b, s:o, s:b}",
                                     "kind", "admin", "super", b->is_super,
                                     "bound_member", mid
                                     ? json_integer((json_int_t)mid)
                                     : json_null(),
                                     "password", b->hash != NULL)));
}

qw_status qw_admin_add(qw_store *st, const char *ent, const char *account,
                       const char *password, size_t len, int is_super,
                       const char *bind_member, int64_t *id)
{
    admin_change b;
    qw_status rc;
    char *hash = NULL;

    if ((rc = norm_account(st, "admin account", account, &account)) != QW_OK
        || (bind_member && (rc = norm_account(st, "member account",
                                              bind_member, &bind_member))
            != QW_OK)) {
        return rc;
    }
    if (password != NULL) {
        int64_t e;
        if ((rc = check_admin_password(st, password, len)) != QW_OK) {
            return rc;
        }
        /* the enterprise's admin policy (blocklist, mode), before any
         * transaction: no lock held while checking */
        if ((e = qw_store_enterprise_id(st, ent, &rc)) < 0) {
            return rc;
        }
        if ((rc = qw_admin_password_check(st, e, 0, account, password,
                                          len)) != QW_OK) {
            return rc;
        }
        /* hash before the transaction: no lock held while Argon2id runs */
        if (qw_pw_init() != 0
            || (hash = qw_pw_hash(st->pool, password, len, &st->pw))
               == NULL) {
            return qw_store_error(st, QW_ERR_CRYPTO, "password hashing "
                                  "failed");
        }
    }
    admin_change_init(&b, ent, account);
    b.hash = hash;
    b.is_super = is_super;
    b.bind_member = bind_member;
    if ((rc = admin_write(st, admin_add_write, &b)) == QW_OK && id) {
        *id = b.id;
    }
    return rc;
}

static qw_status set_password_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    admin_change *b = baton;
    qw_status rc;
    int64_t eid, aid;

    (void)audit;                        /* qw_admin_password_store audits */
    if ((rc = open_admin(st, b, &eid, &aid)) != QW_OK) {
        return rc;
    }
    /* history, the new hash, every session of the account ended, audit */
    return qw_admin_password_store(st, eid, aid, b->hash, 0,
                                   admin_object(st, aid, b->account));
}

qw_status qw_admin_set_password(qw_store *st, const char *ent,
                                const char *account, const char *password,
                                size_t len)
{
    const char *params[2];
    admin_change b;
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;
    char *hash;

    if ((rc = norm_account(st, "admin account", account, &account)) != QW_OK
        || (rc = check_admin_password(st, password, len)) != QW_OK) {
        return rc;
    }
    if ((eid = qw_store_enterprise_id(st, ent, &rc)) < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    res = qw_store_exec(st, "SELECT admin_id FROM admin_accounts WHERE "
                        "enterprise_id = $1 AND account = $2", 2, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    aid = PQntuples(res) == 1
          ? apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY)) : 0;
    PQclear(res);
    if (aid == 0) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no admin account '%s'",
                              account);
    }
    /* R11: the enterprise's admin policy (dengbao by default: length, four
     * kinds, blocklist) and not one of the last 5 */
    if ((rc = qw_admin_password_check(st, eid, aid, account, password, len))
        != QW_OK) {
        return rc;
    }
    if (qw_pw_init() != 0
        || (hash = qw_pw_hash(st->pool, password, len, &st->pw)) == NULL) {
        return qw_store_error(st, QW_ERR_CRYPTO, "password hashing failed");
    }
    admin_change_init(&b, ent, account);
    b.hash = hash;
    return admin_write(st, set_password_write, &b);
}

static qw_status set_status_write(qw_store *st, void *baton,
                                  qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[3], *status = b->status;
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = open_admin(st, b, &eid, &aid)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    params[2] = status;
    res = qw_store_exec(st, "UPDATE admin_accounts SET status = $3, "
                        "updated_at = now() WHERE enterprise_id = $1 AND "
                        "admin_id = $2 AND status <> $3 RETURNING 1",
                        3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        audit->unchanged = 1;           /* unchanged: nothing to log */
        return QW_OK;
    }
    PQclear(res);
    if (!strcmp(status, "disabled")) {
        res = qw_store_exec(st, "DELETE FROM admin_sessions WHERE "
                            "enterprise_id = $1 AND admin_id = $2", 2,
                            params, &rc);
        if (res == NULL) {
            return rc;
        }
        PQclear(res);
    }
    return admin_audit(audit, eid, "settings", "update",
                       admin_object(st, aid, b->account),
                       qw_json_text(st->pool, json_pack("{s:s}", "status",
                                                        status)));
}

qw_status qw_admin_set_status(qw_store *st, const char *ent,
                              const char *account, const char *status)
{
    admin_change b;
    qw_status rc;

    if (status == NULL || (strcmp(status, "active")
                           && strcmp(status, "disabled"))) {
        return qw_store_error(st, QW_ERR_INVALID, "status must be active or "
                              "disabled");
    }
    if ((rc = norm_account(st, "admin account", account, &account))
        != QW_OK) {
        return rc;
    }
    admin_change_init(&b, ent, account);
    b.status = status;
    return admin_write(st, set_status_write, &b);
}

static qw_status bind_write(qw_store *st, void *baton,
                            qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[3];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid, mid = 0, old = 0;

    if ((rc = open_admin(st, b, &eid, &aid)) != QW_OK) {
        return rc;
    }
    if (b->bind_member
        && (rc = find_member_id(st, eid, b->bind_member, &mid)) != QW_OK) {
        /* the admin exists: a member that does not is a bad value */
        return rc == QW_ERR_NOTFOUND
               ? qw_store_error(st, QW_ERR_INVALID, "member '%s' is not in "
                                "the directory", b->bind_member)
               : rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    res = qw_store_exec(st, "SELECT coalesce(bound_member_id, 0) FROM "
                        "admin_accounts WHERE enterprise_id = $1 AND "
                        "admin_id = $2", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        old = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    }
    PQclear(res);
    if (b->changed) {
        *b->changed = old != mid;
    }
    if (old == mid) {
        audit->unchanged = 1;           /* as it is: nothing to log */
        return QW_OK;
    }
    params[2] = mid ? qw_i64(st->pool, mid) : NULL;
    res = qw_store_exec(st, "UPDATE admin_accounts SET bound_member_id = "
                        "$3::bigint, updated_at = now() WHERE enterprise_id "
                        "= $1 AND admin_id = $2", 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    /* members by id only: the operation log outlives them */
    return admin_audit(audit, eid, "settings", "update",
                       admin_object(st, aid, b->account),
                       qw_json_text(st->pool, json_pack(
                           "{s:[o, o]}", "bound_member",
                           old ? json_integer((json_int_t)old) : json_null(),
                           mid ? json_integer((json_int_t)mid)
                               : json_null())));
}

qw_status qw_admin_bind(qw_store *st, const char *ent, const char *account,
                        const char *member, int *changed)
{
    admin_change b;
    qw_status rc;

    if (changed) {
        *changed = 0;
    }
    if ((rc = norm_account(st, "admin account", account, &account))
        != QW_OK
        || (member && (rc = norm_account(st, "member account", member,
                                         &member)) != QW_OK)) {
        return rc;
    }
    admin_change_init(&b, ent, account);
    b.bind_member = member;
    b.changed = changed;
    return admin_write(st, bind_write, &b);
}

static qw_status unlock_write(qw_store *st, void *baton,
                              qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;
    int n;

    if ((rc = open_admin(st, b, &eid, &aid)) != QW_OK) {
        return rc;
    }
    /* every counter of the account's logins and second steps, from every
     * source and the account-wide one (sql/012) */
    params[0] = qw_i64(st->pool, eid);
    params[1] = b->account;
    res = qw_store_exec(st, "DELETE FROM login_throttle WHERE "
                        "enterprise_id = $1 AND account = $2 AND kind IN "
                        "('admin_password', 'admin_totp')", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    n = atoi(PQcmdTuples(res));
    PQclear(res);
    if (b->changed) {
        *b->changed = n;
    }
    return admin_audit(audit, eid, "auth", "admin-unlock",
                       admin_object(st, aid, b->account),
                       qw_json_text(st->pool, json_pack("{s:i}", "counters",
                                                        n)));
}

qw_status qw_admin_unlock(qw_store *st, const char *ent, const char *account,
                          int *cleared)
{
    admin_change b;
    qw_status rc;

    if ((rc = norm_account(st, "admin account", account, &account))
        != QW_OK) {
        return rc;
    }
    admin_change_init(&b, ent, account);
    b.changed = cleared;
    return admin_write(st, unlock_write, &b);
}

static qw_status delete_write(qw_store *st, void *baton,
                              qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = open_admin(st, b, &eid, &aid)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, aid);
    res = qw_store_exec(st, "DELETE FROM admin_accounts WHERE "
                        "enterprise_id = $1 AND admin_id = $2", 2, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return admin_audit(audit, eid, "settings", "delete",
                       admin_object(st, aid, b->account),
                       "{\"kind\": \"admin\"}");
}

qw_status qw_admin_delete(qw_store *st, const char *ent, const char *account)
{
    admin_change b;
    qw_status rc;

    if ((rc = norm_account(st, "admin account", account, &account))
        != QW_OK) {
        return rc;
    }
    admin_change_init(&b, ent, account);
    return admin_write(st, delete_write, &b);
}

/* An admin account of enterprise $1 (the caller appends the rest of the
 * WHERE clause and the order), read by fill_admin(): the bound member's
 * account (NULL when none), its roles and the modules they grant, as
 * sorted, comma-separated names. */
#define ADMIN_COLS(X, L) \
    X(ADMIN_ID, " a.admin_id") \
    X(ACCOUNT, " a.account") \
    X(IS_SUPER, " a.is_super") \
    X(STATUS, " a.status") \
    X(BOUND_MEMBER, " m.account") \
    X(ROLES, \
      " (SELECT coalesce(string_agg(r.name, ',' ORDER BY r.name), '') " \
      "    FROM admin_account_roles ar JOIN admin_roles r " \
      "      ON r.enterprise_id = ar.enterprise_id" \
      "     AND r.role_id = ar.role_id" \
      "   WHERE ar.enterprise_id = a.enterprise_id " \
      "     AND ar.admin_id = a.admin_id)") \
    L(MODULES, \
      " (SELECT coalesce(string_agg(DISTINCT u.m, ',' ORDER BY u.m), '') " \
      "    FROM admin_account_roles ar JOIN admin_roles r " \
      "      ON r.enterprise_id = ar.enterprise_id" \
      "     AND r.role_id = ar.role_id" \
      "    CROSS JOIN LATERAL unnest(r.modules) AS u(m) " \
      "   WHERE ar.enterprise_id = a.enterprise_id " \
      "     AND ar.admin_id = a.admin_id)")
#define ADMIN_COL_ENUM(name, expr) ADMIN_COL_##name,
enum { ADMIN_COLS(ADMIN_COL_ENUM, ADMIN_COL_ENUM) };
#define ADMIN_SELECT \
    "SELECT" ADMIN_COLS(QW_COL_SQL, QW_COL_SQL_LAST) \
    "  FROM admin_accounts a LEFT JOIN members m " \
    "    ON m.enterprise_id = a.enterprise_id " \
    "   AND m.member_id = a.bound_member_id " \
    " WHERE a.enterprise_id = $1 "

static void fill_admin(apr_pool_t *p, PGresult *res, int i, qw_admin *a)
{
#define COL(name) PQgetvalue(res, i, ADMIN_COL_##name)
    a->id = apr_atoi64(COL(ADMIN_ID));
    a->account = apr_pstrdup(p, COL(ACCOUNT));
    a->is_super = !strcmp(COL(IS_SUPER), "t");
    a->status = apr_pstrdup(p, COL(STATUS));
    a->bound_member = PQgetisnull(res, i, ADMIN_COL_BOUND_MEMBER) ? NULL
                      : apr_pstrdup(p, COL(BOUND_MEMBER));
    a->roles = apr_pstrdup(p, COL(ROLES));
    a->modules = a->is_super ? QW_ADMIN_MODULES
                             : apr_pstrdup(p, COL(MODULES));
#undef COL
}

qw_status qw_admin_get(qw_store *st, const char *ent, const char *account,
                       qw_admin *out)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid;

    if ((rc = norm_account(st, "admin account", account, &account))
        != QW_OK) {
        return rc;
    }
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    res = qw_store_exec(st, ADMIN_SELECT "AND a.account = $2", 2, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no admin account '%s'",
                              account);
    }
    fill_admin(st->pool, res, 0, out);
    PQclear(res);
    return QW_OK;
}

qw_status qw_admin_list(qw_store *st, const char *ent,
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
    res = qw_store_exec(st, ADMIN_SELECT "ORDER BY a.account", 1, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1, sizeof(qw_admin));
    for (i = 0; i < PQntuples(res); i++) {
        fill_admin(st->pool, res, i, apr_array_push(*out));
    }
    PQclear(res);
    return QW_OK;
}

static qw_status role_put_write(qw_store *st, void *baton,
                                qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[3], *name = b->name, *mods = b->mods, *old = NULL;
    PGresult *res;
    qw_status rc;
    int64_t eid;

    if ((rc = open_ent(st, b->ent, &eid)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = name;
    params[2] = mods;
    res = qw_store_exec(st, "SELECT array_to_string(modules, ',') FROM "
                        "admin_roles WHERE enterprise_id = $1 AND name = $2 "
                        "FOR UPDATE", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        old = apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY));
    }
    PQclear(res);
    if (b->created) {
        *b->created = old == NULL;
    }
    if (old && !strcmp(old, mods)) {
        audit->unchanged = 1;           /* idempotent: nothing changes */
        return QW_OK;
    }
    res = qw_store_exec(st, "INSERT INTO admin_roles (enterprise_id, name, "
                        "modules) VALUES ($1, $2, CASE WHEN $3 = '' THEN "
                        "'{}'::text[] ELSE string_to_array($3, ',') END) "
                        "ON CONFLICT (enterprise_id, name) DO UPDATE SET "
                        "modules = EXCLUDED.modules, updated_at = now()",
                        3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return admin_audit(audit, eid, "settings", old ? "update" : "create",
                       apr_pstrcat(st->pool, "admin-role:", name, NULL),
                       qw_json_text(st->pool, old
                           ? json_pack("{s:[o, o]}", "modules",
                                       qw_json_csv(old), qw_json_csv(mods))
                           : json_pack("{s:o}", "modules",
                                       qw_json_csv(mods))));
}

qw_status qw_admin_role_put(qw_store *st, const char *ent, const char *name,
                            const char *modules_csv, int *created)
{
    const char *bad, *mods;
    admin_change b;

    if (name == NULL || !qw_valid_department_code(name)) {
        return qw_store_error(st, QW_ERR_INVALID, "role name is not valid: "
                              "1-63 of A-Z a-z 0-9 _ . -");
    }
    mods = qw_modules_normalize(st->pool, modules_csv, &bad);
    if (mods == NULL) {
        return qw_store_error(st, QW_ERR_INVALID, "module name '%s' is not "
                              "valid: 1-32 of a-z 0-9 _ -, starting with a "
                              "letter", bad ? bad : "");
    }
    admin_change_init(&b, ent, NULL);
    b.name = name;
    b.mods = mods;
    b.created = created;
    return admin_write(st, role_put_write, &b);
}

static qw_status role_delete_write(qw_store *st, void *baton,
                                   qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid;

    if ((rc = open_ent(st, b->ent, &eid)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = b->name;
    res = qw_store_exec(st, "DELETE FROM admin_roles WHERE enterprise_id = "
                        "$1 AND name = $2 RETURNING role_id", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no admin role '%s'",
                              b->name);
    }
    PQclear(res);
    return admin_audit(audit, eid, "settings", "delete",
                       apr_pstrcat(st->pool, "admin-role:", b->name, NULL),
                       NULL);
}

qw_status qw_admin_role_delete(qw_store *st, const char *ent,
                               const char *name)
{
    admin_change b;

    if (name == NULL || !qw_valid_department_code(name)) {
        return qw_store_error(st, QW_ERR_INVALID, "role name is not valid");
    }
    admin_change_init(&b, ent, NULL);
    b.name = name;
    return admin_write(st, role_delete_write, &b);
}

/* $1 enterprise id: its admin roles by name, with their modules comma
 * separated. */
#define ROLE_LIST_COLS(X, L) \
    X(ROLE_ID, " role_id") \
    X(NAME, " name") \
    L(MODULES, " array_to_string(modules, ',')")
#define ROLE_LIST_COL_ENUM(name, expr) ROLE_LIST_COL_##name,
enum { ROLE_LIST_COLS(ROLE_LIST_COL_ENUM, ROLE_LIST_COL_ENUM) };
static const char sql_admin_role_list[] =
    "SELECT" ROLE_LIST_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM admin_roles WHERE enterprise_id = $1 "
    "ORDER BY name";

qw_status qw_admin_role_list(qw_store *st, const char *ent,
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
    res = qw_store_exec(st, sql_admin_role_list, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_admin_role));
    for (i = 0; i < PQntuples(res); i++) {
        qw_admin_role *r = apr_array_push(*out);
        r->id = apr_atoi64(PQgetvalue(res, i, ROLE_LIST_COL_ROLE_ID));
        r->name = apr_pstrdup(st->pool,
                              PQgetvalue(res, i, ROLE_LIST_COL_NAME));
        r->modules = apr_pstrdup(st->pool,
                                 PQgetvalue(res, i, ROLE_LIST_COL_MODULES));
    }
    PQclear(res);
    return QW_OK;
}

qw_status qw_admin_role_get(qw_store *st, const char *ent, const char *name,
                            qw_admin_role *out)
{
    apr_array_header_t *all;
    qw_status rc;
    int i;

    if ((rc = qw_admin_role_list(st, ent, &all)) != QW_OK) {
        return rc;
    }
    for (i = 0; i < all->nelts; i++) {
        qw_admin_role *r = &APR_ARRAY_IDX(all, i, qw_admin_role);
        if (name && !strcmp(r->name, name)) {
            *out = *r;
            return QW_OK;
        }
    }
    return qw_store_error(st, QW_ERR_NOTFOUND, "no admin role '%s'",
                          name ? name : "");
}

static qw_status change_grant_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[3], *role = b->role;
    PGresult *res;
    qw_status rc;
    int64_t eid, aid;

    if ((rc = open_admin(st, b, &eid, &aid)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = role;
    res = qw_store_exec(st, "SELECT role_id FROM admin_roles WHERE "
                        "enterprise_id = $1 AND name = $2",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no admin role '%s'",
                              role ? role : "");
    }
    params[1] = qw_i64(st->pool, aid);
    params[2] = apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    res = qw_store_exec(st, b->grant
                        ? "INSERT INTO admin_account_roles (enterprise_id, "
                          "admin_id, role_id) VALUES ($1, $2, $3) "
                          "ON CONFLICT DO NOTHING RETURNING 1"
                        : "DELETE FROM admin_account_roles WHERE "
                          "enterprise_id = $1 AND admin_id = $2 AND "
                          "role_id = $3 RETURNING 1", 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        audit->unchanged = 1;           /* idempotent: already so */
        return QW_OK;
    }
    PQclear(res);
    if (b->changed) {
        *b->changed = 1;
    }
    return admin_audit(audit, eid, "settings", "update",
                       admin_object(st, aid, b->account),
                       qw_json_text(st->pool,
                                    json_pack("{s:s?}", b->grant ? "grant"
                                              : "revoke", role)));
}

static qw_status change_grant(qw_store *st, const char *ent,
                              const char *account, const char *role,
                              int grant, int *changed)
{
    admin_change b;
    qw_status rc;

    if (changed) {
        *changed = 0;
    }
    if ((rc = norm_account(st, "admin account", account, &account))
        != QW_OK) {
        return rc;
    }
    admin_change_init(&b, ent, account);
    b.role = role;
    b.grant = grant;
    b.changed = changed;
    return admin_write(st, change_grant_write, &b);
}

qw_status qw_admin_grant(qw_store *st, const char *ent, const char *account,
                         const char *role, int *changed)
{
    if (role == NULL || !qw_valid_department_code(role)) {
        return qw_store_error(st, QW_ERR_INVALID, "role name is not valid");
    }
    return change_grant(st, ent, account, role, 1, changed);
}

qw_status qw_admin_revoke(qw_store *st, const char *ent, const char *account,
                          const char *role, int *changed)
{
    if (role == NULL || !qw_valid_department_code(role)) {
        return qw_store_error(st, QW_ERR_INVALID, "role name is not valid");
    }
    return change_grant(st, ent, account, role, 0, changed);
}

/* ---- login reminders (R4) ---- */

qw_status qw_login_reminder_add(qw_store *st, int64_t eid, int64_t member_id,
                                int64_t admin_id, const char *admin_account,
                                const char *kind)
{
    const char *params[7];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, member_id);
    params[2] = admin_id ? qw_i64(st->pool, admin_id) : NULL;
    params[3] = admin_account;
    params[4] = kind ? kind : "login";
    params[5] = st->who.source_ip;
    params[6] = st->who.user_agent;
    /* The NOTIFY is transactional: listeners hear of the reminder only if
     * the login (and its audit row) commits.  The payload names ids, the
     * admin account, time, address and browser: no secret; it is cut to
     * stay below NOTIFY's 8000-byte limit. */
    res = qw_store_exec(st, "WITH r AS (INSERT INTO login_reminders "
                        "(enterprise_id, member_id, admin_id, admin_account,"
                        " kind, source_ip, user_agent) VALUES ($1, $2, $3, "
                        "$4, $5, $6, left($7, 512)) RETURNING *) "
                        "SELECT pg_notify('qiwei_login_reminder', "
                        "json_build_object('enterprise', e.code, "
                        "'member_id', r.member_id, 'member', m.account, "
                        "'reminder_id', r.reminder_id, 'kind', r.kind, "
                        "'admin', r.admin_account, 'at', to_char(r.at AT "
                        "TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
                        " 'source_ip', r.source_ip, 'user_agent', "
                        "left(r.user_agent, 256))::text) "
                        "FROM r JOIN enterprises e ON e.enterprise_id = "
                        "r.enterprise_id JOIN members m ON m.enterprise_id "
                        "= r.enterprise_id AND m.member_id = r.member_id",
                        7, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

/* $1 enterprise id, $2 member id, $3 limit, $4 offset: the member's
 * login reminders, newest first. */
#define REMINDER_COLS(X, L) \
    X(REMINDER_ID, " reminder_id") \
    X(AT, " to_char(at AT TIME ZONE " \
          "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(KIND, " kind") \
    X(ADMIN_ACCOUNT, " admin_account") \
    X(SOURCE_IP, " source_ip") \
    L(USER_AGENT, " user_agent")
#define REMINDER_COL_ENUM(name, expr) REMINDER_COL_##name,
enum { REMINDER_COLS(REMINDER_COL_ENUM, REMINDER_COL_ENUM) };
static const char sql_reminder_list[] =
    "SELECT" REMINDER_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM login_reminders WHERE enterprise_id = $1 AND "
    "member_id = $2 ORDER BY at DESC, reminder_id DESC "
    "LIMIT $3 OFFSET $4";

qw_status qw_login_reminder_list(qw_store *st, int64_t eid, int64_t member_id,
                                 long limit, long offset,
                                 apr_array_header_t **out)
{
    const char *params[4];
    PGresult *res;
    qw_status rc;
    int i;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, member_id);
    params[2] = apr_ltoa(st->pool, limit);
    params[3] = apr_ltoa(st->pool, offset);
    res = qw_store_exec(st, sql_reminder_list, 4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1, sizeof(qw_reminder));
    for (i = 0; i < PQntuples(res); i++) {
        qw_reminder *m = apr_array_push(*out);
#define COL(name) PQgetvalue(res, i, REMINDER_COL_##name)
#define STR(name) (PQgetisnull(res, i, REMINDER_COL_##name) ? NULL \
                   : apr_pstrdup(st->pool, COL(name)))
        m->id = apr_atoi64(COL(REMINDER_ID));
        m->at = apr_pstrdup(st->pool, COL(AT));
        m->kind = apr_pstrdup(st->pool, COL(KIND));
        /* NULL: a member's own reminder (kind totp_reuse, sql/007) */
        m->admin_account = STR(ADMIN_ACCOUNT);
        m->source_ip = STR(SOURCE_IP);
        m->user_agent = STR(USER_AGENT);
#undef COL
#undef STR
    }
    PQclear(res);
    return QW_OK;
}

/* ---- the operation log (R5) ---- */

/* A member is stored as "member:<id>" (the account is personal data and
 * goes with the member); the viewer and the export show
 * "member:<id> <account>" while the member exists and
 * "member:<id> (deleted)" after.  Rows written before that rule keep
 * whatever they were written with. */
#define AUDIT_MEMBER_NAME(col) \
    " CASE WHEN " col " ~ '^member:[0-9]{1,18}$' THEN " col " || coalesce(" \
    "' ' || (SELECT m.account FROM members m" \
    " WHERE m.enterprise_id = audit_log.enterprise_id" \
    " AND m.member_id = substr(" col ", 8)::bigint), ' (deleted)')" \
    " ELSE " col " END"

/* $1 enterprise id, $2 from, $3 to, $4 actor, $5 module (each NULL for
 * any), $6 limit, $7 offset: operation log rows.  AT .. DETAILS are
 * qw_audit_row's strings, in their order there. */
#define AUDIT_LIST_COLS(X, L) \
    X(SEQ, " seq") \
    X(AT, " to_char(at AT TIME ZONE 'UTC', " \
          "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')") \
    X(ACTOR, AUDIT_MEMBER_NAME("actor")) \
    X(ACTOR_ROLE, " actor_role") \
    X(SOURCE_IP, " source_ip") \
    X(USER_AGENT, " user_agent") \
    X(REQUEST_ID, " request_id") \
    X(MODULE, " module") \
    X(ACTION, " action") \
    X(OBJECT, AUDIT_MEMBER_NAME("object")) \
    X(RESULT, " result") \
    X(REASON, " reason") \
    L(DETAILS, " details::text")
#define AUDIT_LIST_COL_ENUM(name, expr) AUDIT_LIST_COL_##name,
enum { AUDIT_LIST_COLS(AUDIT_LIST_COL_ENUM, AUDIT_LIST_COL_ENUM) };
/* C99 has no static_assert: a negative array size stops the build. */
typedef char audit_list_cols_match_row[
    (offsetof(qw_audit_row, details) - offsetof(qw_audit_row, at))
    / sizeof(const char *) == AUDIT_LIST_COL_DETAILS - AUDIT_LIST_COL_AT
    ? 1 : -1];
#define AUDIT_WHERE \
    " FROM audit_log WHERE enterprise_id = $1" \
    " AND ($2::timestamptz IS NULL OR at >= $2::timestamptz)" \
    " AND ($3::timestamptz IS NULL OR at < $3::timestamptz)" \
    " AND ($4::text IS NULL OR actor = $4)" \
    " AND ($5::text IS NULL OR module = $5)" \
    " AND ($6::text IS NULL OR result = $6)"
static const char sql_audit_list[] =
    "SELECT" AUDIT_LIST_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    AUDIT_WHERE " ORDER BY seq LIMIT $7 OFFSET $8";

static const char *opt(const char *s)
{
    return s && *s ? s : NULL;
}

/* The filter's parameters $1..$6. */
static void audit_params(qw_store *st, int64_t eid, const qw_audit_filter *f,
                         const char **params)
{
    params[0] = qw_i64(st->pool, eid);
    params[1] = opt(f->from);
    params[2] = opt(f->to);
    params[3] = opt(f->operator_);
    params[4] = opt(f->module);
    params[5] = opt(f->result);
}

/* The rows of res (AUDIT_LIST_COLS) appended to out, copied into p. */
static void audit_rows(apr_pool_t *p, PGresult *res, apr_array_header_t *out)
{
    int i, j;

    for (i = 0; i < PQntuples(res); i++) {
        qw_audit_row *a = apr_array_push(out);
        const char **fld = &a->at;
        a->seq = apr_atoi64(PQgetvalue(res, i, AUDIT_LIST_COL_SEQ));
        for (j = AUDIT_LIST_COL_AT; j <= AUDIT_LIST_COL_DETAILS; j++) {
            fld[j - AUDIT_LIST_COL_AT] = PQgetisnull(res, i, j) ? NULL
                : apr_pstrdup(p, PQgetvalue(res, i, j));
        }
    }
}

static qw_status audit_query(qw_store *st, int64_t eid,
                             const qw_audit_filter *f, long limit,
                             apr_array_header_t **out)
{
    const char *params[8];
    PGresult *res;
    qw_status rc;

    audit_params(st, eid, f, params);
    params[6] = apr_ltoa(st->pool, limit);
    params[7] = apr_ltoa(st->pool, f->offset > 0 ? f->offset : 0);
    res = qw_store_exec(st, sql_audit_list, 8, params, &rc);
    if (res == NULL) {
        if (rc == QW_ERR_INVALID) {
            qw_store_error(st, rc, "from and to must be ISO 8601 times");
        }
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_audit_row));
    audit_rows(st->pool, res, *out);
    PQclear(res);
    return QW_OK;
}

qw_status qw_audit_list(qw_store *st, const char *ent,
                        const qw_audit_filter *f, apr_array_header_t **out)
{
    qw_status rc;
    int64_t eid = qw_store_enterprise_id(st, ent, &rc);

    if (eid < 0) {
        return rc;
    }
    return audit_query(st, eid, f, f->limit > 0 ? f->limit : 100, out);
}

/* $1 enterprise id, $2 module, $3 object ("article:<id> <path>"), $4
 * limit, $5 offset: the reads of one article the article layer logged
 * (action "read", article.c log_read), newest first. */
static const char sql_article_reads[] =
    "SELECT" AUDIT_LIST_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM audit_log WHERE enterprise_id = $1 AND module = $2"
    " AND action = 'read' AND object = $3"
    " ORDER BY seq DESC LIMIT $4 OFFSET $5";

qw_status qw_audit_article_reads(qw_store *st, const char *ent,
                                 const char *module, const char *object,
                                 long limit, long offset,
                                 apr_array_header_t **out)
{
    const char *params[5];
    PGresult *res;
    qw_status rc;
    int64_t eid = qw_store_enterprise_id(st, ent, &rc);

    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = module;
    params[2] = object;
    params[3] = apr_ltoa(st->pool, limit > 0 ? limit : 100);
    params[4] = apr_ltoa(st->pool, offset > 0 ? offset : 0);
    res = qw_store_exec(st, sql_article_reads, 5, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_audit_row));
    audit_rows(st->pool, res, *out);
    PQclear(res);
    return QW_OK;
}

/* The export's filter for its own audit row (jansson escapes), with the
 * number of rows and the last seq it covers. */
static const char *filter_json(apr_pool_t *p, const qw_audit_filter *f,
                               long rows, int64_t upto)
{
    return qw_json_text(p, json_pack("{s:I, s:I, s:s?, s:s?, s:s?, s:s?, "
                                     "s:s?}",
                                     "rows", (json_int_t)rows,
                                     "upto", (json_int_t)upto,
                                     "from", opt(f->from),
                                     "to", opt(f->to),
                                     "operator", opt(f->operator_),
                                     "module", opt(f->module),
                                     "result", opt(f->result)));
}

static const char *csv_line(apr_pool_t *p, const qw_audit_row *a)
{
    const char *const *fld = &a->at;
    const char *line = apr_psprintf(p, "%" APR_INT64_T_FMT,
                                    (apr_int64_t)a->seq);
    int j;

    for (j = 0; j < 12; j++) {
        line = apr_pstrcat(p, line, ",", qw_csv_cell(p, fld[j]), NULL);
    }
    return apr_pstrcat(p, line, "\r\n", NULL);
}

/* $1..$6 the filter: the newest seq of the enterprise and how many rows
 * up to it the filter selects. */
#define EXPORT_BOUND_COLS(X, L) \
    X(UPTO, " b.upto") \
    L(ROWS, " (SELECT count(*)" AUDIT_WHERE " AND seq <= b.upto)")
#define EXPORT_BOUND_COL_ENUM(name, expr) EXPORT_BOUND_COL_##name,
enum { EXPORT_BOUND_COLS(EXPORT_BOUND_COL_ENUM, EXPORT_BOUND_COL_ENUM) };
static const char sql_export_bound[] =
    "SELECT" EXPORT_BOUND_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM (SELECT coalesce(max(seq), 0) AS upto FROM audit_log"
    " WHERE enterprise_id = $1) b";

/* $1..$6 the filter, $7 the last seq written, $8 the export's bound, $9
 * the page size: the next page of rows (keyset, not OFFSET: each page
 * costs the same however deep). */
static const char sql_export_page[] =
    "SELECT" AUDIT_LIST_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    AUDIT_WHERE " AND seq > $7 AND seq <= $8 ORDER BY seq LIMIT $9";

#define EXPORT_PAGE 500

static qw_status export_log(qw_store *st, void *baton, qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *params[6];
    PGresult *res;
    qw_status rc;
    int64_t eid;

    if ((rc = open_ent(st, b->ent, &eid)) != QW_OK) {
        return rc;
    }
    audit_params(st, eid, b->filter, params);
    res = qw_store_exec(st, sql_export_bound, 6, params, &rc);
    if (res == NULL) {
        if (rc == QW_ERR_INVALID) {
            qw_store_error(st, rc, "from and to must be ISO 8601 times");
        }
        return rc;
    }
    b->id = apr_atoi64(PQgetvalue(res, 0, EXPORT_BOUND_COL_UPTO));
    *b->rows = atol(PQgetvalue(res, 0, EXPORT_BOUND_COL_ROWS));
    PQclear(res);
    b->eid = eid;
    return admin_audit(audit, eid, "audit", "export", "audit_log",
                       filter_json(st->pool, b->filter, *b->rows, b->id));
}

qw_status qw_audit_export(qw_store *st, const char *ent,
                          const qw_audit_filter *f, qw_audit_sink sink,
                          void *sink_baton, long *rows)
{
    static const char head[] = "seq,at,actor,actor_role,source_ip,"
        "user_agent,request_id,module,action,object,result,reason,"
        "details\r\n";
    admin_change b;
    const char *params[9];
    apr_pool_t *page;
    long logged = 0, n = 0;
    int64_t last = INT64_MIN, upto;
    qw_status rc;

    /* logged first, in a unit of its own: an export that is not logged
     * does not happen, and one cut short is still logged */
    admin_change_init(&b, ent, NULL);
    b.filter = f;
    b.rows = &logged;
    if ((rc = admin_write(st, export_log, &b)) != QW_OK) {
        return rc;
    }
    upto = b.id;
    if (sink(sink_baton, head, sizeof(head) - 1) != 0) {
        return qw_store_error(st, QW_ERR_DB, "the export's reader went "
                              "away");
    }
    /* Page by page, each its own statement: no connection is held while
     * the sink writes (to a slow client, say).  No transaction is needed
     * for a consistent export: rows are append-only and numbered in commit
     * order (the advisory lock of qw_audit_append), so the rows up to the
     * bound are all there and do not change.  seq < 1 (refused by the
     * schema, forged) rows are shown too, first, as by qw_audit_list. */
    apr_pool_create(&page, st->pool);
    audit_params(st, b.eid, f, params);
    params[7] = qw_i64(st->pool, upto);
    params[8] = apr_itoa(st->pool, EXPORT_PAGE);
    for (;;) {
        apr_array_header_t *rs;
        struct iovec *v;
        apr_size_t len;
        PGresult *res;
        char *text;
        int i;

        apr_pool_clear(page);
        params[6] = qw_i64(page, last);
        res = qw_store_read(st, sql_export_page, 9, params, &rc);
        if (res == NULL) {
            apr_pool_destroy(page);
            return rc;
        }
        rs = apr_array_make(page, PQntuples(res) + 1, sizeof(qw_audit_row));
        audit_rows(page, res, rs);
        PQclear(res);
        if (rs->nelts == 0) {
            break;
        }
        v = apr_palloc(page, sizeof(*v) * rs->nelts);
        for (i = 0; i < rs->nelts; i++) {
            const char *l = csv_line(page, &APR_ARRAY_IDX(rs, i,
                                                          qw_audit_row));
            v[i].iov_base = (void *)l;
            v[i].iov_len = strlen(l);
        }
        text = apr_pstrcatv(page, v, rs->nelts, &len);
        last = APR_ARRAY_IDX(rs, rs->nelts - 1, qw_audit_row).seq;
        n += rs->nelts;
        if (sink(sink_baton, text, len) != 0) {
            apr_pool_destroy(page);
            *rows = n;
            return qw_store_error(st, QW_ERR_DB, "the export's reader went "
                                  "away after %ld rows", n);
        }
        if (rs->nelts < EXPORT_PAGE) {
            break;
        }
    }
    apr_pool_destroy(page);
    *rows = n;
    return QW_OK;
}

/* ---- enterprise settings (R8 switch, R9 default, R15) ---- */

/* $1 enterprise code: its settings, with their defaults. */
#define SETTINGS_COLS(X, L) \
    X(EXTERNAL_SHARE, " allow_external_share") \
    X(WATERMARK_DEFAULT, \
      " coalesce((settings->>'watermark_default')::boolean, false)") \
    X(HIDE_MOBILE, " coalesce((settings->>'hide_mobile')::boolean, false)") \
    X(DIRECTORY_SCOPE, " coalesce(settings->>'directory_scope', 'all')") \
    X(ADMIN_TWO_STEP, \
      " coalesce(settings->>'admin_two_step', 'required')") \
    X(MEMBER_POLICY, " settings->>'member_password_policy'") \
    X(MEMBER_MAX_AGE, " settings->>'member_password_max_age'") \
    X(MEMBER_TWO_STEP, " settings->>'member_two_step'") \
    X(ADMIN_POLICY, " settings->>'admin_password_policy'") \
    L(ADMIN_MAX_AGE, " settings->>'admin_password_max_age'")
#define SETTINGS_COL_ENUM(name, expr) SETTINGS_COL_##name,
enum { SETTINGS_COLS(SETTINGS_COL_ENUM, SETTINGS_COL_ENUM) };
static const char sql_settings_get[] =
    "SELECT" SETTINGS_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM enterprises WHERE code = $1";

/* A stored policy's canonical name; NULL when none or unknown (then the
 * default applies, as the logins read it). */
static const char *policy_name(const char *v)
{
    int m = qw_pwpolicy_mode_parse(v);

    return m < 0 ? NULL : qw_pwpolicy_mode_name((qw_pwp_mode)m);
}

qw_status qw_settings_get(qw_store *st, const char *ent, qw_settings *out)
{
    const char *params[1];
    PGresult *res;
    qw_status rc;

    params[0] = ent;
    res = qw_store_exec(st, sql_settings_get, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no enterprise '%s'",
                              ent ? ent : "");
    }
#define COL(name) PQgetvalue(res, 0, SETTINGS_COL_##name)
#define NUL(name) PQgetisnull(res, 0, SETTINGS_COL_##name)
    out->external_share = !strcmp(COL(EXTERNAL_SHARE), "t");
    out->watermark_default = !strcmp(COL(WATERMARK_DEFAULT), "t");
    out->hide_mobile = !strcmp(COL(HIDE_MOBILE), "t");
    out->directory_scope = apr_pstrdup(st->pool, COL(DIRECTORY_SCOPE));
    /* anything but "optional" is read as required (admin_session.c) */
    out->admin_two_step = strcmp(COL(ADMIN_TWO_STEP), "optional")
                          ? "required" : "optional";
    out->member_password_policy = policy_name(NUL(MEMBER_POLICY) ? NULL
                                              : COL(MEMBER_POLICY));
    out->member_password_max_age = NUL(MEMBER_MAX_AGE) ? -1
        : qw_pwpolicy_days_parse(COL(MEMBER_MAX_AGE));
    /* as the logins read it (signin.c): set and not "required" is
     * optional */
    out->member_two_step = NUL(MEMBER_TWO_STEP) ? NULL
        : strcasecmp(COL(MEMBER_TWO_STEP), "required") ? "optional"
        : "required";
    out->admin_password_policy = policy_name(NUL(ADMIN_POLICY) ? NULL
                                             : COL(ADMIN_POLICY));
    out->admin_password_max_age = NUL(ADMIN_MAX_AGE) ? -1
        : qw_pwpolicy_days_parse(COL(ADMIN_MAX_AGE));
#undef COL
#undef NUL
    PQclear(res);
    return QW_OK;
}

void qw_settings_leave(qw_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->external_share = s->watermark_default = s->hide_mobile = -1;
    s->member_password_max_age = s->admin_password_max_age = -1;
}

void qw_settings_effective(const qw_settings *raw,
                           const qw_settings_defaults *d, qw_settings *eff,
                           unsigned *from_default)
{
    qw_pwpolicy pol;
    unsigned f = 0;

    *eff = *raw;
    qw_pwpolicy_resolve(&pol, raw->member_password_policy,
                        d ? d->member_mode : QW_PWP_DENGBAO,
                        raw->member_password_max_age,
                        d ? d->member_max_age : -1, 0);
    eff->member_password_policy = qw_pwpolicy_mode_name(pol.mode);
    eff->member_password_max_age = pol.max_age_days;
    eff->member_two_step = raw->member_two_step ? raw->member_two_step
                           : d && d->member_two_step ? "required"
                           : "optional";
    qw_pwpolicy_resolve(&pol, raw->admin_password_policy, QW_PWP_DENGBAO,
                        raw->admin_password_max_age, -1, 1);
    eff->admin_password_policy = qw_pwpolicy_mode_name(pol.mode);
    eff->admin_password_max_age = pol.max_age_days;
    f |= raw->member_password_policy ? 0 : QW_SET_DFLT_MEMBER_POLICY;
    f |= raw->member_password_max_age >= 0 ? 0 : QW_SET_DFLT_MEMBER_MAX_AGE;
    f |= raw->member_two_step ? 0 : QW_SET_DFLT_MEMBER_TWO_STEP;
    f |= raw->admin_password_policy ? 0 : QW_SET_DFLT_ADMIN_POLICY;
    f |= raw->admin_password_max_age >= 0 ? 0 : QW_SET_DFLT_ADMIN_MAX_AGE;
    if (from_default) {
        *from_default = f;
    }
}

/* Add "name": [old, new] to details when in (-1: leave) changes old. */
static void bool_diff(json_t *details, const char *name, int old, int in)
{
    if (in >= 0 && !in != !old) {
        json_object_set_new(details, name, json_pack("[b, b]", old, in));
    }
}

static void str_diff(json_t *details, const char *name, const char *old,
                     const char *in)
{
    if (in && strcmp(in, old)) {
        json_object_set_new(details, name, json_pack("[s, s]", old, in));
    }
}

static void int_diff(json_t *details, const char *name, int old, int in)
{
    if (in >= 0 && in != old) {
        json_object_set_new(details, name, json_pack("[i, i]", old, in));
    }
}

/* The settings jsonb keys details changes, with their new values. */
static json_t *settings_patch(json_t *details)
{
    json_t *patch = json_object(), *v;
    const char *key;

    json_object_foreach(details, key, v) {
        if (strcmp(key, "external_share")) {   /* a column of its own */
            json_object_set(patch, key, json_array_get(v, 1));
        }
    }
    return patch;
}

static qw_status settings_write(qw_store *st, void *baton,
                                qw_store_audit *audit)
{
    admin_change *b = baton;
    const qw_settings *in = b->settings;
    const char *params[3], *ent = b->ent;
    qw_settings raw, old;
    json_t *details, *patch;
    PGresult *res;
    qw_status rc;
    int64_t eid;

    if ((rc = open_ent(st, ent, &eid)) != QW_OK
        || (rc = qw_settings_get(st, ent, &raw)) != QW_OK) {
        return rc;
    }
    /* compared with the values in force, defaults included */
    qw_settings_effective(&raw, b->defaults, &old, NULL);
    /* only what changes: a setting given with its present value is no
     * change, and a request of no changes writes no row at all */
    details = json_object();
    bool_diff(details, "external_share", old.external_share,
              in->external_share);
    bool_diff(details, "watermark_default", old.watermark_default,
              in->watermark_default);
    bool_diff(details, "hide_mobile", old.hide_mobile, in->hide_mobile);
    str_diff(details, "directory_scope", old.directory_scope,
             in->directory_scope);
    str_diff(details, "admin_two_step", old.admin_two_step,
             in->admin_two_step);
    str_diff(details, "member_password_policy", old.member_password_policy,
             in->member_password_policy);
    int_diff(details, "member_password_max_age",
             old.member_password_max_age, in->member_password_max_age);
    str_diff(details, "member_two_step", old.member_two_step,
             in->member_two_step);
    str_diff(details, "admin_password_policy", old.admin_password_policy,
             in->admin_password_policy);
    int_diff(details, "admin_password_max_age",
             old.admin_password_max_age, in->admin_password_max_age);
    if (b->changed) {
        *b->changed = json_object_size(details) > 0;
    }
    if (json_object_size(details) == 0) {
        json_decref(details);
        audit->unchanged = 1;
        return QW_OK;
    }
    patch = settings_patch(details);
    params[0] = qw_i64(st->pool, eid);
    params[1] = json_object_get(details, "external_share")
                ? in->external_share ? "t" : "f" : NULL;
    params[2] = qw_json_text(st->pool, patch);   /* consumes patch */
    res = qw_store_exec(st, "UPDATE enterprises SET allow_external_share = "
                        "coalesce($2::boolean, allow_external_share), "
                        "settings = settings || $3::jsonb "
                        "WHERE enterprise_id = $1", 3, params, &rc);
    if (res == NULL) {
        json_decref(details);
        return rc;
    }
    PQclear(res);
    /* master switch on -> off: every outstanding share link dies now and
     * stays dead if the switch is turned on again (R8) */
    if (old.external_share && in->external_share == 0
        && (rc = qw_enterprise_revoke_share_links(st, eid)) != QW_OK) {
        json_decref(details);
        return rc;
    }
    return admin_audit(audit, eid, "settings", "update",
                       apr_pstrcat(st->pool, "enterprise:", ent, NULL),
                       qw_json_text(st->pool, details));
}

static int one_of(const char *v, const char *a, const char *b)
{
    return !v || !strcmp(v, a) || !strcmp(v, b);
}

qw_status qw_settings_set(qw_store *st, const char *ent,
                          const qw_settings *in,
                          const qw_settings_defaults *d, int *changed)
{
    admin_change b;

    if (changed) {
        *changed = 0;
    }
    if (in->directory_scope && strcmp(in->directory_scope, "all")
        && strcmp(in->directory_scope, "department")) {
        return qw_store_error(st, QW_ERR_INVALID, "directory_scope must be "
                              "all or department");
    }
    if (in->admin_two_step && strcmp(in->admin_two_step, "required")
        && strcmp(in->admin_two_step, "optional")) {
        return qw_store_error(st, QW_ERR_INVALID, "admin_two_step must be "
                              "required or optional");
    }
    if (!one_of(in->member_password_policy, "dengbao", "nist")
        || !one_of(in->admin_password_policy, "dengbao", "nist")) {
        return qw_store_error(st, QW_ERR_INVALID, "a password policy must "
                              "be dengbao or nist");
    }
    if (!one_of(in->member_two_step, "required", "optional")) {
        return qw_store_error(st, QW_ERR_INVALID, "member_two_step must be "
                              "required or optional");
    }
    if (in->member_password_max_age > QW_PWP_MAX_AGE_DAYS_MAX
        || in->admin_password_max_age > QW_PWP_MAX_AGE_DAYS_MAX) {
        return qw_store_error(st, QW_ERR_INVALID, "a password's maximum "
                              "age is 0 to %d days",
                              QW_PWP_MAX_AGE_DAYS_MAX);
    }
    admin_change_init(&b, ent, NULL);
    b.settings = in;
    b.defaults = d;
    b.changed = changed;
    return admin_write(st, settings_write, &b);
}

/* ---- member fields the directory functions do not edit ---- */

/* What a sealed field's edit does: "set" (a new value), "clear" (removed)
 * or NULL (not given, or the value it has already). */
static const char *field_edit(const char *given, const char *old)
{
    if (!given) {
        return NULL;
    }
    if (!*given) {
        return old ? "clear" : NULL;
    }
    return old && !strcmp(old, given) ? NULL : "set";
}

static qw_status member_edit_write(qw_store *st, void *baton,
                                   qw_store_audit *audit)
{
    admin_change *b = baton;
    const char *account = b->account, *display_name = b->display_name;
    const char *mobile = b->mobile, *email = b->email;
    int hide_mobile = b->hide_mobile;
    const char *params[8];
    unsigned char *blob;
    size_t bloblen;
    PGresult *res;
    qw_member old;
    json_t *changed;
    qw_status rc;
    int64_t eid, mid;

    if ((rc = open_ent(st, b->ent, &eid)) != QW_OK
        || (rc = find_member_id(st, eid, account, &mid)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, mid);
    /* the row as it is (locked until commit): a field given with its
     * present value is no change, and an edit of no changes writes no
     * row at all */
    res = qw_store_exec(st, "SELECT hide_mobile FROM members WHERE "
                        "enterprise_id = $1 AND member_id = $2 FOR UPDATE",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {          /* deleted meanwhile */
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no member '%s'",
                              account);
    }
    if (hide_mobile >= 0
        && hide_mobile == (*PQgetvalue(res, 0, QW_COL_ONLY) == 't')) {
        hide_mobile = -1;
    }
    PQclear(res);
    if ((rc = qw_member_get(st, b->ent, account, &old)) != QW_OK) {
        return rc;
    }
    if (display_name && old.display_name
        && !strcmp(display_name, old.display_name)) {
        display_name = NULL;
    }
    params[2] = display_name;
    params[3] = NULL;
    params[4] = NULL;
    params[5] = field_edit(mobile, old.mobile);
    params[6] = field_edit(email, old.email);
    params[7] = hide_mobile < 0 ? NULL : hide_mobile ? "t" : "f";
    if (!display_name && !params[5] && !params[6] && !params[7]) {
        audit->unchanged = 1;           /* nothing changes, nothing logged */
        return QW_OK;
    }
    if (params[5] && *mobile) {
        if (qw_seal(st->pool, st->keys, qw_seal_aad(st->pool,
                    "members.mobile", eid, mid), (const unsigned char *)
                    mobile, strlen(mobile), &blob, &bloblen) != 0) {
            return qw_store_error(st, QW_ERR_CRYPTO, "cannot encrypt the "
                                  "mobile number");
        }
        params[3] = qw_store_bytea(st->pool, blob, bloblen);
    }
    if (params[6] && *email) {
        if (qw_seal(st->pool, st->keys, qw_seal_aad(st->pool,
                    "members.email", eid, mid), (const unsigned char *)
                    email, strlen(email), &blob, &bloblen) != 0) {
            return qw_store_error(st, QW_ERR_CRYPTO, "cannot encrypt the "
                                  "e-mail");
        }
        params[4] = qw_store_bytea(st->pool, blob, bloblen);
    }
    res = qw_store_exec(st, "UPDATE members SET "
                        "display_name = coalesce($3, display_name), "
                        "mobile_enc = CASE $6::text WHEN 'set' THEN $4::bytea "
                        "  WHEN 'clear' THEN NULL ELSE mobile_enc END, "
                        "email_enc = CASE $7::text WHEN 'set' THEN $5::bytea "
                        "  WHEN 'clear' THEN NULL ELSE email_enc END, "
                        "hide_mobile = coalesce($8::boolean, hide_mobile), "
                        "updated_at = now() "
                        "WHERE enterprise_id = $1 AND member_id = $2",
                        8, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    /* the log says which fields changed (only those), never their
     * values */
    changed = json_object();
    if (display_name) {
        json_object_set_new(changed, "display_name", json_string("set"));
    }
    if (params[5]) {
        json_object_set_new(changed, "mobile", json_string(params[5]));
    }
    if (params[6]) {
        json_object_set_new(changed, "email", json_string(params[6]));
    }
    if (hide_mobile >= 0) {
        json_object_set_new(changed, "hide_mobile", json_boolean(hide_mobile));
    }
    /* the member by id only: the account goes with the member */
    return admin_audit(audit, eid, "directory", "update",
                       apr_pstrcat(st->pool, "member:", params[1], NULL),
                       qw_json_text(st->pool, changed));
}


qw_status qw_member_edit(qw_store *st, const char *ent, const char *account,
                         const char *display_name, const char *mobile,
                         const char *email, int hide_mobile)
{
    admin_change b;
    qw_status rc;

    if ((rc = norm_account(st, "account", account, &account)) != QW_OK
        || (display_name && (rc = qw_store_check_text(st, "display_name",
                                                      display_name, 128))
            != QW_OK)
        || (mobile && *mobile && (rc = qw_store_check_text(st, "mobile",
                                                           mobile, 32))
            != QW_OK)
        || (email && *email && (rc = qw_store_check_text(st, "email", email,
                                                         254)) != QW_OK)) {
        return rc;
    }
    if (mobile && *mobile && strspn(mobile, "0123456789+- ()")
                             != strlen(mobile)) {
        return qw_store_error(st, QW_ERR_INVALID, "mobile may contain only "
                              "digits, spaces and + - ( )");
    }
    if (email && *email && (!strchr(email, '@') || strchr(email, ' '))) {
        return qw_store_error(st, QW_ERR_INVALID, "email is not a valid "
                              "address");
    }
    admin_change_init(&b, ent, account);
    b.display_name = display_name;
    b.mobile = mobile;
    b.email = email;
    b.hide_mobile = hide_mobile;
    return admin_write(st, member_edit_write, &b);
}

/* ---- an audit row on its own (refusals, failures, logins) ---- */

static qw_status note_write(qw_store *st, void *baton,
                            qw_store_audit *audit)
{
    admin_change *b = baton;

    /* its own row, whatever its result: not the unit's "success" row */
    (void)audit;
    return qw_audit_append(st, b->eid, b->module, b->action, b->object,
                           b->result, b->reason, b->details);
}

qw_status qw_audit_note(qw_store *st, int64_t eid, const char *module,
                        const char *action, const char *object,
                        const char *result, const char *reason,
                        const char *details_json)
{
    admin_change b;

    admin_change_init(&b, NULL, NULL);
    b.eid = eid;
    b.module = module;
    b.action = action;
    b.object = object;
    b.result = result;
    b.reason = reason;
    b.details = details_json;
    return admin_write(st, note_write, &b);
}

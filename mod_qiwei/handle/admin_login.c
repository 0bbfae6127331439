/* Admin login and logout (the form pages and the API's POST/DELETE
 * /api/v1/session share qw_admin_login).
 *
 * Account security (sql/006): the address throttle is checked before the
 * body is read and the account throttle (admin_password, the admin rule
 * per (account, source network): waits after 5 failures, a 30 min lock at
 * 10; per account: a 30 min lock at 100; the bound member reminded of
 * every lock) before any hashing.  The session starts owing the step the account still
 * owes (admin_session.c); each step rotates the token. */
#include "apr_strings.h"
#include "httpd.h"
#include "http_log.h"

#include "qiwei.h"
#include "db.h"
#include "cfg/config.h"
#include "util/json.h"
#include "util/token.h"

#include "handle/account.h"
#include "handle/admin.h"
#include "metrics.h"

#define QW_STMT_ADMIN_LOGIN "qw_admin_login"

/* QW_STMT_ADMIN_LOGIN ($1 enterprise code, $2 account): the admin
 * account's row, if any.  PASSWORD_HASH is NULL for an account without
 * one; BOUND_MEMBER_ID is 0 when it is bound to no member. */
#define ADMIN_LOGIN_COLS(X, L) \
    X(ENTERPRISE_ID, " a.enterprise_id") \
    X(ADMIN_ID, " a.admin_id") \
    X(PASSWORD_HASH, " a.password_hash") \
    X(STATUS, " a.status") \
    L(BOUND_MEMBER_ID, "       coalesce(a.bound_member_id, 0)")
#define ADMIN_LOGIN_COL_ENUM(name, expr) ADMIN_LOGIN_COL_##name,
enum { ADMIN_LOGIN_COLS(ADMIN_LOGIN_COL_ENUM, ADMIN_LOGIN_COL_ENUM) };
static const char sql_admin_login[] =
    "SELECT" ADMIN_LOGIN_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM admin_accounts a"
    "  JOIN enterprises e ON e.enterprise_id = a.enterprise_id"
    " WHERE e.code = $1 AND a.account = $2";

/* One failure: the log line fail2ban matches (QW1002), the address
 * counter, an audit row; at every lock (of the source's network, or of
 * the whole account), the bound member is reminded (kind 'failed',
 * NOTIFY) in the same transaction. */
static int login_failed(request_rec *r, const char *account,
                        int64_t eid_known, int64_t aid, int64_t bound,
                        const qw_throttle_info *info)
{
    qw_dir_cfg *d = qw_dir(r);
    qw_store st;
    qw_status rc;
    const char *obj;
    int64_t eid = eid_known;
    int locked = info->locked;
    int account_wide = locked == QW_LOCK_ACCOUNT;
    int failures = account_wide ? info->account_failures : info->failures;
    int secs = account_wide ? qw_throttle_admin.account_lock_secs
                            : qw_throttle_admin.lock_secs;

    qw_metrics_inc(QW_C_LOGIN_ADMIN_FAIL);
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW1002: admin login failed for account \"%s\" of "
                  "enterprise %s from %s%s",
                  account ? ap_escape_logitem(r->pool, account) : "-",
                  d->enterprise, r->useragent_ip, "");
    qw_throttle_addr_fail(r);
    qw_admin_store(r, &st, NULL);
    if (!st.db || !st.keys) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (eid <= 0) {
        eid = qw_store_enterprise_id(&st, d->enterprise, &rc);
        if (eid < 0) {
            /* no such enterprise: nothing to log it under */
            return rc == QW_ERR_DB ? HTTP_SERVICE_UNAVAILABLE
                                   : HTTP_UNAUTHORIZED;
        }
    }
    if ((rc = qw_store_begin(&st)) != QW_OK) {
        goto fail;
    }
    /* only a well-formed account name goes into the log: a password typed
     * into the account field must not; and a name that is no admin's (a
     * member's account typed here, a guess) only as a keyed MAC */
    obj = NULL;
    rc = account ? qw_audit_account_object(&st, eid, account, 1, &obj)
                 : QW_OK;
    if (rc == QW_OK) {
        rc = qw_audit_append(&st, eid, "auth", "admin-login", obj,
                             "failure", "bad credentials", NULL);
    }
    if (rc == QW_OK && locked && account) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      "QW1008: admin account \"%s\" of %s locked for %d s "
                      "after %d failures, for %s", ap_escape_logitem(r->pool,
                      account), d->enterprise, secs, failures,
                      account_wide ? "every address" : info->source);
        rc = qw_audit_append(&st, eid, "auth", "admin-locked", obj,
                             "refused", apr_psprintf(r->pool, "%d failures",
                                                     failures),
                             qw_json_text(r->pool, json_pack(
                                 "{s:i, s:s, s:s?, s:b}", "lock_seconds",
                                 secs, "scope",
                                 account_wide ? "account" : "source",
                                 "source", account_wide ? NULL
                                                        : info->source,
                                 "reminder", bound != 0)));
        if (rc == QW_OK && bound) {
            rc = qw_login_reminder_add(&st, eid, bound, aid, account,
                                       "failed");
        }
    }
    if (rc == QW_OK) {
        rc = qw_store_commit(&st);
    }
    if (rc != QW_OK) {
        goto fail;
    }
    return HTTP_UNAUTHORIZED;

fail:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1003: cannot log a failed admin login: %s",
                  st.err ? st.err : qw_status_name(rc));
    qw_store_rollback(&st);
    return HTTP_SERVICE_UNAVAILABLE;
}

int qw_admin_login(request_rec *r, const char *account, const char *pw,
                   size_t pwlen, const char **token_out,
                   const char **pending_out)
{
    qw_dir_cfg *d = qw_dir(r);
    const char *values[2], *encoded = NULL, *status = NULL, *token;
    const char *p[9];
    unsigned char raw[QW_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    unsigned char old[QW_TOKEN_HASH_LEN];
    int64_t eid = 0, aid = 0, bound = 0;
    qw_admin_session who;
    PGresult *res;
    qw_store st;
    qw_status rc;
    int ok, trc, err;
    qw_throttle_info info;
    const char *pending;

    *token_out = NULL;
    *pending_out = NULL;
    if (account) {
        account = qw_ascii_lower(r->pool, account);
        if (!qw_valid_account(account)) {
            account = NULL;
        }
    }
    /* per account, before any hashing; unknown and malformed accounts are
     * counted exactly like real ones (the same answer for every reason) */
    trc = qw_throttle_account_hit_info(r, d->enterprise,
                                       account ? account : "-",
                                       QW_THROTTLE_ADMIN_PASSWORD,
                                       &qw_throttle_admin, &info);
    if (trc != OK) {
        return trc;
    }
    if (account && pw && pwlen <= QW_PW_MAX_LEN) {
        values[0] = d->enterprise;
        values[1] = account;
        res = qw_db_exec(r, QW_STMT_ADMIN_LOGIN, 2, values, NULL,
                         NULL);
        if (!res) {
            return HTTP_SERVICE_UNAVAILABLE;
        }
        if (PQntuples(res) == 1) {
#define COL(name) PQgetvalue(res, 0, ADMIN_LOGIN_COL_##name)
            eid = apr_atoi64(COL(ENTERPRISE_ID));
            aid = apr_atoi64(COL(ADMIN_ID));
            if (!PQgetisnull(res, 0, ADMIN_LOGIN_COL_PASSWORD_HASH)) {
                encoded = apr_pstrdup(r->pool, COL(PASSWORD_HASH));
            }
            status = apr_pstrdup(r->pool, COL(STATUS));
            bound = apr_atoi64(COL(BOUND_MEMBER_ID));
#undef COL
        }
        PQclear(res);
    }
    /* unknown account: the same Argon2id work against a dummy hash */
    if (qw_account_pw_verify(r, encoded, pw ? pw : "", pw ? pwlen : 0,
                             &ok) != 0) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    if (!ok || !status || strcmp(status, "active")) {
        return login_failed(r, account, eid, aid, bound, &info);
    }
    qw_throttle_account_clear(r, d->enterprise, account,
                              QW_THROTTLE_ADMIN_PASSWORD);

    token = qw_token_new(r->pool, raw, sizeof(raw));
    if (!token) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    qw_token_hash(raw, sizeof(raw), hash);
    memset(&who, 0, sizeof(who));
    who.admin_id = aid;
    qw_admin_store(r, &st, &who);
    st.who.actor_role = NULL;
    if (!st.keys) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    pending = qw_admin_next_step(r, &st, eid, aid, 1, &err);
    if (err) {
        goto fail;
    }
    if (qw_store_begin(&st) != QW_OK) {
        goto fail;
    }
    /* the session the browser held before is replaced, not kept */
    if (qw_admin_cookie_token(r, old)) {
        p[0] = qw_i64(r->pool, eid);
        p[1] = qw_store_bytea(r->pool, old, sizeof(old));
        res = qw_store_exec(&st, "DELETE FROM admin_sessions WHERE "
                            "enterprise_id = $1 AND token_hash = $2::bytea",
                            2, p, &rc);
        if (!res) {
            goto fail;
        }
        PQclear(res);
    }
    p[0] = qw_i64(r->pool, eid);
    p[1] = qw_store_bytea(r->pool, hash, sizeof(hash));
    p[2] = qw_i64(r->pool, aid);
    p[3] = apr_itoa(r->pool, QW_ADMIN_IDLE);
    p[4] = apr_itoa(r->pool, QW_ADMIN_MAX_AGE);
    p[4] = apr_itoa(r->pool, pending ? ADMIN_PENDING_SECS
                                     : QW_ADMIN_MAX_AGE);
    p[5] = r->useragent_ip;
    p[6] = st.who.user_agent;
    p[7] = pending;
    res = qw_store_exec(&st, "WITH gc AS (DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND admin_id = $3 AND "
                        "(expires_at < now() OR last_seen_at + "
                        "make_interval(secs => idle_seconds) < now())) "
                        "INSERT INTO admin_sessions (enterprise_id, "
                        "token_hash, admin_id, auth_level, idle_seconds, "
                        "expires_at, source_ip, user_agent, pending) VALUES "
                        "($1, $2::bytea, $3, 1, $4, now() + make_interval("
                        "secs => $5::int), $6, $7, $8)", 8, p, &rc);
    if (!res) {
        goto fail;
    }
    PQclear(res);
    if (bound && (rc = qw_login_reminder_add(&st, eid, bound, aid, account,
                                             "login")) != QW_OK) {
        goto fail;
    }
    if ((rc = qw_audit_append(&st, eid, "auth", "admin-login",
                              apr_psprintf(r->pool, "admin:%"
                                           APR_INT64_T_FMT " %s", aid,
                                           account), "success", NULL,
                              qw_json_text(r->pool, json_pack(
                                  "{s:b, s:s?}", "reminder", bound != 0,
                                  "pending", pending)))) != QW_OK
        || (rc = qw_store_commit(&st)) != QW_OK) {
        goto fail;
    }
    if (qw_pw_needs_rehash(encoded, &qw_pw_cfg)) {
        /* best effort, like the member login */
        char *fresh = qw_account_pw_hash(r, pw, pwlen);

        if (fresh) {
            p[2] = fresh;
            p[1] = qw_i64(r->pool, aid);
            res = qw_store_exec(&st, "UPDATE admin_accounts SET "
                                "password_hash = $3 WHERE enterprise_id = $1"
                                " AND admin_id = $2", 3, p, &rc);
            PQclear(res);
        }
    }
    qw_metrics_inc(QW_C_LOGIN_ADMIN_OK);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1004: admin %s of %s logged in from %s", account,
                  d->enterprise, r->useragent_ip);
    *token_out = token;
    *pending_out = pending;
    return OK;

fail:
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1005: admin login of %s could not be recorded: %s",
                  account, st.err ? st.err : "database error");
    qw_store_rollback(&st);
    return HTTP_SERVICE_UNAVAILABLE;
}

int qw_admin_logout(request_rec *r)
{
    qw_admin_session *a;
    qw_store st;
    qw_status rc;
    const char *p[2];
    PGresult *res;
    int hrc = qw_admin_resolve(r, &a);

    if (hrc != OK) {
        return hrc;
    }
    if (!a) {
        return OK;
    }
    qw_admin_store(r, &st, a);
    if (!st.db || !st.keys || qw_store_begin(&st) != QW_OK) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    p[0] = qw_i64(r->pool, a->enterprise_id);
    p[1] = qw_i64(r->pool, a->session_id);
    res = qw_store_exec(&st, "DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND session_id = $2", 2, p, &rc);
    if (!res) {
        qw_store_rollback(&st);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    PQclear(res);
    if (qw_audit_append(&st, a->enterprise_id, "auth", "admin-logout",
                        apr_psprintf(r->pool, "admin:%" APR_INT64_T_FMT
                                     " %s", a->admin_id, a->account),
                        "success", NULL, NULL) != QW_OK
        || qw_store_commit(&st) != QW_OK) {
        qw_store_rollback(&st);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return OK;
}

void qw_admin_login_register(apr_pool_t *p)
{
    qw_db_register_statement(QW_STMT_ADMIN_LOGIN, sql_admin_login,
                             QW_DB_IDEMPOTENT);
}

/* Account security of admin accounts (sql/006_admin_two_step.sql): TOTP
 * secrets and recovery codes, password policy, history and changes.  Admins
 * have tables of their own because admin accounts are not members; the SQL
 * is the members' (store/security.c, qw_psec_*), run on the admin tables
 * named by qw_admin_principal. */
#include <string.h>
#include <stdlib.h>
#include <apr_strings.h>

#include "store/store.h"
#include "util/seal.h"
#include "util/text.h"
#include "util/token.h"

/* "admin_totp.secret" is the AAD of every sealed admin secret: stored
 * secrets decrypt only with this exact string */
const qw_principal qw_admin_principal = {
    "admin_accounts", "admin_id", "", "admin_totp", "admin_recovery_codes",
    "admin_password_history", "admin_totp.secret"
};

static const qw_blocklist *admin_blocklist;

void qw_admin_blocklist_set(const qw_blocklist *bl)
{
    admin_blocklist = bl;
}

/* The blocklist: the module's (set at post_config), else loaded once from
 * $QIWEI_BLOCKLIST or the installed copy (qiweictl).  NULL: none found. */
static const qw_blocklist *blocklist(qw_store *st)
{
    static apr_pool_t *bp;
    const char *path, *err = NULL;

    if (admin_blocklist) {
        return admin_blocklist;
    }
    path = getenv("QIWEI_BLOCKLIST");
#ifdef QW_PKGDATADIR
    if (!path || !*path) {
        path = QW_PKGDATADIR "/common-passwords.txt";
    }
#endif
    if (!path || (!bp && apr_pool_create(&bp, NULL) != APR_SUCCESS)) {
        return NULL;
    }
    admin_blocklist = qw_blocklist_load(bp, path, &err);
    return admin_blocklist;
}

/* $1 enterprise id: its administrators' password policy settings (NULL
 * when not set). */
#define ADMIN_POLICY_COLS(X, L) \
    X(MODE, " settings->>'admin_password_policy'") \
    L(MAX_AGE, " settings->>'admin_password_max_age'")
#define ADMIN_POLICY_COL_ENUM(name, expr) ADMIN_POLICY_COL_##name,
enum { ADMIN_POLICY_COLS(ADMIN_POLICY_COL_ENUM, ADMIN_POLICY_COL_ENUM) };
static const char sql_admin_policy[] =
    "SELECT" ADMIN_POLICY_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM enterprises WHERE enterprise_id = $1";

qw_status qw_admin_policy_of(qw_store *st, int64_t eid, qw_pwpolicy *pol)
{
    const char *p[1];
    PGresult *res;
    qw_status rc;

    /* admins always have two-step available: nist's shorter minimum */
    qw_pwpolicy_resolve(pol, NULL, QW_PWP_DENGBAO, -1, -1, 1);
    p[0] = qw_i64(st->pool, eid);
    res = qw_store_exec(st, sql_admin_policy, 1, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        /* unknown mode: the strict one; a bad age: the mode's */
        qw_pwpolicy_resolve(pol,
            PQgetisnull(res, 0, ADMIN_POLICY_COL_MODE) ? NULL
                : PQgetvalue(res, 0, ADMIN_POLICY_COL_MODE),
            QW_PWP_DENGBAO,
            PQgetisnull(res, 0, ADMIN_POLICY_COL_MAX_AGE) ? -1
                : qw_pwpolicy_days_parse(
                      PQgetvalue(res, 0, ADMIN_POLICY_COL_MAX_AGE)),
            -1, 1);
    }
    PQclear(res);
    return QW_OK;
}

qw_status qw_admin_password_rules(qw_store *st, int64_t eid,
                                  qw_pwpolicy *pol, const qw_blocklist **bl)
{
    if (!(*bl = blocklist(st))) {
        /* fail closed: the policy needs its blocklist */
        return qw_store_error(st, QW_ERR_INVALID, "no common-password "
                              "blocklist (set QIWEI_BLOCKLIST or install "
                              "common-passwords.txt)");
    }
    return qw_admin_policy_of(st, eid, pol);
}

const char *qw_admin_password_refused(apr_pool_t *p, const qw_pwpolicy *pol,
                                      qw_pwp_result pr)
{
    /* the reason token first: callers (API, qiweictl) show it */
    return apr_psprintf(p, "password refused (%s): %s",
                        qw_pwpolicy_reason(pr),
                        qw_pwpolicy_message(p, pol, pr, QW_LANG_EN));
}

/* qw_pw_history's verify for qiweictl: no hashing slot, st's settings */
static int plain_verify(void *baton, const char *encoded, const char *pw,
                        size_t len, int *ok)
{
    *ok = qw_pw_verify(encoded, pw, len, baton) == 1;
    return 0;
}

qw_status qw_admin_password_check(qw_store *st, int64_t eid, int64_t aid,
                                  const char *account, const char *pw,
                                  size_t len)
{
    qw_pwpolicy pol;
    qw_pwp_result pr;
    const qw_blocklist *bl;
    qw_pw_history h;
    apr_array_header_t *hashes;
    qw_status rc;
    int compared;

    if ((rc = qw_admin_password_rules(st, eid, &pol, &bl)) != QW_OK) {
        return rc;
    }
    memset(&h, 0, sizeof(h));
    if (aid > 0) {
        /* the current hash and the older ones the policy compares; the
         * current password is not known here, so its hash is verified */
        rc = qw_psec_password_hashes(st, &qw_admin_principal, eid, aid,
                                     pol.history < 0 ? 0
                                     : pol.history > QW_PWP_HISTORY_MAX
                                     ? QW_PWP_HISTORY_MAX : pol.history,
                                     &hashes);
        if (rc != QW_OK) {
            return rc;
        }
        h.hashes = hashes;
        if (hashes->nelts && qw_pw_init() != 0) {
            return qw_store_error(st, QW_ERR_CRYPTO, "libsodium init");
        }
    }
    h.verify = plain_verify;
    h.baton = &st->pw;
    (void)qw_pwpolicy_new_password(&pol, bl, st->pool, pw, len, NULL,
                                   account, &h, &pr, &compared);
    if (pr != QW_PWP_OK) {
        return qw_store_error(st, QW_ERR_INVALID, "%s",
                              qw_admin_password_refused(st->pool, &pol, pr));
    }
    return QW_OK;
}

/* Ends every session of admin aid but keep_session (0: all of them). */
static qw_status end_other_sessions(qw_store *st, int64_t eid, int64_t aid,
                                    int64_t keep_session)
{
    const char *p[3];
    PGresult *res;
    qw_status rc;

    p[0] = qw_i64(st->pool, eid);
    p[1] = qw_i64(st->pool, aid);
    p[2] = qw_i64(st->pool, keep_session);
    res = qw_store_exec(st, "DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND admin_id = $2 AND "
                        "session_id <> $3", 3, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

qw_status qw_admin_password_store(qw_store *st, int64_t eid, int64_t aid,
                                  const char *hash, int64_t keep_session,
                                  const char *actor_object)
{
    qw_status rc;

    /* history: keep the newest 10 (policies ask for 5 at most; a little
     * slack costs nothing) */
    if ((rc = qw_psec_password_set(st, &qw_admin_principal, eid, aid, hash,
                                   10, "no such admin")) != QW_OK) {
        return rc;
    }
    /* a password change ends every other session of the account */
    if ((rc = end_other_sessions(st, eid, aid, keep_session)) != QW_OK) {
        return rc;
    }
    return qw_audit_append(st, eid, "auth", "admin_password_change",
                           actor_object, "success", NULL,
                           "{\"password\": \"set\"}");
}

/* ---- TOTP ---- */

qw_status qw_admin_totp_begin(qw_store *st, int64_t eid, int64_t aid,
                              const unsigned char *secret, size_t n)
{
    return qw_psec_totp_begin(st, &qw_admin_principal, eid, aid, secret, n);
}

qw_status qw_admin_totp_get(qw_store *st, int64_t eid, int64_t aid,
                            unsigned char **secret, size_t *n, int *enabled,
                            int64_t *last_step)
{
    return qw_psec_totp_get(st, &qw_admin_principal, eid, aid, secret, n,
                            enabled, last_step);
}

qw_status qw_admin_totp_use_step(qw_store *st, int64_t eid, int64_t aid,
                                 int64_t step)
{
    return qw_psec_totp_use_step(st, &qw_admin_principal, eid, aid, step);
}

/* In the caller's transaction: enable (only with a step later than any
 * seen), replace the recovery codes, end the admin's other sessions. */
qw_status qw_admin_totp_enable(qw_store *st, int64_t eid, int64_t aid,
                               int64_t step, int ncodes, int64_t keep_session,
                               apr_array_header_t **codes)
{
    qw_status rc;

    if ((rc = qw_psec_totp_enable(st, &qw_admin_principal, eid, aid, step,
                                  ncodes, "two-step already on", codes))
        != QW_OK) {
        return rc;
    }
    /* a two-step change ends every other session of the account */
    if ((rc = end_other_sessions(st, eid, aid, keep_session)) != QW_OK) {
        return rc;
    }
    return qw_audit_append(st, eid, "auth", "admin_two_step_enable",
                           apr_psprintf(st->pool, "admin:%" APR_INT64_T_FMT,
                                        aid), "success", NULL, NULL);
}

qw_status qw_admin_recovery_use(qw_store *st, int64_t eid, int64_t aid,
                                const char *code)
{
    return qw_psec_recovery_use(st, &qw_admin_principal, eid, aid, code);
}

/* Account security of admin accounts (sql/006_admin_two_step.sql): TOTP
 * secrets and recovery codes, password policy, history and changes.  The
 * member side (store/security.c) is the model; admins have tables of their
 * own because admin accounts are not members. */
#include <string.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <apr_strings.h>

#include "store/store.h"
#include "util/seal.h"
#include "util/text.h"
#include "util/token.h"

#define ADMIN_TOTP_COLUMN "admin_totp.secret"

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

qw_status qw_admin_policy_of(qw_store *st, int64_t eid, qw_pwpolicy *pol)
{
    const char *p[1];
    PGresult *res;
    qw_status rc;
    int mode = QW_PWP_DENGBAO;

    qw_pwpolicy_init(pol, QW_PWP_DENGBAO, 1);
    p[0] = qw_i64(st->pool, eid);
    res = qw_store_exec(st, "SELECT settings->>'admin_password_policy',"
                        " settings->>'admin_password_max_age'"
                        " FROM enterprises WHERE enterprise_id = $1",
                        1, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        if (!PQgetisnull(res, 0, 0)) {
            mode = qw_pwpolicy_mode_parse(PQgetvalue(res, 0, 0));
            if (mode < 0) {
                mode = QW_PWP_DENGBAO;   /* unknown: the strict one */
            }
        }
        /* admins always have two-step available: nist's shorter minimum */
        qw_pwpolicy_init(pol, (qw_pwp_mode)mode, 1);
        if (!PQgetisnull(res, 0, 1)) {
            int d = atoi(PQgetvalue(res, 0, 1));
            if (d >= 0 && d <= 3650) {
                pol->max_age_days = d;
            }
        }
    }
    PQclear(res);
    return QW_OK;
}

qw_status qw_admin_password_check(qw_store *st, int64_t eid, int64_t aid,
                                  const char *account, const char *pw,
                                  size_t len)
{
    qw_pwpolicy pol;
    qw_pwp_result pr;
    const qw_blocklist *bl = blocklist(st);
    const char *p[3];
    PGresult *res;
    qw_status rc;
    int i;

    if (!bl) {
        /* fail closed: the policy needs its blocklist */
        return qw_store_error(st, QW_ERR_INVALID, "no common-password "
                              "blocklist (set QIWEI_BLOCKLIST or install "
                              "common-passwords.txt)");
    }
    if ((rc = qw_admin_policy_of(st, eid, &pol)) != QW_OK) {
        return rc;
    }
    pr = qw_pwpolicy_check(&pol, bl, st->pool, pw, len, account);
    if (pr == QW_PWP_OK && pol.history > 0 && aid > 0) {
        p[0] = qw_i64(st->pool, eid);
        p[1] = qw_i64(st->pool, aid);
        p[2] = apr_itoa(st->pool, pol.history);
        /* the current password counts as one of the last N */
        res = qw_store_exec(st,
            "(SELECT password_hash, 0 AS o, now() AS c FROM admin_accounts"
            "  WHERE enterprise_id = $1 AND admin_id = $2"
            "    AND password_hash IS NOT NULL)"
            " UNION ALL"
            " (SELECT password_hash, 1, changed_at FROM admin_password_history"
            "   WHERE enterprise_id = $1 AND admin_id = $2"
            "   ORDER BY changed_at DESC, seq DESC LIMIT $3::int - 1)"
            " ORDER BY 2, 3 DESC", 3, p, &rc);
        if (!res) {
            return rc;
        }
        if (qw_pw_init() != 0) {
            PQclear(res);
            return qw_store_error(st, QW_ERR_CRYPTO, "libsodium init");
        }
        for (i = 0; i < PQntuples(res) && pr == QW_PWP_OK; i++) {
            if (qw_pw_verify(PQgetvalue(res, i, 0), pw, len, &st->pw)) {
                pr = QW_PWP_REUSED;
            }
        }
        PQclear(res);
    }
    if (pr != QW_PWP_OK) {
        /* the reason token first: callers (API, qiweictl) show it */
        return qw_store_error(st, QW_ERR_INVALID, "password refused (%s): %s",
                              qw_pwpolicy_reason(pr),
                              qw_pwpolicy_message(st->pool, &pol, pr,
                                                  QW_LANG_EN));
    }
    return QW_OK;
}

qw_status qw_admin_password_store(qw_store *st, int64_t eid, int64_t aid,
                                  const char *hash, int64_t keep_session,
                                  const char *actor_object)
{
    const char *p[4];
    PGresult *res;
    qw_status rc;

    p[0] = qw_i64(st->pool, eid);
    p[1] = qw_i64(st->pool, aid);
    p[2] = hash;
    p[3] = qw_i64(st->pool, keep_session);
    /* history: the old hash, then keep the newest 10 (policies ask for 5
     * at most; a little slack costs nothing) */
    res = qw_store_exec(st, "INSERT INTO admin_password_history"
                        " (enterprise_id, admin_id, password_hash)"
                        " SELECT enterprise_id, admin_id, password_hash"
                        "   FROM admin_accounts WHERE enterprise_id = $1"
                        "    AND admin_id = $2 AND password_hash IS NOT NULL",
                        2, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, "DELETE FROM admin_password_history"
                        " WHERE enterprise_id = $1 AND admin_id = $2"
                        "   AND seq NOT IN (SELECT seq FROM"
                        "   admin_password_history WHERE enterprise_id = $1"
                        "   AND admin_id = $2 ORDER BY changed_at DESC,"
                        "   seq DESC LIMIT 10)", 2, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, "UPDATE admin_accounts SET password_hash = $3,"
                        " password_changed_at = now(), updated_at = now()"
                        " WHERE enterprise_id = $1 AND admin_id = $2"
                        " RETURNING 1", 3, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such admin");
    }
    PQclear(res);
    /* a password change ends every other session of the account */
    p[2] = p[3];
    res = qw_store_exec(st, "DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND admin_id = $2 AND "
                        "session_id <> $3", 3, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    return qw_audit_append(st, eid, "auth", "admin_password_change",
                           actor_object, "success", NULL,
                           "{\"password\": \"set\"}");
}

/* ---- TOTP ---- */

qw_status qw_admin_totp_begin(qw_store *st, int64_t eid, int64_t aid,
                              const unsigned char *secret, size_t n)
{
    const char *p[3];
    unsigned char *blob;
    size_t bloblen;
    PGresult *res;
    qw_status rc;
    int rows;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    if (qw_seal(st->pool, st->keys, qw_seal_aad(st->pool, ADMIN_TOTP_COLUMN,
                                                eid, aid),
                secret, n, &blob, &bloblen) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO, "cannot seal the secret");
    }
    p[0] = qw_i64(st->pool, eid);
    p[1] = qw_i64(st->pool, aid);
    p[2] = qw_store_bytea(st->pool, blob, bloblen);
    /* a confirmed secret is never replaced from here */
    res = qw_store_exec(st,
        "INSERT INTO admin_totp (enterprise_id, admin_id, secret_enc)"
        " VALUES ($1, $2, $3)"
        " ON CONFLICT (enterprise_id, admin_id) DO UPDATE"
        "   SET secret_enc = excluded.secret_enc, created_at = now(),"
        "       last_step = -1"
        " WHERE NOT admin_totp.enabled RETURNING 1", 3, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    return rows ? QW_OK : qw_store_error(st, QW_ERR_CONFLICT,
                                         "two-step already on");
}

qw_status qw_admin_totp_get(qw_store *st, int64_t eid, int64_t aid,
                            unsigned char **secret, size_t *n, int *enabled,
                            int64_t *last_step)
{
    const char *p[2];
    unsigned char *blob;
    size_t bloblen;
    PGresult *res;
    qw_status rc;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    p[0] = qw_i64(st->pool, eid);
    p[1] = qw_i64(st->pool, aid);
    res = qw_store_exec(st, "SELECT encode(secret_enc, 'hex'), enabled,"
                        " last_step FROM admin_totp"
                        " WHERE enterprise_id = $1 AND admin_id = $2",
                        2, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
    if (qw_store_unhex(st->pool, PQgetvalue(res, 0, 0), &blob,
                       &bloblen) != 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_CRYPTO, "bad secret blob");
    }
    *enabled = !strcmp(PQgetvalue(res, 0, 1), "t");
    *last_step = apr_atoi64(PQgetvalue(res, 0, 2));
    PQclear(res);
    if (qw_unseal(st->pool, st->keys, qw_seal_aad(st->pool,
                                                  ADMIN_TOTP_COLUMN, eid,
                                                  aid),
                  blob, bloblen, secret, n) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO,
                              "two-step secret does not decrypt");
    }
    return QW_OK;
}

qw_status qw_admin_totp_use_step(qw_store *st, int64_t eid, int64_t aid,
                                 int64_t step)
{
    const char *p[3];
    PGresult *res;
    qw_status rc;
    int rows;

    p[0] = qw_i64(st->pool, eid);
    p[1] = qw_i64(st->pool, aid);
    p[2] = qw_i64(st->pool, step);
    /* the replay guard: a step is accepted once, never one older than the
     * last accepted; atomic, so two nodes cannot both accept it */
    res = qw_store_exec(st, "UPDATE admin_totp SET last_step = $3"
                        " WHERE enterprise_id = $1 AND admin_id = $2"
                        "   AND enabled AND last_step < $3 RETURNING 1",
                        3, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    return rows ? QW_OK : QW_ERR_CONFLICT;
}

static void code_hash(const char *code, unsigned char out[32])
{
    /* recovery codes compare case- and dash-insensitively */
    char norm[64];
    size_t i, o = 0;

    for (i = 0; code[i] && o < sizeof(norm) - 1; i++) {
        char c = code[i];
        if (c == '-' || c == ' ') {
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        norm[o++] = c;
    }
    norm[o] = '\0';
    SHA256((const unsigned char *)norm, o, out);
    OPENSSL_cleanse(norm, sizeof(norm));
}

/* In the caller's transaction: enable (only with a step later than any
 * seen), replace the recovery codes, end the admin's other sessions. */
qw_status qw_admin_totp_enable(qw_store *st, int64_t eid, int64_t aid,
                               int64_t step, int ncodes, int64_t keep_session,
                               apr_array_header_t **codes)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
    const char *p[4];
    PGresult *res;
    qw_status rc;
    int i, j, rows;

    *codes = apr_array_make(st->pool, ncodes, sizeof(const char *));
    p[0] = qw_i64(st->pool, eid);
    p[1] = qw_i64(st->pool, aid);
    p[2] = qw_i64(st->pool, step);
    p[3] = qw_i64(st->pool, keep_session);
    res = qw_store_exec(st, "UPDATE admin_totp SET enabled = true,"
                        " enabled_at = now(), last_step = $3"
                        " WHERE enterprise_id = $1 AND admin_id = $2"
                        "   AND NOT enabled AND last_step < $3 RETURNING 1",
                        3, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    if (rows != 1) {
        return qw_store_error(st, QW_ERR_CONFLICT, "two-step already on");
    }
    res = qw_store_exec(st, "DELETE FROM admin_recovery_codes"
                        " WHERE enterprise_id = $1 AND admin_id = $2",
                        2, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    for (i = 0; i < ncodes; i++) {
        unsigned char raw[10], h[32];
        char text[16];
        const char *q[3];
        int o = 0;

        if (qw_random(raw, sizeof(raw)) != 0) {
            return qw_store_error(st, QW_ERR_CRYPTO, "RNG failure");
        }
        /* 10 letters of a 32-letter alphabet: 50 bits */
        for (j = 0; j < 10; j++) {
            if (j == 5) {
                text[o++] = '-';
            }
            text[o++] = alphabet[raw[j] & 31];
        }
        text[o] = '\0';
        OPENSSL_cleanse(raw, sizeof(raw));
        code_hash(text, h);
        q[0] = p[0];
        q[1] = p[1];
        q[2] = qw_store_bytea(st->pool, h, sizeof(h));
        res = qw_store_exec(st, "INSERT INTO admin_recovery_codes"
                            " (enterprise_id, admin_id, code_hash)"
                            " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                            3, q, &rc);
        if (!res) {
            return rc;
        }
        PQclear(res);
        APR_ARRAY_PUSH(*codes, const char *) = apr_pstrdup(st->pool, text);
    }
    /* a two-step change ends every other session of the account */
    p[2] = p[3];
    res = qw_store_exec(st, "DELETE FROM admin_sessions WHERE "
                        "enterprise_id = $1 AND admin_id = $2 AND "
                        "session_id <> $3", 3, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    return qw_audit_append(st, eid, "auth", "admin_two_step_enable",
                           apr_psprintf(st->pool, "admin:%" APR_INT64_T_FMT,
                                        aid), "success", NULL, NULL);
}

qw_status qw_admin_recovery_use(qw_store *st, int64_t eid, int64_t aid,
                                const char *code)
{
    unsigned char h[32];
    const char *p[3];
    PGresult *res;
    qw_status rc;
    int rows;

    if (!code || strlen(code) > 40) {
        return QW_ERR_NOTFOUND;
    }
    code_hash(code, h);
    p[0] = qw_i64(st->pool, eid);
    p[1] = qw_i64(st->pool, aid);
    p[2] = qw_store_bytea(st->pool, h, sizeof(h));
    res = qw_store_exec(st, "UPDATE admin_recovery_codes SET used_at = now()"
                        " WHERE enterprise_id = $1 AND admin_id = $2"
                        "   AND code_hash = $3 AND used_at IS NULL"
                        " RETURNING 1", 3, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    return rows ? QW_OK : QW_ERR_NOTFOUND;
}

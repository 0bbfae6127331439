/* Account security data (issue 6): two-step secrets and recovery codes,
 * password history and changes, pending logins, scan-to-login challenges.
 * SQL lives here; the module's handlers call these with a qw_store built on
 * the request's connection. */
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <apr_strings.h>

#include "store/store.h"
#include "util/json.h"
#include "util/recovery.h"
#include "util/seal.h"
#include "util/token.h"

#define TOTP_COLUMN "member_totp.secret"

static qw_status one_row_or(qw_store *st, PGresult *res, qw_status none)
{
    int n = PQntuples(res);
    PQclear(res);
    return n > 0 ? QW_OK : none;
}

/* $1 enterprise id, $2 member id: the member's two-step and password
 * state and the enterprise's member settings (NULL when not set). */
#define MEMBER_STATE_COLS(X, L) \
    X(TOTP_ENABLED, \
      " coalesce((SELECT t.enabled FROM member_totp t" \
      "                  WHERE t.enterprise_id = m.enterprise_id" \
      "                    AND t.member_id = m.member_id), false)") \
    X(PASSWORD_AGE_DAYS, \
      "       coalesce(extract(epoch FROM now() - m.password_changed_at)" \
      "                / 86400, -1)") \
    X(POLICY, "       e.settings->>'member_password_policy'") \
    X(TWO_STEP, "       e.settings->>'member_two_step'") \
    X(MAX_AGE_DAYS, "       e.settings->>'member_password_max_age'") \
    L(ACCOUNT, "       m.account")
#define MEMBER_STATE_COL_ENUM(name, expr) MEMBER_STATE_COL_##name,
enum { MEMBER_STATE_COLS(MEMBER_STATE_COL_ENUM, MEMBER_STATE_COL_ENUM) };
static const char sql_member_state[] =
    "SELECT" MEMBER_STATE_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM members m JOIN enterprises e"
    "    ON e.enterprise_id = m.enterprise_id"
    " WHERE m.enterprise_id = $1 AND m.member_id = $2";

qw_status qw_sec_member_state(qw_store *st, int64_t ent, int64_t member,
                              qw_member_security *out)
{
    const char *p[2];
    PGresult *res;
    qw_status rc;

    memset(out, 0, sizeof(*out));
    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, member);
    res = qw_store_exec(st, sql_member_state, 2, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "member not found");
    }
#define COL(name) PQgetvalue(res, 0, MEMBER_STATE_COL_##name)
#define NUL(name) PQgetisnull(res, 0, MEMBER_STATE_COL_##name)
    out->totp_enabled = !strcmp(COL(TOTP_ENABLED), "t");
    out->password_age_days = atof(COL(PASSWORD_AGE_DAYS));
    out->policy = NUL(POLICY) ? NULL : apr_pstrdup(st->pool, COL(POLICY));
    out->two_step = NUL(TWO_STEP) ? NULL
                    : apr_pstrdup(st->pool, COL(TWO_STEP));
    out->max_age_days = NUL(MAX_AGE_DAYS) ? -1
                        : qw_pwpolicy_days_parse(COL(MAX_AGE_DAYS));
    out->account = apr_pstrdup(st->pool, COL(ACCOUNT));
#undef COL
#undef NUL
    PQclear(res);
    return QW_OK;
}

/* ---- TOTP, recovery codes and password history of either principal ---- */

/* the member side of qw_principal (the admin one is in admin_security.c) */
const qw_principal qw_member_principal = {
    "members", "member_id", " AND status = 'active'", "member_totp",
    "member_recovery_codes", "member_password_history", TOTP_COLUMN
};

qw_status qw_psec_totp_begin(qw_store *st, const qw_principal *pr,
                             int64_t ent, int64_t id,
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
    if (qw_seal(st->pool, st->keys, qw_seal_aad(st->pool, pr->totp_aad, ent,
                                                id),
                secret, n, &blob, &bloblen) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO, "cannot seal the secret");
    }
    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, id);
    p[2] = qw_store_bytea(st->pool, blob, bloblen);
    /* a confirmed secret is never replaced from here */
    res = qw_store_exec(st, apr_psprintf(st->pool,
        "INSERT INTO %s (enterprise_id, %s, secret_enc)"
        " VALUES ($1, $2, $3)"
        " ON CONFLICT (enterprise_id, %s) DO UPDATE"
        "   SET secret_enc = excluded.secret_enc, created_at = now(),"
        "       last_step = -1"
        " WHERE NOT %s.enabled RETURNING 1", pr->totp_table, pr->id_col,
        pr->id_col, pr->totp_table), 3, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    return rows ? QW_OK : qw_store_error(st, QW_ERR_CONFLICT,
                                         "two-step already on");
}

/* $1 enterprise id, $2 the principal's id; the two %s are the principal's
 * TOTP table and id column (an apr_psprintf format). */
#define TOTP_GET_COLS(X, L) \
    X(SECRET_HEX, " encode(secret_enc, 'hex')") \
    X(ENABLED, " enabled") \
    L(LAST_STEP, " last_step")
#define TOTP_GET_COL_ENUM(name, expr) TOTP_GET_COL_##name,
enum { TOTP_GET_COLS(TOTP_GET_COL_ENUM, TOTP_GET_COL_ENUM) };
#define SQL_TOTP_GET \
    "SELECT" TOTP_GET_COLS(QW_COL_SQL, QW_COL_SQL_LAST) \
    " FROM %s WHERE enterprise_id = $1 AND %s = $2"

qw_status qw_psec_totp_get(qw_store *st, const qw_principal *pr,
                           int64_t ent, int64_t id, unsigned char **secret,
                           size_t *n, int *enabled, int64_t *last_step)
{
    const char *p[2];
    unsigned char *blob;
    size_t bloblen;
    PGresult *res;
    qw_status rc;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, id);
    res = qw_store_exec(st, apr_psprintf(st->pool, SQL_TOTP_GET,
                                         pr->totp_table, pr->id_col),
                        2, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
    if (qw_store_unhex(st->pool, PQgetvalue(res, 0, TOTP_GET_COL_SECRET_HEX),
                       &blob, &bloblen) != 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_CRYPTO, "bad secret blob");
    }
    *enabled = !strcmp(PQgetvalue(res, 0, TOTP_GET_COL_ENABLED), "t");
    *last_step = apr_atoi64(PQgetvalue(res, 0, TOTP_GET_COL_LAST_STEP));
    PQclear(res);
    if (qw_unseal(st->pool, st->keys, qw_seal_aad(st->pool, pr->totp_aad,
                                                  ent, id),
                  blob, bloblen, secret, n) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO,
                              "two-step secret does not decrypt");
    }
    return QW_OK;
}

qw_status qw_psec_totp_use_step(qw_store *st, const qw_principal *pr,
                                int64_t ent, int64_t id, int64_t step)
{
    const char *p[3];
    PGresult *res;
    qw_status rc;

    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, id);
    p[2] = qw_i64(st->pool, step);
    /* the replay guard: a step is accepted once, never one older than the
     * last accepted; atomic, so two nodes cannot both accept it */
    res = qw_store_exec(st, apr_psprintf(st->pool,
                        "UPDATE %s SET last_step = $3"
                        " WHERE enterprise_id = $1 AND %s = $2"
                        "   AND enabled AND last_step < $3 RETURNING 1",
                        pr->totp_table, pr->id_col), 3, p, &rc);
    if (!res) {
        return rc;
    }
    return one_row_or(st, res, QW_ERR_CONFLICT);
}

qw_status qw_psec_totp_enable(qw_store *st, const qw_principal *pr,
                              int64_t ent, int64_t id, int64_t step,
                              int ncodes, const char *conflict_msg,
                              apr_array_header_t **codes)
{
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
    const char *p[3], *insert, *kidtext;
    uint32_t kid;
    PGresult *res;
    qw_status rc;
    int i, j, rows;

    *codes = apr_array_make(st->pool, ncodes, sizeof(const char *));
    /* the codes' MAC needs the key file: refused before anything is
     * written */
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    kid = qw_keyring_current(st->keys);
    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, id);
    p[2] = qw_i64(st->pool, step);
    res = qw_store_exec(st, apr_psprintf(st->pool,
                        "UPDATE %s SET enabled = true,"
                        " enabled_at = now(), last_step = $3"
                        " WHERE enterprise_id = $1 AND %s = $2"
                        "   AND NOT enabled AND last_step < $3 RETURNING 1",
                        pr->totp_table, pr->id_col), 3, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    if (rows != 1) {
        return conflict_msg ? qw_store_error(st, QW_ERR_CONFLICT, "%s",
                                             conflict_msg)
                            : QW_ERR_CONFLICT;
    }
    res = qw_store_exec(st, apr_psprintf(st->pool, "DELETE FROM %s"
                        " WHERE enterprise_id = $1 AND %s = $2",
                        pr->codes_table, pr->id_col), 2, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    insert = apr_psprintf(st->pool, "INSERT INTO %s"
                          " (enterprise_id, %s, code_hash, key_id)"
                          " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                          pr->codes_table, pr->id_col);
    kidtext = apr_psprintf(st->pool, "%u", (unsigned)kid);
    for (i = 0; i < ncodes; i++) {
        unsigned char raw[10], h[QW_RECOVERY_LEN];
        char text[16];
        const char *q[4];
        int o = 0;

        if (qw_random(raw, sizeof(raw)) != 0) {
            return qw_store_error(st, QW_ERR_CRYPTO, "RNG failure");
        }
        /* 10 letters of a 32-letter alphabet (5 bits of each byte drawn):
         * 50 bits */
        for (j = 0; j < 10; j++) {
            if (j == 5) {
                text[o++] = '-';
            }
            text[o++] = alphabet[raw[j] & 31];
        }
        text[o] = '\0';
        OPENSSL_cleanse(raw, sizeof(raw));
        if (qw_recovery_mac(st->keys, kid, text, h) != 0) {
            return qw_store_error(st, QW_ERR_CRYPTO, "recovery code MAC");
        }
        q[0] = p[0];
        q[1] = p[1];
        q[2] = qw_store_bytea(st->pool, h, sizeof(h));
        q[3] = kidtext;
        res = qw_store_exec(st, insert, 4, q, &rc);
        if (!res) {
            return rc;
        }
        PQclear(res);
        APR_ARRAY_PUSH(*codes, const char *) = apr_pstrdup(st->pool, text);
    }
    return QW_OK;
}

/* $1 enterprise id, $2 the principal's id: the unused codes, each with
 * the key id of its MAC (NULL: the unkeyed SHA-256 of rows written before
 * schema version 13). */
#define RECOVERY_COLS(X, L) \
    X(CODE_HASH, " code_hash") \
    L(KEY_ID, " key_id")
#define RECOVERY_COL_ENUM(name, expr) RECOVERY_COL_##name,
enum { RECOVERY_COLS(RECOVERY_COL_ENUM, RECOVERY_COL_ENUM) };
#define SQL_RECOVERY_UNUSED \
    "SELECT" RECOVERY_COLS(QW_COL_SQL, QW_COL_SQL_LAST) " FROM %s" \
    " WHERE enterprise_id = $1 AND %s = $2 AND used_at IS NULL"

/* Which unused row code matches: its stored bytes, or NULL.  Every row
 * is compared (a handful), in constant time. */
static const unsigned char *recovery_match(qw_store *st, PGresult *res,
                                           const char *code)
{
    const unsigned char *found = NULL;
    unsigned char legacy[QW_RECOVERY_LEN], mac[QW_RECOVERY_LEN];
    int have_legacy = qw_recovery_legacy(code, legacy) == 0;
    int i;

    for (i = 0; i < PQntuples(res); i++) {
        size_t n = 0;
        unsigned char *stored = PQunescapeBytea((const unsigned char *)
            PQgetvalue(res, i, RECOVERY_COL_CODE_HASH), &n);
        const unsigned char *want = NULL;

        if (PQgetisnull(res, i, RECOVERY_COL_KEY_ID)) {
            want = have_legacy ? legacy : NULL;
        }
        else if (qw_recovery_mac(st->keys, (uint32_t)strtoul(
                     PQgetvalue(res, i, RECOVERY_COL_KEY_ID), NULL, 10),
                     code, mac) == 0) {
            want = mac;
        }
        if (stored && n == QW_RECOVERY_LEN && want && !found
            && CRYPTO_memcmp(stored, want, QW_RECOVERY_LEN) == 0) {
            found = apr_pmemdup(st->pool, stored, n);
        }
        if (stored) {
            PQfreemem(stored);
        }
    }
    OPENSSL_cleanse(legacy, sizeof(legacy));
    OPENSSL_cleanse(mac, sizeof(mac));
    return found;
}

qw_status qw_psec_recovery_use(qw_store *st, const qw_principal *pr,
                               int64_t ent, int64_t id, const char *code)
{
    const unsigned char *found;
    const char *p[3];
    PGresult *res;
    qw_status rc;

    if (!code || strlen(code) > QW_RECOVERY_MAX) {
        return QW_ERR_NOTFOUND;
    }
    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, id);
    res = qw_store_exec(st, apr_psprintf(st->pool, SQL_RECOVERY_UNUSED,
                                         pr->codes_table, pr->id_col),
                        2, p, &rc);
    if (!res) {
        return rc;
    }
    found = recovery_match(st, res, code);
    PQclear(res);
    if (!found) {
        return QW_ERR_NOTFOUND;
    }
    /* used once: the row is consumed only if still unused */
    p[2] = qw_store_bytea(st->pool, found, QW_RECOVERY_LEN);
    res = qw_store_exec(st, apr_psprintf(st->pool,
                        "UPDATE %s SET used_at = now()"
                        " WHERE enterprise_id = $1 AND %s = $2"
                        "   AND code_hash = $3 AND used_at IS NULL"
                        " RETURNING 1", pr->codes_table, pr->id_col),
                        3, p, &rc);
    if (!res) {
        return rc;
    }
    return one_row_or(st, res, QW_ERR_NOTFOUND);
}

/* $1 enterprise id, $2 the principal's id, $3 how many history entries:
 * the current hash first, then the newest history entries.  The columns
 * of the first branch of the UNION; the second has the same three. */
#define PW_HASHES_COLS(X, L) \
    X(PASSWORD_HASH, " password_hash") \
    X(ORDER, " 0 AS o") \
    L(CHANGED, " now() AS c")
#define PW_HASHES_COL_ENUM(name, expr) PW_HASHES_COL_##name,
enum { PW_HASHES_COLS(PW_HASHES_COL_ENUM, PW_HASHES_COL_ENUM) };
#define SQL_PW_HASHES \
    "(SELECT" PW_HASHES_COLS(QW_COL_SQL, QW_COL_SQL_LAST) " FROM %s" \
    "  WHERE enterprise_id = $1 AND %s = $2" \
    "    AND password_hash IS NOT NULL)" \
    " UNION ALL" \
    " (SELECT password_hash, 1, changed_at FROM %s" \
    "   WHERE enterprise_id = $1 AND %s = $2" \
    "   ORDER BY changed_at DESC, seq DESC LIMIT $3::int)" \
    " ORDER BY 2, 3 DESC"

qw_status qw_psec_password_hashes(qw_store *st, const qw_principal *pr,
                                  int64_t ent, int64_t id, int limit,
                                  apr_array_header_t **out)
{
    const char *p[3];
    PGresult *res;
    qw_status rc;
    int i;

    *out = apr_array_make(st->pool, limit > 0 ? limit + 1 : 1,
                          sizeof(const char *));
    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, id);
    p[2] = apr_itoa(st->pool, limit);
    res = qw_store_exec(st, apr_psprintf(st->pool, SQL_PW_HASHES,
                                         pr->account_table, pr->id_col,
                                         pr->history_table, pr->id_col),
                        3, p, &rc);
    if (!res) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        APR_ARRAY_PUSH(*out, const char *) =
            apr_pstrdup(st->pool,
                        PQgetvalue(res, i, PW_HASHES_COL_PASSWORD_HASH));
    }
    PQclear(res);
    return QW_OK;
}

qw_status qw_psec_password_set(qw_store *st, const qw_principal *pr,
                               int64_t ent, int64_t id, const char *hash,
                               int keep, const char *none_msg)
{
    const char *p[3], *q[3];
    PGresult *res;
    qw_status rc;
    int rows;

    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, id);
    p[2] = hash;
    q[0] = p[0];
    q[1] = p[1];
    q[2] = apr_itoa(st->pool, keep);
    res = qw_store_exec(st, apr_psprintf(st->pool, "INSERT INTO %s"
                        " (enterprise_id, %s, password_hash)"
                        " SELECT enterprise_id, %s, password_hash"
                        "   FROM %s WHERE enterprise_id = $1"
                        "    AND %s = $2"
                        "    AND password_hash IS NOT NULL",
                        pr->history_table, pr->id_col, pr->id_col,
                        pr->account_table, pr->id_col), 2, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, apr_psprintf(st->pool, "DELETE FROM %s"
                        " WHERE enterprise_id = $1 AND %s = $2"
                        "   AND seq NOT IN (SELECT seq FROM"
                        "   %s WHERE enterprise_id = $1"
                        "   AND %s = $2 ORDER BY changed_at DESC,"
                        "   seq DESC LIMIT greatest($3::int, 0))",
                        pr->history_table, pr->id_col, pr->history_table,
                        pr->id_col), 3, q, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, apr_psprintf(st->pool,
                        "UPDATE %s SET password_hash = $3,"
                        " password_changed_at = now(), updated_at = now()"
                        " WHERE enterprise_id = $1 AND %s = $2%s"
                        " RETURNING 1", pr->account_table, pr->id_col,
                        pr->account_cond), 3, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    if (rows != 1) {
        return none_msg ? qw_store_error(st, QW_ERR_NOTFOUND, "%s", none_msg)
                        : QW_ERR_NOTFOUND;
    }
    return QW_OK;
}

/* ---- the member side ---- */

/* A member's own two-step or password change, run by qw_store_write: the
 * change, then every session of the account ends; audited as action. */
typedef struct {
    int64_t ent, member;
    const char *action;
    int64_t step;                       /* two-step */
    int ncodes;
    apr_array_header_t **codes;
    const char *new_hash;               /* password */
    int keep;
} member_change;

static qw_status member_change_write(qw_store *st, void *baton,
                                     qw_store_audit *audit)
{
    member_change *b = baton;
    qw_status rc;

    rc = b->codes
         ? qw_psec_totp_enable(st, &qw_member_principal, b->ent, b->member,
                               b->step, b->ncodes, NULL, b->codes)
         : qw_psec_password_set(st, &qw_member_principal, b->ent, b->member,
                                b->new_hash, b->keep, NULL);
    if (rc != QW_OK
        || (rc = qw_member_kill_sessions(st, b->ent, b->member)) != QW_OK) {
        return rc;
    }
    audit->enterprise_id = b->ent;
    audit->module = "auth";
    audit->action = b->action;
    audit->object = apr_psprintf(st->pool, "member:%" APR_INT64_T_FMT,
                                 b->member);
    return QW_OK;
}

qw_status qw_sec_totp_begin(qw_store *st, int64_t ent, int64_t member,
                            const unsigned char *secret, size_t n)
{
    return qw_psec_totp_begin(st, &qw_member_principal, ent, member, secret,
                              n);
}

qw_status qw_sec_totp_get(qw_store *st, int64_t ent, int64_t member,
                          unsigned char **secret, size_t *n, int *enabled,
                          int64_t *last_step)
{
    return qw_psec_totp_get(st, &qw_member_principal, ent, member, secret,
                            n, enabled, last_step);
}

qw_status qw_sec_totp_use_step(qw_store *st, int64_t ent, int64_t member,
                               int64_t step)
{
    return qw_psec_totp_use_step(st, &qw_member_principal, ent, member,
                                 step);
}

qw_status qw_sec_totp_enable(qw_store *st, int64_t ent, int64_t member,
                             int64_t step, int ncodes,
                             apr_array_header_t **codes)
{
    member_change b;

    memset(&b, 0, sizeof(b));
    b.ent = ent;
    b.member = member;
    b.action = "two_step_enable";
    b.step = step;
    b.ncodes = ncodes;
    b.codes = codes;
    /* empty when BEGIN fails (qw_psec_totp_enable makes it afresh) */
    *codes = apr_array_make(st->pool, ncodes, sizeof(const char *));
    return qw_store_write(st, member_change_write, &b);
}

/* Two-step off, run by qw_store_write: only when it is on and the
 * enterprise does not require it for members (checked in the same
 * statement, so a setting changed meanwhile is honoured); the recovery
 * codes go with the secret and every session of the member ends. */
static qw_status totp_disable_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    const int64_t *who = baton;
    const char *p[2];
    PGresult *res;
    qw_status rc;
    int rows;

    p[0] = qw_i64(st->pool, who[0]);
    p[1] = qw_i64(st->pool, who[1]);
    res = qw_store_exec(st,
        "DELETE FROM member_totp t"
        " WHERE t.enterprise_id = $1 AND t.member_id = $2 AND t.enabled"
        "   AND coalesce((SELECT lower(e.settings->>'member_two_step')"
        "                   FROM enterprises e"
        "                  WHERE e.enterprise_id = $1), '') <> 'required'"
        " RETURNING 1", 2, p, &rc);
    if (!res) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    if (rows != 1) {
        return qw_store_error(st, QW_ERR_CONFLICT, "two-step is not on, or "
                              "the enterprise requires it");
    }
    res = qw_store_exec(st, "DELETE FROM member_recovery_codes"
                        " WHERE enterprise_id = $1 AND member_id = $2",
                        2, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    if ((rc = qw_member_kill_sessions(st, who[0], who[1])) != QW_OK) {
        return rc;
    }
    audit->enterprise_id = who[0];
    audit->module = "auth";
    audit->action = "two_step_disable";
    audit->object = apr_psprintf(st->pool, "member:%" APR_INT64_T_FMT,
                                 who[1]);
    return QW_OK;
}

qw_status qw_sec_totp_disable(qw_store *st, int64_t ent, int64_t member)
{
    int64_t who[2];

    who[0] = ent;
    who[1] = member;
    return qw_store_write(st, totp_disable_write, who);
}

qw_status qw_sec_recovery_use(qw_store *st, int64_t ent, int64_t member,
                              const char *code)
{
    return qw_psec_recovery_use(st, &qw_member_principal, ent, member, code);
}

/* ---- passwords ---- */

qw_status qw_sec_password_hashes(qw_store *st, int64_t ent, int64_t member,
                                 int history, apr_array_header_t **out)
{
    return qw_psec_password_hashes(st, &qw_member_principal, ent, member,
                                   history, out);
}

qw_status qw_sec_password_change(qw_store *st, int64_t ent, int64_t member,
                                 const char *new_hash, int keep)
{
    member_change b;

    memset(&b, 0, sizeof(b));
    b.ent = ent;
    b.member = member;
    b.action = "password_change";
    b.new_hash = new_hash;
    b.keep = keep;
    return qw_store_write(st, member_change_write, &b);
}

/* ---- pending logins ---- */

qw_status qw_sec_pending_new(qw_store *st, int64_t ent, int64_t member,
                             const char *purpose, int level,
                             const char *next_url, int ttl,
                             const unsigned char hash[32])
{
    const char *p[7];
    PGresult *res;
    qw_status rc;

    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_store_bytea(st->pool, hash, 32);
    p[2] = qw_i64(st->pool, member);
    p[3] = purpose;
    p[4] = apr_itoa(st->pool, level);
    p[5] = next_url;
    p[6] = apr_itoa(st->pool, ttl);
    res = qw_store_exec(st,
        "WITH gc AS (DELETE FROM login_pending WHERE expires_at < now())"
        " INSERT INTO login_pending (enterprise_id, token_hash, member_id,"
        "   purpose, auth_level, next_url, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6,"
        "         now() + make_interval(secs => $7::int))", 7, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

/* $1 enterprise code, $2 token hash: an unexpired pending login of an
 * active member.  NEXT_URL may be NULL. */
#define PENDING_COLS(X, L) \
    X(ENTERPRISE_ID, " l.enterprise_id") \
    X(MEMBER_ID, " l.member_id") \
    X(PURPOSE, " l.purpose") \
    X(AUTH_LEVEL, " l.auth_level") \
    X(NEXT_URL, "       l.next_url") \
    X(ATTEMPTS, " l.attempts") \
    L(ACCOUNT, " m.account")
#define PENDING_COL_ENUM(name, expr) PENDING_COL_##name,
enum { PENDING_COLS(PENDING_COL_ENUM, PENDING_COL_ENUM) };
static const char sql_pending_get[] =
    "SELECT" PENDING_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM login_pending l"
    "  JOIN enterprises e ON e.enterprise_id = l.enterprise_id"
    "  JOIN members m ON m.enterprise_id = l.enterprise_id"
    "                AND m.member_id = l.member_id"
    " WHERE e.code = $1 AND l.token_hash = $2"
    "   AND l.expires_at > now() AND m.status = 'active'";

qw_status qw_sec_pending_get(qw_store *st, const char *ent_code,
                             const unsigned char hash[32], qw_pending *out)
{
    const char *p[2];
    PGresult *res;
    qw_status rc;

    memset(out, 0, sizeof(*out));
    p[0] = ent_code;
    p[1] = qw_store_bytea(st->pool, hash, 32);
    res = qw_store_exec(st, sql_pending_get, 2, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
#define COL(name) PQgetvalue(res, 0, PENDING_COL_##name)
    out->enterprise_id = apr_atoi64(COL(ENTERPRISE_ID));
    out->member_id = apr_atoi64(COL(MEMBER_ID));
    out->purpose = apr_pstrdup(st->pool, COL(PURPOSE));
    out->auth_level = atoi(COL(AUTH_LEVEL));
    out->next_url = PQgetisnull(res, 0, PENDING_COL_NEXT_URL) ? "/"
                    : apr_pstrdup(st->pool, COL(NEXT_URL));
    out->attempts = atoi(COL(ATTEMPTS));
    out->account = apr_pstrdup(st->pool, COL(ACCOUNT));
#undef COL
    memcpy(out->hash, hash, 32);
    PQclear(res);
    return QW_OK;
}

qw_status qw_sec_pending_end(qw_store *st, int64_t ent,
                             const unsigned char hash[32])
{
    const char *p[2];
    PGresult *res;
    qw_status rc;

    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_store_bytea(st->pool, hash, 32);
    res = qw_store_exec(st, "DELETE FROM login_pending WHERE"
                        " enterprise_id = $1 AND token_hash = $2"
                        " RETURNING 1", 2, p, &rc);
    if (!res) {
        return rc;
    }
    return one_row_or(st, res, QW_ERR_NOTFOUND);
}

qw_status qw_sec_pending_attempt(qw_store *st, int64_t ent,
                                 const unsigned char hash[32], int max)
{
    const char *p[3];
    PGresult *res;
    qw_status rc;

    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_store_bytea(st->pool, hash, 32);
    p[2] = apr_itoa(st->pool, max);
    /* a pending login survives a few wrong codes, then is gone */
    res = qw_store_exec(st, "WITH u AS (UPDATE login_pending"
                        "   SET attempts = attempts + 1"
                        " WHERE enterprise_id = $1 AND token_hash = $2"
                        " RETURNING attempts)"
                        " DELETE FROM login_pending WHERE enterprise_id = $1"
                        "   AND token_hash = $2"
                        "   AND (SELECT attempts FROM u) >= $3::int",
                        3, p, &rc);
    if (!res) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

/* ---- scan to log in ---- */

/* qw_scan_new() (sql/012): the challenge made, or why not. */
#define SCAN_NEW_COLS(X, L) \
    X(RESULT, " result") \
    L(RETRY_AFTER, " retry_after")
#define SCAN_NEW_COL_ENUM(name, expr) SCAN_NEW_COL_##name,
enum { SCAN_NEW_COLS(SCAN_NEW_COL_ENUM, SCAN_NEW_COL_ENUM) };
static const char sql_scan_new[] =
    "SELECT" SCAN_NEW_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM qw_scan_new($1, $2::bytea, $3::bytea, $4, $5, $6, $7, $8::int,"
    " $9::int, $10::int, $11::int)";

qw_status qw_sec_scan_new(qw_store *st, const char *ent_code,
                          const unsigned char challenge[32],
                          const unsigned char browser[32],
                          const qw_scan_request *req, qw_scan_refusal *out)
{
    const char *p[11], *result;
    PGresult *res;
    qw_status rc;

    memset(out, 0, sizeof(*out));
    p[0] = ent_code;
    p[1] = qw_store_bytea(st->pool, challenge, 32);
    p[2] = qw_store_bytea(st->pool, browser, 32);
    p[3] = req->ip;
    p[4] = req->net;
    p[5] = req->ua;
    p[6] = req->next_url;
    p[7] = apr_itoa(st->pool, req->ttl);
    p[8] = apr_itoa(st->pool, req->per_address);
    p[9] = apr_itoa(st->pool, req->per_network);
    p[10] = apr_itoa(st->pool, req->total);
    res = qw_store_exec(st, sql_scan_new, 11, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_DB, "qw_scan_new: no row");
    }
    result = PQgetvalue(res, 0, SCAN_NEW_COL_RESULT);
    if (!strcmp(result, "notfound")) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
    if (strcmp(result, "ok")) {
        out->refused = !strcmp(result, "total") ? QW_SCAN_FULL_TOTAL
                                                : QW_SCAN_FULL_ADDRESS;
        out->retry_after = atoi(PQgetvalue(res, 0,
                                           SCAN_NEW_COL_RETRY_AFTER));
    }
    PQclear(res);
    return QW_OK;
}

/* $1 enterprise code, $2 challenge hash: an unexpired challenge, with the
 * whole seconds it has left. */
#define SCAN_PEEK_COLS(X, L) \
    X(STATE, " s.state") \
    X(REQUESTER_IP, " s.requester_ip") \
    X(REQUESTER_UA, " s.requester_ua") \
    L(SECONDS_LEFT, \
      "       greatest(0, ceil(extract(epoch FROM s.expires_at - now())))")
#define SCAN_PEEK_COL_ENUM(name, expr) SCAN_PEEK_COL_##name,
enum { SCAN_PEEK_COLS(SCAN_PEEK_COL_ENUM, SCAN_PEEK_COL_ENUM) };
static const char sql_scan_peek[] =
    "SELECT" SCAN_PEEK_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM scan_challenges s JOIN enterprises e"
    "    ON e.enterprise_id = s.enterprise_id"
    " WHERE e.code = $1 AND s.challenge_hash = $2"
    "   AND s.expires_at > now()";

qw_status qw_sec_scan_peek(qw_store *st, const char *ent_code,
                           const unsigned char challenge[32],
                           qw_scan *out)
{
    const char *p[2];
    PGresult *res;
    qw_status rc;

    memset(out, 0, sizeof(*out));
    p[0] = ent_code;
    p[1] = qw_store_bytea(st->pool, challenge, 32);
    res = qw_store_exec(st, sql_scan_peek, 2, p, &rc);
    if (!res) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
#define COL(name) PQgetvalue(res, 0, SCAN_PEEK_COL_##name)
    out->state = apr_pstrdup(st->pool, COL(STATE));
    out->ip = apr_pstrdup(st->pool, COL(REQUESTER_IP));
    out->ua = apr_pstrdup(st->pool, COL(REQUESTER_UA));
    out->seconds_left = atoi(COL(SECONDS_LEFT));
#undef COL
    PQclear(res);
    return QW_OK;
}

qw_status qw_sec_scan_decide(qw_store *st, const char *ent_code,
                             const unsigned char challenge[32],
                             int64_t member, int approve)
{
    const char *p[4];
    PGresult *res;
    qw_status rc;

    p[0] = ent_code;
    p[1] = qw_store_bytea(st->pool, challenge, 32);
    p[2] = qw_i64(st->pool, member);
    p[3] = approve ? "approved" : "refused";
    res = qw_store_exec(st,
        "UPDATE scan_challenges s SET state = $4, member_id = $3,"
        "       decided_at = now()"
        "  FROM enterprises e"
        " WHERE e.enterprise_id = s.enterprise_id AND e.code = $1"
        "   AND s.challenge_hash = $2 AND s.state = 'pending'"
        "   AND s.expires_at > now() RETURNING 1", 4, p, &rc);
    if (!res) {
        return rc;
    }
    return one_row_or(st, res, QW_ERR_NOTFOUND);
}

/* $1 enterprise code, $2 challenge hash, $3 browser hash, $4 the least
 * milliseconds between polls, $5 the most polls.  One row: FOUND is the
 * number of matching challenges (0 or 1); the rest are NULL when the poll
 * was refused (too soon, too many). */
#define SCAN_POLL_COLS(X, L) \
    X(FOUND, " (SELECT count(*) FROM c)") \
    X(BEFORE, " u.before") \
    X(MEMBER_ID, " u.member_id") \
    X(NEXT_URL, " u.next_url") \
    L(LIVE, "        u.live")
#define SCAN_POLL_COL_ENUM(name, expr) SCAN_POLL_COL_##name,
enum { SCAN_POLL_COLS(SCAN_POLL_COL_ENUM, SCAN_POLL_COL_ENUM) };
static const char sql_scan_poll[] =
    "WITH c AS ("
    " SELECT s.enterprise_id, s.challenge_hash, s.state, s.last_poll_at,"
    "        s.polls, s.expires_at"
    "   FROM scan_challenges s JOIN enterprises e"
    "     ON e.enterprise_id = s.enterprise_id"
    "  WHERE e.code = $1 AND s.challenge_hash = $2"
    "    AND s.browser_hash = $3 FOR UPDATE OF s"
    "), u AS ("
    " UPDATE scan_challenges s SET polls = s.polls + 1,"
    "        last_poll_at = now(),"
    "        state = CASE WHEN c.state = 'approved'"
    "                      AND c.expires_at > now()"
    "                     THEN 'used' ELSE c.state END"
    "   FROM c WHERE s.enterprise_id = c.enterprise_id"
    "    AND s.challenge_hash = c.challenge_hash"
    "    AND c.last_poll_at < now() - make_interval(secs =>"
    "                                  $4::int / 1000.0)"
    "    AND c.polls < $5::int"
    " RETURNING c.state AS before, s.member_id, s.next_url,"
    "           c.expires_at > now() AS live"
    ")"
    " SELECT" SCAN_POLL_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "   FROM (SELECT 1) one LEFT JOIN u ON true";

qw_status qw_sec_scan_poll(qw_store *st, const char *ent_code,
                           const unsigned char challenge[32],
                           const unsigned char browser[32], int min_ms,
                           int max_polls, qw_scan *out)
{
    const char *p[5];
    PGresult *res;
    qw_status rc;

    memset(out, 0, sizeof(*out));
    p[0] = ent_code;
    p[1] = qw_store_bytea(st->pool, challenge, 32);
    p[2] = qw_store_bytea(st->pool, browser, 32);
    p[3] = apr_itoa(st->pool, min_ms);
    p[4] = apr_itoa(st->pool, max_polls);
    /* One statement: count the poll (refused when too soon or too many),
     * and consume an approved challenge (approved -> used) so that exactly
     * one poll ever gets the session. */
    res = qw_store_exec(st, sql_scan_poll, 5, p, &rc);
    if (!res) {
        return rc;
    }
#define COL(name) PQgetvalue(res, 0, SCAN_POLL_COL_##name)
#define NUL(name) PQgetisnull(res, 0, SCAN_POLL_COL_##name)
    if (PQntuples(res) != 1 || atoi(COL(FOUND)) == 0) {
        PQclear(res);
        return QW_ERR_NOTFOUND;
    }
    if (NUL(BEFORE)) {
        PQclear(res);
        out->state = "throttled";
        return QW_OK;
    }
    if (strcmp(COL(LIVE), "t")) {
        out->state = "expired";
    }
    else {
        out->state = apr_pstrdup(st->pool, COL(BEFORE));
    }
    if (!NUL(MEMBER_ID)) {
        out->member_id = apr_atoi64(COL(MEMBER_ID));
    }
    out->next_url = NUL(NEXT_URL) ? "/" : apr_pstrdup(st->pool, COL(NEXT_URL));
#undef COL
#undef NUL
    PQclear(res);
    return QW_OK;
}

/* ---- a member's own sessions (the home page) ---- */

/* $1 enterprise id, $2 member id, $3 limit: the member's sessions that
 * the gate would still accept (the same expiry tests as the session
 * statement, db.h), most recently seen first. */
#define MY_SESSION_COLS(X, L) \
    X(SESSION_ID, " s.session_id") \
    X(KIND, " s.kind") \
    X(CREATED_AT, " to_char(s.created_at AT TIME ZONE 'UTC', " \
                  "'YYYY-MM-DD HH24:MI')") \
    X(LAST_SEEN_AT, " to_char(s.last_seen_at AT TIME ZONE 'UTC', " \
                    "'YYYY-MM-DD HH24:MI')") \
    X(SOURCE_IP, " s.source_ip") \
    L(USER_AGENT, " s.user_agent")
#define MY_SESSION_COL_ENUM(name, expr) MY_SESSION_COL_##name,
enum { MY_SESSION_COLS(MY_SESSION_COL_ENUM, MY_SESSION_COL_ENUM) };
static const char sql_my_sessions[] =
    "SELECT" MY_SESSION_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "  FROM sessions s"
    " WHERE s.enterprise_id = $1 AND s.member_id = $2"
    "   AND s.expires_at > now()"
    "   AND s.last_seen_at + make_interval(secs => s.idle_seconds) > now()"
    " ORDER BY s.last_seen_at DESC, s.session_id DESC LIMIT $3";

qw_status qw_sec_sessions_list(qw_store *st, int64_t ent, int64_t member,
                               int limit, apr_array_header_t **out)
{
    const char *p[3];
    PGresult *res;
    qw_status rc;
    int i;

    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, member);
    p[2] = apr_itoa(st->pool, limit);
    res = qw_store_read(st, sql_my_sessions, 3, p, &rc);
    if (!res) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_session_info));
    for (i = 0; i < PQntuples(res); i++) {
        qw_session_info *s = apr_array_push(*out);
#define COL(name) PQgetvalue(res, i, MY_SESSION_COL_##name)
#define STR(name) (PQgetisnull(res, i, MY_SESSION_COL_##name) ? NULL \
                   : apr_pstrdup(st->pool, COL(name)))
        s->id = apr_atoi64(COL(SESSION_ID));
        s->kind = apr_pstrdup(st->pool, COL(KIND));
        s->created_at = apr_pstrdup(st->pool, COL(CREATED_AT));
        s->last_seen_at = apr_pstrdup(st->pool, COL(LAST_SEEN_AT));
        s->source_ip = STR(SOURCE_IP);
        s->user_agent = STR(USER_AGENT);
#undef STR
#undef COL
    }
    PQclear(res);
    return QW_OK;
}

typedef struct {
    int64_t ent, member, session_id, keep;
    int *ended;
} sessions_end;

static qw_status sessions_end_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    sessions_end *b = baton;
    const char *p[3];
    PGresult *res;
    qw_status rc;

    p[0] = qw_i64(st->pool, b->ent);
    p[1] = qw_i64(st->pool, b->member);
    p[2] = qw_i64(st->pool, b->session_id ? b->session_id : b->keep);
    /* the member's own rows only: an id of someone else's session, or of
     * another enterprise, matches nothing */
    res = qw_store_exec(st, b->session_id
        ? "DELETE FROM sessions WHERE enterprise_id = $1 AND member_id = $2"
          " AND session_id = $3 RETURNING session_id"
        : "DELETE FROM sessions WHERE enterprise_id = $1 AND member_id = $2"
          " AND session_id <> $3 RETURNING session_id", 3, p, &rc);
    if (!res) {
        return rc;
    }
    *b->ended = PQntuples(res);
    PQclear(res);
    if (b->session_id && *b->ended == 0) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such session of "
                              "member %" APR_INT64_T_FMT, b->member);
    }
    if (*b->ended == 0) {
        audit->unchanged = 1;           /* no other session: nothing done */
        return QW_OK;
    }
    audit->enterprise_id = b->ent;
    audit->module = "auth";
    audit->action = b->session_id ? "session_end" : "sessions_end_others";
    audit->object = apr_psprintf(st->pool, "member:%" APR_INT64_T_FMT,
                                 b->member);
    audit->details_json = qw_json_text(st->pool, b->session_id
        ? json_pack("{s:I}", "session", (json_int_t)b->session_id)
        : json_pack("{s:i}", "ended", *b->ended));
    return QW_OK;
}

qw_status qw_sec_sessions_end(qw_store *st, int64_t ent, int64_t member,
                              int64_t session_id, int64_t keep, int *ended)
{
    sessions_end b;

    *ended = 0;
    b.ent = ent;
    b.member = member;
    b.session_id = session_id > 0 ? session_id : 0;
    b.keep = keep;
    b.ended = ended;
    return qw_store_write(st, sessions_end_write, &b);
}

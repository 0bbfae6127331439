/* The tamper-evident operation log (R5).
 *
 * Each enterprise has its own chain: rows are numbered seq = 1, 2, 3... and
 *     mac_n = HMAC-SHA256(K, lp(mac_(n-1)) || canonical(row_n))
 * where K = HKDF(master[key_id], "audit-chain v1") never enters the
 * database, lp(x) is x prefixed with its 4-byte big-endian length (mac_0 is
 * empty) and canonical(row) is the length-prefixed text of every field in
 * a fixed order (NULL is length 0xFFFFFFFF, distinct from the empty string).
 * A DBA can edit or delete rows but cannot recompute the MACs, so
 * qw_audit_verify finds the first edited, missing or reordered row.  What it
 * cannot see is the removal of the newest rows (a truncated tail): compare
 * the row count with an exported copy for that. */
#include <string.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "store/store.h"
#include "util/text.h"

/* "QWEI": first key of the two-int advisory lock; the second is the
 * enterprise id, so writers of different enterprises do not wait. */
#define AUDIT_LOCK_CLASS 0x51574549

#define AUDIT_PURPOSE "audit-chain v1"
#define AUDIT_TS_FMT "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"
#define AUDIT_FIELDS 14     /* enterprise_id .. details */

typedef struct {
    unsigned char *buf;
    size_t len, cap;
    apr_pool_t *p;
} canon;

static void canon_put(canon *c, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    uint32_t l = s ? (uint32_t)n : 0xFFFFFFFFu;

    if (c->len + 4 + n > c->cap) {
        size_t cap = (c->cap + 4 + n) * 2;
        unsigned char *nb = apr_palloc(c->p, cap);

        if (c->len) {
            memcpy(nb, c->buf, c->len);
        }
        c->buf = nb;
        c->cap = cap;
    }
    c->buf[c->len++] = (unsigned char)(l >> 24);
    c->buf[c->len++] = (unsigned char)(l >> 16);
    c->buf[c->len++] = (unsigned char)(l >> 8);
    c->buf[c->len++] = (unsigned char)l;
    if (n) {
        memcpy(c->buf + c->len, s, n);
        c->len += n;
    }
}

/* fields[0..AUDIT_FIELDS-1]: enterprise_id, seq, at, actor, actor_role,
 * source_ip, user_agent, request_id, module, action, object, result, reason,
 * details, all as text (NULL allowed). */
static int chain_mac(apr_pool_t *p, const unsigned char key[QW_KEY_LEN],
                     const unsigned char *prev, size_t prevlen,
                     const char *const *fields, unsigned char out[32])
{
    canon c = { NULL, 0, 0, p };
    unsigned int outlen = 0;
    int i;
    uint32_t l = (uint32_t)prevlen;
    unsigned char hdr[4];

    hdr[0] = (unsigned char)(l >> 24);
    hdr[1] = (unsigned char)(l >> 16);
    hdr[2] = (unsigned char)(l >> 8);
    hdr[3] = (unsigned char)l;
    c.cap = 4 + prevlen + 512;
    c.buf = apr_palloc(p, c.cap);
    memcpy(c.buf, hdr, 4);
    if (prevlen) {
        memcpy(c.buf + 4, prev, prevlen);
    }
    c.len = 4 + prevlen;
    for (i = 0; i < AUDIT_FIELDS; i++) {
        canon_put(&c, fields[i]);
    }
    if (HMAC(EVP_sha256(), key, QW_KEY_LEN, c.buf, c.len, out, &outlen)
        == NULL || outlen != 32) {
        return -1;
    }
    return 0;
}

/* $1 enterprise id: the newest row of its chain, if any. */
#define AUDIT_LAST_COLS(X, L) \
    X(SEQ, " seq") \
    L(MAC_HEX, " encode(mac, 'hex')")
#define AUDIT_LAST_COL_ENUM(name, expr) AUDIT_LAST_COL_##name,
enum { AUDIT_LAST_COLS(AUDIT_LAST_COL_ENUM, AUDIT_LAST_COL_ENUM) };
static const char sql_audit_last[] =
    "SELECT" AUDIT_LAST_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM audit_log WHERE enterprise_id = $1 ORDER BY seq DESC LIMIT 1";

/* $1 the details (JSON text or NULL): the time of the new row and the
 * details as the database will give them back. */
#define AUDIT_STAMP_COLS(X, L) \
    X(AT, " to_char(clock_timestamp() AT TIME ZONE 'UTC', " \
          AUDIT_TS_FMT ")") \
    L(DETAILS, " $1::jsonb::text")
#define AUDIT_STAMP_COL_ENUM(name, expr) AUDIT_STAMP_COL_##name,
enum { AUDIT_STAMP_COLS(AUDIT_STAMP_COL_ENUM, AUDIT_STAMP_COL_ENUM) };
static const char sql_audit_stamp[] =
    "SELECT" AUDIT_STAMP_COLS(QW_COL_SQL, QW_COL_SQL_LAST);

qw_status qw_audit_append(qw_store *st, int64_t enterprise_id,
                          const char *module, const char *action,
                          const char *object, const char *result,
                          const char *reason, const char *details_json)
{
    unsigned char key[QW_KEY_LEN], mac[32];
    unsigned char *prev = NULL;
    size_t prevlen = 0;
    uint32_t kid;
    const char *eid, *seq, *at, *details;
    const char *f[AUDIT_FIELDS];
    const char *params[16];
    PGresult *res;
    qw_status rc;
    int64_t last = 0;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    if (module == NULL || action == NULL || result == NULL) {
        return qw_store_error(st, QW_ERR_INVALID,
                              "audit row needs module, action and result");
    }
    eid = qw_i64(st->pool, enterprise_id);

    /* Serialise writers of this enterprise's chain until commit. */
    params[0] = eid;
    params[1] = apr_psprintf(st->pool, "%d", AUDIT_LOCK_CLASS);
    res = qw_store_exec(st, "SELECT pg_advisory_xact_lock("
                        "$2::int, ($1::bigint & 2147483647)::int)",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);

    res = qw_store_exec(st, sql_audit_last, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        last = apr_atoi64(PQgetvalue(res, 0, AUDIT_LAST_COL_SEQ));
        if (!PQgetisnull(res, 0, AUDIT_LAST_COL_MAC_HEX)
            && qw_store_unhex(st->pool,
                              PQgetvalue(res, 0, AUDIT_LAST_COL_MAC_HEX),
                              &prev, &prevlen) != 0) {
            PQclear(res);
            return qw_store_error(st, QW_ERR_DB, "unreadable audit mac");
        }
    }
    PQclear(res);
    seq = qw_i64(st->pool, last + 1);

    /* The database supplies the time and the normalised JSON text, and we
     * MAC exactly what it will later give back to the verifier. */
    params[0] = details_json;
    res = qw_store_exec(st, sql_audit_stamp, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    at = apr_pstrdup(st->pool, PQgetvalue(res, 0, AUDIT_STAMP_COL_AT));
    details = PQgetisnull(res, 0, AUDIT_STAMP_COL_DETAILS) ? NULL
              : apr_pstrdup(st->pool,
                            PQgetvalue(res, 0, AUDIT_STAMP_COL_DETAILS));
    PQclear(res);

    f[0] = eid;
    f[1] = seq;
    f[2] = at;
    f[3] = st->who.actor ? st->who.actor : "system";
    f[4] = st->who.actor_role;
    f[5] = st->who.source_ip;
    f[6] = st->who.user_agent;
    f[7] = st->who.request_id;
    f[8] = module;
    f[9] = action;
    f[10] = object;
    f[11] = result;
    f[12] = reason;
    f[13] = details;

    kid = qw_keyring_current(st->keys);
    if (qw_keyring_derive(st->keys, kid, AUDIT_PURPOSE, key) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO,
                              "cannot derive the audit key");
    }
    if (chain_mac(st->pool, key, prev, prevlen, f, mac) != 0) {
        OPENSSL_cleanse(key, sizeof(key));
        return qw_store_error(st, QW_ERR_CRYPTO, "HMAC failed");
    }
    OPENSSL_cleanse(key, sizeof(key));

    memcpy(params, f, sizeof(f));
    params[14] = apr_psprintf(st->pool, "%u", (unsigned)kid);
    params[15] = qw_store_bytea(st->pool, mac, sizeof(mac));
    res = qw_store_exec(st, "INSERT INTO audit_log (enterprise_id, seq, at, "
                        "actor, actor_role, source_ip, user_agent, "
                        "request_id, module, action, object, result, reason, "
                        "details, key_id, mac) VALUES ($1, $2, $3::timestamptz,"
                        " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                        "$14::jsonb, $15, $16::bytea)", 16, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

#define VERIFY_BATCH "1000"

/* $1 enterprise id, $2 a seq: the next VERIFY_BATCH rows of its chain.
 * ENTERPRISE_ID .. DETAILS are the AUDIT_FIELDS chained fields, in the
 * order chain_mac() takes them. */
#define AUDIT_ROW_COLS(X, L) \
    X(ENTERPRISE_ID, " enterprise_id") \
    X(SEQ, " seq") \
    X(AT, " to_char(at AT TIME ZONE 'UTC', " AUDIT_TS_FMT ")") \
    X(ACTOR, " actor") \
    X(ACTOR_ROLE, " actor_role") \
    X(SOURCE_IP, " source_ip") \
    X(USER_AGENT, " user_agent") \
    X(REQUEST_ID, " request_id") \
    X(MODULE, " module") \
    X(ACTION, " action") \
    X(OBJECT, " object") \
    X(RESULT, " result") \
    X(REASON, " reason") \
    X(DETAILS, " details::text") \
    X(KEY_ID, " key_id") \
    L(MAC_HEX, " encode(mac, 'hex')")
#define AUDIT_ROW_COL_ENUM(name, expr) AUDIT_ROW_COL_##name,
enum { AUDIT_ROW_COLS(AUDIT_ROW_COL_ENUM, AUDIT_ROW_COL_ENUM) };
/* C99 has no static_assert: a negative array size stops the build. */
typedef char audit_row_fields_are_chained[
    AUDIT_ROW_COL_DETAILS - AUDIT_ROW_COL_ENTERPRISE_ID + 1 == AUDIT_FIELDS
    ? 1 : -1];
static const char sql_audit_rows[] =
    "SELECT" AUDIT_ROW_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM audit_log WHERE enterprise_id = $1 AND seq > $2"
    " ORDER BY audit_log.seq LIMIT " VERIFY_BATCH;

qw_status qw_audit_verify(qw_store *st, const char *ent, int64_t *rows,
                          int64_t *bad_seq)
{
    unsigned char key[QW_KEY_LEN], mac[32], prevbuf[32];
    unsigned char *prev = NULL, *stored;
    size_t prevlen = 0, storedlen;
    uint32_t have_kid = 0;
    int64_t eid, expect = 1;
    const char *params[2];
    apr_pool_t *sub;
    qw_status rc;

    *rows = 0;
    *bad_seq = 0;
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    if (apr_pool_create(&sub, st->pool) != APR_SUCCESS) {
        return qw_store_error(st, QW_ERR_DB, "out of memory");
    }
    params[0] = qw_i64(st->pool, eid);

    for (;;) {
        PGresult *res;
        int i, n;

        params[1] = qw_i64(sub, expect - 1);
        /* Batches keep memory bounded on long chains. */
        res = qw_store_exec(st, sql_audit_rows, 2, params, &rc);
        if (res == NULL) {
            break;
        }
        n = PQntuples(res);
        for (i = 0; i < n && *bad_seq == 0; i++) {
            const char *f[AUDIT_FIELDS];
            int64_t seq = apr_atoi64(PQgetvalue(res, i, AUDIT_ROW_COL_SEQ));
            uint32_t kid;
            int j;

            (*rows)++;
            if (seq != expect) {
                /* a deleted row leaves a gap: report the missing number */
                *bad_seq = expect;
                st->err = apr_psprintf(st->pool, "row %s is missing",
                                       qw_i64(st->pool, expect));
                break;
            }
            for (j = 0; j < AUDIT_FIELDS; j++) {
                int c = AUDIT_ROW_COL_ENTERPRISE_ID + j;

                f[j] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
            }
            if (PQgetisnull(res, i, AUDIT_ROW_COL_KEY_ID)
                || PQgetisnull(res, i, AUDIT_ROW_COL_MAC_HEX)
                || qw_store_unhex(sub,
                                  PQgetvalue(res, i, AUDIT_ROW_COL_MAC_HEX),
                                  &stored, &storedlen) != 0
                || storedlen != sizeof(mac)) {
                *bad_seq = seq;
                st->err = "row has no valid MAC";
                break;
            }
            kid = (uint32_t)apr_atoi64(
                PQgetvalue(res, i, AUDIT_ROW_COL_KEY_ID));
            if (kid != have_kid) {
                if (!qw_keyring_has(st->keys, kid)
                    || qw_keyring_derive(st->keys, kid, AUDIT_PURPOSE,
                                         key) != 0) {
                    *bad_seq = seq;
                    st->err = apr_psprintf(st->pool, "key %u is not in the "
                                           "key file", (unsigned)kid);
                    break;
                }
                have_kid = kid;
            }
            if (chain_mac(sub, key, prev, prevlen, f, mac) != 0) {
                PQclear(res);
                OPENSSL_cleanse(key, sizeof(key));
                apr_pool_destroy(sub);
                return qw_store_error(st, QW_ERR_CRYPTO, "HMAC failed");
            }
            if (CRYPTO_memcmp(mac, stored, sizeof(mac)) != 0) {
                *bad_seq = seq;
                st->err = "MAC does not match (row edited, or rows moved)";
                break;
            }
            /* The next row chains on the stored (now verified) MAC; copy
             * it out of the batch pool. */
            memcpy(prevbuf, stored, sizeof(prevbuf));
            prev = prevbuf;
            prevlen = sizeof(prevbuf);
            expect++;
        }
        PQclear(res);
        apr_pool_clear(sub);
        if (*bad_seq != 0 || n < atoi(VERIFY_BATCH)) {
            rc = QW_OK;
            break;
        }
    }
    OPENSSL_cleanse(key, sizeof(key));
    apr_pool_destroy(sub);
    return rc;
}

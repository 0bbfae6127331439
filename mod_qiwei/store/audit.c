/* The tamper-evident operation log (R5).
 *
 * Each enterprise has its own chain: rows are numbered seq = 1, 2, 3... and
 * each row's MAC covers the previous row's MAC and the row (util/auditmac.h:
 * format version 1 for rows written before schema version 10, version 2,
 * which also covers the format and the key id, since).  The key never
 * enters the database.  A DBA can edit or delete rows but cannot recompute
 * the MACs, so qw_audit_verify finds every edited, missing, inserted or
 * reordered row.  The database itself (sql/010) refuses a row whose seq is
 * not the enterprise's previous seq + 1, or whose key is older than the
 * previous row's: keys are only ever rotated forward, so a leaked retired
 * key cannot be used to append to (or rewrite) the chain after a newer
 * key's rows.  What the chain cannot show is the removal of the newest rows
 * (a truncated tail): compare the row count with an exported copy. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include "store/store.h"
#include "util/auditmac.h"
#include "util/text.h"
#include "util/token.h"

/* "QWEI": first key of the two-int advisory lock; the second is the
 * enterprise id, so writers of different enterprises do not wait.  The
 * insert trigger of sql/010 takes the same lock. */
#define AUDIT_LOCK_CLASS 0x51574549

#define AUDIT_TS_FMT "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'"
#define AUDIT_FIELDS QW_AUDIT_FIELDS

/* The key the next row is written with: the key file's current key, or the
 * newest key of the chain when that is newer (the chain never goes back to
 * an older key; an operator may still point 'current' back for the other
 * purposes).  0 and st->err set when the key file lacks the chain's key. */
static uint32_t append_kid(qw_store *st, uint32_t last_kid)
{
    uint32_t kid = qw_keyring_current(st->keys);

    if (last_kid > kid) {
        if (!qw_keyring_has(st->keys, last_kid)) {
            qw_store_error(st, QW_ERR_CRYPTO, "the operation log already "
                           "uses key %lu, newer than the key file's current "
                           "key %lu: install the newer key file",
                           (unsigned long)last_kid, (unsigned long)kid);
            return 0;
        }
        kid = last_kid;
    }
    return kid;
}

/* $1 enterprise id: the newest row of its chain, if any. */
#define AUDIT_LAST_COLS(X, L) \
    X(SEQ, " seq") \
    X(MAC_HEX, " encode(mac, 'hex')") \
    L(KEY_ID, " key_id")
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
    unsigned char key[QW_KEY_LEN], mac[QW_AUDIT_MAC_LEN];
    unsigned char *prev = NULL;
    size_t prevlen = 0;
    uint32_t kid, last_kid = 0;
    const char *eid, *seq, *at, *details;
    const char *f[AUDIT_FIELDS];
    const char *params[17];
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
        if (!PQgetisnull(res, 0, AUDIT_LAST_COL_KEY_ID)) {
            last_kid = (uint32_t)apr_atoi64(PQgetvalue(res, 0,
                                            AUDIT_LAST_COL_KEY_ID));
        }
    }
    PQclear(res);
    seq = qw_i64(st->pool, last + 1);
    if ((kid = append_kid(st, last_kid)) == 0) {
        return QW_ERR_CRYPTO;
    }

    /* The database supplies the time and the normalised JSON text, and we
     * MAC exactly what it will later give back to the verifier. */
    params[0] = details_json;
    res = qw_store_exec(st, sql_audit_stamp, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    at = apr_pstrdup(st->pool, PQgetvalue(res, 0, AUDIT_STAMP_COL_AT));
    details = PQgetisnull(res, 0, AUDIT_STAMP_COL_DETAILS) ? NULL
              : apr_pstrdup(st->pool, PQgetvalue(res, 0,
                                                 AUDIT_STAMP_COL_DETAILS));
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

    if (qw_keyring_derive(st->keys, kid,
                          qw_audit_mac_purpose(QW_AUDIT_MAC_CURRENT),
                          key) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO,
                              "cannot derive the audit key");
    }
    if (qw_audit_mac(st->pool, QW_AUDIT_MAC_CURRENT, kid, key, prev,
                     prevlen, f, mac) != 0) {
        OPENSSL_cleanse(key, sizeof(key));
        return qw_store_error(st, QW_ERR_CRYPTO, "HMAC failed");
    }
    OPENSSL_cleanse(key, sizeof(key));

    memcpy(params, f, sizeof(f));
    params[14] = apr_psprintf(st->pool, "%u", (unsigned)kid);
    params[15] = qw_store_bytea(st->pool, mac, sizeof(mac));
    params[16] = apr_itoa(st->pool, QW_AUDIT_MAC_CURRENT);
    res = qw_store_exec(st, "INSERT INTO audit_log (enterprise_id, seq, at, "
                        "actor, actor_role, source_ip, user_agent, "
                        "request_id, module, action, object, result, reason, "
                        "details, key_id, mac, mac_version) VALUES ($1, $2, "
                        "$3::timestamptz, $4, $5, $6, $7, $8, $9, $10, $11, "
                        "$12, $13, $14::jsonb, $15, $16::bytea, $17)",
                        17, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

/* ---- how a row names a person ---- */

/* The operation log outlives the people it mentions: a member is named by
 * id only ("member:42"), and the viewer and the export show the current
 * account next to it while the member exists (qw_audit_list).  A name that
 * belongs to nobody (a mistyped or guessed account at login) is kept as a
 * keyed MAC: the same name gives the same value under one key, so repeated
 * attempts on one name can be told apart, but the value tells nothing
 * without the key file. */
#define AUDIT_NAME_PURPOSE "audit account name"
#define AUDIT_NAME_MAC_BYTES 16

static const char *name_mac(qw_store *st, int64_t eid, const char *account)
{
    unsigned char key[QW_KEY_LEN], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    uint32_t kid = qw_keyring_current(st->keys);
    const char *msg = apr_pstrcat(st->pool, qw_i64(st->pool, eid), "\n",
                                  account, NULL);
    const char *out;

    if (qw_keyring_derive(st->keys, kid, AUDIT_NAME_PURPOSE, key) != 0
        || HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)msg,
                strlen(msg), mac, &maclen) == NULL) {
        OPENSSL_cleanse(key, sizeof(key));
        return "unknown-account";
    }
    OPENSSL_cleanse(key, sizeof(key));
    out = apr_psprintf(st->pool, "unknown-account:%lu:%s",
                       (unsigned long)kid,
                       qw_hex(st->pool, mac, AUDIT_NAME_MAC_BYTES));
    return out;
}

qw_status qw_audit_account_object(qw_store *st, int64_t eid,
                                  const char *account, int admin,
                                  const char **object)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    account = qw_ascii_lower(st->pool, account ? account : "");
    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    /* one column (QW_COL_ONLY): the id */
    res = qw_store_exec(st, admin
                        ? "SELECT admin_id FROM admin_accounts"
                          " WHERE enterprise_id = $1 AND account = $2"
                        : "SELECT member_id FROM members"
                          " WHERE enterprise_id = $1 AND account = $2",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        /* admins are not members: their rows keep the admin account */
        *object = admin
            ? apr_psprintf(st->pool, "admin:%s %s",
                           PQgetvalue(res, 0, QW_COL_ONLY), account)
            : apr_pstrcat(st->pool, "member:",
                          PQgetvalue(res, 0, QW_COL_ONLY), NULL);
    }
    else {
        *object = name_mac(st, eid, account);
    }
    PQclear(res);
    return QW_OK;
}

/* ---- verification ---- */

#define VERIFY_BATCH 1000

/* $1 enterprise id, $2 a seq or NULL: the next VERIFY_BATCH rows, every
 * row also those with seq < 1.  ENTERPRISE_ID .. DETAILS are the
 * AUDIT_FIELDS chained fields, in the order qw_audit_mac() takes them. */
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
    X(MAC_HEX, " encode(mac, 'hex')") \
    L(MAC_VERSION, " mac_version")
#define AUDIT_ROW_COL_ENUM(name, expr) AUDIT_ROW_COL_##name,
enum { AUDIT_ROW_COLS(AUDIT_ROW_COL_ENUM, AUDIT_ROW_COL_ENUM) };
/* C99 has no static_assert: a negative array size stops the build. */
typedef char audit_row_fields_are_chained[
    AUDIT_ROW_COL_DETAILS - AUDIT_ROW_COL_ENTERPRISE_ID + 1 == AUDIT_FIELDS
    ? 1 : -1];
static const char sql_audit_rows[] =
    "SELECT" AUDIT_ROW_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM audit_log WHERE enterprise_id = $1"
    " AND ($2::bigint IS NULL OR seq > $2)"
    " ORDER BY audit_log.seq LIMIT " APR_STRINGIFY(VERIFY_BATCH);
#define VERIFY_MAX_FINDINGS 1000

#define PREV_EMPTY 0       /* no row yet: mac_0 is empty */
#define PREV_MAC 1         /* prev holds the last chained row's MAC */
#define PREV_UNKNOWN 2     /* the last chained row had no usable MAC */

typedef struct {
    qw_store *st;
    qw_audit_report *out;
    unsigned char key[QW_KEY_LEN];
    uint32_t key_kid;            /* key holds this kid's key ... */
    int key_version;             /* ... for this MAC version; 0: none */
    unsigned char prev[QW_AUDIT_MAC_LEN];
    int prev_state;              /* PREV_EMPTY, PREV_MAC or PREV_UNKNOWN */
    int64_t last_seq;            /* last row with seq >= 1; 0: none yet */
    uint32_t max_kid;            /* newest key id of the chain so far */
    int64_t max_kid_seq;         /* the first row that used it */
} verifier;

static void finding(verifier *v, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void finding(verifier *v, int64_t seq, const char *fmt, ...)
{
    va_list ap;

    v->out->problems++;
    if (v->out->findings->nelts < VERIFY_MAX_FINDINGS) {
        qw_audit_finding *f = apr_array_push(v->out->findings);

        f->seq = seq;
        va_start(ap, fmt);
        f->problem = apr_pvsprintf(v->st->pool, fmt, ap);
        va_end(ap);
    }
}

/* The purpose key of (kid, version), cached across rows; -1 if the key
 * file lacks kid. */
static int verifier_key(verifier *v, uint32_t kid, int version)
{
    if (v->key_version == version && v->key_kid == kid) {
        return 0;
    }
    v->key_version = 0;
    if (!qw_keyring_has(v->st->keys, kid)
        || qw_keyring_derive(v->st->keys, kid, qw_audit_mac_purpose(version),
                             v->key) != 0) {
        return -1;
    }
    v->key_kid = kid;
    v->key_version = version;
    return 0;
}

/* Check one row (columns as in the verify query).  Every problem is a
 * finding naming the row's own seq; after a problem the chain goes on from
 * the row's stored MAC, so one bad row gives one finding, not a cascade. */
static qw_status verify_row(verifier *v, PGresult *res, int i,
                            apr_pool_t *sub)
{
    const char *f[AUDIT_FIELDS];
    int64_t seq = apr_atoi64(PQgetvalue(res, i, AUDIT_ROW_COL_SEQ));
    unsigned char mac[QW_AUDIT_MAC_LEN], *stored = NULL;
    size_t storedlen = 0;
    int check_mac = 1, version, j;
    uint32_t kid = 0;

    v->out->rows++;
    if (seq < 1) {
        finding(v, seq, "seq < 1: not part of the chain (inserted by hand)");
        return QW_OK;
    }
    if (v->out->first_seq == 0) {
        v->out->first_seq = seq;
    }
    v->out->last_seq = seq;
    if (seq == v->last_seq) {
        /* only possible without the primary key */
        finding(v, seq, "duplicate seq");
        return QW_OK;
    }
    v->out->chained++;
    if (seq != v->last_seq + 1) {
        if (seq == v->last_seq + 2) {
            finding(v, seq, "row %s before it is missing",
                    qw_i64(sub, v->last_seq + 1));
        }
        else {
            finding(v, seq, "rows %s to %s before it are missing",
                    qw_i64(sub, v->last_seq + 1), qw_i64(sub, seq - 1));
        }
        /* its predecessor's MAC is gone: this row cannot be checked */
        check_mac = 0;
    }
    else if (v->prev_state == PREV_UNKNOWN) {
        finding(v, seq, "cannot be checked: row %s before it has no MAC",
                qw_i64(sub, v->last_seq));
        check_mac = 0;
    }
    v->last_seq = seq;

    if (PQgetisnull(res, i, AUDIT_ROW_COL_KEY_ID)
        || PQgetisnull(res, i, AUDIT_ROW_COL_MAC_HEX)
        || qw_store_unhex(sub, PQgetvalue(res, i, AUDIT_ROW_COL_MAC_HEX),
                          &stored, &storedlen) != 0
        || storedlen != QW_AUDIT_MAC_LEN) {
        finding(v, seq, "no valid MAC or key id");
        v->prev_state = PREV_UNKNOWN;
        return QW_OK;
    }
    kid = (uint32_t)apr_atoi64(PQgetvalue(res, i, AUDIT_ROW_COL_KEY_ID));
    version = PQgetisnull(res, i, AUDIT_ROW_COL_MAC_VERSION) ? 0
              : atoi(PQgetvalue(res, i, AUDIT_ROW_COL_MAC_VERSION));
    if (kid < v->max_kid) {
        finding(v, seq, "key %lu is older than key %lu of row %s (keys "
                "only move forward)", (unsigned long)kid,
                (unsigned long)v->max_kid, qw_i64(sub, v->max_kid_seq));
    }
    else if (kid > v->max_kid) {
        v->max_kid = kid;
        v->max_kid_seq = seq;
    }
    if (qw_audit_mac_purpose(version) == NULL) {
        finding(v, seq, "unknown MAC version %d", version);
    }
    else if (check_mac) {
        if (verifier_key(v, kid, version) != 0) {
            finding(v, seq, "key %lu is not in the key file",
                    (unsigned long)kid);
        }
        else {
            for (j = 0; j < AUDIT_FIELDS; j++) {
                int c = AUDIT_ROW_COL_ENTERPRISE_ID + j;
                f[j] = PQgetisnull(res, i, c) ? NULL : PQgetvalue(res, i, c);
            }
            if (qw_audit_mac(sub, version, kid, v->key,
                             v->prev_state == PREV_MAC ? v->prev : NULL,
                             v->prev_state == PREV_MAC ? sizeof(v->prev)
                                                       : 0, f,
                             mac) != 0) {
                return qw_store_error(v->st, QW_ERR_CRYPTO, "HMAC failed");
            }
            if (CRYPTO_memcmp(mac, stored, sizeof(mac)) != 0) {
                finding(v, seq, "MAC does not match (row edited, inserted, "
                        "or rows moved)");
            }
        }
    }
    /* The next row chains on this stored MAC: the next row's own MAC says
     * whether it really followed this one. */
    memcpy(v->prev, stored, sizeof(v->prev));
    v->prev_state = PREV_MAC;
    return QW_OK;
}

qw_status qw_audit_verify(qw_store *st, const char *ent,
                          qw_audit_report *out)
{
    verifier v;
    const char *params[2];
    apr_pool_t *sub;
    qw_status rc = QW_OK;
    int64_t eid;

    memset(out, 0, sizeof(*out));
    memset(&v, 0, sizeof(v));
    v.st = st;
    v.out = out;
    out->findings = apr_array_make(st->pool, 4, sizeof(qw_audit_finding));
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
    params[1] = NULL;             /* first batch: from the lowest seq */

    for (;;) {
        PGresult *res;
        int i, n;

        /* Batches keep memory bounded on long chains; every row is read,
         * also those with seq < 1 that are not part of the chain. */
        res = qw_store_exec(st, sql_audit_rows, 2, params, &rc);
        if (res == NULL) {
            break;
        }
        n = PQntuples(res);
        for (i = 0; i < n && rc == QW_OK; i++) {
            rc = verify_row(&v, res, i, sub);
        }
        if (n > 0) {
            params[1] = apr_pstrdup(st->pool, PQgetvalue(res, n - 1,
                                                         AUDIT_ROW_COL_SEQ));
        }
        PQclear(res);
        apr_pool_clear(sub);
        if (rc != QW_OK || n < VERIFY_BATCH) {
            break;
        }
    }
    OPENSSL_cleanse(v.key, sizeof(v.key));
    apr_pool_destroy(sub);
    return rc;
}

#define AUDIT_HEAD_COLS(X, L) \
    X(SEQ, " seq") \
    L(MAC_HEX, " encode(mac, 'hex')")
#define AUDIT_HEAD_COL_ENUM(name, expr) AUDIT_HEAD_COL_##name,
enum { AUDIT_HEAD_COLS(AUDIT_HEAD_COL_ENUM, AUDIT_HEAD_COL_ENUM) };
static const char sql_audit_head[] =
    "SELECT" AUDIT_HEAD_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM audit_log"
    " WHERE enterprise_id = $1 AND seq >= 1"
    " ORDER BY seq DESC LIMIT 1";

qw_status qw_audit_head(qw_store *st, const char *ent, int64_t *seq,
                        const char **mac_hex)
{
    const char *params[1];
    PGresult *res;
    qw_status rc = QW_OK;
    int64_t eid;

    *seq = 0;
    *mac_hex = "";
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    res = qw_store_read(st, sql_audit_head, 1, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        *seq = apr_atoi64(PQgetvalue(res, 0, AUDIT_HEAD_COL_SEQ));
        *mac_hex = apr_pstrdup(st->pool,
                               PQgetisnull(res, 0, AUDIT_HEAD_COL_MAC_HEX)
                               ? "" : PQgetvalue(res, 0,
                                                 AUDIT_HEAD_COL_MAC_HEX));
    }
    PQclear(res);
    return QW_OK;
}

static const char sql_audit_row_mac[] =
    "SELECT encode(mac, 'hex') FROM audit_log"
    " WHERE enterprise_id = $1 AND seq = $2";

qw_status qw_audit_verify_head(qw_store *st, const char *ent, int64_t seq,
                               const char *mac_hex, qw_audit_report *out)
{
    const char *params[2];
    PGresult *res;
    qw_status rc = QW_OK;
    int64_t eid;
    verifier v;
    const char *have;

    memset(&v, 0, sizeof(v));
    v.st = st;
    v.out = out;
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, seq);
    res = qw_store_read(st, sql_audit_row_mac, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    have = PQntuples(res) == 1 && !PQgetisnull(res, 0, QW_COL_ONLY)
           ? apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY)) : NULL;
    PQclear(res);
    if (have == NULL) {
        if (out->last_seq < seq) {
            finding(&v, seq, "the recorded head is seq %s, the log ends at "
                    "seq %s: rows %s to %s were cut off (lost in a "
                    "fail-over, a restore, or removed)",
                    qw_i64(st->pool, seq), qw_i64(st->pool, out->last_seq),
                    qw_i64(st->pool, out->last_seq + 1),
                    qw_i64(st->pool, seq));
        }
        else {
            finding(&v, seq, "the recorded head, row %s, is missing",
                    qw_i64(st->pool, seq));
        }
    }
    else if (strlen(have) != strlen(mac_hex)
             || CRYPTO_memcmp(have, mac_hex, strlen(have)) != 0) {
        finding(&v, seq, "row %s is not the recorded head (its MAC "
                "differs): the log was rewritten from there",
                qw_i64(st->pool, seq));
    }
    return QW_OK;
}

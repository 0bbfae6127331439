/* The private mailbox (R10): messages sealed once per recipient, revealed
 * and destroyed in one transaction, wiped with the member.  Schema in
 * sql/016_mailbox.sql, the destruction model in docs/mailbox.md. */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "store/store.h"
#include "util/envelope.h"
#include "util/mailatt.h"
#include "util/json.h"
#include "util/text.h"

#define AUDIT_MODULE "news"
#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define GC_BATCH 500
/* copies sealed per INSERT: bounded by count and by hex text size */
#define COPY_BATCH_ROWS 200
#define COPY_BATCH_HEX (8 * 1024 * 1024)

/* --- input checks ------------------------------------------------------ */

/* A message body: well-formed UTF-8 without control characters other than
 * newline, carriage return and tab.  Those are ASCII bytes, never inside a
 * multi-byte sequence, so each run between them is checked on its own. */
static int valid_body(const char *s, size_t len)
{
    size_t i, start = 0;

    for (i = 0; i <= len; i++) {
        if (i == len || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
            if (!qw_valid_utf8_text(s + start, i - start)) {
                return 0;
            }
            start = i + 1;
        }
    }
    return 1;
}

/* A comma separated list, trimmed, empty items dropped, optionally
 * lower-cased (accounts); NULL or "" gives "". */
static const char *norm_csv(apr_pool_t *p, const char *csv, int lower)
{
    char *copy, *tok, *last;
    const char *out = "";

    if (csv == NULL) {
        return "";
    }
    copy = apr_pstrdup(p, csv);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        char *e;

        while (*tok == ' ' || *tok == '\t') {
            tok++;
        }
        e = tok + strlen(tok);
        while (e > tok && (e[-1] == ' ' || e[-1] == '\t')) {
            *--e = '\0';
        }
        if (*tok == '\0') {
            continue;
        }
        if (lower) {
            tok = qw_ascii_lower(p, tok);
        }
        out = *out ? apr_pstrcat(p, out, ",", tok, NULL) : tok;
    }
    return out;
}

static long count_csv(const char *csv)
{
    long n = *csv ? 1 : 0;

    for (; *csv; csv++) {
        n += *csv == ',';
    }
    return n;
}

static qw_status check_sender(qw_store *st, const qw_mail_sender *f)
{
    if (f == NULL || f->kind == NULL
        || (strcmp(f->kind, "admin") == 0 ? f->admin_id <= 0
            : strcmp(f->kind, "member") == 0 ? f->member_id <= 0
            : strcmp(f->kind, "operator") != 0)) {
        return qw_store_error(st, QW_ERR_INVALID, "the sender must be an "
                              "admin account, a member or the operator");
    }
    return QW_OK;
}

/* SQL condition "the message m is from f" with f's id as parameter $n:
 * admins and the operator share what admins and the operator sent; a
 * member has only their own. */
static const char *sender_cond(qw_store *st, const qw_mail_sender *f, int n,
                               const char **param)
{
    if (strcmp(f->kind, "member") == 0) {
        *param = qw_i64(st->pool, f->member_id);
        return apr_psprintf(st->pool, " m.sender_kind = 'member' AND "
                            "m.sender_member_id = $%d::bigint", n);
    }
    *param = NULL;
    return apr_psprintf(st->pool, " m.sender_kind IN ('admin', 'operator') "
                        "AND $%d::bigint IS NULL", n);
}

static const char *actor(qw_store *st)
{
    return st->who.actor && *st->who.actor ? st->who.actor : "system";
}

/* --- reading items ----------------------------------------------------- */

/* The columns of a message (m) and, where there is one, a copy (c); the
 * FROM clause joins the sender's account (sa) and member (sm). */
#define ITEM_COLS(X, L) \
    X(ID, " m.message_id") \
    X(TITLE, " m.title") \
    X(SENDER_KIND, " m.sender_kind") \
    X(SENDER, " CASE m.sender_kind WHEN 'admin' THEN sa.account" \
              " WHEN 'member' THEN sm.display_name ELSE 'operator' END") \
    X(RULE, " m.rule") \
    X(OPEN_MINUTES, " coalesce(m.open_minutes, 0)") \
    X(EXPIRES_AT, " to_char(m.expires_at AT TIME ZONE 'UTC'," \
                  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(CONFIDENTIAL, " m.confidential") \
    X(BODY_BYTES, " m.body_bytes") \
    X(ATTACHMENTS, " m.attachments") \
    X(ATTACHMENT_BYTES, " m.attachment_bytes") \
    X(CREATED_AT, " to_char(m.created_at AT TIME ZONE 'UTC'," \
                  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(STATE, " CASE WHEN c.state = 'destroyed' THEN 'destroyed'" \
             " WHEN m.expires_at <= now() THEN 'expired'" \
             " ELSE c.state END") \
    X(READ_AT, " to_char(c.read_at AT TIME ZONE 'UTC'," \
               " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(DESTROYED_AT, " to_char(c.destroyed_at AT TIME ZONE 'UTC'," \
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    L(DESTROY_REASON, " c.destroy_reason")
#define ITEM_COL_ENUM(name, expr) ITEM_COL_##name,
enum { ITEM_COLS(ITEM_COL_ENUM, ITEM_COL_ENUM) ITEM_NCOLS };

#define ITEM_FROM \
    " FROM mailbox_copies c" \
    " JOIN mailbox_messages m ON m.enterprise_id = c.enterprise_id" \
    "  AND m.message_id = c.message_id" \
    " LEFT JOIN admin_accounts sa ON sa.enterprise_id = m.enterprise_id" \
    "  AND sa.admin_id = m.sender_admin_id" \
    " LEFT JOIN members sm ON sm.enterprise_id = m.enterprise_id" \
    "  AND sm.member_id = m.sender_member_id"

static const char *opt(apr_pool_t *p, PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL
           : apr_pstrdup(p, PQgetvalue(res, row, col));
}

/* Fill it from row i of res, whose first ITEM_NCOLS columns are
 * ITEM_COLS. */
static void fill_item(qw_store *st, PGresult *res, int i, qw_mail_item *it)
{
    apr_pool_t *p = st->pool;

    memset(it, 0, sizeof(*it));
#define COL(name) PQgetvalue(res, i, ITEM_COL_##name)
    it->id = apr_atoi64(COL(ID));
    it->title = apr_pstrdup(p, COL(TITLE));
    it->sender_kind = apr_pstrdup(p, COL(SENDER_KIND));
    it->sender = opt(p, res, i, ITEM_COL_SENDER);
    it->rule = apr_pstrdup(p, COL(RULE));
    it->open_minutes = atoi(COL(OPEN_MINUTES));
    it->expires_at = opt(p, res, i, ITEM_COL_EXPIRES_AT);
    it->confidential = strcmp(COL(CONFIDENTIAL), "t") == 0;
    it->body_bytes = apr_atoi64(COL(BODY_BYTES));
    it->attachments = atoi(COL(ATTACHMENTS));
    it->attachment_bytes = apr_atoi64(COL(ATTACHMENT_BYTES));
    it->created_at = apr_pstrdup(p, COL(CREATED_AT));
    it->state = opt(p, res, i, ITEM_COL_STATE);
    it->read_at = opt(p, res, i, ITEM_COL_READ_AT);
    it->destroyed_at = opt(p, res, i, ITEM_COL_DESTROYED_AT);
    it->destroy_reason = opt(p, res, i, ITEM_COL_DESTROY_REASON);
#undef COL
}

static long clamp_limit(long limit)
{
    return limit <= 0 ? LIST_DEFAULT : limit > LIST_MAX ? LIST_MAX : limit;
}

/* --- destroying copies ------------------------------------------------- */

/* UPDATE that destroys live copies: $1 enterprise, $2 actor, $3 reason,
 * and the caller's condition on c between the two halves.  The rows are
 * locked first in key order (message, member), whoever destroys them: two
 * transactions destroying overlapping sets (a wipe, a sender's destruction,
 * gc) then wait for each other instead of deadlocking.  A reveal locks one
 * copy only.  RETURNING the message of each copy destroyed. */
#define SQL_DESTROY_COPIES_1 \
    "UPDATE mailbox_copies x SET state = 'destroyed'," \
    " destroyed_at = now(), destroyed_by = $2, destroy_reason = $3," \
    " body_enc = NULL, dek_wrapped = NULL, dek_kid = NULL" \
    " FROM (SELECT c.message_id, c.member_id FROM mailbox_copies c" \
    "        WHERE c.enterprise_id = $1 AND c.state <> 'destroyed' AND "
#define SQL_DESTROY_COPIES_2 \
    "        ORDER BY c.message_id, c.member_id FOR UPDATE) k" \
    " WHERE x.enterprise_id = $1 AND x.message_id = k.message_id" \
    "   AND x.member_id = k.member_id RETURNING x.message_id"

static qw_status destroy_copies_res(qw_store *st, const char *where, int n,
                                    const char *const *params,
                                    PGresult **out)
{
    qw_status rc;

    *out = qw_store_exec(st, apr_pstrcat(st->pool, SQL_DESTROY_COPIES_1,
                                         where, SQL_DESTROY_COPIES_2, NULL),
                         n, params, &rc);
    return *out ? QW_OK : rc;
}

static qw_status destroy_copies(qw_store *st, const char *where, int n,
                                const char *const *params, long *count)
{
    PGresult *res;
    qw_status rc;

    if ((rc = destroy_copies_res(st, where, n, params, &res)) != QW_OK) {
        return rc;
    }
    if (count) {
        *count += PQntuples(res);
    }
    PQclear(res);
    return QW_OK;
}

static const char *object_of(qw_store *st, int64_t id)
{
    return apr_pstrcat(st->pool, "mailbox:", qw_i64(st->pool, id), NULL);
}

/* --- send -------------------------------------------------------------- */

typedef struct {
    int64_t eid;
    const qw_mail_sender *from;
    const qw_mail_new *m;
    const char *members, *departments, *roles;   /* normalised */
    qw_mail_att *att;          /* cleaned names, stored types */
    int natt;
    int64_t att_bytes;
    int64_t id;
    int recipients;
} send_baton;

/* The first name of csv that does not exist in the enterprise, or NULL. */
static qw_status first_unknown(qw_store *st, int64_t eid, const char *csv,
                               const char *table, const char *col,
                               const char **bad)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;

    *bad = NULL;
    if (*csv == '\0') {
        return QW_OK;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = csv;
    /* table and col are constants of this file, never input */
    res = qw_store_exec(st, apr_psprintf(st->pool, "SELECT x FROM unnest("
                                         "string_to_array($2, ',')) x WHERE "
                                         "NOT EXISTS (SELECT 1 FROM %s t "
                                         "WHERE t.enterprise_id = $1 AND "
                                         "t.%s = x) LIMIT 1", table, col),
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) == 1) {
        *bad = apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY));
    }
    PQclear(res);
    return QW_OK;
}

/* FOR SHARE OF m, in member order: a status change (disable, depart,
 * delete) committing while the send runs is waited for and the row
 * re-checked, so no live copy is made for a member who just stopped
 * being active; and none can start once the send holds the share. */
static const char sql_recipients[] =
    "SELECT m.member_id FROM members m"
    " WHERE m.enterprise_id = $1 AND m.status = 'active'"
    "   AND ($2::boolean"
    "        OR m.account = ANY (string_to_array($3, ','))"
    "        OR m.access_department_ids && coalesce((SELECT"
    "             array_agg(d.department_id) FROM departments d"
    "             WHERE d.enterprise_id = $1"
    "               AND d.code = ANY (string_to_array($4, ','))), '{}')"
    "        OR m.access_role_ids && coalesce((SELECT array_agg(r.role_id)"
    "             FROM roles r WHERE r.enterprise_id = $1"
    "               AND r.name = ANY (string_to_array($5, ','))), '{}'))"
    " ORDER BY m.member_id FOR SHARE OF m";

/* The sender exists in the enterprise and may send (active). */
static qw_status check_sender_row(qw_store *st, int64_t eid,
                                  const qw_mail_sender *f)
{
    const char *params[2];
    const char *sql;
    PGresult *res;
    qw_status rc;
    int ok;

    if (strcmp(f->kind, "operator") == 0) {
        return QW_OK;
    }
    params[0] = qw_i64(st->pool, eid);
    if (strcmp(f->kind, "admin") == 0) {
        params[1] = qw_i64(st->pool, f->admin_id);
        sql = "SELECT 1 FROM admin_accounts WHERE enterprise_id = $1 AND "
              "admin_id = $2 AND status = 'active'";
    }
    else {
        params[1] = qw_i64(st->pool, f->member_id);
        sql = "SELECT 1 FROM members WHERE enterprise_id = $1 AND "
              "member_id = $2 AND status = 'active'";
    }
    res = qw_store_exec(st, sql, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    ok = PQntuples(res) == 1;
    PQclear(res);
    return ok ? QW_OK
              : qw_store_error(st, QW_ERR_NOTFOUND, "the sender is not an "
                               "active %s of this enterprise", f->kind);
}

/* One INSERT of the sealed copies gathered so far.  Everything of a batch
 * (the sealed bytes, their hex, the joined array literals) lives in the
 * scratch pool sp, cleared after each flush: a send's peak memory is one
 * batch, whatever the number of recipients. */
typedef struct {
    apr_pool_t *sp;
    const char *ids[COPY_BATCH_ROWS], *bodies[COPY_BATCH_ROWS];
    const char *keys[COPY_BATCH_ROWS], *kids[COPY_BATCH_ROWS];
    size_t rows, hex;
    int64_t mids[COPY_BATCH_ROWS];            /* their members */
} copy_batch;

/* Seal and insert member's copies of the attachments, each under a data
 * key of its own, after the member's copy (the foreign key).  The sealed
 * bytes live in a pool of their own, freed member by member. */
static qw_status seal_attachments(qw_store *st, send_baton *b, int64_t mid)
{
    apr_pool_t *sp;
    qw_status rc = QW_OK;
    int i;

    if (b->natt == 0) {
        return QW_OK;
    }
    if (apr_pool_create(&sp, st->pool) != APR_SUCCESS) {
        return qw_store_error(st, QW_ERR_DB, "out of memory");
    }
    for (i = 0; i < b->natt && rc == QW_OK; i++) {
        const qw_mail_att *a = &b->att[i];
        size_t nl = strlen(a->name), ptl = nl + 1 + a->len;
        unsigned char *pt = apr_palloc(sp, ptl), *enc, *w;
        size_t enclen, wlen;
        const char *params[9];
        PGresult *res;

        /* the name is sealed with the bytes: name, NUL, bytes */
        memcpy(pt, a->name, nl + 1);
        memcpy(pt + nl + 1, a->data, a->len);
        if (qw_env_seal_row(sp, st->keys, &qw_env_mailbox_att,
                            qw_env_mailbox_att_row(sp, b->eid, b->id, mid,
                                                   a->idx),
                            pt, ptl, &enc, &enclen, &w, &wlen) != 0) {
            OPENSSL_cleanse(pt, ptl);
            rc = qw_store_error(st, QW_ERR_CRYPTO, "cannot encrypt the "
                                "attachment");
            break;
        }
        OPENSSL_cleanse(pt, ptl);
        params[0] = qw_i64(sp, b->eid);
        params[1] = qw_i64(sp, b->id);
        params[2] = qw_i64(sp, mid);
        params[3] = apr_itoa(sp, a->idx);
        params[4] = a->type;
        params[5] = apr_psprintf(sp, "%lu", (unsigned long)a->len);
        params[6] = qw_store_bytea(sp, enc, enclen);
        params[7] = qw_store_bytea(sp, w, wlen);
        params[8] = apr_psprintf(sp, "%u", (unsigned)qw_env_kid(w, wlen));
        res = qw_store_exec(st, "INSERT INTO mailbox_attachments "
                            "(enterprise_id, message_id, member_id, idx, "
                            "content_type, bytes, blob_enc, dek_wrapped, "
                            "dek_kid) VALUES ($1, $2, $3, $4, $5, $6, "
                            "$7::bytea, $8::bytea, $9)", 9, params, &rc);
        if (res) {
            PQclear(res);
        }
    }
    apr_pool_destroy(sp);
    return rc;
}

/* "{a,b,...}" of the n strings v, in p. */
static const char *array_literal(apr_pool_t *p, const char *const *v,
                                 size_t n)
{
    size_t i, len = 2;
    char *out, *o;

    for (i = 0; i < n; i++) {
        len += strlen(v[i]) + 1;
    }
    o = out = apr_palloc(p, len + 1);
    *o++ = '{';
    for (i = 0; i < n; i++) {
        size_t l = strlen(v[i]);

        if (i > 0) {
            *o++ = ',';
        }
        memcpy(o, v[i], l);
        o += l;
    }
    *o++ = '}';
    *o = '\0';
    return out;
}

static qw_status flush_copies(qw_store *st, send_baton *b, copy_batch *cb)
{
    const char *params[6];
    PGresult *res;
    qw_status rc = QW_OK;
    size_t i, n = cb->rows;

    if (n == 0) {
        return QW_OK;
    }
    params[0] = qw_i64(cb->sp, b->eid);
    params[1] = qw_i64(cb->sp, b->id);
    params[2] = array_literal(cb->sp, cb->ids, cb->rows);
    params[3] = array_literal(cb->sp, cb->bodies, cb->rows);
    params[4] = array_literal(cb->sp, cb->keys, cb->rows);
    params[5] = array_literal(cb->sp, cb->kids, cb->rows);
    res = qw_store_exec(st, "INSERT INTO mailbox_copies (enterprise_id, "
                        "message_id, member_id, body_enc, dek_wrapped, "
                        "dek_kid) SELECT $1, $2, u.m, decode(u.b, 'hex'), "
                        "decode(u.w, 'hex'), u.k FROM unnest($3::bigint[], "
                        "$4::text[], $5::text[], $6::integer[]) "
                        "AS u(m, b, w, k)", 6, params, &rc);
    apr_pool_clear(cb->sp);
    cb->rows = 0;
    cb->hex = 0;
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    for (i = 0; i < n && rc == QW_OK; i++) {
        rc = seal_attachments(st, b, cb->mids[i]);
    }
    return rc;
}

static const char *hex(apr_pool_t *p, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *h = apr_palloc(p, 2 * n + 1);
    size_t i;

    for (i = 0; i < n; i++) {
        h[2 * i] = digits[b[i] >> 4];
        h[2 * i + 1] = digits[b[i] & 15];
    }
    h[2 * n] = '\0';
    return h;
}

static qw_status seal_copies(qw_store *st, send_baton *b, PGresult *who)
{
    copy_batch cb;
    qw_status rc = QW_OK;
    int i;

    memset(&cb, 0, sizeof(cb));
    if (apr_pool_create(&cb.sp, st->pool) != APR_SUCCESS) {
        return qw_store_error(st, QW_ERR_DB, "out of memory");
    }
    for (i = 0; i < PQntuples(who) && rc == QW_OK; i++) {
        int64_t mid = apr_atoi64(PQgetvalue(who, i, QW_COL_ONLY));
        unsigned char *enc, *w;
        size_t enclen, wlen;

        if (qw_env_seal_row(cb.sp, st->keys, &qw_env_mailbox,
                            qw_env_mailbox_row(cb.sp, b->eid, b->id, mid),
                            (const unsigned char *)b->m->body, b->m->len,
                            &enc, &enclen, &w, &wlen) != 0) {
            rc = qw_store_error(st, QW_ERR_CRYPTO, "cannot encrypt the "
                                "message");
            break;
        }
        cb.mids[cb.rows] = mid;
        cb.ids[cb.rows] = qw_i64(cb.sp, mid);
        cb.bodies[cb.rows] = hex(cb.sp, enc, enclen);
        cb.keys[cb.rows] = hex(cb.sp, w, wlen);
        cb.kids[cb.rows] = apr_psprintf(cb.sp, "%u",
                                        (unsigned)qw_env_kid(w, wlen));
        cb.rows++;
        cb.hex += 2 * (enclen + wlen);
        if (cb.rows >= COPY_BATCH_ROWS || cb.hex >= COPY_BATCH_HEX) {
            rc = flush_copies(st, b, &cb);
        }
    }
    if (rc == QW_OK) {
        rc = flush_copies(st, b, &cb);
    }
    apr_pool_destroy(cb.sp);
    return rc;
}

/* Every name of the audience exists in the enterprise (QW_ERR_NOTFOUND
 * naming the first that does not), and the active members it names:
 * *who, one member_id per row (QW_ERR_INVALID when none or too many). */
static qw_status resolve_recipients(qw_store *st, send_baton *b,
                                    PGresult **who)
{
    static const struct {
        size_t field;
        const char *table, *col, *what;
    } kinds[] = {
        { APR_OFFSETOF(send_baton, members), "members", "account",
          "member" },
        { APR_OFFSETOF(send_baton, departments), "departments", "code",
          "department" },
        { APR_OFFSETOF(send_baton, roles), "roles", "name", "role" },
    };
    const char *params[5], *bad;
    qw_status rc;
    size_t i;
    int n;

    for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        const char *csv = *(const char **)((char *)b + kinds[i].field);

        if ((rc = first_unknown(st, b->eid, csv, kinds[i].table,
                                kinds[i].col, &bad)) != QW_OK) {
            return rc;
        }
        if (bad) {
            return qw_store_error(st, QW_ERR_NOTFOUND, "no %s '%s' in this "
                                  "enterprise", kinds[i].what, bad);
        }
    }
    params[0] = qw_i64(st->pool, b->eid);
    params[1] = b->m->to.all ? "true" : "false";
    params[2] = b->members;
    params[3] = b->departments;
    params[4] = b->roles;
    *who = qw_store_exec(st, sql_recipients, 5, params, &rc);
    if (*who == NULL) {
        return rc;
    }
    n = PQntuples(*who);
    if (n == 0 || n > QW_MAIL_MAX_RECIPIENTS) {
        PQclear(*who);
        *who = NULL;
        return n == 0
               ? qw_store_error(st, QW_ERR_INVALID, "no active member among "
                                "the recipients")
               : qw_store_error(st, QW_ERR_INVALID, "%d recipients: at most "
                                "%d", n, QW_MAIL_MAX_RECIPIENTS);
    }
    return QW_OK;
}

static qw_status send_write(qw_store *st, void *baton, qw_store_audit *audit)
{
    send_baton *b = baton;
    const qw_mail_new *m = b->m;
    const char *params[15];
    PGresult *who = NULL, *res;
    qw_status rc;
    json_t *d;
    int n;

    if ((rc = check_sender_row(st, b->eid, b->from)) != QW_OK
        || (rc = resolve_recipients(st, b, &who)) != QW_OK) {
        return rc;
    }
    n = PQntuples(who);
    if (b->att_bytes > 0 && b->att_bytes * n > QW_MAIL_MAX_ATT_STORED) {
        PQclear(who);
        return qw_store_error(st, QW_ERR_INVALID, "attachments: %s bytes "
                              "for each of %d recipients is above the %d "
                              "MiB one message may store (every copy has "
                              "its own)", qw_i64(st->pool, b->att_bytes), n,
                              QW_MAIL_MAX_ATT_STORED / (1024 * 1024));
    }
    params[0] = qw_i64(st->pool, b->eid);
    params[1] = b->from->kind;
    params[2] = strcmp(b->from->kind, "admin") == 0
                ? qw_i64(st->pool, b->from->admin_id) : NULL;
    params[3] = strcmp(b->from->kind, "member") == 0
                ? qw_i64(st->pool, b->from->member_id) : NULL;
    params[4] = actor(st);
    params[5] = m->title;
    params[6] = m->rule;
    params[7] = strcmp(m->rule, "read_once") == 0
                ? apr_itoa(st->pool, m->open_minutes > 0
                           ? m->open_minutes : QW_MAIL_OPEN_MINUTES_DEFAULT)
                : NULL;
    params[8] = m->expires_at;
    params[9] = m->expires_in > 0 ? qw_i64(st->pool, m->expires_in) : NULL;
    params[10] = m->confidential ? "true" : "false";
    params[11] = qw_i64(st->pool, (int64_t)m->len);
    params[12] = apr_itoa(st->pool, n);
    params[13] = apr_itoa(st->pool, b->natt);
    params[14] = qw_i64(st->pool, b->att_bytes);
    res = qw_store_exec(st, "INSERT INTO mailbox_messages (enterprise_id, "
                        "sender_kind, sender_admin_id, sender_member_id, "
                        "sender_actor, title, rule, open_minutes, expires_at,"
                        " confidential, body_bytes, recipients, attachments,"
                        " attachment_bytes) SELECT $1, "
                        "$2, $3, $4, $5, $6, $7, $8, x.at, $11, $12, $13, "
                        "$14, $15 "
                        "FROM (SELECT coalesce($9::timestamptz, now() + "
                        "make_interval(secs => $10::double precision)) AS at)"
                        " x WHERE x.at IS NULL OR (isfinite(x.at) AND x.at > now()"
                        " AND x.at <= now() + interval '3660 days') "
                        "RETURNING message_id", 15, params, &rc);
    if (res == NULL) {
        PQclear(who);
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        PQclear(who);
        /* infinity, or centuries ahead, would make a message never
         * expire under a rule that promises it does */
        return qw_store_error(st, QW_ERR_INVALID, "the expiry time must be "
                              "in the future and at most ten years ahead");
    }
    b->id = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    rc = seal_copies(st, b, who);
    PQclear(who);
    if (rc != QW_OK) {
        return rc;
    }
    b->recipients = n;
    /* named members are counted, not named: accounts are personal data
     * that must go with the member, and the log outlives them */
    d = json_pack("{s:s, s:i, s:b, s:I, s:o, s:o, s:I, s:b}",
                  "rule", m->rule, "recipients", n,
                  "confidential", m->confidential,
                  "body_bytes", (json_int_t)m->len,
                  "departments", qw_json_csv(b->departments),
                  "roles", qw_json_csv(b->roles),
                  "members", (json_int_t)count_csv(b->members),
                  "all", m->to.all);
    if (d && !m->confidential) {
        json_object_set_new(d, "title", json_string(m->title));
    }
    if (d && params[7]) {
        json_object_set_new(d, "open_minutes", json_integer(atoi(params[7])));
    }
    if (d && b->natt > 0) {
        /* how many and how large, never their names */
        json_object_set_new(d, "attachments", json_integer(b->natt));
        json_object_set_new(d, "attachment_bytes",
                            json_integer((json_int_t)b->att_bytes));
    }
    audit->enterprise_id = b->eid;
    audit->module = AUDIT_MODULE;
    audit->action = "mailbox_send";
    audit->object = object_of(st, b->id);
    audit->details_json = qw_json_text(st->pool, d);
    return QW_OK;
}

qw_status qw_mailbox_send(qw_store *st, int64_t eid,
                          const qw_mail_sender *from, const qw_mail_new *m,
                          int64_t *id, int *recipients)
{
    send_baton b;
    qw_status rc;
    int rule_ro, rule_exp, rule_kept, i;

    if ((rc = check_sender(st, from)) != QW_OK
        || (rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    if (m == NULL || (rc = qw_store_check_text(st, "title", m->title,
                                               QW_MAIL_TITLE_MAX_CHARS))
                     != QW_OK) {
        return m ? rc : qw_store_error(st, QW_ERR_INVALID, "no message");
    }
    rule_ro = m->rule && strcmp(m->rule, "read_once") == 0;
    rule_exp = m->rule && strcmp(m->rule, "expires_at") == 0;
    rule_kept = m->rule && strcmp(m->rule, "kept") == 0;
    if (!rule_ro && !rule_exp && !rule_kept) {
        return qw_store_error(st, QW_ERR_INVALID, "rule must be read_once, "
                              "expires_at or kept");
    }
    if (m->open_minutes < 0 || m->open_minutes > QW_MAIL_OPEN_MINUTES_MAX
        || (!rule_ro && m->open_minutes != 0)) {
        return qw_store_error(st, QW_ERR_INVALID, "open minutes: 1..%d, and "
                              "only for read_once", QW_MAIL_OPEN_MINUTES_MAX);
    }
    if ((m->expires_at && *m->expires_at && m->expires_in > 0)
        || m->expires_in < 0) {
        return qw_store_error(st, QW_ERR_INVALID, "give the expiry as a time"
                              " or as seconds from now, not both");
    }
    if (m->expires_at && *m->expires_at == '\0') {
        return qw_store_error(st, QW_ERR_INVALID, "empty expiry time");
    }
    if (rule_exp && m->expires_at == NULL && m->expires_in <= 0) {
        return qw_store_error(st, QW_ERR_INVALID, "rule expires_at needs an "
                              "expiry time");
    }
    if (rule_kept && (m->expires_at || m->expires_in > 0)) {
        return qw_store_error(st, QW_ERR_INVALID, "a kept message has no "
                              "expiry time");
    }
    if (m->len > QW_MAIL_MAX_BODY) {
        return qw_store_error(st, QW_ERR_INVALID, "body too large: at most "
                              "%d bytes", QW_MAIL_MAX_BODY);
    }
    if (m->len == 0 || m->body == NULL || !valid_body(m->body, m->len)) {
        return qw_store_error(st, QW_ERR_INVALID, "the body must be "
                              "non-empty UTF-8 text (newlines and tabs "
                              "allowed, no other control characters)");
    }
    memset(&b, 0, sizeof(b));
    if (m->natt < 0 || m->natt > QW_MAIL_MAX_ATTACHMENTS
        || (m->natt > 0 && m->att == NULL)) {
        return qw_store_error(st, QW_ERR_INVALID, "attachments: at most %d",
                              QW_MAIL_MAX_ATTACHMENTS);
    }
    b.natt = m->natt;
    b.att = apr_pcalloc(st->pool, sizeof(*b.att) * (m->natt + 1));
    for (i = 0; i < m->natt; i++) {
        qw_mail_att *a = &b.att[i];

        if (m->att[i].data == NULL || m->att[i].len == 0
            || m->att[i].len > QW_MAIL_MAX_ATTACHMENT) {
            return qw_store_error(st, QW_ERR_INVALID, "attachment %d: 1 to "
                                  "%d bytes", i + 1, QW_MAIL_MAX_ATTACHMENT);
        }
        a->idx = i + 1;
        a->name = qw_mailatt_name(st->pool, m->att[i].name);
        a->type = qw_mailatt_type(st->pool, m->att[i].type, m->att[i].data,
                                  m->att[i].len);
        a->data = m->att[i].data;
        a->len = m->att[i].len;
        if (rule_ro && !qw_mailatt_inline(a->type)) {
            /* a read-once message's attachments come only with the reveal
             * that destroys it, and only images are shown there */
            return qw_store_error(st, QW_ERR_INVALID, "attachment %d: a "
                                  "read-once message takes images only "
                                  "(PNG, JPEG, GIF, WebP)", i + 1);
        }
        b.att_bytes += (int64_t)a->len;
    }
    b.eid = eid;
    b.from = from;
    b.m = m;
    b.members = norm_csv(st->pool, m->to.members, 1);
    b.departments = norm_csv(st->pool, m->to.departments, 0);
    b.roles = norm_csv(st->pool, m->to.roles, 0);
    if (!m->to.all && !*b.members && !*b.departments && !*b.roles) {
        return qw_store_error(st, QW_ERR_INVALID, "no recipient: name "
                              "members, departments or roles");
    }
    rc = qw_store_write(st, send_write, &b);
    if (rc == QW_OK) {
        if (id) {
            *id = b.id;
        }
        if (recipients) {
            *recipients = b.recipients;
        }
    }
    return rc;
}

/* --- list, get --------------------------------------------------------- */

qw_status qw_mailbox_list(qw_store *st, int64_t eid, int64_t member,
                          long limit, long offset, apr_array_header_t **out)
{
    const char *params[4];
    PGresult *res;
    qw_status rc;
    int i;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, member);
    params[2] = apr_ltoa(st->pool, clamp_limit(limit));
    params[3] = apr_ltoa(st->pool, offset > 0 ? offset : 0);
    res = qw_store_read(st, "SELECT" ITEM_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
                        ITEM_FROM
                        " WHERE c.enterprise_id = $1 AND c.member_id = $2"
                        "   AND c.state <> 'destroyed'"
                        "   AND (m.expires_at IS NULL"
                        "        OR m.expires_at > now())"
                        " ORDER BY c.message_id DESC LIMIT $3 OFFSET $4",
                        4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_mail_item));
    for (i = 0; i < PQntuples(res); i++) {
        fill_item(st, res, i, apr_array_push(*out));
    }
    PQclear(res);
    return QW_OK;
}

qw_status qw_mailbox_get(qw_store *st, int64_t eid, int64_t member,
                         int64_t id, qw_mail_item *out)
{
    const char *params[3];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, member);
    params[2] = qw_i64(st->pool, id);
    res = qw_store_read(st, "SELECT" ITEM_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
                        ITEM_FROM
                        " WHERE c.enterprise_id = $1 AND c.member_id = $2"
                        "   AND c.message_id = $3", 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such message in the "
                              "member's mailbox");
    }
    fill_item(st, res, 0, out);
    PQclear(res);
    return QW_OK;
}

/* --- reveal ------------------------------------------------------------ */

typedef struct {
    int64_t eid, member, id;
    qw_mail_item item;
    qw_mail_gone gone;
    unsigned char *pt;
    size_t len;
    apr_array_header_t *atts;  /* qw_mail_att, decrypted */
} reveal_baton;

#define ATT_COLS(X, L) \
    X(IDX, " a.idx") \
    X(TYPE, " a.content_type") \
    X(BLOB_HEX, " encode(a.blob_enc, 'hex')") \
    L(DEK_HEX, " encode(a.dek_wrapped, 'hex')")
#define ATT_COL_ENUM(name, expr) ATT_COL_##name,
enum { ATT_COLS(ATT_COL_ENUM, ATT_COL_ENUM) };

/* Open row i of res (ATT_COLS from column off on) as an attachment of
 * the member's copy. */
static qw_status open_att(qw_store *st, int64_t eid, int64_t id,
                          int64_t member, PGresult *res, int i, int off,
                          qw_mail_att *a)
{
    unsigned char *enc, *w, *pt;
    size_t enclen, wlen, ptl, nl;

    a->idx = atoi(PQgetvalue(res, i, off + ATT_COL_IDX));
    a->type = apr_pstrdup(st->pool, PQgetvalue(res, i, off + ATT_COL_TYPE));
    if (qw_store_unhex(st->pool, PQgetvalue(res, i, off + ATT_COL_BLOB_HEX), &enc,
                       &enclen) != 0
        || qw_store_unhex(st->pool, PQgetvalue(res, i, off + ATT_COL_DEK_HEX), &w,
                          &wlen) != 0
        || qw_env_open_row(st->pool, st->keys, &qw_env_mailbox_att,
                           qw_env_mailbox_att_row(st->pool, eid, id, member,
                                                  a->idx),
                           enc, enclen, w, wlen, &pt, &ptl) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO, "attachment %d of message "
                              "%s does not decrypt (key missing from the "
                              "key file, or the row was altered)", a->idx,
                              qw_i64(st->pool, id));
    }
    nl = strnlen((const char *)pt, ptl);
    if (nl == ptl) {
        return qw_store_error(st, QW_ERR_CRYPTO, "attachment %d of message "
                              "%s is malformed", a->idx,
                              qw_i64(st->pool, id));
    }
    a->name = (const char *)pt;
    a->data = pt + nl + 1;
    a->len = ptl - nl - 1;
    return QW_OK;
}

/* Every attachment of the member's copy, decrypted, by index. */
static qw_status open_atts(qw_store *st, int64_t eid, int64_t id,
                           int64_t member, apr_array_header_t **out)
{
    const char *params[3];
    PGresult *res;
    qw_status rc = QW_OK;
    int i;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, id);
    params[2] = qw_i64(st->pool, member);
    res = qw_store_exec(st, "SELECT" ATT_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
                        " FROM mailbox_attachments a WHERE a.enterprise_id ="
                        " $1 AND a.message_id = $2 AND a.member_id = $3"
                        " ORDER BY a.idx", 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1, sizeof(qw_mail_att));
    for (i = 0; i < PQntuples(res) && rc == QW_OK; i++) {
        rc = open_att(st, eid, id, member, res, i, 0, apr_array_push(*out));
    }
    PQclear(res);
    return rc;
}

static void cleanse_atts(apr_array_header_t *atts)
{
    int i;

    for (i = 0; atts && i < atts->nelts; i++) {
        qw_mail_att *a = &APR_ARRAY_IDX(atts, i, qw_mail_att);

        if (a->name) {
            OPENSSL_cleanse((void *)a->name,
                            strlen(a->name) + 1 + a->len);
        }
    }
}

/* The copy, locked, with what a reveal needs after the item columns. */
#define REVEAL_COLS(X, L) \
    ITEM_COLS(X, X) \
    X(EXPIRED, " coalesce(m.expires_at <= now(), false)") \
    X(BODY_HEX, " encode(c.body_enc, 'hex')") \
    L(DEK_HEX, " encode(c.dek_wrapped, 'hex')")
#define REVEAL_COL_ENUM(name, expr) REVEAL_COL_##name,
enum { REVEAL_COLS(REVEAL_COL_ENUM, REVEAL_COL_ENUM) };

static const char sql_reveal_lock[] =
    "SELECT" REVEAL_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    ITEM_FROM
    " WHERE c.enterprise_id = $1 AND c.member_id = $2 AND c.message_id = $3"
    " FOR UPDATE OF c";

/* A reveal after the message's time: destroy the member's copy (reason
 * expired, by "system"), one audit row; gc destroys the other copies and
 * marks the message.  In the caller's transaction, which holds the copy's
 * lock (and no other: see SQL_DESTROY_COPIES_1). */
static qw_status expire_copy(qw_store *st, int64_t eid, int64_t id,
                             int64_t member)
{
    const char *params[5];
    qw_status rc;
    long n = 0;

    params[0] = qw_i64(st->pool, eid);
    params[1] = "system";
    params[2] = "expired";
    params[3] = qw_i64(st->pool, id);
    params[4] = qw_i64(st->pool, member);
    if ((rc = destroy_copies(st, "c.message_id = $4 AND c.member_id = $5",
                             5, params, &n)) != QW_OK) {
        return rc;
    }
    return qw_audit_append(st, eid, AUDIT_MODULE, "mailbox_destroy",
                           object_of(st, id), "success", "expired",
                           qw_json_text(st->pool,
                                        json_pack("{s:s, s:I, s:I}", "rule",
                                                  "expires_at", "copies",
                                                  (json_int_t)n, "member",
                                                  (json_int_t)member)));
}

static qw_status reveal_write(qw_store *st, void *baton,
                              qw_store_audit *audit)
{
    reveal_baton *b = baton;
    const char *params[5];
    unsigned char *enc, *w;
    size_t enclen, wlen;
    PGresult *res;
    qw_status rc;
    int read_once;

    params[0] = qw_i64(st->pool, b->eid);
    params[1] = qw_i64(st->pool, b->member);
    params[2] = qw_i64(st->pool, b->id);
    res = qw_store_exec(st, sql_reveal_lock, 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such message in the "
                              "member's mailbox");
    }
    fill_item(st, res, 0, &b->item);
    if (PQgetisnull(res, 0, REVEAL_COL_BODY_HEX)) {
        /* destroyed: nothing to change, nothing to log */
        PQclear(res);
        b->gone = b->item.destroy_reason
                  && strcmp(b->item.destroy_reason, "read_once") == 0
                  ? QW_MAIL_GONE_READ
                  : b->item.destroy_reason
                    && strcmp(b->item.destroy_reason, "expired") == 0
                    ? QW_MAIL_GONE_EXPIRED : QW_MAIL_GONE_DESTROYED;
        audit->unchanged = 1;
        return QW_OK;
    }
    if (strcmp(PQgetvalue(res, 0, REVEAL_COL_EXPIRED), "t") == 0) {
        /* expiry is checked on every read, not only by qiweictl gc */
        PQclear(res);
        b->gone = QW_MAIL_GONE_EXPIRED;
        b->item.state = "destroyed";
        b->item.destroy_reason = "expired";
        return expire_copy(st, b->eid, b->id, b->member);
    }
    if (qw_store_unhex(st->pool, PQgetvalue(res, 0, REVEAL_COL_BODY_HEX),
                       &enc, &enclen) != 0
        || qw_store_unhex(st->pool, PQgetvalue(res, 0, REVEAL_COL_DEK_HEX),
                          &w, &wlen) != 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_DB, "unreadable stored message");
    }
    PQclear(res);
    /* decrypt before the commit: a copy that does not decrypt (key file
     * without its key, an altered row) is left as it is, not destroyed */
    if (qw_env_open_row(st->pool, st->keys, &qw_env_mailbox,
                        qw_env_mailbox_row(st->pool, b->eid, b->id,
                                           b->member),
                        enc, enclen, w, wlen, &b->pt, &b->len) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO, "message %s does not "
                              "decrypt (key missing from the key file, or "
                              "the row was altered)",
                              qw_i64(st->pool, b->id));
    }
    /* the attachments too, before anything is destroyed: the UPDATE below
     * deletes a read-once copy's attachments (sql/017's trigger) */
    if ((rc = open_atts(st, b->eid, b->id, b->member, &b->atts)) != QW_OK) {
        return rc;
    }
    read_once = strcmp(b->item.rule, "read_once") == 0;
    params[3] = actor(st);
    params[4] = read_once ? "read_once" : NULL;
    res = qw_store_exec(st, "UPDATE mailbox_copies SET "
                        "read_at = coalesce(read_at, now()), "
                        "state = CASE WHEN $5::text IS NULL THEN 'read'"
                        " ELSE 'destroyed' END, "
                        "destroyed_at = CASE WHEN $5::text IS NULL THEN NULL"
                        " ELSE now() END, "
                        "destroyed_by = CASE WHEN $5::text IS NULL THEN NULL"
                        " ELSE $4 END, destroy_reason = $5, "
                        "body_enc = CASE WHEN $5::text IS NULL THEN body_enc"
                        " END, "
                        "dek_wrapped = CASE WHEN $5::text IS NULL THEN "
                        "dek_wrapped END, "
                        "dek_kid = CASE WHEN $5::text IS NULL THEN dek_kid "
                        "END "
                        "WHERE enterprise_id = $1 AND member_id = $2 AND "
                        "message_id = $3 AND state <> 'destroyed'",
                        5, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    b->gone = QW_MAIL_REVEALED;
    b->item.state = read_once ? "destroyed" : "read";
    if (read_once) {
        b->item.destroy_reason = "read_once";
    }
    audit->enterprise_id = b->eid;
    audit->module = AUDIT_MODULE;
    audit->action = "mailbox_read";
    audit->object = object_of(st, b->id);
    audit->reason = read_once ? "read_once" : NULL;
    audit->details_json =
        qw_json_text(st->pool, json_pack("{s:s, s:I, s:b}", "rule",
                                         b->item.rule, "member",
                                         (json_int_t)b->member, "destroyed",
                                         read_once));
    return QW_OK;
}

qw_status qw_mailbox_reveal(qw_store *st, int64_t eid, int64_t member,
                            int64_t id, qw_mail_item *item,
                            qw_mail_gone *gone, const char **body,
                            size_t *len)
{
    return qw_mailbox_reveal_all(st, eid, member, id, item, gone, body, len,
                                 NULL);
}

qw_status qw_mailbox_reveal_all(qw_store *st, int64_t eid, int64_t member,
                                int64_t id, qw_mail_item *item,
                                qw_mail_gone *gone, const char **body,
                                size_t *len, apr_array_header_t **atts)
{
    reveal_baton b;
    qw_status rc;

    if (atts) {
        *atts = NULL;
    }
    *body = NULL;
    *len = 0;
    *gone = QW_MAIL_GONE_DESTROYED;
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    memset(&b, 0, sizeof(b));
    b.eid = eid;
    b.member = member;
    b.id = id;
    rc = qw_store_write(st, reveal_write, &b);
    if (rc != QW_OK) {
        if (b.pt) {
            OPENSSL_cleanse(b.pt, b.len);
        }
        cleanse_atts(b.atts);
        return rc;
    }
    *gone = b.gone;
    if (item) {
        *item = b.item;
    }
    if (b.gone == QW_MAIL_REVEALED) {
        *body = (const char *)b.pt;
        *len = b.len;
        if (atts) {
            *atts = b.atts;
        }
    }
    return QW_OK;
}

/* --- download ---------------------------------------------------------- */

#define DL_COLS(X, L) \
    X(RULE, " m.rule") \
    X(STATE, " c.state") \
    X(REASON, " c.destroy_reason") \
    X(EXPIRED, " coalesce(m.expires_at <= now(), false)") \
    L(HAS, " a.idx IS NOT NULL")
#define DL_COL_ENUM(name, expr) DL_COL_##name,
enum { DL_COLS(DL_COL_ENUM, DL_COL_ENUM) DL_NCOLS };

qw_status qw_mailbox_attachment(qw_store *st, int64_t eid, int64_t member,
                                int64_t id, int idx, qw_mail_att *out,
                                qw_mail_gone *gone)
{
    const char *params[4];
    PGresult *res;
    qw_status rc;
    const char *reason;

    memset(out, 0, sizeof(*out));
    *gone = QW_MAIL_GONE_DESTROYED;
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    if (idx < 1 || idx > QW_MAIL_MAX_ATTACHMENTS) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such attachment");
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, member);
    params[2] = qw_i64(st->pool, id);
    params[3] = apr_itoa(st->pool, idx);
    /* one statement: the copy, its message and the attachment as they are
     * at one instant (a destruction commits before or after it, whole) */
    res = qw_store_read(st, "SELECT" DL_COLS(QW_COL_SQL, QW_COL_SQL_LAST) ","
                        ATT_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
                        " FROM mailbox_copies c JOIN mailbox_messages m"
                        "   ON m.enterprise_id = c.enterprise_id"
                        "  AND m.message_id = c.message_id"
                        " LEFT JOIN mailbox_attachments a"
                        "   ON a.enterprise_id = c.enterprise_id"
                        "  AND a.message_id = c.message_id"
                        "  AND a.member_id = c.member_id AND a.idx = $4"
                        " WHERE c.enterprise_id = $1 AND c.member_id = $2"
                        "   AND c.message_id = $3", 4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1
        || strcmp(PQgetvalue(res, 0, DL_COL_RULE), "read_once") == 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such attachment in "
                              "the member's mailbox");
    }
    if (strcmp(PQgetvalue(res, 0, DL_COL_STATE), "destroyed") == 0) {
        reason = PQgetvalue(res, 0, DL_COL_REASON);
        *gone = strcmp(reason, "expired") == 0 ? QW_MAIL_GONE_EXPIRED
                                               : QW_MAIL_GONE_DESTROYED;
        PQclear(res);
        return QW_OK;
    }
    if (strcmp(PQgetvalue(res, 0, DL_COL_EXPIRED), "t") == 0) {
        /* its time has passed: gc or the next reveal destroys it */
        *gone = QW_MAIL_GONE_EXPIRED;
        PQclear(res);
        return QW_OK;
    }
    if (strcmp(PQgetvalue(res, 0, DL_COL_HAS), "t") != 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such attachment");
    }
    /* the attachment's columns follow the DL columns */
    rc = open_att(st, eid, id, member, res, 0, DL_NCOLS, out);
    PQclear(res);
    if (rc != QW_OK) {
        return rc;
    }
    *gone = QW_MAIL_REVEALED;
    return QW_OK;
}

/* --- destroy ----------------------------------------------------------- */

typedef struct {
    int64_t eid, member, id;
    const qw_mail_sender *from;
    const char *reason;
    long n;
    int end_sessions;
} destroy_baton;

static qw_status destroy_copy_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    destroy_baton *b = baton;
    const char *params[5];
    PGresult *res;
    qw_status rc;
    int exists;

    params[0] = qw_i64(st->pool, b->eid);
    params[1] = actor(st);
    params[2] = "recipient";
    params[3] = qw_i64(st->pool, b->member);
    params[4] = qw_i64(st->pool, b->id);
    if ((rc = destroy_copies(st, "c.member_id = $4 AND c.message_id = $5",
                             5, params, &b->n)) != QW_OK) {
        return rc;
    }
    if (b->n == 0) {
        res = qw_store_exec(st, "SELECT 1 FROM mailbox_copies WHERE "
                            "enterprise_id = $1 AND member_id = $2 AND "
                            "message_id = $3", 3,
                            (const char *const[]){ params[0], params[3],
                                                   params[4] }, &rc);
        if (res == NULL) {
            return rc;
        }
        exists = PQntuples(res) == 1;
        PQclear(res);
        if (!exists) {
            return qw_store_error(st, QW_ERR_NOTFOUND, "no such message in "
                                  "the member's mailbox");
        }
        audit->unchanged = 1;
        return QW_OK;
    }
    audit->enterprise_id = b->eid;
    audit->module = AUDIT_MODULE;
    audit->action = "mailbox_destroy";
    audit->object = object_of(st, b->id);
    audit->reason = "recipient";
    audit->details_json = qw_json_text(st->pool,
                                       json_pack("{s:I}", "member",
                                                 (json_int_t)b->member));
    return QW_OK;
}

qw_status qw_mailbox_destroy_copy(qw_store *st, int64_t eid, int64_t member,
                                  int64_t id, int *changed)
{
    destroy_baton b;
    qw_status rc;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    memset(&b, 0, sizeof(b));
    b.eid = eid;
    b.member = member;
    b.id = id;
    rc = qw_store_write(st, destroy_copy_write, &b);
    if (changed) {
        *changed = rc == QW_OK && b.n > 0;
    }
    return rc;
}

/* Lock message id for destruction by f: its own message for a member;
 * any message of the enterprise for an admin (of module news) or the
 * operator, who moderate (a member's message too, when its sender is gone
 * or abuses the mailbox).  *rule, and *moderated when f is not the sender
 * kind that sent it. */
#define DESTROYABLE_COLS(X, L) \
    X(RULE, " m.rule") \
    L(SENDER_KIND, " m.sender_kind")
#define DESTROYABLE_COL_ENUM(name, expr) DESTROYABLE_COL_##name,
enum { DESTROYABLE_COLS(DESTROYABLE_COL_ENUM, DESTROYABLE_COL_ENUM) };

static qw_status lock_destroyable(qw_store *st, int64_t eid,
                                  const qw_mail_sender *f, int64_t id,
                                  const char **rule, int *moderated)
{
    const char *params[3], *cond;
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, id);
    if (strcmp(f->kind, "member") == 0) {
        cond = sender_cond(st, f, 3, &params[2]);
    }
    else {
        params[2] = NULL;
        cond = " $3::bigint IS NULL";
    }
    res = qw_store_exec(st, apr_pstrcat(st->pool, "SELECT"
                                        DESTROYABLE_COLS(QW_COL_SQL,
                                                         QW_COL_SQL_LAST)
                                        " FROM mailbox_messages m WHERE "
                                        "m.enterprise_id = $1 AND "
                                        "m.message_id = $2 AND", cond,
                                        " FOR UPDATE", NULL),
                        3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no message %s from this "
                              "sender", qw_i64(st->pool, id));
    }
    *rule = apr_pstrdup(st->pool, PQgetvalue(res, 0, DESTROYABLE_COL_RULE));
    *moderated = strcmp(PQgetvalue(res, 0, DESTROYABLE_COL_SENDER_KIND),
                        "member") == 0
                 && strcmp(f->kind, "member") != 0;
    PQclear(res);
    return QW_OK;
}

static qw_status destroy_message_write(qw_store *st, void *baton,
                                       qw_store_audit *audit)
{
    destroy_baton *b = baton;
    const char *params[4], *rule = "";
    PGresult *res;
    qw_status rc;
    int moderated = 0;

    if ((rc = lock_destroyable(st, b->eid, b->from, b->id, &rule,
                               &moderated)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, b->eid);
    params[1] = actor(st);
    params[2] = "sender";
    params[3] = qw_i64(st->pool, b->id);
    if ((rc = destroy_copies(st, "c.message_id = $4", 4, params, &b->n))
        != QW_OK) {
        return rc;
    }
    res = qw_store_exec(st, "UPDATE mailbox_messages SET destroyed_at = "
                        "now(), destroyed_by = $2 WHERE enterprise_id = $1 "
                        "AND message_id = $4 AND destroyed_at IS NULL AND "
                        "$3 = 'sender'", 4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    audit->enterprise_id = b->eid;
    audit->module = AUDIT_MODULE;
    audit->action = "mailbox_destroy";
    audit->object = object_of(st, b->id);
    /* the copies' reason stays "sender" (destroyed for everyone); the
     * log says when an admin or the operator removed a member's message,
     * and who (the actor) */
    audit->reason = moderated ? "moderation" : "sender";
    audit->details_json = qw_json_text(st->pool,
                                       json_pack("{s:s, s:I, s:b}", "rule",
                                                 rule, "copies",
                                                 (json_int_t)b->n,
                                                 "moderated", moderated));
    return QW_OK;
}

qw_status qw_mailbox_destroy_message(qw_store *st, int64_t eid,
                                     const qw_mail_sender *from, int64_t id,
                                     long *copies)
{
    destroy_baton b;
    qw_status rc;

    if ((rc = check_sender(st, from)) != QW_OK
        || (rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    memset(&b, 0, sizeof(b));
    b.eid = eid;
    b.from = from;
    b.id = id;
    rc = qw_store_write(st, destroy_message_write, &b);
    if (copies) {
        *copies = rc == QW_OK ? b.n : 0;
    }
    return rc;
}

/* --- wipe -------------------------------------------------------------- */

qw_status qw_mailbox_wipe_tx(qw_store *st, int64_t eid, int64_t member,
                             const char *reason, long *copies)
{
    const char *params[4];
    qw_status rc;
    long n = 0;

    if (reason == NULL || (strcmp(reason, "wipe") != 0
                           && strcmp(reason, "member_status") != 0)) {
        return qw_store_error(st, QW_ERR_INVALID, "wipe reason must be wipe "
                              "or member_status");
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = actor(st);
    params[2] = reason;
    params[3] = qw_i64(st->pool, member);
    if ((rc = destroy_copies(st, "c.member_id = $4", 4, params, &n))
        != QW_OK) {
        return rc;
    }
    if (copies) {
        *copies = n;
    }
    if (n == 0 && strcmp(reason, "wipe") != 0) {
        return QW_OK;       /* a status change with nothing to wipe */
    }
    return qw_audit_append(st, eid, AUDIT_MODULE, "mailbox_wipe",
                           apr_pstrcat(st->pool, "member:", params[3], NULL),
                           "success", reason,
                           qw_json_text(st->pool,
                                        json_pack("{s:I}", "copies",
                                                  (json_int_t)n)));
}

static qw_status wipe_write(qw_store *st, void *baton, qw_store_audit *audit)
{
    destroy_baton *b = baton;
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int exists;

    (void)audit;                        /* qw_mailbox_wipe_tx logs */
    params[0] = qw_i64(st->pool, b->eid);
    params[1] = qw_i64(st->pool, b->member);
    res = qw_store_exec(st, "SELECT 1 FROM members WHERE enterprise_id = $1"
                        " AND member_id = $2 FOR UPDATE", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    exists = PQntuples(res) == 1;
    PQclear(res);
    if (!exists) {
        return qw_store_error(st, QW_ERR_NOTFOUND, "no such member in this "
                              "enterprise");
    }
    if ((rc = qw_mailbox_wipe_tx(st, b->eid, b->member, "wipe", &b->n))
        != QW_OK) {
        return rc;
    }
    return qw_member_kill_sessions(st, b->eid, b->member);
}

qw_status qw_mailbox_wipe(qw_store *st, int64_t eid, int64_t member,
                          long *copies)
{
    destroy_baton b;
    qw_status rc;

    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    memset(&b, 0, sizeof(b));
    b.eid = eid;
    b.member = member;
    rc = qw_store_write(st, wipe_write, &b);
    if (copies) {
        *copies = rc == QW_OK ? b.n : 0;
    }
    return rc;
}

/* --- the sender's view ------------------------------------------------- */

#define SENT_COLS(X, L) \
    X(ID, " m.message_id") \
    X(TITLE, " m.title") \
    X(SENDER_KIND, " m.sender_kind") \
    X(SENDER, " CASE m.sender_kind WHEN 'admin' THEN sa.account" \
              " WHEN 'member' THEN sm.display_name ELSE 'operator' END") \
    X(RULE, " m.rule") \
    X(OPEN_MINUTES, " coalesce(m.open_minutes, 0)") \
    X(EXPIRES_AT, " to_char(m.expires_at AT TIME ZONE 'UTC'," \
                  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(CONFIDENTIAL, " m.confidential") \
    X(BODY_BYTES, " m.body_bytes") \
    X(ATTACHMENTS, " m.attachments") \
    X(ATTACHMENT_BYTES, " m.attachment_bytes") \
    X(CREATED_AT, " to_char(m.created_at AT TIME ZONE 'UTC'," \
                  " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(STATE, " CASE WHEN m.destroyed_at IS NOT NULL THEN 'destroyed'" \
             " WHEN m.expires_at <= now() THEN 'expired'" \
             " ELSE 'sent' END") \
    X(READ_AT, " NULL::text") \
    X(DESTROYED_AT, " to_char(m.destroyed_at AT TIME ZONE 'UTC'," \
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(DESTROY_REASON, " CASE WHEN m.destroyed_at IS NULL THEN NULL" \
                      " WHEN m.destroyed_by = 'system' THEN 'expired'" \
                      " ELSE 'sender' END") \
    X(RECIPIENTS, " m.recipients") \
    X(NREAD, " (SELECT count(*) FROM mailbox_copies c" \
             " WHERE c.enterprise_id = m.enterprise_id" \
             "   AND c.message_id = m.message_id" \
             "   AND c.read_at IS NOT NULL)") \
    L(NDESTROYED, " (SELECT count(*) FROM mailbox_copies c" \
                  " WHERE c.enterprise_id = m.enterprise_id" \
                  "   AND c.message_id = m.message_id" \
                  "   AND c.state = 'destroyed')")
#define SENT_COL_ENUM(name, expr) SENT_COL_##name,
enum { SENT_COLS(SENT_COL_ENUM, SENT_COL_ENUM) };

#define SENT_FROM \
    " FROM mailbox_messages m" \
    " LEFT JOIN admin_accounts sa ON sa.enterprise_id = m.enterprise_id" \
    "  AND sa.admin_id = m.sender_admin_id" \
    " LEFT JOIN members sm ON sm.enterprise_id = m.enterprise_id" \
    "  AND sm.member_id = m.sender_member_id"

static void fill_sent(qw_store *st, PGresult *res, int i, qw_mail_item *it)
{
    /* the first columns are the item's, in the item's order */
    fill_item(st, res, i, it);
    it->recipients = atoi(PQgetvalue(res, i, SENT_COL_RECIPIENTS));
    it->read = atoi(PQgetvalue(res, i, SENT_COL_NREAD));
    it->destroyed = atoi(PQgetvalue(res, i, SENT_COL_NDESTROYED));
}

qw_status qw_mailbox_sent(qw_store *st, int64_t eid,
                          const qw_mail_sender *from, long limit,
                          long offset, apr_array_header_t **out)
{
    const char *params[4], *cond;
    PGresult *res;
    qw_status rc;
    int i;

    if ((rc = check_sender(st, from)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = apr_ltoa(st->pool, clamp_limit(limit));
    params[2] = apr_ltoa(st->pool, offset > 0 ? offset : 0);
    cond = sender_cond(st, from, 4, &params[3]);
    res = qw_store_read(st, apr_pstrcat(st->pool, "SELECT",
                                        SENT_COLS(QW_COL_SQL,
                                                  QW_COL_SQL_LAST),
                                        SENT_FROM " WHERE m.enterprise_id = "
                                        "$1 AND", cond, " ORDER BY "
                                        "m.message_id DESC LIMIT $2 OFFSET "
                                        "$3", NULL), 4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_mail_item));
    for (i = 0; i < PQntuples(res); i++) {
        fill_sent(st, res, i, apr_array_push(*out));
    }
    PQclear(res);
    return QW_OK;
}

#define RECEIPT_COLS(X, L) \
    X(MEMBER_ID, " c.member_id") \
    X(ACCOUNT, " mb.account") \
    X(DISPLAY_NAME, " mb.display_name") \
    X(STATE, " c.state") \
    X(DELIVERED_AT, " to_char(c.delivered_at AT TIME ZONE 'UTC'," \
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(READ_AT, " to_char(c.read_at AT TIME ZONE 'UTC'," \
               " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(DESTROYED_AT, " to_char(c.destroyed_at AT TIME ZONE 'UTC'," \
                    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')") \
    X(DESTROYED_BY, " c.destroyed_by") \
    L(DESTROY_REASON, " c.destroy_reason")
#define RECEIPT_COL_ENUM(name, expr) RECEIPT_COL_##name,
enum { RECEIPT_COLS(RECEIPT_COL_ENUM, RECEIPT_COL_ENUM) };

qw_status qw_mailbox_receipts(qw_store *st, int64_t eid,
                              const qw_mail_sender *from, int64_t id,
                              qw_mail_item *msg, apr_array_header_t **out)
{
    const char *params[3], *cond;
    PGresult *res;
    qw_status rc;
    int i;

    if ((rc = check_sender(st, from)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, id);
    cond = sender_cond(st, from, 3, &params[2]);
    res = qw_store_read(st, apr_pstrcat(st->pool, "SELECT",
                                        SENT_COLS(QW_COL_SQL,
                                                  QW_COL_SQL_LAST),
                                        SENT_FROM " WHERE m.enterprise_id = "
                                        "$1 AND m.message_id = $2 AND", cond,
                                        NULL), 3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no message %s from this "
                              "sender", qw_i64(st->pool, id));
    }
    fill_sent(st, res, 0, msg);
    PQclear(res);
    res = qw_store_read(st, "SELECT" RECEIPT_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
                        " FROM mailbox_copies c JOIN members mb"
                        "   ON mb.enterprise_id = c.enterprise_id"
                        "  AND mb.member_id = c.member_id"
                        " WHERE c.enterprise_id = $1 AND c.message_id = $2"
                        " ORDER BY mb.account", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1,
                          sizeof(qw_mail_receipt));
    for (i = 0; i < PQntuples(res); i++) {
        qw_mail_receipt *r = apr_array_push(*out);

        r->member_id = apr_atoi64(PQgetvalue(res, i, RECEIPT_COL_MEMBER_ID));
        r->account = opt(st->pool, res, i, RECEIPT_COL_ACCOUNT);
        r->display_name = opt(st->pool, res, i, RECEIPT_COL_DISPLAY_NAME);
        r->state = opt(st->pool, res, i, RECEIPT_COL_STATE);
        r->delivered_at = opt(st->pool, res, i, RECEIPT_COL_DELIVERED_AT);
        r->read_at = opt(st->pool, res, i, RECEIPT_COL_READ_AT);
        r->destroyed_at = opt(st->pool, res, i, RECEIPT_COL_DESTROYED_AT);
        r->destroyed_by = opt(st->pool, res, i, RECEIPT_COL_DESTROYED_BY);
        r->destroy_reason = opt(st->pool, res, i, RECEIPT_COL_DESTROY_REASON);
    }
    PQclear(res);
    return QW_OK;
}

/* --- expiry ------------------------------------------------------------ */

typedef struct {
    long messages, copies, batch;
} gc_baton;

#define GC_COLS(X, L) \
    X(EID, " enterprise_id") \
    L(ID, " message_id")
#define GC_COL_ENUM(name, expr) GC_COL_##name,
enum { GC_COLS(GC_COL_ENUM, GC_COL_ENUM) };

/* The due messages ids of one enterprise ("{1,2,3}"): destroy their live
 * copies (in key order), mark them destroyed, one audit row each. */
static qw_status expire_messages(qw_store *st, int64_t eid,
                                 const char *ids, int nids, gc_baton *b)
{
    const char *params[4];
    apr_hash_t *per = apr_hash_make(st->pool);
    PGresult *res;
    qw_status rc;
    int i;

    params[0] = qw_i64(st->pool, eid);
    params[1] = "system";
    params[2] = "expired";
    params[3] = ids;
    if ((rc = destroy_copies_res(st, "c.message_id = ANY ($4::bigint[])", 4,
                                 params, &res)) != QW_OK) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        const char *k = apr_pstrdup(st->pool, PQgetvalue(res, i, QW_COL_ONLY));
        long *c = apr_hash_get(per, k, APR_HASH_KEY_STRING);

        if (c == NULL) {
            c = apr_pcalloc(st->pool, sizeof(*c));
            apr_hash_set(per, k, APR_HASH_KEY_STRING, c);
        }
        (*c)++;
    }
    b->copies += PQntuples(res);
    PQclear(res);
    res = qw_store_exec(st, "UPDATE mailbox_messages SET destroyed_at = "
                        "now(), destroyed_by = $2 WHERE enterprise_id = $1 "
                        "AND message_id = ANY ($4::bigint[]) AND "
                        "destroyed_at IS NULL AND $3 = 'expired' "
                        "RETURNING message_id", 4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    for (i = 0; i < PQntuples(res) && rc == QW_OK; i++) {
        const char *k = PQgetvalue(res, i, QW_COL_ONLY);
        long *c = apr_hash_get(per, k, APR_HASH_KEY_STRING);

        rc = qw_audit_append(st, eid, AUDIT_MODULE, "mailbox_destroy",
                             apr_pstrcat(st->pool, "mailbox:", k, NULL),
                             "success", "expired",
                             qw_json_text(st->pool,
                                          json_pack("{s:s, s:I}", "rule",
                                                    "expires_at", "copies",
                                                    (json_int_t)(c ? *c
                                                                 : 0))));
    }
    (void)nids;
    PQclear(res);
    return rc;
}

static qw_status gc_write(qw_store *st, void *baton, qw_store_audit *audit)
{
    gc_baton *b = baton;
    const char *params[1], *ids = NULL;
    PGresult *res;
    qw_status rc = QW_OK;
    int64_t cur = -1;
    int i, nids = 0;

    b->batch = 0;
    params[0] = apr_itoa(st->pool, GC_BATCH);
    /* the messages (rows others are destroying are skipped: they will be
     * done by then) in key order, like the copies */
    res = qw_store_exec(st, "SELECT" GC_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
                        " FROM mailbox_messages WHERE expires_at <= now() "
                        "AND destroyed_at IS NULL ORDER BY enterprise_id, "
                        "message_id LIMIT $1 FOR UPDATE SKIP LOCKED", 1,
                        params, &rc);
    if (res == NULL) {
        return rc;
    }
    for (i = 0; i <= PQntuples(res) && rc == QW_OK; i++) {
        int64_t eid = i < PQntuples(res)
                      ? apr_atoi64(PQgetvalue(res, i, GC_COL_EID)) : -1;

        if (eid != cur && ids) {
            rc = expire_messages(st, cur, apr_pstrcat(st->pool, "{", ids,
                                                      "}", NULL),
                                 nids, b);
            ids = NULL;
            nids = 0;
        }
        if (i == PQntuples(res)) {
            break;
        }
        cur = eid;
        ids = ids ? apr_pstrcat(st->pool, ids, ",",
                                PQgetvalue(res, i, GC_COL_ID), NULL)
                  : apr_pstrdup(st->pool, PQgetvalue(res, i, GC_COL_ID));
        nids++;
    }
    b->batch = PQntuples(res);
    PQclear(res);
    if (rc == QW_OK && b->batch == 0) {
        audit->unchanged = 1;
    }
    return rc;
}

qw_status qw_mailbox_gc(qw_store *st, long *messages, long *copies)
{
    gc_baton b;
    qw_status rc;

    *messages = *copies = 0;
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    memset(&b, 0, sizeof(b));
    do {
        long before = b.copies;

        if ((rc = qw_store_write(st, gc_write, &b)) != QW_OK) {
            b.copies = before;
            break;
        }
        b.messages += b.batch;
    } while (b.batch == GC_BATCH);
    *messages = b.messages;
    *copies = b.copies;
    return rc;
}

/* --- key rotation ------------------------------------------------------ */

#define REWRAP_COLS(X, L) \
    X(MESSAGE_ID, " message_id") \
    X(MEMBER_ID, " member_id") \
    L(DEK_HEX, " encode(dek_wrapped, 'hex')")
#define REWRAP_COL_ENUM(name, expr) REWRAP_COL_##name,
enum { REWRAP_COLS(REWRAP_COL_ENUM, REWRAP_COL_ENUM) };

typedef struct {
    int64_t eid;
    long n;
} rewrap_baton;

#define REWRAP_ATT_COLS(X, L) \
    X(MESSAGE_ID, " message_id") \
    X(MEMBER_ID, " member_id") \
    X(IDX, " idx") \
    L(DEK_HEX, " encode(dek_wrapped, 'hex')")
#define REWRAP_ATT_COL_ENUM(name, expr) REWRAP_ATT_COL_##name,
enum { REWRAP_ATT_COLS(REWRAP_ATT_COL_ENUM, REWRAP_ATT_COL_ENUM) };

/* The attachments' data keys, like the copies' (sql/017). */
static qw_status rewrap_atts(qw_store *st, rewrap_baton *b)
{
    const char *params[6];
    uint32_t cur = qw_keyring_current(st->keys);
    PGresult *res;
    qw_status rc;
    int i;

    params[0] = qw_i64(st->pool, b->eid);
    params[1] = apr_psprintf(st->pool, "%u", (unsigned)cur);
    res = qw_store_exec(st, "SELECT" REWRAP_ATT_COLS(QW_COL_SQL,
                                                     QW_COL_SQL_LAST)
                        " FROM mailbox_attachments WHERE enterprise_id = $1"
                        " AND dek_kid <> $2 ORDER BY message_id, member_id,"
                        " idx FOR UPDATE", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        int64_t msg = apr_atoi64(PQgetvalue(res, i,
                                            REWRAP_ATT_COL_MESSAGE_ID));
        int64_t mem = apr_atoi64(PQgetvalue(res, i,
                                            REWRAP_ATT_COL_MEMBER_ID));
        int idx = atoi(PQgetvalue(res, i, REWRAP_ATT_COL_IDX));
        unsigned char *w, *nw;
        size_t wl, nwl;
        PGresult *u;

        if (qw_store_unhex(st->pool, PQgetvalue(res, i,
                                                REWRAP_ATT_COL_DEK_HEX),
                           &w, &wl) != 0
            || qw_env_rewrap_row(st->pool, st->keys, &qw_env_mailbox_att,
                                 qw_env_mailbox_att_row(st->pool, b->eid,
                                                        msg, mem, idx),
                                 w, wl, &nw, &nwl) != 0) {
            PQclear(res);
            return qw_store_error(st, QW_ERR_CRYPTO, "the data key of "
                                  "attachment %d of mailbox message %s for "
                                  "member %s does not unwrap; nothing of "
                                  "enterprise %s was changed", idx,
                                  qw_i64(st->pool, msg),
                                  qw_i64(st->pool, mem),
                                  qw_i64(st->pool, b->eid));
        }
        params[2] = qw_i64(st->pool, msg);
        params[3] = qw_i64(st->pool, mem);
        params[4] = apr_itoa(st->pool, idx);
        params[5] = qw_store_bytea(st->pool, nw, nwl);
        u = qw_store_exec(st, "UPDATE mailbox_attachments SET dek_wrapped ="
                          " $6::bytea, dek_kid = $2 WHERE enterprise_id = $1"
                          " AND message_id = $3 AND member_id = $4 AND idx ="
                          " $5", 6, params, &rc);
        if (u == NULL) {
            PQclear(res);
            return rc;
        }
        PQclear(u);
        b->n++;
    }
    PQclear(res);
    return QW_OK;
}

static qw_status rewrap_write(qw_store *st, void *baton,
                              qw_store_audit *audit)
{
    rewrap_baton *b = baton;
    const char *params[5];
    uint32_t cur = qw_keyring_current(st->keys);
    PGresult *res;
    qw_status rc;
    int i;

    b->n = 0;
    params[0] = qw_i64(st->pool, b->eid);
    params[1] = apr_psprintf(st->pool, "%u", (unsigned)cur);
    /* live copies only; in key order, like every destruction */
    res = qw_store_exec(st, "SELECT" REWRAP_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
                        " FROM mailbox_copies WHERE enterprise_id = $1 AND "
                        "dek_kid IS NOT NULL AND dek_kid <> $2 ORDER BY "
                        "message_id, member_id FOR UPDATE", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        int64_t msg = apr_atoi64(PQgetvalue(res, i, REWRAP_COL_MESSAGE_ID));
        int64_t mem = apr_atoi64(PQgetvalue(res, i, REWRAP_COL_MEMBER_ID));
        unsigned char *w, *nw;
        size_t wl, nwl;
        PGresult *u;

        if (qw_store_unhex(st->pool, PQgetvalue(res, i, REWRAP_COL_DEK_HEX),
                           &w, &wl) != 0
            || qw_env_rewrap_row(st->pool, st->keys, &qw_env_mailbox,
                                 qw_env_mailbox_row(st->pool, b->eid, msg,
                                                    mem),
                                 w, wl, &nw, &nwl) != 0) {
            PQclear(res);
            return qw_store_error(st, QW_ERR_CRYPTO, "the data key of "
                                  "mailbox message %s for member %s does "
                                  "not unwrap (its key id is not in the key "
                                  "file, or the row was altered); nothing of "
                                  "enterprise %s was changed",
                                  qw_i64(st->pool, msg),
                                  qw_i64(st->pool, mem),
                                  qw_i64(st->pool, b->eid));
        }
        params[2] = qw_i64(st->pool, msg);
        params[3] = qw_i64(st->pool, mem);
        params[4] = qw_store_bytea(st->pool, nw, nwl);
        u = qw_store_exec(st, "UPDATE mailbox_copies SET dek_wrapped = "
                          "$5::bytea, dek_kid = $2 WHERE enterprise_id = $1 "
                          "AND message_id = $3 AND member_id = $4", 5,
                          params, &rc);
        if (u == NULL) {
            PQclear(res);
            return rc;
        }
        PQclear(u);
        b->n++;
    }
    PQclear(res);
    if ((rc = rewrap_atts(st, b)) != QW_OK) {
        return rc;
    }
    if (b->n == 0) {
        audit->unchanged = 1;
        return QW_OK;
    }
    audit->enterprise_id = b->eid;
    audit->module = "settings";
    audit->action = "rewrap";
    audit->object = "mailbox";
    audit->details_json = qw_json_text(st->pool,
                                       json_pack("{s:I, s:i}", "keys",
                                                 (json_int_t)b->n, "key_id",
                                                 (int)cur));
    return QW_OK;
}

qw_status qw_mailbox_rewrap_all(qw_store *st, long *done)
{
    const char *params[1];
    rewrap_baton b;
    PGresult *res;
    qw_status rc;
    int i;

    *done = 0;
    if ((rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    params[0] = apr_psprintf(st->pool, "%u",
                             (unsigned)qw_keyring_current(st->keys));
    res = qw_store_exec(st, "SELECT enterprise_id FROM mailbox_copies "
                        "WHERE dek_kid IS NOT NULL AND dek_kid <> $1 "
                        "UNION SELECT enterprise_id FROM mailbox_attachments"
                        " WHERE dek_kid <> $1 ORDER BY enterprise_id", 1,
                        params, &rc);
    if (res == NULL) {
        return rc;
    }
    for (i = 0; i < PQntuples(res) && rc == QW_OK; i++) {
        b.eid = apr_atoi64(PQgetvalue(res, i, QW_COL_ONLY));
        if ((rc = qw_store_write(st, rewrap_write, &b)) == QW_OK) {
            *done += b.n;
        }
    }
    PQclear(res);
    return rc;
}

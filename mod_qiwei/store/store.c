/* Store plumbing: transactions, parameterised statements, the mapping of
 * PostgreSQL errors to qw_status, and small helpers shared by the store's
 * files. */
#include <stdarg.h>
#include <string.h>
#include <apr_strings.h>
#include "store/store.h"
#include "util/text.h"

qw_status qw_store_error(qw_store *st, qw_status rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    st->err = apr_pvsprintf(st->pool, fmt, ap);
    va_end(ap);
    return rc;
}

const char *qw_status_name(qw_status rc)
{
    switch (rc) {
    case QW_OK:           return "ok";
    case QW_ERR_INVALID:  return "invalid input";
    case QW_ERR_NOTFOUND: return "not found";
    case QW_ERR_CONFLICT: return "conflict";
    case QW_ERR_DB:       return "database error";
    case QW_ERR_CRYPTO:   return "key or cipher error";
    }
    return "unknown error";
}

const char *qw_i64(apr_pool_t *p, int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, (apr_int64_t)v);
}

/* Strip the trailing newline libpq puts on its messages. */
static const char *chomp(apr_pool_t *p, const char *s)
{
    size_t n;

    if (s == NULL) {
        return "";
    }
    n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r')) {
        n--;
    }
    return apr_pstrndup(p, s, n);
}

/* Map a failed result (or a NULL result) to a status.  The message is
 * PostgreSQL's primary message, which names constraints and values but
 * never contains secrets: we never send a secret as a parameter (only
 * hashes and sealed blobs). */
static qw_status map_error(qw_store *st, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY)
                          : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)
                             : NULL;
    qw_status rc;

    if (msg == NULL) {
        msg = st->db->ops->message(st->db);
    }
    msg = chomp(st->pool, msg);
    if (res == NULL || st->db->ops->lost(st->db) || state == NULL
        || strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0
        || strncmp(state, "53", 2) == 0) {
        return qw_store_error(st, QW_ERR_DB, "database unavailable: %s", msg);
    }
    if (strcmp(state, "23505") == 0 || strcmp(state, "23503") == 0
        || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        rc = QW_ERR_CONFLICT;
    }
    else if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0) {
        rc = QW_ERR_INVALID;
    }
    else if (strcmp(state, "42704") == 0) {
        rc = QW_ERR_NOTFOUND;          /* undefined object, e.g. a role */
    }
    else {
        rc = QW_ERR_DB;
    }
    if (detail != NULL) {
        return qw_store_error(st, rc, "%s (%s)", msg,
                              chomp(st->pool, detail));
    }
    return qw_store_error(st, rc, "%s", msg);
}

/* A result that is not a success becomes a status (and NULL). */
static PGresult *checked(qw_store *st, PGresult *res, qw_status *rc)
{
    ExecStatusType es;
    qw_status r;

    es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
        if (rc) {
            *rc = QW_OK;
        }
        return res;
    }
    r = map_error(st, res);
    PQclear(res);
    if (rc) {
        *rc = r;
    }
    return NULL;
}

PGresult *qw_store_exec(qw_store *st, const char *sql, int n,
                        const char *const *params, qw_status *rc)
{
    return checked(st, st->db->ops->exec(st->db, sql, n, params, 0), rc);
}

PGresult *qw_store_read(qw_store *st, const char *sql, int n,
                        const char *const *params, qw_status *rc)
{
    return checked(st, st->db->ops->exec(st->db, sql, n, params,
                                         QW_SQL_READ), rc);
}

qw_status qw_store_begin(qw_store *st)
{
    qw_status rc;
    PGresult *res = checked(st, st->db->ops->txn(st->db, QW_SQL_BEGIN), &rc);

    PQclear(res);
    return rc;
}

qw_status qw_store_commit(qw_store *st)
{
    PGresult *res;
    qw_status rc;

    res = checked(st, st->db->ops->txn(st->db, QW_SQL_COMMIT), &rc);
    if (res == NULL) {
        return rc;
    }
    /* COMMIT of an aborted transaction "succeeds" as ROLLBACK. */
    if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_DB, "transaction was rolled back");
    }
    PQclear(res);
    return QW_OK;
}

void qw_store_rollback(qw_store *st)
{
    /* Keep the first error message: ROLLBACK's own result is irrelevant. */
    PGresult *res = st->db->ops->txn(st->db, QW_SQL_ROLLBACK);

    PQclear(res);
}

int64_t qw_store_enterprise_id(qw_store *st, const char *code, qw_status *rc)
{
    const char *params[1];
    PGresult *res;
    int64_t id;

    if (code == NULL || !qw_valid_enterprise_code(code)) {
        *rc = qw_store_error(st, QW_ERR_INVALID,
                             "enterprise code '%s' is not valid: 1-63 of "
                             "a-z 0-9 -, starting with a letter or digit",
                             code ? code : "");
        return -1;
    }
    params[0] = code;
    res = qw_store_read(st, "SELECT enterprise_id FROM enterprises "
                        "WHERE code = $1", 1, params, rc);
    if (res == NULL) {
        return -1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        *rc = qw_store_error(st, QW_ERR_NOTFOUND,
                             "no enterprise with code '%s'", code);
        return -1;
    }
    id = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    *rc = QW_OK;
    return id;
}

const char *qw_store_bytea(apr_pool_t *p, const unsigned char *b, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    char *s = apr_palloc(p, 2 * n + 3), *o = s;
    size_t i;

    *o++ = '\\';
    *o++ = 'x';
    for (i = 0; i < n; i++) {
        *o++ = hx[b[i] >> 4];
        *o++ = hx[b[i] & 15];
    }
    *o = '\0';
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int qw_store_unhex(apr_pool_t *p, const char *hex, unsigned char **out,
                   size_t *n)
{
    size_t len = strlen(hex), i;
    unsigned char *b;

    if (len % 2 != 0) {
        return -1;
    }
    b = apr_palloc(p, len / 2 + 1);
    for (i = 0; i < len / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return -1;
        }
        b[i] = (unsigned char)(hi << 4 | lo);
    }
    *out = b;
    *n = len / 2;
    return 0;
}

size_t qw_utf8_chars(const char *s, size_t len)
{
    size_t i, n = 0;

    for (i = 0; i < len; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80) {
            n++;
        }
    }
    return n;
}

qw_status qw_store_check_text(qw_store *st, const char *field, const char *s,
                              size_t maxchars)
{
    size_t len, n;

    if (s == NULL || *s == '\0') {
        return qw_store_error(st, QW_ERR_INVALID, "%s must not be empty",
                              field);
    }
    len = strlen(s);
    if (!qw_valid_utf8_text(s, len)) {
        return qw_store_error(st, QW_ERR_INVALID,
                              "%s is not valid UTF-8 text (or contains "
                              "control characters)", field);
    }
    n = qw_utf8_chars(s, len);
    if (n > maxchars) {
        return qw_store_error(st, QW_ERR_INVALID,
                              "%s is too long: %lu characters, at most %lu",
                              field, (unsigned long)n,
                              (unsigned long)maxchars);
    }
    return QW_OK;
}

qw_status qw_store_need_keys(qw_store *st)
{
    if (st->keys == NULL) {
        return qw_store_error(st, QW_ERR_CRYPTO,
                              "key file needed for this operation "
                              "(sealed fields and the audit log)");
    }
    return QW_OK;
}

PGresult *qw_store_insert(qw_store *st, const char *sql, int n,
                          const char *const *params, qw_status *rc,
                          const char *conflict_fmt, ...)
{
    PGresult *res;
    qw_status r;
    va_list ap;

    res = qw_store_exec(st, sql, n, params, &r);
    if (res == NULL && r == QW_ERR_CONFLICT && conflict_fmt != NULL) {
        /* PostgreSQL names the constraint; the operator wants the thing */
        va_start(ap, conflict_fmt);
        st->err = apr_pvsprintf(st->pool, conflict_fmt, ap);
        va_end(ap);
    }
    if (rc) {
        *rc = r;
    }
    return res;
}

qw_status qw_store_write(qw_store *st, qw_store_write_fn fn, void *baton)
{
    qw_store_audit a;
    qw_status rc;

    memset(&a, 0, sizeof(a));
    if ((rc = qw_store_begin(st)) != QW_OK) {
        return rc;
    }
    rc = fn(st, baton, &a);
    if (rc == QW_OK && a.unchanged) {
        qw_store_rollback(st);          /* nothing changes, nothing logged */
        return QW_OK;
    }
    if (rc == QW_OK && a.action != NULL) {
        rc = qw_audit_append(st, a.enterprise_id, a.module, a.action,
                             a.object, a.result ? a.result : "success",
                             a.reason, a.details_json);
    }
    if (rc == QW_OK && (rc = qw_store_commit(st)) == QW_OK) {
        return QW_OK;
    }
    qw_store_rollback(st);              /* keeps the first error in st->err */
    return rc;
}

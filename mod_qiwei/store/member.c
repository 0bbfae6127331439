/* Directory members: registration with a one-time activation link, status
 * changes that end sessions at once, departments, roles, erasure.  Mobile
 * and e-mail are stored only as AES-GCM blobs bound to their row (R3). */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "store/store.h"
#include "util/json.h"
#include "util/seal.h"
#include "util/text.h"
#include "util/token.h"

#define DISPLAY_NAME_MAX 128
#define MOBILE_MAX 32
#define EMAIL_MAX 254
#define TTL_MAX_HOURS (24 * 30)

typedef struct {
    int64_t id;
    const char *status;
    int has_password;
} member_row;

/* Lower-case and validate an account name. */
static qw_status norm_account(qw_store *st, const char *in, const char **out)
{
    const char *a;

    if (in == NULL || *in == '\0') {
        return qw_store_error(st, QW_ERR_INVALID, "account must not be empty");
    }
    a = qw_ascii_lower(st->pool, in);
    if (a == NULL || !qw_valid_account(a)) {
        return qw_store_error(st, QW_ERR_INVALID, "account '%s' is not valid:"
                              " 1-64 of a-z 0-9 . _ @ -, starting with a "
                              "letter or digit", in);
    }
    *out = a;
    return QW_OK;
}

static qw_status check_mobile(qw_store *st, const char *m)
{
    const char *c;
    int digits = 0;

    if (strlen(m) > MOBILE_MAX) {
        return qw_store_error(st, QW_ERR_INVALID, "mobile is too long (at "
                              "most %d characters)", MOBILE_MAX);
    }
    for (c = m; *c; c++) {
        if (*c >= '0' && *c <= '9') {
            digits++;
        }
        else if (!strchr("+- ()", *c)) {
            return qw_store_error(st, QW_ERR_INVALID, "mobile may contain "
                                  "only digits, spaces and + - ( )");
        }
    }
    if (digits < 3) {
        return qw_store_error(st, QW_ERR_INVALID, "mobile has too few "
                              "digits");
    }
    return QW_OK;
}

static qw_status check_email(qw_store *st, const char *e)
{
    size_t len = strlen(e);
    const char *at = strchr(e, '@'), *c;

    if (len > EMAIL_MAX) {
        return qw_store_error(st, QW_ERR_INVALID, "email is too long (at most"
                              " %d bytes)", EMAIL_MAX);
    }
    if (!qw_valid_utf8_text(e, len) || at == NULL || at == e
        || at[1] == '\0' || strchr(at + 1, '@') != NULL) {
        return qw_store_error(st, QW_ERR_INVALID, "email is not a valid "
                              "address");
    }
    for (c = e; *c; c++) {
        if (*c == ' ' || *c == '\t') {
            return qw_store_error(st, QW_ERR_INVALID, "email must not "
                                  "contain spaces");
        }
    }
    return QW_OK;
}

/* Split a comma separated list of department codes; NULL or "" is the
 * empty list. */
static qw_status parse_codes(qw_store *st, const char *csv,
                             apr_array_header_t **out)
{
    char *copy, *tok, *last;

    *out = apr_array_make(st->pool, 4, sizeof(const char *));
    if (csv == NULL || *csv == '\0') {
        return QW_OK;
    }
    if (csv[0] == ',' || csv[strlen(csv) - 1] == ',' || strstr(csv, ",,")) {
        return qw_store_error(st, QW_ERR_INVALID, "department list '%s' has "
                              "an empty entry", csv);
    }
    copy = apr_pstrdup(st->pool, csv);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        if (!qw_valid_department_code(tok)) {
            return qw_store_error(st, QW_ERR_INVALID, "department code '%s' "
                                  "is not valid", tok);
        }
        *(const char **)apr_array_push(*out) = tok;
    }
    return QW_OK;
}

/* Make the member's departments exactly codes (in the caller's
 * transaction).  Every code must exist in the enterprise. */
static qw_status set_departments(qw_store *st, const char *ent, int64_t eid,
                                 int64_t mid, apr_array_header_t *codes)
{
    const char *params[3];
    PGresult *res;
    qw_status rc;
    int i;

    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, mid);
    res = qw_store_exec(st, "DELETE FROM member_departments "
                        "WHERE enterprise_id = $1 AND member_id = $2",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    for (i = 0; i < codes->nelts; i++) {
        params[2] = APR_ARRAY_IDX(codes, i, const char *);
        res = qw_store_exec(st, "INSERT INTO member_departments "
                            "(enterprise_id, member_id, department_id) "
                            "SELECT $1, $2, department_id FROM departments "
                            "WHERE enterprise_id = $1 AND code = $3 "
                            "ON CONFLICT DO NOTHING RETURNING department_id",
                            3, params, &rc);
        if (res == NULL) {
            return rc;
        }
        if (PQntuples(res) == 0) {
            /* either unknown or listed twice: tell which */
            int j, dup = 0;

            for (j = 0; j < i; j++) {
                dup |= strcmp(APR_ARRAY_IDX(codes, j, const char *),
                              params[2]) == 0;
            }
            if (!dup) {
                PQclear(res);
                return qw_store_error(st, QW_ERR_NOTFOUND, "no department "
                                      "with code '%s' in enterprise '%s'",
                                      params[2], ent);
            }
        }
        PQclear(res);
    }
    return QW_OK;
}

/* $1 enterprise id, $2 account: the member's row, locked for the rest of
 * the transaction. */
#define FIND_MEMBER_COLS(X, L) \
    X(MEMBER_ID, " member_id") \
    X(STATUS, " status") \
    L(HAS_PASSWORD, " password_hash IS NOT NULL")
#define FIND_MEMBER_COL_ENUM(name, expr) FIND_MEMBER_COL_##name,
enum { FIND_MEMBER_COLS(FIND_MEMBER_COL_ENUM, FIND_MEMBER_COL_ENUM) };
static const char sql_find_member[] =
    "SELECT" FIND_MEMBER_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    " FROM members WHERE enterprise_id = $1 AND account = $2 FOR UPDATE";

/* Find a member and lock the row for the rest of the transaction. */
static qw_status find_member(qw_store *st, const char *ent, int64_t eid,
                             const char *account, member_row *m)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    res = qw_store_exec(st, sql_find_member, 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no member '%s' in "
                              "enterprise '%s'", account, ent);
    }
#define COL(name) PQgetvalue(res, 0, FIND_MEMBER_COL_##name)
    m->id = apr_atoi64(COL(MEMBER_ID));
    m->status = apr_pstrdup(st->pool, COL(STATUS));
    m->has_password = strcmp(COL(HAS_PASSWORD), "t") == 0;
#undef COL
    PQclear(res);
    return QW_OK;
}

/* One change to one member, run by qw_store_write: the member and what
 * each change needs. */
typedef struct {
    const char *ent, *account;
    const char *hash;                   /* set_password */
    const char *status;                 /* set_status */
    apr_array_header_t *codes;          /* move */
    const char *role;                   /* grant, revoke */
    int grant;
    int ttl_hours;                      /* reinvite */
    char **token_out;
    int *ended;                         /* end_sessions */
} member_change;

/* Before the transaction: the account's normal form and the keys. */
static qw_status member_change_init(qw_store *st, member_change *b,
                                    const char *ent, const char *account)
{
    qw_status rc;

    memset(b, 0, sizeof(*b));
    b->ent = ent;
    if ((rc = norm_account(st, account, &b->account)) != QW_OK) {
        return rc;
    }
    return qw_store_need_keys(st);
}

/* In the transaction: resolve the enterprise, lock the member. */
static qw_status open_member(qw_store *st, const member_change *b,
                             int64_t *eid, member_row *m)
{
    qw_status rc;

    *eid = qw_store_enterprise_id(st, b->ent, &rc);
    if (*eid < 0) {
        return rc;
    }
    return find_member(st, b->ent, *eid, b->account, m);
}

/* The account is personal data and goes when the member is deleted; the
 * operation log outlives it, so its rows name the member by id only (the
 * viewer shows the account while the member exists). */
static void member_audit(qw_store *st, qw_store_audit *audit, int64_t eid,
                         const char *action, int64_t mid,
                         const char *details)
{
    audit->enterprise_id = eid;
    audit->module = "directory";
    audit->action = action;
    audit->object = apr_pstrcat(st->pool, "member:", qw_i64(st->pool, mid),
                                NULL);
    audit->details_json = details;
}

static qw_status issue_token(qw_store *st, int64_t eid, int64_t mid,
                             int ttl_hours, char **token_out)
{
    unsigned char raw[QW_LONG_TOKEN_BYTES], hash[QW_TOKEN_HASH_LEN];
    const char *params[4];
    char *text;
    PGresult *res;
    qw_status rc;

    text = qw_token_new(st->pool, raw, sizeof(raw));
    if (text == NULL) {
        return qw_store_error(st, QW_ERR_CRYPTO, "random generator failed");
    }
    qw_token_hash(raw, sizeof(raw), hash);
    OPENSSL_cleanse(raw, sizeof(raw));
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_store_bytea(st->pool, hash, sizeof(hash));
    params[2] = qw_i64(st->pool, mid);
    params[3] = apr_itoa(st->pool, ttl_hours);
    res = qw_store_exec(st, "INSERT INTO activation_tokens (enterprise_id, "
                        "token_hash, member_id, expires_at) VALUES ($1, "
                        "$2::bytea, $3, now() + make_interval(hours => $4))",
                        4, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    *token_out = text;
    return QW_OK;
}

static qw_status check_ttl(qw_store *st, int ttl_hours)
{
    if (ttl_hours < 1 || ttl_hours > TTL_MAX_HOURS) {
        return qw_store_error(st, QW_ERR_INVALID, "activation link lifetime "
                              "must be 1 to %d hours", TTL_MAX_HOURS);
    }
    return QW_OK;
}

/* Seal value for column of member mid; *param gets bytea input text. */
static qw_status seal_field(qw_store *st, const char *column, int64_t eid,
                            int64_t mid, const char *value,
                            const char **param)
{
    unsigned char *blob;
    size_t bloblen;

    if (value == NULL) {
        *param = NULL;
        return QW_OK;
    }
    if (qw_seal(st->pool, st->keys, qw_seal_aad(st->pool, column, eid, mid),
                (const unsigned char *)value, strlen(value), &blob,
                &bloblen) != 0) {
        return qw_store_error(st, QW_ERR_CRYPTO, "cannot encrypt %s", column);
    }
    *param = qw_store_bytea(st->pool, blob, bloblen);
    return QW_OK;
}

typedef struct {
    const char *ent, *account, *display_name, *mobile, *email;
    apr_array_header_t *codes;
    int ttl_hours;
    char **token_out;
    int64_t mid;
} member_add_baton;

static qw_status member_add_write(qw_store *st, void *baton,
                                  qw_store_audit *audit)
{
    member_add_baton *b = baton;
    const char *ent = b->ent, *account = b->account;
    const char *mobile = b->mobile, *email = b->email;
    const char *params[4];
    PGresult *res;
    qw_status rc;
    int64_t eid, mid;

    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    params[2] = b->display_name;
    res = qw_store_insert(st, "INSERT INTO members (enterprise_id, account, "
                          "display_name) VALUES ($1, $2, $3) "
                          "RETURNING member_id", 3, params, &rc,
                          "member '%s' already exists in enterprise '%s'",
                          account, ent);
    if (res == NULL) {
        return rc;
    }
    mid = apr_atoi64(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);

    /* The blobs' associated data names the member id, known only now. */
    if (mobile || email) {
        params[1] = qw_i64(st->pool, mid);
        if ((rc = seal_field(st, "members.mobile", eid, mid, mobile,
                             &params[2])) != QW_OK
            || (rc = seal_field(st, "members.email", eid, mid, email,
                                &params[3])) != QW_OK) {
            return rc;
        }
        res = qw_store_exec(st, "UPDATE members SET mobile_enc = $3::bytea, "
                            "email_enc = $4::bytea WHERE enterprise_id = $1 "
                            "AND member_id = $2", 4, params, &rc);
        if (res == NULL) {
            return rc;
        }
        PQclear(res);
    }
    if ((rc = set_departments(st, ent, eid, mid, b->codes)) != QW_OK
        || (rc = issue_token(st, eid, mid, b->ttl_hours, b->token_out))
           != QW_OK) {
        return rc;
    }
    b->mid = mid;
    /* no name, mobile or e-mail in the log: only which fields were given */
    member_audit(st, audit, eid, "create", mid,
                 qw_json_text(st->pool,
                              json_pack("{s:s, s:o, s:b, s:b, s:i}",
                                        "status", "invited",
                                        "departments",
                                        qw_json_strings(b->codes),
                                        "mobile", mobile != NULL,
                                        "email", email != NULL,
                                        "activation_ttl_hours",
                                        b->ttl_hours)));
    return QW_OK;
}

qw_status qw_member_add(qw_store *st, const char *ent, const char *account,
                        const char *display_name, const char *mobile,
                        const char *email, const char *dept_codes_csv,
                        int ttl_hours, char **token_out, int64_t *member_id)
{
    member_add_baton b;
    apr_array_header_t *codes;
    qw_status rc;

    if (mobile != NULL && *mobile == '\0') {
        mobile = NULL;
    }
    if (email != NULL && *email == '\0') {
        email = NULL;
    }
    if ((rc = norm_account(st, account, &account)) != QW_OK
        || (rc = qw_store_check_text(st, "display name", display_name,
                                     DISPLAY_NAME_MAX)) != QW_OK
        || (mobile && (rc = check_mobile(st, mobile)) != QW_OK)
        || (email && (rc = check_email(st, email)) != QW_OK)
        || (rc = parse_codes(st, dept_codes_csv, &codes)) != QW_OK
        || (rc = check_ttl(st, ttl_hours)) != QW_OK
        || (rc = qw_store_need_keys(st)) != QW_OK) {
        return rc;
    }
    b.ent = ent;
    b.account = account;
    b.display_name = display_name;
    b.mobile = mobile;
    b.email = email;
    b.codes = codes;
    b.ttl_hours = ttl_hours;
    b.token_out = token_out;
    if ((rc = qw_store_write(st, member_add_write, &b)) != QW_OK) {
        *token_out = NULL;
        return rc;
    }
    if (member_id) {
        *member_id = b.mid;
    }
    return QW_OK;
}

static qw_status reinvite_write(qw_store *st, void *baton,
                                qw_store_audit *audit)
{
    member_change *b = baton;
    const char *params[2];
    PGresult *res;
    member_row m;
    qw_status rc;
    int64_t eid;

    if ((rc = open_member(st, b, &eid, &m)) != QW_OK) {
        return rc;
    }
    /* An activation link sets a first password; resetting the password of
     * an active member is set-password's job, not a link's. */
    if (strcmp(m.status, "invited") != 0) {
        return qw_store_error(st, QW_ERR_INVALID, "member '%s' is %s: only "
                              "invited members get activation links",
                              b->account, m.status);
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, m.id);
    res = qw_store_exec(st, "DELETE FROM activation_tokens "
                        "WHERE enterprise_id = $1 AND member_id = $2 "
                        "AND used_at IS NULL", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    if ((rc = issue_token(st, eid, m.id, b->ttl_hours, b->token_out))
        != QW_OK) {
        return rc;
    }
    member_audit(st, audit, eid, "update", m.id,
                 qw_json_text(st->pool,
                              json_pack("{s:s, s:i}", "activation",
                                        "reissued", "activation_ttl_hours",
                                        b->ttl_hours)));
    return QW_OK;
}

qw_status qw_member_reinvite(qw_store *st, const char *ent, const char *account,
                             int ttl_hours, char **token_out)
{
    member_change b;
    qw_status rc;

    *token_out = NULL;
    if ((rc = check_ttl(st, ttl_hours)) != QW_OK
        || (rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    b.ttl_hours = ttl_hours;
    b.token_out = token_out;
    if ((rc = qw_store_write(st, reinvite_write, &b)) != QW_OK) {
        *token_out = NULL;
    }
    return rc;
}

/* A member's row ($1 enterprise id; the caller appends the rest of the
 * WHERE clause and the order): the sealed fields in hex, departments and
 * roles as sorted, comma-separated codes and names. */
#define MEMBER_COLS(X, L) \
    X(MEMBER_ID, " m.member_id") \
    X(ACCOUNT, " m.account") \
    X(DISPLAY_NAME, " m.display_name") \
    X(STATUS, " m.status") \
    X(MOBILE_HEX, " encode(m.mobile_enc, 'hex')") \
    X(EMAIL_HEX, " encode(m.email_enc, 'hex')") \
    X(DEPARTMENTS, \
      " coalesce((SELECT string_agg(d.code, ',' ORDER BY d.code) " \
      "  FROM member_departments md JOIN departments d " \
      "  ON d.enterprise_id = md.enterprise_id " \
      "  AND d.department_id = md.department_id " \
      "  WHERE md.enterprise_id = m.enterprise_id " \
      "  AND md.member_id = m.member_id), '')") \
    L(ROLES, \
      " coalesce((SELECT string_agg(r.name, ',' ORDER BY r.name) " \
      "  FROM member_roles mr JOIN roles r" \
      "  ON r.enterprise_id = mr.enterprise_id" \
      "  AND r.role_id = mr.role_id" \
      "  WHERE mr.enterprise_id = m.enterprise_id " \
      "  AND mr.member_id = m.member_id), '')")
#define MEMBER_COL_ENUM(name, expr) MEMBER_COL_##name,
enum { MEMBER_COLS(MEMBER_COL_ENUM, MEMBER_COL_ENUM) };
#define MEMBER_SELECT \
    "SELECT" MEMBER_COLS(QW_COL_SQL, QW_COL_SQL_LAST) \
    " FROM members m WHERE m.enterprise_id = $1 "

/* Decrypt one sealed column; -1 when present but not decryptable. */
static int unseal_field(qw_store *st, PGresult *res, int row, int col,
                        const char *column, int64_t eid, int64_t mid,
                        const char **out)
{
    unsigned char *blob, *pt;
    size_t bloblen, ptlen;

    *out = NULL;
    if (PQgetisnull(res, row, col)) {
        return 0;
    }
    if (st->keys == NULL
        || qw_store_unhex(st->pool, PQgetvalue(res, row, col), &blob,
                          &bloblen) != 0
        || qw_unseal(st->pool, st->keys,
                     qw_seal_aad(st->pool, column, eid, mid), blob, bloblen,
                     &pt, &ptlen) != 0) {
        return -1;
    }
    *out = (const char *)pt;
    return 0;
}

/* Fill m from row; returns the number of sealed fields that could not be
 * decrypted. */
static int fill_member(qw_store *st, PGresult *res, int i, int64_t eid,
                       qw_member *m)
{
    int bad = 0;

#define COL(name) PQgetvalue(res, i, MEMBER_COL_##name)
    m->id = apr_atoi64(COL(MEMBER_ID));
    m->account = apr_pstrdup(st->pool, COL(ACCOUNT));
    m->display_name = apr_pstrdup(st->pool, COL(DISPLAY_NAME));
    m->status = apr_pstrdup(st->pool, COL(STATUS));
    bad -= unseal_field(st, res, i, MEMBER_COL_MOBILE_HEX, "members.mobile",
                        eid, m->id, &m->mobile);
    bad -= unseal_field(st, res, i, MEMBER_COL_EMAIL_HEX, "members.email",
                        eid, m->id, &m->email);
    m->departments = apr_pstrdup(st->pool, COL(DEPARTMENTS));
    m->roles = apr_pstrdup(st->pool, COL(ROLES));
#undef COL
    return bad;
}

qw_status qw_member_get(qw_store *st, const char *ent, const char *account,
                        qw_member *out)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;
    int64_t eid;
    int bad;

    if ((rc = norm_account(st, account, &account)) != QW_OK) {
        return rc;
    }
    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = account;
    res = qw_store_exec(st, MEMBER_SELECT "AND m.account = $2", 2, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no member '%s' in "
                              "enterprise '%s'", account, ent);
    }
    bad = fill_member(st, res, 0, eid, out);
    PQclear(res);
    if (bad) {
        /* fail closed: a blob we cannot open is not "no mobile" */
        memset(out, 0, sizeof(*out));
        return qw_store_error(st, QW_ERR_CRYPTO, "cannot decrypt the mobile "
                              "or e-mail of member '%s' (%s)", account,
                              st->keys ? "wrong or missing key in the key "
                              "file, or the data was altered"
                              : "key file needed");
    }
    return QW_OK;
}

qw_status qw_member_list(qw_store *st, const char *ent,
                         apr_array_header_t **out)
{
    const char *params[1];
    PGresult *res;
    qw_status rc;
    int64_t eid;
    int i, n, bad = 0;

    eid = qw_store_enterprise_id(st, ent, &rc);
    if (eid < 0) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    res = qw_store_exec(st, MEMBER_SELECT "ORDER BY m.account", 1, params,
                        &rc);
    if (res == NULL) {
        return rc;
    }
    *out = apr_array_make(st->pool, PQntuples(res) + 1, sizeof(qw_member));
    for (i = 0; i < PQntuples(res); i++) {
        qw_member *m = apr_array_push(*out);

        /* Without keys a list still shows names; fields stay NULL. */
        n = fill_member(st, res, i, eid, m);
        if (st->keys != NULL) {
            bad += n;
        }
    }
    PQclear(res);
    st->err = NULL;
    if (bad) {
        st->err = apr_psprintf(st->pool, "warning: %d sealed field(s) could "
                               "not be decrypted and are shown as empty",
                               bad);
    }
    return QW_OK;
}

qw_status qw_member_kill_sessions(qw_store *st, int64_t enterprise_id,
                                  int64_t member_id)
{
    const char *params[2];
    PGresult *res;
    qw_status rc;

    params[0] = qw_i64(st->pool, enterprise_id);
    params[1] = qw_i64(st->pool, member_id);
    res = qw_store_exec(st, "DELETE FROM sessions WHERE enterprise_id = $1 "
                        "AND member_id = $2", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    /* and every login on its way to a session: a second step, a forced
     * change or an enrolment started before, and a scan-to-login the
     * member approved (or is about to) on a phone */
    res = qw_store_exec(st, "DELETE FROM login_pending WHERE enterprise_id"
                        " = $1 AND member_id = $2", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, "UPDATE scan_challenges SET state = 'refused',"
                        " decided_at = coalesce(decided_at, now())"
                        " WHERE enterprise_id = $1 AND member_id = $2"
                        "   AND state IN ('pending', 'approved')",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    return QW_OK;
}

static qw_status set_password_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    member_change *b = baton;
    const char *params[3];
    PGresult *res;
    member_row m;
    qw_status rc;
    int64_t eid;

    if ((rc = open_member(st, b, &eid, &m)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, m.id);
    params[2] = b->hash;
    res = qw_store_exec(st, "UPDATE members SET password_hash = $3, "
                        "password_changed_at = now(), updated_at = now(), "
                        "activated_at = CASE WHEN status = 'invited' "
                        "  THEN now() ELSE activated_at END, "
                        "status_changed_at = CASE WHEN status = 'invited' "
                        "  THEN now() ELSE status_changed_at END, "
                        "status = CASE WHEN status = 'invited' "
                        "  THEN 'active' ELSE status END "
                        "WHERE enterprise_id = $1 AND member_id = $2",
                        3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    res = qw_store_exec(st, "DELETE FROM activation_tokens "
                        "WHERE enterprise_id = $1 AND member_id = $2 "
                        "AND used_at IS NULL", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    if ((rc = qw_member_kill_sessions(st, eid, m.id)) != QW_OK) {
        return rc;
    }
    member_audit(st, audit, eid, "update", m.id,
                 strcmp(m.status, "invited") == 0
                 ? "{\"password\": \"set\", \"status\": "
                   "[\"invited\", \"active\"]}"
                 : "{\"password\": \"set\"}");
    return QW_OK;
}

qw_status qw_member_set_password(qw_store *st, const char *ent,
                                 const char *account, const char *password,
                                 size_t len)
{
    member_change b;
    qw_status rc;
    char *hash;

    if (password == NULL || len == 0) {
        return qw_store_error(st, QW_ERR_INVALID, "password must not be "
                              "empty");
    }
    if (len > QW_PW_MAX_LEN) {
        return qw_store_error(st, QW_ERR_INVALID, "password is too long "
                              "(at most %d bytes)", QW_PW_MAX_LEN);
    }
    if (memchr(password, '\0', len) != NULL
        || !qw_valid_utf8_text(password, len)) {
        return qw_store_error(st, QW_ERR_INVALID, "password must be UTF-8 "
                              "text without control characters");
    }
    if (qw_utf8_chars(password, len) < 12) {
        return qw_store_error(st, QW_ERR_INVALID, "password is too short "
                              "(at least 12 characters)");
    }
    /* Hash before the transaction: Argon2id is slow on purpose and no lock
     * should be held meanwhile. */
    if (qw_pw_init() != 0
        || (hash = qw_pw_hash(st->pool, password, len, &st->pw)) == NULL) {
        return qw_store_error(st, QW_ERR_CRYPTO, "password hashing failed "
                              "(out of memory?)");
    }
    if ((rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    b.hash = hash;
    return qw_store_write(st, set_password_write, &b);
}

static qw_status set_status_write(qw_store *st, void *baton,
                                  qw_store_audit *audit)
{
    member_change *b = baton;
    const char *params[3], *status = b->status;
    PGresult *res;
    member_row m;
    qw_status rc;
    int64_t eid;

    if ((rc = open_member(st, b, &eid, &m)) != QW_OK) {
        return rc;
    }
    if (strcmp(m.status, status) == 0) {
        audit->unchanged = 1;           /* nothing changes, nothing logged */
        return QW_OK;
    }
    if (strcmp(status, "active") == 0 && !m.has_password) {
        return qw_store_error(st, QW_ERR_INVALID, "member '%s' has no "
                              "password yet: they activate through their "
                              "link (or use set-password)", b->account);
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, m.id);
    params[2] = status;
    res = qw_store_exec(st, "UPDATE members SET status = $3, "
                        "status_changed_at = now(), updated_at = now(), "
                        "activated_at = coalesce(activated_at, CASE WHEN "
                        "$3 = 'active' THEN now() END) "
                        "WHERE enterprise_id = $1 AND member_id = $2",
                        3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    /* R2: not active any more means every session ends now, on every
     * server, because they all read the same rows; and R10: the mailbox
     * is wiped in the same transaction (a returning member starts with an
     * empty one). */
    if (strcmp(status, "active") != 0
        && ((rc = qw_member_kill_sessions(st, eid, m.id)) != QW_OK
            || (rc = qw_mailbox_wipe_tx(st, eid, m.id, "member_status",
                                        NULL)) != QW_OK)) {
        return rc;
    }
    member_audit(st, audit, eid, "update", m.id,
                 qw_json_text(st->pool,
                              json_pack("{s:[s, s]}", "status", m.status,
                                        status)));
    return QW_OK;
}

qw_status qw_member_set_status(qw_store *st, const char *ent,
                               const char *account, const char *status)
{
    member_change b;
    qw_status rc;

    if (status == NULL || (strcmp(status, "active") != 0
                           && strcmp(status, "disabled") != 0
                           && strcmp(status, "departed") != 0)) {
        return qw_store_error(st, QW_ERR_INVALID, "status must be active, "
                              "disabled or departed");
    }
    if ((rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    b.status = status;
    return qw_store_write(st, set_status_write, &b);
}

/* End every session of the member (and every login on its way to one),
 * leaving the account as it is: the admin console's "end all sessions". */
static qw_status end_sessions_write(qw_store *st, void *baton,
                                    qw_store_audit *audit)
{
    member_change *b = baton;
    const char *params[2];
    PGresult *res;
    member_row m;
    qw_status rc;
    int64_t eid;

    if ((rc = open_member(st, b, &eid, &m)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, m.id);
    res = qw_store_exec(st, "SELECT count(*) FROM sessions"
                        " WHERE enterprise_id = $1 AND member_id = $2",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    *b->ended = atoi(PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    if ((rc = qw_member_kill_sessions(st, eid, m.id)) != QW_OK) {
        return rc;
    }
    member_audit(st, audit, eid, "end_sessions", m.id,
                 qw_json_text(st->pool, json_pack("{s:i}", "sessions",
                                                  *b->ended)));
    return QW_OK;
}

/* An admin resets the member's two-step verification (a lost phone): the
 * secret and the recovery codes go, every session ends; the member sets
 * it up again at the next login where the enterprise requires it. */
static qw_status totp_reset_write(qw_store *st, void *baton,
                                  qw_store_audit *audit)
{
    member_change *b = baton;
    const char *params[2];
    PGresult *res;
    member_row m;
    qw_status rc;
    int64_t eid;
    int rows;

    if ((rc = open_member(st, b, &eid, &m)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, m.id);
    res = qw_store_exec(st, "DELETE FROM member_totp WHERE enterprise_id = $1"
                        " AND member_id = $2 RETURNING 1", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    rows = PQntuples(res);
    PQclear(res);
    if (rows == 0) {
        return qw_store_error(st, QW_ERR_CONFLICT, "member '%s' has no "
                              "two-step verification to reset", b->account);
    }
    res = qw_store_exec(st, "DELETE FROM member_recovery_codes"
                        " WHERE enterprise_id = $1 AND member_id = $2",
                        2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    if ((rc = qw_member_kill_sessions(st, eid, m.id)) != QW_OK) {
        return rc;
    }
    member_audit(st, audit, eid, "two_step_reset", m.id, NULL);
    return QW_OK;
}

qw_status qw_member_totp_reset(qw_store *st, const char *ent,
                               const char *account)
{
    member_change b;
    qw_status rc;

    if ((rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    return qw_store_write(st, totp_reset_write, &b);
}

qw_status qw_member_end_sessions(qw_store *st, const char *ent,
                                 const char *account, int *ended)
{
    member_change b;
    qw_status rc;

    *ended = 0;
    if ((rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    b.ended = ended;
    return qw_store_write(st, end_sessions_write, &b);
}

static qw_status delete_write(qw_store *st, void *baton,
                              qw_store_audit *audit)
{
    const char *params[2];
    PGresult *res;
    member_row m;
    qw_status rc;
    int64_t eid;

    if ((rc = open_member(st, baton, &eid, &m)) != QW_OK) {
        return rc;
    }
    /* the mailbox copies would go by ON DELETE CASCADE too; wiping them
     * first logs it like a status change does */
    if ((rc = qw_mailbox_wipe_tx(st, eid, m.id, "member_status", NULL))
        != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = qw_i64(st->pool, m.id);
    /* sessions, tokens, departments, roles, two-step, password history,
     * reminders, pending logins, scan challenges and article audience and
     * people rows go by ON DELETE CASCADE; an admin's binding and an
     * article's owner are set to NULL */
    res = qw_store_exec(st, "DELETE FROM members WHERE enterprise_id = $1 "
                        "AND member_id = $2", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    /* Login throttling is keyed by the account text, not the id (unknown
     * names are throttled too): the member's counters go now, and so do
     * admin counters (kinds admin_*) of the name unless an admin account
     * of that name owns them. */
    params[1] = ((const member_change *)baton)->account;
    res = qw_store_exec(st, "DELETE FROM login_throttle t"
                        " WHERE t.enterprise_id = $1 AND t.account = $2"
                        " AND (t.kind NOT LIKE 'admin\\_%' OR NOT EXISTS"
                        " (SELECT 1 FROM admin_accounts a"
                        "   WHERE a.enterprise_id = t.enterprise_id"
                        "     AND a.account = t.account))", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    PQclear(res);
    params[1] = qw_i64(st->pool, m.id);
    /* The account is personal data: the trail keeps the id only. */
    audit->enterprise_id = eid;
    audit->module = "directory";
    audit->action = "delete";
    audit->object = apr_psprintf(st->pool, "member:%s", params[1]);
    return QW_OK;
}

qw_status qw_member_delete(qw_store *st, const char *ent, const char *account)
{
    member_change b;
    qw_status rc;

    if ((rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    return qw_store_write(st, delete_write, &b);
}

static qw_status move_write(qw_store *st, void *baton, qw_store_audit *audit)
{
    member_change *b = baton;
    member_row m;
    qw_status rc;
    int64_t eid;

    if ((rc = open_member(st, b, &eid, &m)) != QW_OK) {
        return rc;
    }
    /* Sessions stay: authorization reads the live rows on every request. */
    if ((rc = set_departments(st, b->ent, eid, m.id, b->codes)) != QW_OK) {
        return rc;
    }
    member_audit(st, audit, eid, "update", m.id,
                 qw_json_text(st->pool,
                              json_pack("{s:o}", "departments",
                                        qw_json_strings(b->codes))));
    return QW_OK;
}

qw_status qw_member_move(qw_store *st, const char *ent, const char *account,
                         const char *dept_codes_csv)
{
    apr_array_header_t *codes;
    member_change b;
    qw_status rc;

    if ((rc = parse_codes(st, dept_codes_csv, &codes)) != QW_OK
        || (rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    b.codes = codes;
    return qw_store_write(st, move_write, &b);
}

static qw_status change_role_write(qw_store *st, void *baton,
                                   qw_store_audit *audit)
{
    member_change *b = baton;
    const char *params[3], *account = b->account, *role = b->role;
    PGresult *res;
    member_row m;
    qw_status rc;
    int64_t eid;
    int n;

    if ((rc = open_member(st, b, &eid, &m)) != QW_OK) {
        return rc;
    }
    params[0] = qw_i64(st->pool, eid);
    params[1] = role;
    res = qw_store_exec(st, "SELECT role_id FROM roles WHERE enterprise_id "
                        "= $1 AND name = $2 FOR SHARE", 2, params, &rc);
    if (res == NULL) {
        return rc;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return qw_store_error(st, QW_ERR_NOTFOUND, "no role '%s' in "
                              "enterprise '%s'", role, b->ent);
    }
    params[1] = qw_i64(st->pool, m.id);
    params[2] = apr_pstrdup(st->pool, PQgetvalue(res, 0, QW_COL_ONLY));
    PQclear(res);
    res = qw_store_exec(st, b->grant
                        ? "INSERT INTO member_roles (enterprise_id, "
                          "member_id, role_id) VALUES ($1, $2, $3) "
                          "ON CONFLICT DO NOTHING"
                        : "DELETE FROM member_roles WHERE enterprise_id = $1"
                          " AND member_id = $2 AND role_id = $3",
                        3, params, &rc);
    if (res == NULL) {
        return rc;
    }
    n = atoi(PQcmdTuples(res));
    PQclear(res);
    if (n == 0) {
        return b->grant
               ? qw_store_error(st, QW_ERR_CONFLICT, "member '%s' already "
                                "has role '%s'", account, role)
               : qw_store_error(st, QW_ERR_NOTFOUND, "member '%s' does "
                                "not have role '%s'", account, role);
    }
    member_audit(st, audit, eid, "update", m.id,
                 qw_json_text(st->pool,
                              json_pack("{s:s}", b->grant ? "role_granted"
                                        : "role_revoked", role)));
    return QW_OK;
}

static qw_status change_role(qw_store *st, const char *ent,
                             const char *account, const char *role, int grant)
{
    member_change b;
    qw_status rc;

    if (role == NULL || !qw_valid_department_code(role)) {
        return qw_store_error(st, QW_ERR_INVALID, "role name '%s' is not "
                              "valid", role ? role : "");
    }
    if ((rc = member_change_init(st, &b, ent, account)) != QW_OK) {
        return rc;
    }
    b.role = role;
    b.grant = grant;
    return qw_store_write(st, change_role_write, &b);
}

qw_status qw_member_grant_role(qw_store *st, const char *ent,
                               const char *account, const char *role)
{
    return change_role(st, ent, account, role, 1);
}

qw_status qw_member_revoke_role(qw_store *st, const char *ent,
                                const char *account, const char *role)
{
    return change_role(st, ent, account, role, 0);
}

static qw_status gc_write(qw_store *st, void *baton, qw_store_audit *audit)
{
    /* what has expired, and which of the two counters it adds to */
    static const struct {
        const char *sql;
        int counter;            /* 0: sessions, 1: tokens, -1: none */
    } sweeps[] = {
        { "DELETE FROM sessions WHERE expires_at < now()"
          " OR last_seen_at + make_interval(secs => idle_seconds) < now()",
          0 },
        /* admin sessions (schema 4), pending second steps and scan-to-login
         * challenges (schema 5) expire the same way */
        { "DELETE FROM admin_sessions WHERE expires_at < now()"
          " OR last_seen_at + make_interval(secs => idle_seconds) < now()",
          0 },
        { "DELETE FROM login_pending WHERE expires_at < now()", -1 },
        { "DELETE FROM scan_challenges"
          " WHERE expires_at < now() - interval '1 hour'", -1 },
        { "DELETE FROM activation_tokens"
          " WHERE used_at IS NOT NULL OR expires_at < now()", 1 },
        /* login throttling counters idle for the quiet period of both
         * rules (12 h: the count would start afresh anyway, so sweeping
         * changes no answer): a mistyped, guessed or deleted member's
         * name is throttled exactly like a real account while it matters,
         * and not kept after.  A deleted member's own counters went at
         * delete time. */
        { "DELETE FROM login_throttle"
          " WHERE last_at < now() - interval '12 hours'", -1 },
    };
    long **counters = baton;
    PGresult *res;
    qw_status rc;
    size_t i;

    (void)audit;                        /* housekeeping: no audit row */
    for (i = 0; i < sizeof(sweeps) / sizeof(sweeps[0]); i++) {
        res = qw_store_exec(st, sweeps[i].sql, 0, NULL, &rc);
        if (res == NULL) {
            return rc;
        }
        if (sweeps[i].counter >= 0) {
            *counters[sweeps[i].counter] += atol(PQcmdTuples(res));
        }
        PQclear(res);
    }
    return QW_OK;
}

qw_status qw_store_gc(qw_store *st, long *sessions, long *tokens)
{
    long *counters[2];
    qw_status rc;

    counters[0] = sessions;
    counters[1] = tokens;
    *sessions = *tokens = 0;
    if ((rc = qw_store_write(st, gc_write, counters)) != QW_OK) {
        *sessions = *tokens = 0;
    }
    return rc;
}

/* ---- the directory as a member sees it (R15) ---- */

/* $1 enterprise id, $2 the viewer's member id, $3 limit, $4 offset: the
 * active members the viewer may see.  DEPARTMENTS are sorted,
 * comma-separated codes, DEPARTMENT_NAMES the names for display (", "
 * between them: not to be split); MOBILE_HEX is NULL when hidden; TOTAL
 * counts every row, not only this page.
 *
 * Privacy is decided here, in the query, for every caller (the member API
 * and the home page): members outside the viewer's scope are not
 * selected, and a hidden mobile number (hidden for the member, or for
 * everyone by the enterprise) is not even read, so it cannot leave the
 * server. */
#define DIRECTORY_COLS(X, L) \
    X(MEMBER_ID, " m.member_id") \
    X(ACCOUNT, " m.account") \
    X(DISPLAY_NAME, " m.display_name") \
    X(DEPARTMENTS, \
      "  (SELECT coalesce(string_agg(d.code, ',' ORDER BY d.code), '')" \
      "     FROM member_departments md" \
      "     JOIN departments d ON d.enterprise_id = md.enterprise_id" \
      "                       AND d.department_id = md.department_id" \
      "    WHERE md.enterprise_id = m.enterprise_id" \
      "      AND md.member_id = m.member_id)") \
    X(DEPARTMENT_NAMES, \
      "  (SELECT coalesce(string_agg(d.name, ', ' ORDER BY d.name), '')" \
      "     FROM member_departments md" \
      "     JOIN departments d ON d.enterprise_id = md.enterprise_id" \
      "                       AND d.department_id = md.department_id" \
      "    WHERE md.enterprise_id = m.enterprise_id" \
      "      AND md.member_id = m.member_id)") \
    X(MOBILE_HEX, \
      "  CASE WHEN cfg.hide OR m.hide_mobile THEN NULL" \
      "       ELSE encode(m.mobile_enc, 'hex') END") \
    L(TOTAL, "  count(*) OVER ()")
#define DIRECTORY_COL_ENUM(name, expr) DIRECTORY_COL_##name,
enum { DIRECTORY_COLS(DIRECTORY_COL_ENUM, DIRECTORY_COL_ENUM) };
static const char sql_directory[] =
    "WITH v AS ("
    " SELECT d.path FROM member_departments md"
    "   JOIN departments d ON d.enterprise_id = md.enterprise_id"
    "                     AND d.department_id = md.department_id"
    "  WHERE md.enterprise_id = $1 AND md.member_id = $2"
    "), cfg AS ("
    " SELECT coalesce(settings->>'directory_scope', 'all') AS scope,"
    "        coalesce((settings->>'hide_mobile')::boolean, false) AS hide"
    "   FROM enterprises WHERE enterprise_id = $1"
    ")"
    " SELECT" DIRECTORY_COLS(QW_COL_SQL, QW_COL_SQL_LAST)
    "   FROM members m CROSS JOIN cfg"
    "  WHERE m.enterprise_id = $1 AND m.status = 'active'"
    "    AND (cfg.scope = 'all' OR m.member_id = $2 OR EXISTS ("
    "      SELECT 1 FROM member_departments md"
    "        JOIN departments d ON d.enterprise_id = md.enterprise_id"
    "                          AND d.department_id = md.department_id"
    "        JOIN v ON d.path LIKE v.path || '%'"
    "       WHERE md.enterprise_id = m.enterprise_id"
    "         AND md.member_id = m.member_id))"
    "  ORDER BY m.account LIMIT $3 OFFSET $4";

qw_status qw_directory_visible(qw_store *st, int64_t ent, int64_t viewer,
                               long limit, long offset,
                               apr_array_header_t **out, int *total)
{
    const char *p[4];
    PGresult *res;
    qw_status rc;
    int i;

    *total = 0;
    *out = apr_array_make(st->pool, 16, sizeof(qw_directory_entry));
    p[0] = qw_i64(st->pool, ent);
    p[1] = qw_i64(st->pool, viewer);
    p[2] = apr_ltoa(st->pool, limit);
    p[3] = apr_ltoa(st->pool, offset);
    res = qw_store_exec(st, sql_directory, 4, p, &rc);
    if (!res) {
        return rc;
    }
    for (i = 0; i < PQntuples(res); i++) {
        qw_directory_entry *e = apr_array_push(*out);
#define COL(name) PQgetvalue(res, i, DIRECTORY_COL_##name)
        e->id = apr_atoi64(COL(MEMBER_ID));
        e->account = apr_pstrdup(st->pool, COL(ACCOUNT));
        e->display_name = apr_pstrdup(st->pool, COL(DISPLAY_NAME));
        e->departments = apr_pstrdup(st->pool, COL(DEPARTMENTS));
        e->department_names = apr_pstrdup(st->pool, COL(DEPARTMENT_NAMES));
        *total = atoi(COL(TOTAL));
#undef COL
        /* a number that does not decrypt (or no key file) is left out:
         * never shown, never an error that hides the rest */
        if (unseal_field(st, res, i, DIRECTORY_COL_MOBILE_HEX,
                         "members.mobile", ent, e->id, &e->mobile) != 0) {
            e->mobile = NULL;
        }
    }
    PQclear(res);
    return QW_OK;
}

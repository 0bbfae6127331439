/* The data layer shared by qiweictl, the module and (later) the admin API.
 * Plain libpq and APR, no httpd types.  Every write function runs in one
 * transaction that also appends its audit_log row, so a change is never
 * made unlogged and a failure leaves nothing behind. */
#ifndef QW_STORE_H
#define QW_STORE_H

#include <stdint.h>
#include <libpq-fe.h>
#include <apr_pools.h>
#include <apr_tables.h>
#include "util/keyring.h"
#include "util/pwhash.h"

typedef enum {
    QW_OK = 0,
    QW_ERR_INVALID,     /* bad input: message in st->err */
    QW_ERR_NOTFOUND,    /* enterprise, member, department... not found */
    QW_ERR_CONFLICT,    /* already exists, still referenced */
    QW_ERR_DB,          /* database unreachable or failed */
    QW_ERR_CRYPTO       /* key missing, RNG or cipher failure */
} qw_status;

/* Who acts, for the audit trail. */
typedef struct {
    const char *actor;        /* "operator:root", "member:42", "system" */
    const char *actor_role;
    const char *source_ip;
    const char *user_agent;
    const char *request_id;
} qw_actor;

typedef struct {
    PGconn *conn;
    apr_pool_t *pool;          /* results and messages are allocated here */
    const qw_keyring *keys;    /* needed for sealed fields and the audit MAC */
    qw_actor who;
    qw_pw_params pw;           /* hashing parameters for new passwords */
    const char *err;           /* last error, fit for an operator's eyes */
} qw_store;

typedef struct {
    int64_t id;
    const char *code;
    const char *name;
    int allow_external_share;
} qw_enterprise;

typedef struct {
    int64_t id;
    const char *code;
    const char *name;
    const char *parent_code;   /* NULL for a root department */
    const char *path;
} qw_department;

typedef struct {
    int64_t id;
    const char *account;
    const char *display_name;
    const char *status;
    const char *mobile;        /* decrypted, NULL if none */
    const char *email;         /* decrypted, NULL if none */
    const char *departments;   /* comma separated codes */
    const char *roles;         /* comma separated names */
} qw_member;

/* --- plumbing (store.c) --- */
qw_status qw_store_begin(qw_store *st);
qw_status qw_store_commit(qw_store *st);
void qw_store_rollback(qw_store *st);
/* Run a parameterised statement; returns NULL and sets st->err on failure
 * (and the status via *rc if given).  The caller PQclear()s the result. */
PGresult *qw_store_exec(qw_store *st, const char *sql, int n,
                        const char *const *params, qw_status *rc);
int64_t qw_store_enterprise_id(qw_store *st, const char *code, qw_status *rc);
/* Text form of an int64 from st->pool. */
const char *qw_i64(apr_pool_t *p, int64_t v);

/* --- schema (migrate.c) --- */
/* Current schema version, 0 when the version table does not exist, -1 on a
 * database error. */
int qw_schema_version(PGconn *conn);
/* Apply sql/NNN_*.sql files above the current version, each in its own
 * transaction; then, if app_role is given, grant it the rights it needs
 * (INSERT/SELECT only on audit_log). */
qw_status qw_migrate(qw_store *st, const char *sqldir, const char *app_role);

/* --- audit (audit.c) --- */
/* Append one row to audit_log inside the caller's transaction: takes a
 * per-enterprise advisory lock, chains the HMAC (key "audit-chain v1" of the
 * keyring's current kid).  details_json may be NULL. */
qw_status qw_audit_append(qw_store *st, int64_t enterprise_id,
                          const char *module, const char *action,
                          const char *object, const char *result,
                          const char *reason, const char *details_json);

/* --- enterprises and departments (enterprise.c) --- */
qw_status qw_enterprise_add(qw_store *st, const char *code, const char *name,
                            int64_t *id);
qw_status qw_enterprise_list(qw_store *st, apr_array_header_t **out);
qw_status qw_enterprise_set_external_share(qw_store *st, const char *code,
                                           int allow);
qw_status qw_department_add(qw_store *st, const char *ent, const char *code,
                            const char *name, const char *parent_code);
qw_status qw_department_list(qw_store *st, const char *ent,
                             apr_array_header_t **out);
qw_status qw_role_add(qw_store *st, const char *ent, const char *name);

/* --- members (member.c) --- */
/* Register a person (status 'invited') and make a one-time activation token
 * valid for ttl_hours; *token_out is the token text to put in the link. */
qw_status qw_member_add(qw_store *st, const char *ent, const char *account,
                        const char *display_name, const char *mobile,
                        const char *email, const char *dept_codes_csv,
                        int ttl_hours, char **token_out, int64_t *member_id);
qw_status qw_member_reinvite(qw_store *st, const char *ent, const char *account,
                             int ttl_hours, char **token_out);
qw_status qw_member_get(qw_store *st, const char *ent, const char *account,
                        qw_member *out);
qw_status qw_member_list(qw_store *st, const char *ent,
                         apr_array_header_t **out);
/* Sets the password; an invited member becomes active.  Ends all of the
 * member's sessions. */
qw_status qw_member_set_password(qw_store *st, const char *ent,
                                 const char *account, const char *password,
                                 size_t len);
/* status: active | disabled | departed.  Leaving 'active' ends all of the
 * member's sessions in the same transaction. */
qw_status qw_member_set_status(qw_store *st, const char *ent,
                               const char *account, const char *status);
/* Irreversible: erases the member's row, sessions, tokens, departments and
 * roles; the audit trail keeps that it happened (member id only). */
qw_status qw_member_delete(qw_store *st, const char *ent, const char *account);
/* Replace the member's departments by dept_codes_csv. */
qw_status qw_member_move(qw_store *st, const char *ent, const char *account,
                         const char *dept_codes_csv);
qw_status qw_member_grant_role(qw_store *st, const char *ent,
                               const char *account, const char *role);
qw_status qw_member_revoke_role(qw_store *st, const char *ent,
                                const char *account, const char *role);
/* Ends every session of the member (in the caller's transaction). */
qw_status qw_member_kill_sessions(qw_store *st, int64_t enterprise_id,
                                  int64_t member_id);
/* Deletes expired sessions and used/expired activation tokens. */
qw_status qw_store_gc(qw_store *st, long *sessions, long *tokens);

/* --- additions (store engineer) --- */
/* Set st->err from a printf format (allocated from st->pool) and return rc,
 * so error paths read "return qw_store_error(st, QW_ERR_INVALID, ...)". */
qw_status qw_store_error(qw_store *st, qw_status rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Short name of a status for messages: "ok", "invalid", "not found"... */
const char *qw_status_name(qw_status rc);

/* Helpers shared by the store's files. */
/* bytea input text ("\\x" + hex) of n bytes, for a text parameter. */
const char *qw_store_bytea(apr_pool_t *p, const unsigned char *b, size_t n);
/* Decode the lower/upper-case hex of encode(col, 'hex'); 0 or -1. */
int qw_store_unhex(apr_pool_t *p, const char *hex, unsigned char **out,
                   size_t *n);
/* QW_OK when s is valid UTF-8 text of 1..maxchars characters, else
 * QW_ERR_INVALID with "<field> ..." in st->err. */
qw_status qw_store_check_text(qw_store *st, const char *field, const char *s,
                              size_t maxchars);
/* Number of UTF-8 characters (code points) of s; s must be valid UTF-8. */
size_t qw_utf8_chars(const char *s, size_t len);
/* QW_ERR_CRYPTO with "key file needed ..." when st->keys is NULL. */
qw_status qw_store_need_keys(qw_store *st);

/* Recompute the audit chain of enterprise ent in seq order.  *rows gets the
 * number of rows checked, *bad_seq the first seq that does not verify (an
 * edited row, a missing row: a gap in seq, rows out of order, a key id the
 * keyring lacks), or 0 when the whole chain verifies.  Returns QW_OK in both
 * cases; an error status only when the check itself could not run. */
qw_status qw_audit_verify(qw_store *st, const char *ent, int64_t *rows,
                          int64_t *bad_seq);

/* --- articles (article.c, articles issue) --- */
/* An article is named by (enterprise code, module, path); path is the
 * decoded URL path Apache sees (r->uri).  Lists are comma separated. */
typedef struct {
    int all;                   /* every member of the enterprise */
    const char *departments;   /* codes; sub-departments are included */
    const char *roles;         /* role names */
    const char *members;       /* accounts */
} qw_audience;

/* watermark setting of an article */
#define QW_ARTICLE_WM_INHERIT (-1)

typedef struct {
    int64_t id;
    int64_t enterprise_id;
    const char *module;
    const char *path;
    const char *title;
    const char *owner;         /* account, NULL once the owner was deleted */
    int audience_all;
    const char *departments, *roles, *members;   /* "" when none */
    const char *responsible, *related;           /* accounts, "" if none */
    int confidential;
    int share_enabled;
    int share_effective;       /* share_enabled and the enterprise allows */
    int share_version;
    int watermark;             /* QW_ARTICLE_WM_INHERIT, 0 or 1 */
    const char *body_type;     /* NULL when no stored body */
    int64_t body_bytes;        /* stored (encrypted) size, 0 if none */
    int dek_kid;               /* 0 if no stored body */
    const char *updated_at;
} qw_article;

/* A module name: news, wiki, minutes, forms or the operator's own
 * (1-32 of a-z 0-9 _ -, starting with a letter). */
int qw_valid_article_module(const char *s);
/* An article path: starts with '/', at most 1024 bytes, valid UTF-8, no
 * control characters, '?' or '#', no "." or ".." segment. */
int qw_valid_article_path(const char *s);

qw_status qw_article_add(qw_store *st, const char *ent, const char *module,
                         const char *path, const char *title,
                         const char *owner_account, const qw_audience *aud,
                         int confidential, int watermark, int64_t *id);
/* Replace the audience. */
qw_status qw_article_set_audience(qw_store *st, const char *ent,
                                  const char *module, const char *path,
                                  const qw_audience *aud);
/* Replace the responsible and related people (NULL or "" for none). */
qw_status qw_article_set_people(qw_store *st, const char *ent,
                                const char *module, const char *path,
                                const char *responsible,
                                const char *related);
/* Store the body, encrypted (util/envelope.h) with a new data key wrapped
 * by the current master key.  content_type NULL: text/html; charset=utf-8 */
qw_status qw_article_set_body(qw_store *st, const char *ent,
                              const char *module, const char *path,
                              const unsigned char *body, size_t len,
                              const char *content_type);
/* Decrypt the stored body (for the CLI; the module decrypts itself). */
qw_status qw_article_get_body(qw_store *st, const char *ent,
                              const char *module, const char *path,
                              unsigned char **body, size_t *len,
                              const char **content_type);
qw_status qw_article_set_confidential(qw_store *st, const char *ent,
                                      const char *module, const char *path,
                                      int on);
qw_status qw_article_set_watermark(qw_store *st, const char *ent,
                                   const char *module, const char *path,
                                   int watermark);
/* Sharing on or off.  Off also bumps share_version, so every link made
 * so far is dead even if sharing is switched on again later. */
qw_status qw_article_set_share(qw_store *st, const char *ent,
                               const char *module, const char *path, int on);
/* Bump share_version: revoke every outstanding link, sharing stays on. */
qw_status qw_article_revoke_links(qw_store *st, const char *ent,
                                  const char *module, const char *path);
/* Make a share link token (util/share.h) valid for ttl seconds (0: no
 * expiry).  Sharing must be on for the article; *master_on tells whether
 * the enterprise's switch allows it (the link works only while it does).
 * The audit row names the link id, never the token. */
qw_status qw_article_share_link(qw_store *st, const char *ent,
                                const char *module, const char *path,
                                int64_t ttl, char **token, uint64_t *link_id,
                                int *master_on);
qw_status qw_article_get(qw_store *st, const char *ent, const char *module,
                         const char *path, qw_article *out);
/* Articles of ent (of one module when module is not NULL), by path. */
qw_status qw_article_list(qw_store *st, const char *ent, const char *module,
                          apr_array_header_t **out);
qw_status qw_article_delete(qw_store *st, const char *ent,
                            const char *module, const char *path);
/* Re-wrap every stored body's data key that is not under the current
 * master key; bodies are not re-encrypted.  One transaction (and one audit
 * row) per enterprise.  *done: keys re-wrapped. */
qw_status qw_article_rewrap_all(qw_store *st, long *done);

#endif

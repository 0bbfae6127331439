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

/* How the store reaches the database.  The store never holds a
 * connection: whoever owns the connections (the module's db.c, qiweictl's
 * tools/ctl_db.c) implements these operations on its own handle, and
 * decides when a connection is taken, returned, discarded or replaced.
 *
 * Rules every implementation keeps:
 *  - between txn(BEGIN) and txn(COMMIT or ROLLBACK) every statement runs on
 *    one connection; if that connection is lost, the rest of the unit
 *    fails without running anywhere else, and COMMIT reports failure;
 *  - outside a unit, a statement is retried on a fresh connection only
 *    when it cannot have changed anything (flag QW_SQL_READ, or libpq
 *    could not send it at all). */
typedef struct qw_sql qw_sql;

typedef enum {
    QW_SQL_BEGIN,
    QW_SQL_COMMIT,
    QW_SQL_ROLLBACK,
    QW_SQL_PIN,        /* pin one connection outside a transaction (LISTEN
                        * and wait on it: the revocation barrier) */
    QW_SQL_UNPIN       /* return it: notifications still queued are
                        * dropped */
} qw_sql_txn;

#define QW_SQL_READ 1      /* the statement only reads: safe to repeat */

typedef struct {
    /* One parameterised statement (text parameters and results).  NULL
     * when no connection could be had or the connection was lost: then
     * message() says why and lost() is true. */
    PGresult *(*exec)(qw_sql *db, const char *sql, int n,
                      const char *const *params, int flags);
    /* BEGIN pins a connection to the handle, COMMIT and ROLLBACK return
     * it.  Same NULL convention as exec. */
    PGresult *(*txn)(qw_sql *db, qw_sql_txn what);
    /* Several statements in one string, the simple protocol (migrations;
     * may be NULL where no migration runs). */
    PGresult *(*script)(qw_sql *db, const char *text);
    /* The connection-level message of the last failure ("" if none). */
    const char *(*message)(qw_sql *db);
    /* Whether the last failure was the connection's, not the statement's. */
    int (*lost)(qw_sql *db);
    /* On the pinned connection (QW_SQL_PIN): hand every notification that
     * has arrived, or arrives within timeout_ms, to each(baton, channel,
     * payload).  Returns as soon as at least one was handed over, or when
     * the time is up: 0; -1 when the connection failed. */
    int (*wait)(qw_sql *db, int timeout_ms,
                void (*each)(void *baton, const char *channel,
                             const char *payload),
                void *baton);
} qw_sql_ops;

struct qw_sql {
    const qw_sql_ops *ops;
};

typedef struct {
    qw_sql *db;                /* the owner's handle; never a connection */
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

/* Result columns are read by name, here and in the module (db.h).  A
 * statement's select list is written once, as a list macro COLS(X, L) of
 * X(NAME, " expression") entries whose last one is L(NAME, " expression");
 * QW_COL_SQL/QW_COL_SQL_LAST make the select list from it, and an enum
 * made from the same list gives each column its number, so the two cannot
 * drift apart.  A statement that selects one column reads it as
 * QW_COL_ONLY.  scripts/check-columns.sh (run by scripts/test.sh) fails on
 * a column read by a literal number. */
#define QW_COL_SQL(name, expr) expr ","
#define QW_COL_SQL_LAST(name, expr) expr
#define QW_COL_ONLY 0

/* --- plumbing (store.c) --- */
qw_status qw_store_begin(qw_store *st);
qw_status qw_store_commit(qw_store *st);
void qw_store_rollback(qw_store *st);
/* Run a parameterised statement; returns NULL and sets st->err on failure
 * (and the status via *rc if given).  The caller PQclear()s the result. */
PGresult *qw_store_exec(qw_store *st, const char *sql, int n,
                        const char *const *params, qw_status *rc);
/* The same for a statement that only reads: the owner may repeat it on a
 * fresh connection when the one it ran on was lost. */
PGresult *qw_store_read(qw_store *st, const char *sql, int n,
                        const char *const *params, qw_status *rc);
int64_t qw_store_enterprise_id(qw_store *st, const char *code, qw_status *rc);
/* Text form of an int64 from st->pool. */
const char *qw_i64(apr_pool_t *p, int64_t v);

/* --- units of work and inserts (store.c, built on the plumbing) --- */
/* An INSERT as qw_store_exec, except that a unique or foreign-key conflict
 * sets st->err to conflict_fmt (printf-style, naming what conflicted, e.g.
 * "role '%s' already exists in enterprise '%s'") instead of PostgreSQL's
 * message; the status stays QW_ERR_CONFLICT. */
PGresult *qw_store_insert(qw_store *st, const char *sql, int n,
                          const char *const *params, qw_status *rc,
                          const char *conflict_fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 6, 7)))
#endif
    ;
/* The audit row of a unit of work, filled by its function (what it names is
 * often known only inside the transaction). */
typedef struct {
    int64_t enterprise_id;
    const char *module;        /* as qw_audit_append's */
    const char *action;        /* NULL: no row (none due, or fn wrote it) */
    const char *object;
    const char *result;        /* NULL: "success" */
    const char *reason;
    const char *details_json;
    int unchanged;             /* nothing to change: roll back, QW_OK */
} qw_store_audit;
/* The body of a unit of work, run inside its transaction; a failure status
 * (with st->err set) rolls everything back. */
typedef qw_status (*qw_store_write_fn)(qw_store *st, void *baton,
                                       qw_store_audit *audit);
/* Begin; run fn; unless it reports nothing changed, append the audit row it
 * filled in and commit.  When anything fails, roll back and return the first
 * error (st->err keeps its message).  When fn sets audit->unchanged, roll
 * back and return QW_OK: nothing changed, nothing is logged. */
qw_status qw_store_write(qw_store *st, qw_store_write_fn fn, void *baton);

/* --- the revocation barrier (barrier.c) --- */
/* The cache of an httpd child (mod_qiwei/cache.c) is used only while its
 * listener has had, within this bound, an answer to a heartbeat it sent
 * (db.c): a listener that has not answered a barrier within it has, by
 * then, stopped serving from its cache. */
#define QW_CACHE_HEALTHY_WITHIN_MS 1500
/* What the barrier allows beyond that bound: how late PostgreSQL may
 * signal a listening backend after a commit. */
#define QW_BARRIER_SLACK_MS 100
/* The default wait (QiweiRevocationWait, qiweictl --wait). */
#define QW_BARRIER_DEFAULT_WAIT_MS 2000

typedef struct {
    int listeners;             /* connected when the barrier was sent */
    int acked;                 /* of them: applied it and answered */
    int expired;               /* of them: did not answer, but are past the
                                * heartbeat bound: not serving from cache */
    int confirmed;             /* every one of them acked or expired */
    long elapsed_ms;           /* from the barrier's commit to the end */
    const char *pending;       /* "HOST:PID, ..." of those that did not
                                * answer (expired or not; NULL: none) */
} qw_barrier;

/* After a change that takes access away has committed: make sure no httpd
 * node still serves a decision from before it.  Sends the barrier
 * (sql/014_revocation_barrier.sql) and waits up to wait_ms for every
 * connected cache listener to apply it.  Listeners that do not answer are
 * counted as out of service once QW_CACHE_HEALTHY_WITHIN_MS +
 * QW_BARRIER_SLACK_MS have passed since the commit; a wait_ms shorter than
 * that may end with out->confirmed 0.  QW_OK with *out filled (confirmed
 * or not), or QW_ERR_DB when the barrier could not be sent or the
 * connection failed while waiting (st->err says which; out->confirmed 0). */
qw_status qw_revocation_barrier(qw_store *st, long wait_ms, qw_barrier *out);

/* --- schema (migrate.c) --- */
/* Current schema version, 0 when the version table does not exist, -1 on a
 * database error (st->err says which). */
int qw_schema_version(qw_store *st);
/* Apply sql/NNN_*.sql files above the current version, each in its own
 * transaction; then, if app_role is given, grant it the rights it needs
 * (INSERT/SELECT only on audit_log). */
qw_status qw_migrate(qw_store *st, const char *sqldir, const char *app_role);

/* --- audit (audit.c) --- */
/* Append one row to audit_log inside the caller's transaction: takes a
 * per-enterprise advisory lock, chains the HMAC (format version 2 with the
 * keyring's current kid, or the chain's newest kid when that is newer: the
 * key id never goes back).  details_json may be NULL. */
qw_status qw_audit_append(qw_store *st, int64_t enterprise_id,
                          const char *module, const char *action,
                          const char *object, const char *result,
                          const char *reason, const char *details_json);

/* How the operation log names the holder of account in enterprise eid
 * (admin: an admin account, else a member): "member:<id>" (the account
 * itself never: it is personal data that must go with the member),
 * "admin:<id> <account>", or for a name nobody holds
 * "unknown-account:<kid>:<hex>", a keyed MAC of the name. */
qw_status qw_audit_account_object(qw_store *st, int64_t eid,
                                  const char *account, int admin,
                                  const char **object);

/* --- enterprises and departments (enterprise.c) --- */
qw_status qw_enterprise_add(qw_store *st, const char *code, const char *name,
                            int64_t *id);
qw_status qw_enterprise_list(qw_store *st, apr_array_header_t **out);
/* The display name of enterprise code (QW_ERR_NOTFOUND when none). */
qw_status qw_enterprise_name(qw_store *st, const char *code,
                             const char **name);
qw_status qw_enterprise_set_external_share(qw_store *st, const char *code,
                                           int allow);
/* Within the caller's transaction: kill every outstanding share link of
 * the enterprise (bump each article's share version), as switching the
 * master switch off must (R8).  Every writer of allow_external_share calls
 * it when the switch goes from on to off. */
qw_status qw_enterprise_revoke_share_links(qw_store *st,
                                           int64_t enterprise_id);
qw_status qw_department_add(qw_store *st, const char *ent, const char *code,
                            const char *name, const char *parent_code);
qw_status qw_department_list(qw_store *st, const char *ent,
                             apr_array_header_t **out);
/* Rename (name not NULL) and/or move (move set: under parent_code, NULL for
 * the top) department code, its whole subtree with it; one audit row
 * ("directory update department:ID CODE"), none when nothing changes.
 * Moving it under itself or one of its sub-departments: QW_ERR_CONFLICT. */
qw_status qw_department_update(qw_store *st, const char *ent,
                               const char *code, const char *name,
                               int move, const char *parent_code);
/* Delete an empty department: one with sub-departments, members, or named
 * in an article's audience is QW_ERR_CONFLICT (the message says which). */
qw_status qw_department_delete(qw_store *st, const char *ent,
                               const char *code);
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
/* End every session of the member now (the account stays as it is);
 * *ended: how many sessions there were.  Audited (directory end_sessions). */
qw_status qw_member_end_sessions(qw_store *st, const char *ent,
                                 const char *account, int *ended);
/* An admin's reset of the member's two-step verification: the secret and
 * the recovery codes are deleted and every session ends (QW_ERR_CONFLICT
 * when two-step is not set up).  Audited (directory two_step_reset). */
qw_status qw_member_totp_reset(qw_store *st, const char *ent,
                               const char *account);
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

/* One problem of the operation log: the seq of the row it is about. */
typedef struct {
    int64_t seq;
    const char *problem;
} qw_audit_finding;

typedef struct {
    int64_t rows;              /* every row of the enterprise read */
    int64_t chained;           /* rows with seq >= 1, each seq once */
    int64_t first_seq, last_seq;   /* of the rows with seq >= 1; 0: none */
    long problems;             /* all problems found ... */
    apr_array_header_t *findings;  /* ... the first 1000 (qw_audit_finding)
                                    * in seq order */
} qw_audit_report;

/* Check the whole operation log of enterprise ent in seq order: seq starts
 * at 1 and goes up by one (a missing row, a duplicate and a seq < 1 are
 * each reported at the row's own seq), every MAC verifies with the key file
 * (an edited, inserted or moved row), the key id never goes back to an
 * older key than an earlier row's, and the MAC version is known.
 * out->problems == 0 means the log verified.  Returns QW_OK in both cases;
 * an error status only when the check itself could not run. */
qw_status qw_audit_verify(qw_store *st, const char *ent,
                          qw_audit_report *out);

/* The newest row of ent's log: *seq (0 when the log is empty) and its
 * stored MAC in hex (*mac_hex, "" when empty).  Recorded outside the
 * database (qiweictl audit head, from cron), it lets a later verify see a
 * cut-off tail, which the chain itself cannot show. */
qw_status qw_audit_head(qw_store *st, const char *ent, int64_t *seq,
                        const char **mac_hex);

/* After qw_audit_verify(st, ent, out): check a head recorded earlier.  Row
 * seq must still be there with the same MAC (hex, compared in constant
 * time); otherwise a finding is added to out (the tail was cut off, or row
 * seq was rewritten). */
qw_status qw_audit_verify_head(qw_store *st, const char *ent, int64_t seq,
                               const char *mac_hex, qw_audit_report *out);

/* --- articles (article.c, articles issue) --- */
/* An article is named by (enterprise code, module, path); path is the
 * decoded URL path Apache sees (r->uri).  Lists are comma separated. */
typedef struct {
    int all;                   /* every member of the enterprise */
    const char *departments;   /* codes; sub-departments are included */
    const char *roles;         /* role names */
    const char *members;       /* accounts */
} qw_audience;

/* The audience test, as an SQL expression in which a is the article's row
 * and m the member's: everyone, the owner, a named member or person, a
 * role named, or a department named (or one of its sub-departments).  It
 * compares id arrays that triggers keep in the two rows
 * (sql/009_access_ids.sql).  The gate's decision (mod_qiwei/article.c)
 * and the member's list of readable articles (qw_article_readable) both
 * use this one text. */
#define QW_SQL_ARTICLE_AUDIENCE \
    " (a.audience_all OR a.owner_member_id = m.member_id" \
    "   OR m.member_id = ANY (a.audience_member_ids)" \
    "   OR a.audience_role_ids && m.access_role_ids" \
    "   OR a.audience_department_ids && m.access_department_ids)"

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

/* One article a member may read (qw_article_readable). */
typedef struct {
    const char *module;
    const char *path;          /* its gated URL path */
    const char *title;
    const char *created_at;    /* UTC, ISO 8601 */
    int module_total;          /* readable articles of that module */
} qw_article_entry;

/* The articles active member member of enterprise eid may read
 * (QW_SQL_ARTICLE_AUDIENCE), by module, newest first, at most per_module
 * of each module; one statement.  Empty when the member is not active. */
qw_status qw_article_readable(qw_store *st, int64_t eid, int64_t member,
                              int per_module, apr_array_header_t **out);

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
/* A new title (checked like a create's), logged as an update. */
qw_status qw_article_set_title(qw_store *st, const char *ent,
                               const char *module, const char *path,
                               const char *title);
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
/* A share link as sql/018_share_links.sql records it (never the token). */
typedef struct {
    const char *link_id;       /* 16 hex digits */
    const char *created_at;    /* UTC, 2026-01-02T03:04:05Z */
    const char *expires_at;    /* the same, NULL: never */
    const char *created_by;    /* the actor as the log names it */
} qw_share_link_row;
/* The live links of article article_id of ent (made under its current
 * share_version, not revoked, not expired), newest first; limit <= 0:
 * 100.  *out is an array of qw_share_link_row.  Links made before schema
 * 18 have no record and are not listed. */
qw_status qw_article_links(qw_store *st, const char *ent, int64_t article_id,
                           long limit, long offset,
                           apr_array_header_t **out);
/* Revoke one recorded link (16 hex digits) of the article, with its audit
 * row ("share-link-revoke"); the gate refuses it from the commit on.
 * QW_ERR_NOTFOUND when the article has no such record; a link revoked
 * before: QW_OK, *already set, nothing written. */
qw_status qw_article_revoke_link(qw_store *st, const char *ent,
                                 const char *module, const char *path,
                                 const char *link_id, int *already);
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

/* --- admin accounts, roles, reminders, the log, settings (admin.c,
 * issue 5) --- */
typedef struct {
    int64_t id;
    const char *account;
    int is_super;
    const char *status;        /* active | disabled */
    const char *bound_member;  /* member account, NULL if unbound */
    const char *roles;         /* comma separated role names */
    const char *modules;       /* comma separated modules it may manage */
} qw_admin;

typedef struct {
    int64_t id;
    const char *name;
    const char *modules;       /* canonical comma separated list */
} qw_admin_role;

typedef struct {
    int64_t id;
    const char *at;            /* UTC, ISO 8601 */
    const char *kind;          /* login | failed */
    const char *admin_account;
    const char *source_ip;
    const char *user_agent;
} qw_reminder;

/* Filter of the operation log; NULL or "" fields do not filter.  from is
 * inclusive, to exclusive; operator is an actor ("admin:3",
 * "operator:root"); result is as logged (success, failure, refused...). */
typedef struct {
    const char *from, *to, *operator_, *module, *result;
    long limit, offset;
} qw_audit_filter;

typedef struct {
    int64_t seq;
    /* in this order (qw_audit_list fills them as an array) */
    const char *at, *actor, *actor_role, *source_ip, *user_agent,
               *request_id, *module, *action, *object, *result, *reason,
               *details;
} qw_audit_row;

typedef struct {
    int external_share;        /* -1: leave as is (qw_settings_set) */
    int watermark_default;     /* -1: leave */
    int hide_mobile;           /* everyone's mobile hidden; -1: leave */
    const char *directory_scope;  /* all | department; NULL: leave */
    /* required | optional: whether admins need the second step
     * (sql/006); NULL: leave */
    const char *admin_two_step;
    /* Password policy and two-step of members and admins (sql/005,
     * sql/006).  Policies dengbao | nist, two-step required | optional
     * (NULL: leave; from qw_settings_get: NULL when the enterprise has
     * not set it); max ages in days 0 (never) .. QW_PWP_MAX_AGE_DAYS_MAX
     * (-1: leave / not set). */
    const char *member_password_policy;
    int member_password_max_age;
    const char *member_two_step;
    const char *admin_password_policy;
    int admin_password_max_age;
} qw_settings;

/* What applies to the member settings an enterprise has not made: the
 * location's directives (QiweiPasswordPolicy, QiweiPasswordMaxAge,
 * QiweiTwoStep).  The admin ones have built-in defaults. */
typedef struct {
    int member_mode;            /* qw_pwp_mode */
    int member_max_age;         /* days; -1: the mode's */
    int member_two_step;        /* 1: required */
} qw_settings_defaults;

/* Bits of qw_settings_effective's *from_default */
#define QW_SET_DFLT_MEMBER_POLICY  0x01
#define QW_SET_DFLT_MEMBER_MAX_AGE 0x02
#define QW_SET_DFLT_MEMBER_TWO_STEP 0x04
#define QW_SET_DFLT_ADMIN_POLICY   0x08
#define QW_SET_DFLT_ADMIN_MAX_AGE  0x10

/* password may be NULL (no login until set-password).  Admin passwords
 * follow the admin rule (>= 12 characters, digits, upper, lower,
 * symbols).  bind_member: a member account or NULL. */
qw_status qw_admin_add(qw_store *st, const char *ent, const char *account,
                       const char *password, size_t len, int is_super,
                       const char *bind_member, int64_t *id);
/* Ends every session of the account. */
qw_status qw_admin_set_password(qw_store *st, const char *ent,
                                const char *account, const char *password,
                                size_t len);
/* Bind the admin account to the directory member `member` (NULL: unbind):
 * every login to the account makes a reminder for that member (R4).  The
 * binding it has already: nothing written, no audit row, *changed (may be
 * NULL) 0.  Else one row (settings update admin:ID ACCOUNT) with
 * {"bound_member": [old member id or null, new or null]}.  QW_ERR_NOTFOUND:
 * no such admin; QW_ERR_INVALID: no such member ("member '...' is not in
 * the directory"). */
qw_status qw_admin_bind(qw_store *st, const char *ent, const char *account,
                        const char *member, int *changed);
/* active | disabled; disabling ends every session of the account. */
qw_status qw_admin_set_status(qw_store *st, const char *ent,
                              const char *account, const char *status);
qw_status qw_admin_delete(qw_store *st, const char *ent, const char *account);
/* Lift every lock and wait of an admin account's logins and second steps
 * (the counters of every source and the account-wide one), with an audit
 * row (auth/admin-unlock); *cleared (may be NULL) the counters removed. */
qw_status qw_admin_unlock(qw_store *st, const char *ent, const char *account,
                          int *cleared);
qw_status qw_admin_get(qw_store *st, const char *ent, const char *account,
                       qw_admin *out);
qw_status qw_admin_list(qw_store *st, const char *ent,
                        apr_array_header_t **out);
/* Create or replace a role (idempotent: the same modules again logs
 * nothing).  *created: 1 if it did not exist. */
qw_status qw_admin_role_put(qw_store *st, const char *ent, const char *name,
                            const char *modules_csv, int *created);
qw_status qw_admin_role_delete(qw_store *st, const char *ent,
                               const char *name);
qw_status qw_admin_role_get(qw_store *st, const char *ent, const char *name,
                            qw_admin_role *out);
qw_status qw_admin_role_list(qw_store *st, const char *ent,
                             apr_array_header_t **out);
/* Idempotent; *changed (may be NULL) says whether anything changed. */
qw_status qw_admin_grant(qw_store *st, const char *ent, const char *account,
                         const char *role, int *changed);
qw_status qw_admin_revoke(qw_store *st, const char *ent, const char *account,
                          const char *role, int *changed);

/* In the caller's transaction: a reminder for member_id (time, st->who's
 * address and browser) and NOTIFY qiwei_login_reminder with a JSON
 * payload.  kind: login | failed | totp_reuse (sql/007); admin_account
 * NULL (and admin_id 0) only for totp_reuse of the member's own code. */
qw_status qw_login_reminder_add(qw_store *st, int64_t eid, int64_t member_id,
                                int64_t admin_id, const char *admin_account,
                                const char *kind);
/* Newest first. */
qw_status qw_login_reminder_list(qw_store *st, int64_t eid, int64_t member_id,
                                 long limit, long offset,
                                 apr_array_header_t **out);

/* Rows of the log in seq order (limit 0: 100). */
qw_status qw_audit_list(qw_store *st, const char *ent,
                        const qw_audit_filter *f, apr_array_header_t **out);
/* The reads of one article in the log (action "read", object
 * "article:<id> <path>", the article's module), newest first (limit 0:
 * 100). */
qw_status qw_audit_article_reads(qw_store *st, const char *ent,
                                 const char *module, const char *object,
                                 long limit, long offset,
                                 apr_array_header_t **out);
/* Where an export goes: called with the CSV header line, then with each
 * page of lines as it is read; nonzero stops the export (the reader went
 * away). */
typedef int (*qw_audit_sink)(void *baton, const char *data, size_t len);
/* The rows of f (limit and offset ignored: the whole selection) as CSV,
 * cells guarded against formula injection, streamed to sink.  The export
 * is logged first (module audit, action export: the filter, the number of
 * rows and "upto", the last seq it covers), in a transaction of its own;
 * then the rows up to that seq are read in pages by keyset (seq > last),
 * each page its own statement, so memory stays one page and no connection
 * is held while sink writes.  Consistent without a transaction: the log is
 * append-only and numbered in commit order.  *rows: rows written. */
qw_status qw_audit_export(qw_store *st, const char *ent,
                          const qw_audit_filter *f, qw_audit_sink sink,
                          void *sink_baton, long *rows);
/* One audit row in a transaction of its own (refusals, failed logins). */
qw_status qw_audit_note(qw_store *st, int64_t eid, const char *module,
                        const char *action, const char *object,
                        const char *result, const char *reason,
                        const char *details_json);

/* Every field "leave as it is" (-1 / NULL): start of a change. */
void qw_settings_leave(qw_settings *s);
/* As stored: the password and member two-step fields NULL / -1 when the
 * enterprise has not set them (or set something unreadable). */
qw_status qw_settings_get(qw_store *st, const char *ent, qw_settings *out);
/* The values in force: raw's, or for those not set the defaults (d; NULL:
 * the built-in ones, dengbao and optional), a max age not set being its
 * policy's (90 days for dengbao, 0 for nist).  *from_default (may be
 * NULL): QW_SET_DFLT_* bits of the fields that are defaults.  The same
 * rule as the logins' (qw_pwpolicy_resolve). */
void qw_settings_effective(const qw_settings *raw,
                           const qw_settings_defaults *d, qw_settings *eff,
                           unsigned *from_default);
/* Change what in names (fields -1 / NULL are left as they are; start from
 * qw_settings_leave).  A setting given with the value in force (d as for
 * qw_settings_effective) is no change; a request that changes nothing
 * writes nothing and no audit row; the row's details name only the
 * settings that changed: {"name": [old, new]}, old the value that was in
 * force.  *changed (may be NULL) says whether anything changed. */
qw_status qw_settings_set(qw_store *st, const char *ent,
                          const qw_settings *in,
                          const qw_settings_defaults *d, int *changed);

/* Edit a member's fields: NULL leaves a field as is, "" clears mobile or
 * email; hide_mobile -1 leaves it.  Logs which fields changed, not their
 * values. */
qw_status qw_member_edit(qw_store *st, const char *ent, const char *account,
                         const char *display_name, const char *mobile,
                         const char *email, int hide_mobile);


/* A member of the directory as a viewer may see them (R15). */
typedef struct {
    int64_t id;
    const char *account;
    const char *display_name;
    const char *departments;   /* comma-separated codes, sorted */
    const char *department_names;  /* for display: "A, B" (not to split) */
    const char *mobile;        /* decrypted; NULL when hidden or none */
} qw_directory_entry;
/* The active members viewer may see, by account, limit from offset (the
 * one implementation of the enterprise's directory_scope and hide_mobile
 * settings and of each member's own hide_mobile): scope "all" is everyone,
 * "department" the people of the viewer's departments and their
 * sub-departments, and the viewer.  A hidden number is never read from
 * the database.  *total: every visible member, not only this page (0 when
 * the page is empty). */
qw_status qw_directory_visible(qw_store *st, int64_t ent, int64_t viewer,
                               long limit, long offset,
                               apr_array_header_t **out, int *total);

/* --- account security (issue 6, store/security.c) --- */
typedef struct {
    int totp_enabled;
    double password_age_days;  /* -1 when never set */
    const char *policy;        /* settings member_password_policy or NULL */
    const char *two_step;      /* settings member_two_step or NULL */
    int max_age_days;          /* settings member_password_max_age, -1 */
    const char *account;
} qw_member_security;

typedef struct {
    int64_t enterprise_id;
    int64_t member_id;
    const char *account;
    const char *purpose;       /* totp | expired | enrol */
    int auth_level;
    const char *next_url;
    int attempts;
    unsigned char hash[32];
} qw_pending;

typedef struct {
    const char *state;         /* pending approved refused used expired
                                * throttled */
    const char *ip, *ua;       /* the requesting computer (peek) */
    int seconds_left;
    int64_t member_id;
    const char *next_url;
} qw_scan;

qw_status qw_sec_member_state(qw_store *st, int64_t ent, int64_t member,
                              qw_member_security *out);
/* Store a new, not yet confirmed TOTP secret (sealed); QW_ERR_CONFLICT if
 * two-step is already on. */
qw_status qw_sec_totp_begin(qw_store *st, int64_t ent, int64_t member,
                            const unsigned char *secret, size_t n);
/* The decrypted secret; QW_ERR_NOTFOUND when none. */
qw_status qw_sec_totp_get(qw_store *st, int64_t ent, int64_t member,
                          unsigned char **secret, size_t *n, int *enabled,
                          int64_t *last_step);
/* Accept step once (UPDATE ... WHERE last_step < step): QW_OK, or
 * QW_ERR_CONFLICT when the step (or a later one) was already used. */
qw_status qw_sec_totp_use_step(qw_store *st, int64_t ent, int64_t member,
                               int64_t step);
/* Confirm enrolment with the step of a valid code, make ncodes recovery
 * codes (returned in clear once, stored hashed), end every session of the
 * member, audit; one transaction. */
qw_status qw_sec_totp_enable(qw_store *st, int64_t ent, int64_t member,
                             int64_t step, int ncodes,
                             apr_array_header_t **codes);
/* Turn a member's two-step off (the caller has checked a proof: the
 * password or a current code): secret and recovery codes deleted, every
 * session of the member ended, audited (auth two_step_disable); one
 * transaction.  QW_ERR_CONFLICT when it is not on or the enterprise's
 * member_two_step is "required" (nothing changed). */
qw_status qw_sec_totp_disable(qw_store *st, int64_t ent, int64_t member);
/* Use a recovery code once: QW_OK or QW_ERR_NOTFOUND. */
qw_status qw_sec_recovery_use(qw_store *st, int64_t ent, int64_t member,
                              const char *code);
/* The current hash then up to history older ones (Argon2id strings). */
qw_status qw_sec_password_hashes(qw_store *st, int64_t ent, int64_t member,
                                 int history, apr_array_header_t **out);
/* New password: the old hash goes to the history (keep newest kept), ends
 * every session, audit; one transaction. */
qw_status qw_sec_password_change(qw_store *st, int64_t ent, int64_t member,
                                 const char *new_hash, int keep);
/* A live session of a member, for their own list (no token, no hash). */
typedef struct {
    int64_t id;
    const char *kind;          /* member | scan */
    const char *created_at;    /* UTC, "YYYY-MM-DD HH:MM" */
    const char *last_seen_at;
    const char *source_ip;     /* NULL when unknown */
    const char *user_agent;
} qw_session_info;
/* The member's unexpired sessions, most recently seen first, at most
 * limit. */
qw_status qw_sec_sessions_list(qw_store *st, int64_t ent, int64_t member,
                               int limit, apr_array_header_t **out);
/* End sessions of member, audited (module auth): session_id > 0 ends that
 * one (action session_end), QW_ERR_NOTFOUND when it is not one of the
 * member's (nothing ended, nothing logged); session_id 0 ends every one
 * but keep (action sessions_end_others).  *ended: how many rows went. */
qw_status qw_sec_sessions_end(qw_store *st, int64_t ent, int64_t member,
                              int64_t session_id, int64_t keep, int *ended);
qw_status qw_sec_pending_new(qw_store *st, int64_t ent, int64_t member,
                             const char *purpose, int level,
                             const char *next_url, int ttl,
                             const unsigned char hash[32]);
qw_status qw_sec_pending_get(qw_store *st, const char *ent_code,
                             const unsigned char hash[32], qw_pending *out);
qw_status qw_sec_pending_end(qw_store *st, int64_t ent,
                             const unsigned char hash[32]);
/* Count a wrong answer; the pending login is dropped at max. */
qw_status qw_sec_pending_attempt(qw_store *st, int64_t ent,
                                 const unsigned char hash[32], int max);
/* A scan-to-login request: who asks and the bounds on open (unexpired)
 * challenges it must fit in: per address, per its network (/24, /64;
 * NULL: not checked) and per enterprise. */
typedef struct {
    const char *ip, *net, *ua, *next_url;
    int ttl;
    int per_address, per_network, total;
} qw_scan_request;
#define QW_SCAN_FULL_ADDRESS 1  /* the address or its network holds enough */
#define QW_SCAN_FULL_TOTAL   2  /* the enterprise holds enough */
typedef struct {
    int refused;                /* 0: made; else QW_SCAN_FULL_* */
    int retry_after;            /* seconds until the oldest in the way ends */
} qw_scan_refusal;
/* A new challenge (expired ones of the enterprise are deleted first),
 * unless a bound is reached (QW_OK, out->refused set, nothing stored);
 * QW_ERR_NOTFOUND: no such enterprise. */
qw_status qw_sec_scan_new(qw_store *st, const char *ent_code,
                          const unsigned char challenge[32],
                          const unsigned char browser[32],
                          const qw_scan_request *req, qw_scan_refusal *out);
/* A live challenge (for the phone's page); QW_ERR_NOTFOUND otherwise. */
qw_status qw_sec_scan_peek(qw_store *st, const char *ent_code,
                           const unsigned char challenge[32], qw_scan *out);
/* pending -> approved/refused by member; QW_ERR_NOTFOUND when not pending
 * or expired. */
qw_status qw_sec_scan_decide(qw_store *st, const char *ent_code,
                             const unsigned char challenge[32],
                             int64_t member, int approve);
/* One poll from the bound browser: out->state is the state before this
 * poll ("approved" means this poll consumed it: issue the session),
 * "expired", or "throttled" (too soon / too many).  QW_ERR_NOTFOUND when
 * no challenge matches both hashes. */
qw_status qw_sec_scan_poll(qw_store *st, const char *ent_code,
                           const unsigned char challenge[32],
                           const unsigned char browser[32], int min_ms,
                           int max_polls, qw_scan *out);

/* --- two-step and password data shared by members and admin accounts ---
 * One implementation (store/security.c) serves both kinds of account; a
 * qw_principal names the tables and columns of one kind.  Every field is
 * a constant SQL identifier (or fragment) compiled into the module, never
 * input: the SQL is built from them with apr_psprintf and every value
 * stays a $n parameter. */
typedef struct {
    const char *account_table;  /* members, admin_accounts */
    const char *id_col;         /* member_id, admin_id */
    const char *account_cond;   /* more of the account row's WHERE, or "" */
    const char *totp_table;     /* member_totp, admin_totp */
    const char *codes_table;    /* member_recovery_codes, ... */
    const char *history_table;  /* member_password_history, ... */
    const char *totp_aad;       /* the secret's AAD column: stored secrets
                                 * decrypt only with this exact string */
} qw_principal;
extern const qw_principal qw_member_principal;   /* security.c */
extern const qw_principal qw_admin_principal;    /* admin_security.c */

qw_status qw_psec_totp_begin(qw_store *st, const qw_principal *pr,
                             int64_t ent, int64_t id,
                             const unsigned char *secret, size_t n);
qw_status qw_psec_totp_get(qw_store *st, const qw_principal *pr,
                           int64_t ent, int64_t id, unsigned char **secret,
                           size_t *n, int *enabled, int64_t *last_step);
qw_status qw_psec_totp_use_step(qw_store *st, const qw_principal *pr,
                                int64_t ent, int64_t id, int64_t step);
/* In the caller's transaction: enable with a step later than any seen and
 * replace the recovery codes (ncodes, returned in clear once).  No row to
 * enable: QW_ERR_CONFLICT, with st->err = conflict_msg unless NULL.  Ends
 * no session and audits nothing: the callers do. */
qw_status qw_psec_totp_enable(qw_store *st, const qw_principal *pr,
                              int64_t ent, int64_t id, int64_t step,
                              int ncodes, const char *conflict_msg,
                              apr_array_header_t **codes);
qw_status qw_psec_recovery_use(qw_store *st, const qw_principal *pr,
                               int64_t ent, int64_t id, const char *code);
/* The current hash, then up to limit history ones, newest first. */
qw_status qw_psec_password_hashes(qw_store *st, const qw_principal *pr,
                                  int64_t ent, int64_t id, int limit,
                                  apr_array_header_t **out);
/* In the caller's transaction: the old hash to the history (keep the
 * newest keep), set the new one.  No account row: QW_ERR_NOTFOUND, with
 * st->err = none_msg unless NULL.  Ends no session, audits nothing. */
qw_status qw_psec_password_set(qw_store *st, const qw_principal *pr,
                               int64_t ent, int64_t id, const char *hash,
                               int keep, const char *none_msg);


/* --- account security of admin accounts (admin_security.c, sql/006) --- */
#include "util/pwpolicy.h"
/* The blocklist the admin password policy uses (the module sets its own;
 * qiweictl loads $QIWEI_BLOCKLIST or the installed copy). */
void qw_admin_blocklist_set(const qw_blocklist *bl);
/* The admin policy of enterprise eid: settings admin_password_policy
 * (dengbao by default) and admin_password_max_age. */
qw_status qw_admin_policy_of(qw_store *st, int64_t eid, qw_pwpolicy *pol);
/* The admin policy of eid and the blocklist it needs: QW_ERR_INVALID
 * when there is no blocklist (fail closed), else qw_admin_policy_of's. */
qw_status qw_admin_password_rules(qw_store *st, int64_t eid,
                                  qw_pwpolicy *pol, const qw_blocklist **bl);
/* "password refused (<reason>): <sentence>", the words the API and
 * qiweictl show for a refused admin password. */
const char *qw_admin_password_refused(apr_pool_t *p, const qw_pwpolicy *pol,
                                      qw_pwp_result pr);
/* QW_ERR_INVALID with "password refused (<reason>): <sentence>" when pw
 * breaks the policy or is the current password or one of the
 * pol.history before it of admin aid (0: a new account); the same check
 * as the module's password change (qw_pwpolicy_new_password), outside
 * any hashing slot: for qiweictl and new accounts.  No transaction. */
qw_status qw_admin_password_check(qw_store *st, int64_t eid, int64_t aid,
                                  const char *account, const char *pw,
                                  size_t len);
/* In the caller's transaction: keep the old hash in the history, set the
 * new one, end the account's sessions but keep_session (0: all), audit. */
qw_status qw_admin_password_store(qw_store *st, int64_t eid, int64_t aid,
                                  const char *hash, int64_t keep_session,
                                  const char *object);
qw_status qw_admin_totp_begin(qw_store *st, int64_t eid, int64_t aid,
                              const unsigned char *secret, size_t n);
qw_status qw_admin_totp_get(qw_store *st, int64_t eid, int64_t aid,
                            unsigned char **secret, size_t *n, int *enabled,
                            int64_t *last_step);
/* QW_OK, or QW_ERR_CONFLICT when the step was already used (replay). */
qw_status qw_admin_totp_use_step(qw_store *st, int64_t eid, int64_t aid,
                                 int64_t step);
qw_status qw_admin_totp_enable(qw_store *st, int64_t eid, int64_t aid,
                               int64_t step, int ncodes, int64_t keep_session,
                               apr_array_header_t **codes);
qw_status qw_admin_recovery_use(qw_store *st, int64_t eid, int64_t aid,
                                const char *code);

/* --- the private mailbox (mailbox.c, sql/016_mailbox.sql, R10) ---
 * Every function names the enterprise by id and members by id, as a
 * session knows them (qiweictl resolves codes and accounts first).  Each
 * recipient's copy is sealed with a data key of its own (util/envelope.h,
 * scheme qw_env_mailbox); destroying a copy sets its ciphertext and
 * wrapped key to NULL in the transaction that records it.  The log (module
 * news, actions mailbox_send, mailbox_read, mailbox_destroy, mailbox_wipe)
 * never holds a body, nor the title of a confidential message. */

/* Hard bounds; the module's directives (QiweiMailboxMaxBody) set lower
 * ones. */
#define QW_MAIL_TITLE_MAX_CHARS 300
#define QW_MAIL_MAX_BODY (1024 * 1024)
#define QW_MAIL_MAX_RECIPIENTS 10000
#define QW_MAIL_OPEN_MINUTES_MAX 1440
#define QW_MAIL_OPEN_MINUTES_DEFAULT 5
/* Attachments (sql/017): at most 4 per message, each at most 4 MiB (the
 * directive QiweiMailboxMaxAttachment sets the handler's lower bound), and
 * at most 64 MiB sealed by one send (the files' bytes times the
 * recipients: each copy has its own); names at most 200 bytes
 * (QW_MAILATT_NAME_MAX, util/mailatt.h). */
#define QW_MAIL_MAX_ATTACHMENTS 4
#define QW_MAIL_MAX_ATTACHMENT (4 * 1024 * 1024)
#define QW_MAIL_MAX_ATT_STORED (64 * 1024 * 1024)

/* Who sends, destroys for everyone, lists sent messages and reads
 * receipts.  admin: an admin account of the enterprise (admin_id);
 * member: a member (member_id); operator: qiweictl.  Admins and the
 * operator share the messages sent by admins and the operator; a member
 * sees only their own. */
typedef struct {
    const char *kind;          /* admin | member | operator */
    int64_t admin_id;          /* kind admin */
    int64_t member_id;         /* kind member */
} qw_mail_sender;

/* A new message.  to: the recipients, resolved at send time to the active
 * members named, in a department named or one of its sub-departments, or
 * holding a role named (to.all: every active member).  Every name must
 * exist (QW_ERR_NOTFOUND otherwise); nobody active: QW_ERR_INVALID. */
typedef struct {
    const char *title;         /* 1..300 characters, one line */
    const char *rule;          /* read_once | expires_at | kept */
    int open_minutes;          /* read_once: how long the revealed page
                                * shows it, 1..1440 (0: 5); else 0 */
    /* expires_at (required) or read_once (optional): when it is destroyed
     * for everyone.  Either a PostgreSQL timestamptz text ("2026-12-31
     * 18:00+08") or expires_in seconds from now (> 0); not both.  Must be
     * in the future. */
    const char *expires_at;
    int64_t expires_in;
    int confidential;          /* the log never names its title */
    const char *body;          /* UTF-8 text (newlines and tabs allowed) */
    size_t len;                /* at most QW_MAIL_MAX_BODY */
    qw_audience to;
    /* natt (0..QW_MAIL_MAX_ATTACHMENTS) attachments; their idx is set by
     * the store (1..natt in this order) */
    const struct qw_mail_att *att;
    int natt;
} qw_mail_new;

/* An attachment.  To qw_mailbox_send: name (cleaned by the store: any
 * path before the last / or \ dropped, control characters and "*:<>?|
 * replaced by _, at most QW_MAILATT_NAME_MAX bytes, "attachment" when
 * nothing is left), type as the client claims it (the store keeps
 * image/png, image/jpeg, image/gif or image/webp only when the bytes are
 * one, anything else becomes application/octet-stream), data and len
 * (1..QW_MAIL_MAX_ATTACHMENT bytes).  From qw_mailbox_reveal_all and
 * qw_mailbox_attachment: all fields, decrypted. */
typedef struct qw_mail_att {
    int idx;
    const char *name;
    const char *type;
    const unsigned char *data;
    size_t len;
} qw_mail_att;

/* (util/mailatt.h: qw_mailatt_inline tells the types shown inline.) */

/* A message as one recipient sees it (qw_mailbox_list, qw_mailbox_get,
 * qw_mailbox_reveal) or as its sender sees it (qw_mailbox_sent: state is
 * the message's, counts filled). */
typedef struct {
    int64_t id;
    const char *title;
    const char *sender_kind;   /* admin | member | operator */
    const char *sender;        /* admin: account; member: display name;
                                * operator: "operator"; NULL once the
                                * sender's account was deleted */
    const char *rule;          /* read_once | expires_at | kept */
    int open_minutes;          /* read_once; 0 otherwise */
    const char *expires_at;    /* UTC ISO 8601, NULL when none */
    int confidential;
    int64_t body_bytes;
    int attachments;           /* how many (0..4) */
    int64_t attachment_bytes;  /* their total size */
    const char *created_at;    /* UTC ISO 8601 */
    /* unread | read | destroyed, or expired (the time has passed; gc or
     * the next read destroys it) */
    const char *state;
    const char *read_at, *destroyed_at;   /* NULL when not */
    /* read_once | expired | sender | recipient | wipe | member_status */
    const char *destroy_reason;
    /* qw_mailbox_sent only */
    int recipients, read, destroyed;
} qw_mail_item;

/* One recipient's copy, for the sender (qw_mailbox_receipts). */
typedef struct {
    int64_t member_id;
    const char *account;       /* NULL: never (copies go with the member) */
    const char *display_name;
    const char *state;         /* unread | read | destroyed */
    const char *delivered_at, *read_at, *destroyed_at;
    const char *destroyed_by;  /* as the log names the actor */
    const char *destroy_reason;
} qw_mail_receipt;

/* What a reveal found (qw_mailbox_reveal's *gone). */
typedef enum {
    QW_MAIL_REVEALED = 0,      /* *body holds the text */
    QW_MAIL_GONE_READ,         /* read once, already revealed: destroyed */
    QW_MAIL_GONE_DESTROYED,    /* destroyed by its sender, the recipient, a
                                * wipe or a status change */
    QW_MAIL_GONE_EXPIRED       /* its time has passed: destroyed now */
} qw_mail_gone;

/* Send: seal one copy per recipient, insert message and copies, log
 * mailbox_send; one transaction.  *id and *recipients (may be NULL). */
qw_status qw_mailbox_send(qw_store *st, int64_t eid,
                          const qw_mail_sender *from, const qw_mail_new *m,
                          int64_t *id, int *recipients);
/* The member's mailbox, newest first: copies neither destroyed nor
 * expired (checked in SQL), without bodies.  limit 0: 100. */
qw_status qw_mailbox_list(qw_store *st, int64_t eid, int64_t member,
                          long limit, long offset, apr_array_header_t **out);
/* One of the member's copies, in any state, without its body (the
 * confirmation step before a reveal).  QW_ERR_NOTFOUND when the member
 * has no copy of message id. */
qw_status qw_mailbox_get(qw_store *st, int64_t eid, int64_t member,
                         int64_t id, qw_mail_item *out);
/* Reveal the member's copy: in one transaction, lock the copy (SELECT ...
 * FOR UPDATE), check it is live and not expired, decrypt, and for a read
 * once message destroy the copy (ciphertext and key set to NULL) before
 * the commit; log mailbox_read.  *body (NUL-terminated, *len bytes) only
 * when the commit succeeded and *gone is QW_MAIL_REVEALED.  An expired
 * message is destroyed for everyone by this call (*gone EXPIRED).  Of
 * concurrent reveals of one read-once copy exactly one gets the body; the
 * others get QW_MAIL_GONE_READ.  QW_ERR_NOTFOUND: no copy of id for the
 * member.  *item (may be NULL) describes the message. */
qw_status qw_mailbox_reveal(qw_store *st, int64_t eid, int64_t member,
                            int64_t id, qw_mail_item *item,
                            qw_mail_gone *gone, const char **body,
                            size_t *len);
/* The same, with the copy's attachments decrypted in the same transaction
 * (*atts: qw_mail_att by index, empty when none; NULL unless revealed).
 * A read-once copy's attachments are deleted by the statement that
 * destroys the copy (sql/017's trigger): this answer is the only one that
 * ever carries them. */
qw_status qw_mailbox_reveal_all(qw_store *st, int64_t eid, int64_t member,
                                int64_t id, qw_mail_item *item,
                                qw_mail_gone *gone, const char **body,
                                size_t *len, apr_array_header_t **atts);
/* Attachment idx of the member's live copy of a message that is not read
 * once (the download; nothing changes, nothing is logged).
 * QW_ERR_NOTFOUND: no such copy or attachment, or a read-once message
 * (its attachments come only with the reveal).  A destroyed copy, or one
 * whose time has passed: QW_OK with *gone set (not QW_MAIL_REVEALED) and
 * *out empty. */
qw_status qw_mailbox_attachment(qw_store *st, int64_t eid, int64_t member,
                                int64_t id, int idx, qw_mail_att *out,
                                qw_mail_gone *gone);
/* The recipient destroys their own copy (reason recipient).  *changed 0
 * when it was already destroyed (nothing logged).  QW_ERR_NOTFOUND: no
 * copy of id for the member. */
qw_status qw_mailbox_destroy_copy(qw_store *st, int64_t eid, int64_t member,
                                  int64_t id, int *changed);
/* Message id destroyed for everyone (copies' reason sender): every live
 * copy, one transaction, logged.  A member destroys only what they sent;
 * an admin or the operator any message of the enterprise (a member's is
 * logged with reason moderation).  QW_ERR_NOTFOUND when the message does
 * not exist or from may not destroy it.  *copies: copies destroyed now. */
qw_status qw_mailbox_destroy_message(qw_store *st, int64_t eid,
                                     const qw_mail_sender *from, int64_t id,
                                     long *copies);
/* Wipe a member's mailbox (the lost phone): destroy every live copy
 * (reason wipe) and end every session of the member, one transaction,
 * logged (mailbox_wipe).  The caller then sends the revocation barrier.
 * QW_ERR_NOTFOUND: no such member. */
qw_status qw_mailbox_wipe(qw_store *st, int64_t eid, int64_t member,
                          long *copies);
/* The same within the caller's transaction, without ending sessions;
 * reason wipe or member_status.  Logs mailbox_wipe when it destroyed
 * anything (store/member.c calls it when a member leaves 'active'). */
qw_status qw_mailbox_wipe_tx(qw_store *st, int64_t eid, int64_t member,
                             const char *reason, long *copies);
/* Messages from the sender, newest first, with counts (limit 0: 100). */
qw_status qw_mailbox_sent(qw_store *st, int64_t eid,
                          const qw_mail_sender *from, long limit,
                          long offset, apr_array_header_t **out);
/* The receipts of message id from the sender: the message and each copy
 * (qw_mail_receipt), by member.  QW_ERR_NOTFOUND as destroy_message. */
qw_status qw_mailbox_receipts(qw_store *st, int64_t eid,
                              const qw_mail_sender *from, int64_t id,
                              qw_mail_item *msg, apr_array_header_t **out);
/* Destroy every message whose expires_at has passed (all enterprises;
 * reason expired), in transactions of up to 500 messages, each logged.
 * *messages and *copies destroyed. */
qw_status qw_mailbox_gc(qw_store *st, long *messages, long *copies);
/* After a key rotation (qiweictl keys rewrap): re-wrap every live copy's
 * data key that is not under the current master key; texts are not
 * re-encrypted.  One transaction (one audit row, module settings, action
 * rewrap, object mailbox) per enterprise.  *done: keys re-wrapped. */
qw_status qw_mailbox_rewrap_all(qw_store *st, long *done);

#endif

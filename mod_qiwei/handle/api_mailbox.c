/* The private mailbox's JSON API (docs/mailbox.md, R10).
 *
 * Admin side, <handler>/api/v1/mailbox/... (admin session, module news,
 * CSRF header on changes): send, the messages admins and operators sent
 * with their receipts, destroy for everyone, wipe a member's mailbox.
 * Member side, <handler>/api/v1/me/mailbox/... (member session, CSRF
 * header of purpose "mailbox-api" on changes, handle/api.c): the list,
 * one message, reveal (POST), destroy one's copy, and where the location
 * allows it (QiweiMailboxMemberSend) send and the member's own receipts.
 *
 * No list ever carries a body; a body leaves only in the answer to the
 * reveal POST that, for a read-once message, destroyed it in the same
 * transaction (store/mailbox.c).  JSON by jansson only; request bodies by
 * qw_api_read_body_max (util/jbody.c, fuzzed). */
#include <string.h>

#include <sodium.h>

#include "apr_lib.h"
#include "apr_strings.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"

#include "qiwei.h"
#include "metrics.h"
#include "cfg/config.h"
#include "handle/api.h"
#include "util/csrf.h"
#include "util/jbody.h"
#include "util/mailatt.h"
#include "util/json.h"
#include "util/text.h"

#define MOD "news"
/* the JSON around a message's text: escapes may double it, plus the
 * other fields */
#define REQUEST_OVERHEAD 16384
/* per attachment around its base64: the name, the type, the keys */
#define ATT_OVERHEAD 1024
/* base64 of n bytes */
#define B64_LEN(n) (4 * (((apr_size_t)(n) + 2) / 3))
/* the download's headers: never rendered, never sniffed, never cached */
#define DOWNLOAD_CSP "sandbox; default-src 'none'"

static const char *const keys_send[] = { "title", "body", "rule",
                                         "open_minutes", "expires_at",
                                         "expires_in", "confidential", "to",
                                         "attachments", NULL };
static const char *const keys_att[] = { "name", "type", "data", NULL };
static const char *const keys_to[] = { "all", "members", "departments",
                                       "roles", NULL };
static const char *const keys_wipe[] = { "account", NULL };

/* A refusal of the mailbox API, counted like the gate's (metrics.h,
 * qiwei_refusals_total{tag=...}) and left in the QIWEI_REASON note. */
void qw_api_mailbox_refused(request_rec *r, const char *tag)
{
    qw_metrics_refusal(tag);
    apr_table_setn(r->notes, "QIWEI_REASON", tag);
}

static int not_found(qw_api *a)
{
    return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
}

/* A subrequest (an SSI include virtual, a filter's lookup) would embed
 * titles or a message's text in another page: 404. */
static int subrequest(qw_api *a)
{
    if (a->r->main == NULL) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, a->r,
                  "QW0738: mailbox API %s asked for in a subrequest (of %s):"
                  " 404", a->r->uri, a->r->main->uri);
    return 1;
}

static int method_not_allowed(qw_api *a)
{
    return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                        "method not allowed");
}

/* A message id from the path: 1.. digits; 0 when it is not one. */
static int64_t path_id(const char *s)
{
    char *end;
    int64_t v;

    if (s == NULL || !apr_isdigit(*s) || strlen(s) > 18) {
        return 0;
    }
    v = apr_strtoi64(s, &end, 10);
    return *end == '\0' && v > 0 ? v : 0;
}

static json_t *item_json(const qw_mail_item *it, int sent)
{
    json_t *j = json_pack("{s:I, s:s, s:s, s:s?, s:s, s:s?, s:b, s:I, s:s,"
                          " s:s, s:s?, s:s?, s:s?}",
                          "id", (json_int_t)it->id, "title", it->title,
                          "sender_kind", it->sender_kind,
                          "sender", it->sender, "rule", it->rule,
                          "expires_at", it->expires_at,
                          "confidential", it->confidential,
                          "body_bytes", (json_int_t)it->body_bytes,
                          "created_at", it->created_at,
                          "state", it->state, "read_at", it->read_at,
                          "destroyed_at", it->destroyed_at,
                          "destroy_reason", it->destroy_reason);

    if (j) {
        json_object_set_new(j, "attachments", json_integer(it->attachments));
        json_object_set_new(j, "attachment_bytes",
                            json_integer((json_int_t)it->attachment_bytes));
    }
    if (j && it->open_minutes > 0) {
        json_object_set_new(j, "open_minutes",
                            json_integer(it->open_minutes));
    }
    if (j && sent) {
        json_object_set_new(j, "recipients", json_integer(it->recipients));
        json_object_set_new(j, "read", json_integer(it->read));
        json_object_set_new(j, "destroyed", json_integer(it->destroyed));
        json_object_del(j, "read_at");
    }
    return j;
}

static json_t *items_json(qw_api *a, const apr_array_header_t *arr, int sent)
{
    json_t *items = json_array();
    int i;

    for (i = 0; items && i < arr->nelts; i++) {
        json_array_append_new(items,
                              item_json(&APR_ARRAY_IDX(arr, i,
                                                       qw_mail_item),
                                        sent));
    }
    return json_pack("{s:o, s:I, s:I}", "items", items ? items : json_array(),
                     "limit", (json_int_t)a->limit,
                     "offset", (json_int_t)a->offset);
}

static json_t *receipts_json(const qw_mail_item *msg,
                             const apr_array_header_t *rs)
{
    json_t *list = json_array();
    int i;

    for (i = 0; list && i < rs->nelts; i++) {
        const qw_mail_receipt *x = &APR_ARRAY_IDX(rs, i, qw_mail_receipt);

        json_array_append_new(list, json_pack(
            "{s:s?, s:s?, s:s, s:s, s:s?, s:s?, s:s?, s:s?}",
            "account", x->account, "display_name", x->display_name,
            "state", x->state, "delivered_at", x->delivered_at,
            "read_at", x->read_at, "destroyed_at", x->destroyed_at,
            "destroyed_by", x->destroyed_by,
            "destroy_reason", x->destroy_reason));
    }
    return json_pack("{s:o, s:o}", "message", item_json(msg, 1),
                     "receipts", list ? list : json_array());
}

/* ---- send (both sides) ---- */

/* An optional integer field: *out unchanged when absent. */
static int int_field(qw_api *a, const json_t *obj, const char *field,
                     json_int_t lo, json_int_t hi, int64_t *out, int *done)
{
    json_t *v = json_object_get(obj, field);

    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo
        || json_integer_value(v) > hi) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, field,
                             apr_psprintf(a->r->pool, "%s must be an "
                                          "integer from %" JSON_INTEGER_FORMAT
                                          " to %" JSON_INTEGER_FORMAT,
                                          field, lo, hi));
        return 1;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

/* The "to" object: {"all": bool, "members": [...], "departments": [...],
 * "roles": [...]}. */
static int read_to(qw_api *a, qw_audience *to, int *done)
{
    json_t *o = json_object_get(a->body, "to");
    const char *bad, *want;
    static const char *const lists[] = { "members", "departments", "roles" };
    const char **dst[3];
    json_t *all;
    int i;

    memset(to, 0, sizeof(*to));
    if (o == NULL || !json_is_object(o)) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, "to", "to must be an "
                             "object naming members, departments, roles "
                             "or all");
        return 1;
    }
    if (!qw_json_only_keys(o, keys_to, &bad)) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST,
                             apr_pstrcat(a->r->pool, "to.",
                                         qw_sanitize_text(a->r->pool, bad,
                                                          64), NULL),
                             "unknown key");
        return 1;
    }
    all = json_object_get(o, "all");
    if (all && !json_is_null(all)) {
        if (!json_is_boolean(all)) {
            *done = qw_api_error(a, HTTP_BAD_REQUEST, "to.all",
                                 "to.all must be true or false");
            return 1;
        }
        to->all = json_is_true(all);
    }
    dst[0] = &to->members;
    dst[1] = &to->departments;
    dst[2] = &to->roles;
    for (i = 0; i < 3; i++) {
        if (qw_jbody_str_list(a->r->pool, o, lists[i], 0, dst[i], &want)
            == QW_JFIELD_TYPE) {
            *done = qw_api_error(a, HTTP_BAD_REQUEST,
                                 apr_pstrcat(a->r->pool, "to.", lists[i],
                                             NULL),
                                 apr_pstrcat(a->r->pool, "to.", lists[i],
                                             " must be ", want, NULL));
            return 1;
        }
    }
    return 0;
}

/* The largest request a send may be: the text (escapes may double it),
 * the other fields, and up to four attachments in base64 (a client that
 * escapes "/" as "\/" doubles that too). */
static apr_size_t send_max(request_rec *r)
{
    int max = qw_cfg_mailbox_max_body(qw_dir(r));
    int att = qw_cfg_mailbox_max_attachment(qw_dir(r));
    /* the text as JSON: up to 6 bytes per byte of text (\u0041 for A) */
    apr_size_t n = 6 * (apr_size_t)max + REQUEST_OVERHEAD;

    if (att > 0) {
        n += QW_MAIL_MAX_ATTACHMENTS * (2 * B64_LEN(att) + ATT_OVERHEAD);
    }
    return n;
}

/* "attachments": [{"name": "...", "type": "image/png", "data": BASE64}],
 * at most QW_MAIL_MAX_ATTACHMENTS, each at most QiweiMailboxMaxAttachment
 * bytes once decoded (413 naming it, QW0730); 400 for anything malformed
 * (QW0731, QW0734, QW0735).  The store cleans the names and decides the types. */
static int read_attachments(qw_api *a, qw_mail_new *m, int *done)
{
    request_rec *r = a->r;
    json_t *arr = json_object_get(a->body, "attachments");
    int max = qw_cfg_mailbox_max_attachment(qw_dir(r));
    qw_mail_att *att;
    const char *bad;
    size_t i, n;

    if (arr == NULL || json_is_null(arr)) {
        return 0;
    }
    n = json_is_array(arr) ? json_array_size(arr) : 0;
    if (!json_is_array(arr) || n > QW_MAIL_MAX_ATTACHMENTS
        || (n > 0 && max == 0)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0731: mailbox message refused: attachments must "
                      "be an array of at most %d (QiweiMailboxMaxAttachment"
                      " %d)", max > 0 ? QW_MAIL_MAX_ATTACHMENTS : 0, max);
        qw_api_mailbox_refused(r, "QW0731");
        *done = qw_api_error(a, HTTP_BAD_REQUEST, "attachments",
                             max == 0 ? "no attachments here"
                             : apr_psprintf(r->pool, "attachments must be "
                                            "an array of at most %d "
                                            "objects",
                                            QW_MAIL_MAX_ATTACHMENTS));
        return 1;
    }
    att = apr_pcalloc(r->pool, sizeof(*att) * (n + 1));
    for (i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i), *name, *type, *data;
        const char *field = apr_psprintf(r->pool, "attachments[%d]",
                                         (int)i);
        const char *b64;
        size_t b64len, cap, got = 0;
        unsigned char *bin;

        if (!json_is_object(o) || !qw_json_only_keys(o, keys_att, &bad)
            || (name = json_object_get(o, "name")) == NULL
            || !json_is_string(name)
            || ((type = json_object_get(o, "type")) != NULL
                && !json_is_string(type) && !json_is_null(type))
            || (data = json_object_get(o, "data")) == NULL
            || !json_is_string(data)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW0734: mailbox message refused: %s is not "
                          "{\"name\", \"type\", \"data\"}", field);
            qw_api_mailbox_refused(r, "QW0734");
            return (*done = qw_api_error(a, HTTP_BAD_REQUEST, field,
                                         "an attachment is {\"name\": "
                                         "string, \"type\": string, "
                                         "\"data\": base64}")), 1;
        }
        b64 = json_string_value(data);
        b64len = json_string_length(data);
        cap = b64len / 4 * 3 + 3;
        if (b64len > 2 * B64_LEN(max) + 8 || (b64len / 4) * 3 > (size_t)max
                                                              + 2) {
            /* surely too large: refused before decoding */
            got = (size_t)max + 1;
        }
        else {
            bin = apr_palloc(r->pool, cap);
            if (sodium_base642bin(bin, cap, b64, b64len, NULL, &got, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) != 0
                || got == 0) {
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              "QW0735: mailbox message refused: %s.data is "
                              "not base64 (or empty)", field);
                qw_api_mailbox_refused(r, "QW0735");
                return (*done = qw_api_error(a, HTTP_BAD_REQUEST,
                                             apr_pstrcat(r->pool, field,
                                                         ".data", NULL),
                                             "data must be non-empty "
                                             "base64")), 1;
            }
            att[i].data = bin;
            att[i].len = got;
        }
        if (got > (size_t)max) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW0730: mailbox message refused: %s is above "
                          "QiweiMailboxMaxAttachment (%d bytes)", field,
                          max);
            qw_api_mailbox_refused(r, "QW0730");
            return (*done = qw_api_error(a, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         field,
                                         apr_psprintf(r->pool, "attachment"
                                                      " too large: at most "
                                                      "%d bytes", max))), 1;
        }
        att[i].name = json_string_value(name);
        att[i].type = type && json_is_string(type) ? json_string_value(type)
                                                   : NULL;
    }
    m->att = att;
    m->natt = (int)n;
    return 0;
}

/* The account of to.members that the store's error names ('acct'), or
 * NULL. */
static const char *named_member(qw_api *a, const qw_audience *to)
{
    char *csv, *tok, *last;
    const char *err = a->st.err;

    if (err == NULL || to->members == NULL || *to->members == '\0') {
        return NULL;
    }
    csv = apr_pstrdup(a->r->pool, to->members);
    for (tok = apr_strtok(csv, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        while (*tok == ' ' || *tok == '\t') {
            tok++;
        }
        if (*tok && (ap_strcasestr(err, apr_pstrcat(a->r->pool, "'", tok,
                                                    "'", NULL)))) {
            return tok;
        }
    }
    return NULL;
}

static int mb_send(qw_api *a, int64_t eid, const qw_mail_sender *from)
{
    request_rec *r = a->r;
    int max = qw_cfg_mailbox_max_body(qw_dir(r));
    int done = OK, conf = -1, n;
    int64_t mins = 0, expin = 0, id;
    qw_mail_new m;
    qw_status rc;

    memset(&m, 0, sizeof(m));
    if (qw_api_read_body_max(a, send_max(r), &done)) {
        if (r->status == HTTP_REQUEST_ENTITY_TOO_LARGE) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW0724: mailbox message refused: the request is "
                          "larger than QiweiMailboxMaxBody and "
                          "QiweiMailboxMaxAttachment allow (%d bytes of "
                          "text, %d per attachment)", max,
                          qw_cfg_mailbox_max_attachment(qw_dir(r)));
            qw_api_mailbox_refused(r, "QW0724");
        }
        return done;
    }
    if (qw_api_keys(a, NULL, keys_send, &done)
        || qw_api_str(a, "title", 1, &m.title, &done)
        || qw_api_str(a, "body", 1, &m.body, &done)
        || qw_api_str(a, "rule", 1, &m.rule, &done)
        || qw_api_str(a, "expires_at", 0, &m.expires_at, &done)
        || qw_api_bool(a, "confidential", &conf, &done)
        || int_field(a, a->body, "open_minutes", 1,
                     QW_MAIL_OPEN_MINUTES_MAX, &mins, &done)
        || int_field(a, a->body, "expires_in", 1, 10LL * 365 * 86400,
                     &expin, &done)
        || read_to(a, &m.to, &done)
        || read_attachments(a, &m, &done)) {
        return done;
    }
    if (m.to.all && strcmp(from->kind, "member") == 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0740: member %" APR_INT64_T_FMT " may not send a "
                      "mailbox message to everyone (to.all): 403",
                      from->member_id);
        qw_api_mailbox_refused(r, "QW0740");
        return qw_api_error(a, HTTP_FORBIDDEN, "to.all", "members send to "
                            "members, departments or roles, not to "
                            "everyone");
    }
    m.len = strlen(m.body);
    if (m.len > (size_t)max) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0729: mailbox message refused: %lu bytes of text,"
                      " QiweiMailboxMaxBody is %d", (unsigned long)m.len,
                      max);
        qw_api_mailbox_refused(r, "QW0729");
        return qw_api_error(a, HTTP_REQUEST_ENTITY_TOO_LARGE, "body",
                            apr_psprintf(r->pool, "message too large: at "
                                         "most %d bytes", max));
    }
    m.open_minutes = (int)mins;
    m.expires_in = expin;
    m.confidential = conf == 1;
    a->barrier_done = 1;     /* nothing cached depends on the mailbox */
    rc = qw_mailbox_send(&a->st, eid, from, &m, &id, &n);
    if (rc != QW_OK) {
        /* the operation log outlives a member: an unknown account named
         * in the error ("no member 'bob'") is not written there */
        const char *who = named_member(a, &m.to);

        return qw_api_store_error_about(a, rc, MOD, "mailbox_send",
                                        who ? "member" : "mailbox", who);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0728: mailbox message %" APR_INT64_T_FMT " sent by %s "
                  "to %d member(s), rule %s", id, a->st.who.actor, n,
                  m.rule);
    return qw_api_json(a, HTTP_CREATED,
                       json_pack("{s:I, s:i}", "id", (json_int_t)id,
                                 "recipients", n));
}

/* ---- the sender's view (both sides) ---- */

static int sent_list(qw_api *a, int64_t eid, const qw_mail_sender *from)
{
    apr_array_header_t *arr;
    qw_status rc = qw_mailbox_sent(&a->st, eid, from, a->limit, a->offset,
                                   &arr);

    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, MOD, "mailbox_sent", NULL);
    }
    return qw_api_json(a, HTTP_OK, items_json(a, arr, 1));
}

static int sent_one(qw_api *a, int64_t eid, const qw_mail_sender *from,
                    int64_t id)
{
    request_rec *r = a->r;
    apr_array_header_t *rs;
    qw_mail_item msg;
    qw_status rc;
    long n;

    if (r->method_number == M_GET) {
        rc = qw_mailbox_receipts(&a->st, eid, from, id, &msg, &rs);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        return qw_api_json(a, HTTP_OK, receipts_json(&msg, rs));
    }
    if (r->method_number == M_DELETE) {
        a->barrier_done = 1;
        rc = qw_mailbox_destroy_message(&a->st, eid, from, id, &n);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "mailbox_destroy",
                                      apr_psprintf(r->pool, "mailbox:%"
                                                   APR_INT64_T_FMT, id));
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0727: mailbox message %" APR_INT64_T_FMT
                      " destroyed for everyone by %s (%ld copies)", id,
                      a->st.who.actor, n);
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:I, s:I}", "id", (json_int_t)id,
                                     "destroyed", (json_int_t)n));
    }
    return method_not_allowed(a);
}

/* ---- admin side: <api>/mailbox/... ---- */

static int wipe(qw_api *a)
{
    request_rec *r = a->r;
    const char *account;
    qw_member mb;
    qw_status rc;
    int done = OK;
    long n;

    if (qw_api_read_body(a, &done) || qw_api_keys(a, NULL, keys_wipe, &done)
        || qw_api_str(a, "account", 1, &account, &done)) {
        return done;
    }
    rc = qw_member_get(&a->st, a->admin->enterprise, account, &mb);
    if (rc == QW_OK) {
        rc = qw_mailbox_wipe(&a->st, a->admin->enterprise_id, mb.id, &n);
    }
    if (rc != QW_OK) {
        return qw_api_store_error_about(a, rc, MOD, "mailbox_wipe",
                                        "member", account);
    }
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r,
                  "QW0726: mailbox of member %" APR_INT64_T_FMT " wiped by "
                  "%s (%ld copies destroyed, sessions ended)", mb.id,
                  a->st.who.actor, n);
    /* the sessions ended: the revocation barrier runs before the answer
     * (handle/api.c), so no node serves the member from its cache after */
    return qw_api_json(a, HTTP_OK,
                       json_pack("{s:I, s:b}", "destroyed", (json_int_t)n,
                                 "sessions_ended", 1));
}

int qw_api_mailbox(qw_api *a)
{
    request_rec *r = a->r;
    qw_mail_sender from;
    int done = OK;
    int64_t id;

    if (subrequest(a)) {
        return not_found(a);
    }
    from.kind = "admin";
    from.admin_id = a->admin->admin_id;
    from.member_id = 0;
    if (qw_api_need(a, MOD, r->method_number == M_GET ? "read"
                    : "mailbox", "mailbox", &done)) {
        return done;
    }
    if (a->nseg == 2 && !strcmp(a->seg[1], "messages")) {
        if (r->method_number == M_GET) {
            return sent_list(a, a->admin->enterprise_id, &from);
        }
        if (r->method_number == M_POST) {
            return mb_send(a, a->admin->enterprise_id, &from);
        }
        return method_not_allowed(a);
    }
    if (a->nseg == 3 && !strcmp(a->seg[1], "messages")) {
        if ((id = path_id(a->seg[2])) == 0) {
            return not_found(a);
        }
        return sent_one(a, a->admin->enterprise_id, &from, id);
    }
    if (a->nseg == 2 && !strcmp(a->seg[1], "wipe")) {
        return r->method_number == M_POST ? wipe(a) : method_not_allowed(a);
    }
    return not_found(a);
}

/* ---- member side: <api>/me/mailbox/... ---- */

static int gone(qw_api *a, int64_t id, qw_mail_gone g)
{
    const char *reason = g == QW_MAIL_GONE_READ ? "already_read"
                         : g == QW_MAIL_GONE_EXPIRED ? "expired"
                         : "destroyed";
    json_t *e = json_pack("{s:{s:s, s:s}}", "error", "message",
                          g == QW_MAIL_GONE_READ
                          ? "this message could be read once and has been "
                            "read: it is destroyed"
                          : g == QW_MAIL_GONE_EXPIRED
                          ? "this message has expired and is destroyed"
                          : "this message has been destroyed",
                          "reason", reason);

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, a->r,
                  "QW0721: mailbox message %" APR_INT64_T_FMT " of member %"
                  APR_INT64_T_FMT " is gone (%s): 410", id,
                  a->viewer->member_id, reason);
    qw_api_mailbox_refused(a->r, "QW0721");
    return qw_api_json(a, HTTP_GONE, e);
}

static int reveal(qw_api *a, int64_t id)
{
    request_rec *r = a->r;
    qw_mail_item it;
    qw_mail_gone g;
    const char *body;
    apr_array_header_t *atts = NULL;
    size_t len;
    qw_status rc;
    json_t *j, *ja;
    int i;

    a->barrier_done = 1;
    /* a session made by scanning the QR code on another computer (a
     * public one, docs/account-security.md) is a lesser session: it
     * does not consume read-once messages, which are read on the phone
     * (a message's rule never changes, so asking first is safe) */
    if (a->viewer->kind && strcmp(a->viewer->kind, "scan") == 0) {
        rc = qw_mailbox_get(&a->st, a->viewer->enterprise_id,
                            a->viewer->member_id, id, &it);
        if (rc == QW_OK && strcmp(it.rule, "read_once") == 0) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          "QW0736: member %" APR_INT64_T_FMT " asked to "
                          "reveal read-once mailbox message %" APR_INT64_T_FMT
                          " in a scan-to-login session: 403",
                          a->viewer->member_id, id);
            qw_api_mailbox_refused(r, "QW0736");
            return qw_api_json(a, HTTP_FORBIDDEN, json_pack(
                "{s:{s:s, s:s}}", "error", "message", "a read-once message "
                "cannot be read in a session opened by scanning a code: "
                "read it on your phone", "reason", "scan_session"));
        }
        if (rc != QW_OK && rc != QW_ERR_NOTFOUND) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
    }
    rc = qw_mailbox_reveal_all(&a->st, a->viewer->enterprise_id,
                               a->viewer->member_id, id, &it, &g, &body,
                               &len, &atts);
    if (rc == QW_ERR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0722: member %" APR_INT64_T_FMT " asked to reveal "
                      "mailbox message %" APR_INT64_T_FMT ", which is not "
                      "theirs: 404", a->viewer->member_id, id);
        qw_api_mailbox_refused(r, "QW0722");
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such message");
    }
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, MOD, "mailbox_read", NULL);
    }
    if (g != QW_MAIL_REVEALED) {
        return gone(a, id, g);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0720: mailbox message %" APR_INT64_T_FMT " revealed to "
                  "member %" APR_INT64_T_FMT " (rule %s%s)", id,
                  a->viewer->member_id, it.rule,
                  strcmp(it.rule, "read_once") == 0
                  ? ": destroyed in the same transaction" : "");
    j = json_pack("{s:o, s:s%}", "message", item_json(&it, 0), "body", body,
                  len);
    /* the attachments, whole, in this answer: for a read-once message it
     * is the only one that ever carries them (docs/mailbox.md) */
    ja = json_array();
    for (i = 0; ja && atts && i < atts->nelts; i++) {
        const qw_mail_att *x = &APR_ARRAY_IDX(atts, i, qw_mail_att);
        size_t b64len = sodium_base64_encoded_len(
            x->len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = apr_palloc(r->pool, b64len);

        sodium_bin2base64(b64, b64len, x->data, x->len,
                          sodium_base64_VARIANT_ORIGINAL);
        json_array_append_new(ja, json_pack(
            "{s:i, s:s, s:s, s:I, s:b, s:s}", "index", x->idx,
            "name", x->name, "type", x->type, "bytes", (json_int_t)x->len,
            "inline", qw_mailatt_inline(x->type), "data", b64));
    }
    if (j && ja) {
        json_object_set_new(j, "attachments", ja);
    }
    return qw_api_json(a, HTTP_OK, j);
}

/* filename="..." (ASCII, others as _) and filename*=UTF-8''... (RFC 6266,
 * RFC 8187) of a cleaned name. */
static const char *disposition(apr_pool_t *p, const char *name)
{
    static const char hexd[] = "0123456789ABCDEF";
    size_t n = strlen(name), i, k = 0;
    char *ascii = apr_palloc(p, n + 1), *pct = apr_palloc(p, 3 * n + 1);

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];

        ascii[i] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\'
                   && c != '%' ? (char)c : '_';
        if (apr_isalnum(c) || strchr("!#$&+-.^_`|~", c)) {
            pct[k++] = (char)c;
        }
        else {
            pct[k++] = '%';
            pct[k++] = hexd[c >> 4];
            pct[k++] = hexd[c & 15];
        }
    }
    ascii[n] = '\0';
    pct[k] = '\0';
    return apr_psprintf(p, "attachment; filename=\"%s\"; "
                        "filename*=UTF-8''%s", ascii, pct);
}

/* GET <api>/me/mailbox/ID/attachments/N: attachment N of the member's live
 * copy of a message that is not read once; always a download. */
static int download(qw_api *a, int64_t id, const char *nseg)
{
    request_rec *r = a->r;
    qw_mail_att x;
    qw_mail_gone g;
    qw_status rc;
    int idx = nseg && nseg[0] >= '1' && nseg[0] <= '9' && nseg[1] == '\0'
              ? nseg[0] - '0' : 0;

    if (r->method_number != M_GET) {
        return method_not_allowed(a);
    }
    rc = qw_mailbox_attachment(&a->st, a->viewer->enterprise_id,
                               a->viewer->member_id, id, idx, &x, &g);
    if (rc == QW_ERR_NOTFOUND) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW0732: member %" APR_INT64_T_FMT " asked for "
                      "attachment %s of mailbox message %" APR_INT64_T_FMT
                      ": none they may download (not theirs, no such "
                      "attachment, or a read-once message): 404",
                      a->viewer->member_id,
                      qw_sanitize_text(r->pool, nseg, 16), id);
        qw_api_mailbox_refused(r, "QW0732");
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such attachment");
    }
    if (rc != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    if (g != QW_MAIL_REVEALED) {
        return gone(a, id, g);
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW0733: attachment %d of mailbox message %" APR_INT64_T_FMT
                  " downloaded by member %" APR_INT64_T_FMT " (%lu bytes, %s)",
                  idx, id, a->viewer->member_id, (unsigned long)x.len,
                  x.type);
    r->status = HTTP_OK;
    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    apr_table_setn(r->err_headers_out, "Content-Security-Policy",
                   DOWNLOAD_CSP);
    apr_table_setn(r->err_headers_out, "Referrer-Policy", "no-referrer");
    apr_table_setn(r->err_headers_out, "Content-Disposition",
                   disposition(r->pool, x.name));
    ap_set_content_type(r, qw_mailatt_inline(x.type)
                           ? x.type : "application/octet-stream");
    ap_set_content_length(r, (apr_off_t)x.len);
    if (!r->header_only) {
        ap_rwrite(x.data, (int)x.len, r);
    }
    return OK;
}

static int member_message(qw_api *a, int64_t id)
{
    request_rec *r = a->r;
    qw_mail_item it;
    qw_status rc;
    int changed;

    if (r->method_number == M_GET) {
        rc = qw_mailbox_get(&a->st, a->viewer->enterprise_id,
                            a->viewer->member_id, id, &it);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:o}", "message", item_json(&it, 0)));
    }
    if (r->method_number == M_DELETE) {
        a->barrier_done = 1;
        rc = qw_mailbox_destroy_copy(&a->st, a->viewer->enterprise_id,
                                     a->viewer->member_id, id, &changed);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:I, s:b}", "id", (json_int_t)id,
                                     "destroyed", changed));
    }
    return method_not_allowed(a);
}

/* Member sending is the location's choice (QiweiMailboxMemberSend). */
static int member_may_send(qw_api *a, int *done)
{
    if (qw_cfg_mailbox_member_send(qw_dir(a->r))) {
        return 1;
    }
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, a->r,
                  "QW0723: member %" APR_INT64_T_FMT " may not send "
                  "mailbox messages here (QiweiMailboxMemberSend Off): 403",
                  a->viewer->member_id);
    qw_api_mailbox_refused(a->r, "QW0723");
    *done = qw_api_error(a, HTTP_FORBIDDEN, NULL,
                         "members may not send messages here");
    return 0;
}

int qw_api_my_mailbox(qw_api *a)
{
    request_rec *r = a->r;
    qw_mail_sender from;
    apr_array_header_t *arr;
    int64_t eid = a->viewer->enterprise_id, id;
    qw_status rc;
    int done = OK;
    json_t *j;

    if (subrequest(a)) {
        return not_found(a);
    }
    from.kind = "member";
    from.admin_id = 0;
    from.member_id = a->viewer->member_id;
    if (a->nseg == 2) {
        if (r->method_number == M_GET) {
            rc = qw_mailbox_list(&a->st, eid, a->viewer->member_id, a->limit,
                                 a->offset, &arr);
            if (rc != QW_OK) {
                return qw_api_store_error(a, rc, NULL, NULL, NULL);
            }
            j = items_json(a, arr, 0);
            /* the token for the changes below (X-CSRF-Token) */
            if (j && qw_csrf_key()) {
                json_object_set_new(j, "csrf",
                                    json_string(qw_csrf_make(
                                        r->pool, qw_csrf_key(),
                                        QW_MAILBOX_CSRF_PURPOSE,
                                        a->viewer->token)));
            }
            return qw_api_json(a, HTTP_OK, j);
        }
        if (r->method_number == M_POST) {
            if (a->viewer->kind && strcmp(a->viewer->kind, "scan") == 0) {
                /* a session opened by scanning a code on another computer
                 * (a public one) does not speak for the member */
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              "QW0741: member %" APR_INT64_T_FMT " may not "
                              "send mailbox messages from a scan-to-login "
                              "session: 403", a->viewer->member_id);
                qw_api_mailbox_refused(r, "QW0741");
                return qw_api_json(a, HTTP_FORBIDDEN, json_pack(
                    "{s:{s:s, s:s}}", "error", "message", "messages cannot"
                    " be sent from a session opened by scanning a code: "
                    "send from your phone", "reason", "scan_session"));
            }
            return member_may_send(a, &done) ? mb_send(a, eid, &from) : done;
        }
        return method_not_allowed(a);
    }
    if (!strcmp(a->seg[2], "sent")) {
        if (!member_may_send(a, &done)) {
            return done;
        }
        if (a->nseg == 3) {
            return r->method_number == M_GET ? sent_list(a, eid, &from)
                                             : method_not_allowed(a);
        }
        if (a->nseg == 4 && (id = path_id(a->seg[3])) != 0) {
            return sent_one(a, eid, &from, id);
        }
        return not_found(a);
    }
    if ((id = path_id(a->seg[2])) == 0) {
        return not_found(a);
    }
    if (a->nseg == 3) {
        return member_message(a, id);
    }
    if (a->nseg == 4 && !strcmp(a->seg[3], "reveal")) {
        return r->method_number == M_POST ? reveal(a, id)
                                          : method_not_allowed(a);
    }
    if (a->nseg == 5 && !strcmp(a->seg[3], "attachments")) {
        return download(a, id, a->seg[4]);
    }
    return not_found(a);
}

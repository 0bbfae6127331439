/* Admin API: the operation log (module "audit": query, CSV export) and
 * enterprise settings (module "settings"). */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "util_script.h"
#include "http_log.h"
#include "http_request.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "cfg/security.h"
#include "handle/api.h"
#include "util/text.h"

static const char *ent(qw_api *a)
{
    return qw_dir(a->r)->enterprise;
}

static int method_not_allowed(qw_api *a)
{
    return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                        "method not allowed");
}

/* ?from=&to=&operator=&module=&result= (ISO 8601 times; the database
 * parses; result: success, failure or refused). */
static int audit_filter(qw_api *a, qw_audit_filter *f, int *done)
{
    apr_table_t *args;
    static const char *const names[] = { "from", "to", "operator",
                                         "module", "result" };
    const char **dst[5];
    int i;

    dst[0] = &f->from;
    dst[1] = &f->to;
    dst[2] = &f->operator_;
    dst[3] = &f->module;
    dst[4] = &f->result;
    memset(f, 0, sizeof(*f));
    ap_args_to_table(a->r, &args);
    for (i = 0; i < 5; i++) {
        const char *v = apr_table_get(args, names[i]);
        if (v && (strlen(v) > 200 || !qw_valid_utf8_text(v, strlen(v)))) {
            *done = qw_api_error(a, HTTP_BAD_REQUEST, names[i],
                                 apr_pstrcat(a->r->pool, names[i],
                                             " is not valid", NULL));
            return 1;
        }
        *dst[i] = v;
    }
    if (f->result && *f->result && strcmp(f->result, "success")
        && strcmp(f->result, "failure") && strcmp(f->result, "refused")) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, "result",
                             "result must be success, failure or refused");
        return 1;
    }
    f->limit = a->limit;
    f->offset = a->offset;
    return 0;
}

typedef struct {
    request_rec *r;
    int started;               /* status and headers set */
} export_state;

static json_t *row_json(const qw_audit_row *w)
{
    json_t *details = w->details ? json_loads(w->details, 0, NULL) : NULL;

    return json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s, s:s, "
                     "s:s?, s:s, s:s?, s:o?}",
                     "seq", (json_int_t)w->seq, "at", w->at,
                     "actor", w->actor, "actor_role", w->actor_role,
                     "source_ip", w->source_ip, "user_agent", w->user_agent,
                     "request_id", w->request_id, "module", w->module,
                     "action", w->action, "object", w->object,
                     "result", w->result, "reason", w->reason,
                     "details", details);
}

/* The export's sink: each page goes to the client as it comes (chunked,
 * no Content-Length), flushed, so httpd holds one page at a time. */
static int export_sink(void *baton, const char *data, size_t len)
{
    export_state *x = baton;
    request_rec *r = x->r;

    if (!x->started) {
        x->started = 1;
        r->status = HTTP_OK;
        apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
        apr_table_setn(r->err_headers_out, "X-Content-Type-Options",
                       "nosniff");
        apr_table_setn(r->err_headers_out, "Content-Disposition",
                       apr_psprintf(r->pool, "attachment; filename=\""
                                    "audit-%s.csv\"",
                                    qw_dir(r)->enterprise));
        ap_set_content_type(r, "text/csv; charset=utf-8");
    }
    if (r->header_only) {
        return 0;
    }
    if (ap_rwrite(data, (int)len, r) < 0 || ap_rflush(r) < 0
        || r->connection->aborted) {
        return -1;
    }
    return 0;
}

static int export_csv(qw_api *a, qw_audit_filter *f)
{
    request_rec *r = a->r;
    export_state x;
    apr_bucket_brigade *bb;
    long n = 0;
    qw_status rc;

    /* an export is the whole selection, not a page */
    f->limit = 0;
    f->offset = 0;
    x.r = r;
    x.started = 0;
    rc = qw_audit_export(&a->st, ent(a), f, export_sink, &x, &n);
    if (rc == QW_OK) {
        return OK;
    }
    if (!x.started) {
        return qw_api_store_error(a, rc, "audit", "export", "audit_log");
    }
    /* the status is sent: cut the response so that the client sees a
     * broken transfer, not a complete file (no last chunk) */
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                  "QW1122: audit export cut after %ld rows: %s", n,
                  a->st.err ? a->st.err : qw_status_name(rc));
    r->connection->keepalive = AP_CONN_CLOSE;
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_error_create(HTTP_BAD_GATEWAY,
                                                       NULL, r->pool,
                                                       r->connection
                                                       ->bucket_alloc));
    ap_pass_brigade(r->output_filters, bb);
    return OK;
}

/* GET audit/verify: the chain checked by the store's qw_audit_verify, the
 * same check as 'qiweictl audit verify ENT' (no head: that one is kept
 * outside the database).  The first problems are listed (at most 20). */
static int audit_verify(qw_api *a)
{
    qw_audit_report rep;
    json_t *findings;
    qw_status rc;
    int i;

    if ((rc = qw_audit_verify(&a->st, ent(a), &rep)) != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    findings = json_array();
    for (i = 0; i < rep.findings->nelts && i < 20; i++) {
        qw_audit_finding *f = &APR_ARRAY_IDX(rep.findings, i,
                                             qw_audit_finding);

        json_array_append_new(findings,
                              json_pack("{s:I, s:s}", "seq",
                                        (json_int_t)f->seq, "problem",
                                        f->problem));
    }
    if (rep.problems) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, a->r,
                      "QW0675: audit chain of %s is broken: %ld problems, "
                      "first at seq %" APR_INT64_T_FMT, ent(a),
                      rep.problems,
                      rep.findings->nelts
                      ? (apr_int64_t)APR_ARRAY_IDX(rep.findings, 0,
                                                   qw_audit_finding).seq
                      : (apr_int64_t)0);
    }
    return qw_api_json(a, HTTP_OK,
                       json_pack("{s:b, s:I, s:I, s:I, s:i, s:o, s:o}",
                                 "ok", rep.problems == 0,
                                 "rows", (json_int_t)rep.rows,
                                 "first_seq", (json_int_t)rep.first_seq,
                                 "last_seq", (json_int_t)rep.last_seq,
                                 "problems", (int)rep.problems,
                                 "first_bad_seq",
                                 rep.findings->nelts
                                 ? json_integer(APR_ARRAY_IDX(
                                       rep.findings, 0,
                                       qw_audit_finding).seq)
                                 : json_null(),
                                 "findings", findings));
}

int qw_api_audit(qw_api *a)
{
    request_rec *r = a->r;
    qw_audit_filter f;
    int done = OK, i;
    qw_status rc;

    if (r->method_number != M_GET) {
        return method_not_allowed(a);
    }
    if (a->nseg == 1) {
        apr_array_header_t *rows;
        json_t *items;
        if (qw_api_need(a, "audit", "read", "audit_log", &done)
            || audit_filter(a, &f, &done)) {
            return done;
        }
        if ((rc = qw_audit_list(&a->st, ent(a), &f, &rows)) != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        items = json_array();
        for (i = 0; i < rows->nelts; i++) {
            json_array_append_new(items, row_json(
                &APR_ARRAY_IDX(rows, i, qw_audit_row)));
        }
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:o, s:i, s:i}", "items", items,
                                     "limit", (json_int_t)a->limit,
                                     "offset", (json_int_t)a->offset));
    }
    if (a->nseg == 2 && !strcmp(a->seg[1], "export")) {
        if (qw_api_need(a, "audit", "export", "audit_log", &done)
            || audit_filter(a, &f, &done)) {
            return done;
        }
        return export_csv(a, &f);
    }
    if (a->nseg == 2 && !strcmp(a->seg[1], "verify")) {
        if (qw_api_need(a, "audit", "read", "audit_log", &done)) {
            return done;
        }
        return audit_verify(a);
    }
    return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
}

/* the keys a settings PATCH may have (others: 400) */
static const char *const keys_settings[] = {
    "external_share", "watermark_default", "hide_mobile", "directory_scope",
    "admin_two_step", "member_password_policy", "member_password_max_age",
    "member_two_step", "admin_password_policy", "admin_password_max_age",
    NULL
};

/* What the member settings are where the enterprise has not set them:
 * this location's directives, as the logins here read them (signin.c). */
static void settings_defaults(request_rec *r, qw_settings_defaults *d)
{
    const qw_sec_dir_cfg *c = &qw_dir(r)->sec;

    d->member_mode = qw_sec_policy(c);
    d->member_max_age = qw_sec_max_age(c);
    d->member_two_step = qw_sec_two_step_required(c);
}

/* raw as stored; the answer has the values in force and, in "defaults",
 * where each one not set by the enterprise comes from. */
static json_t *settings_json(request_rec *r, const qw_settings *raw)
{
    qw_settings_defaults d;
    qw_settings s;
    unsigned f;
    json_t *dflt = json_object();

    settings_defaults(r, &d);
    qw_settings_effective(raw, &d, &s, &f);
    if (f & QW_SET_DFLT_MEMBER_POLICY) {
        json_object_set_new(dflt, "member_password_policy",
                            json_string("QiweiPasswordPolicy"));
    }
    if (f & QW_SET_DFLT_MEMBER_MAX_AGE) {
        json_object_set_new(dflt, "member_password_max_age",
                            json_string(d.member_max_age >= 0
                                        ? "QiweiPasswordMaxAge"
                                        : "member_password_policy"));
    }
    if (f & QW_SET_DFLT_MEMBER_TWO_STEP) {
        json_object_set_new(dflt, "member_two_step",
                            json_string("QiweiTwoStep"));
    }
    if (f & QW_SET_DFLT_ADMIN_POLICY) {
        json_object_set_new(dflt, "admin_password_policy",
                            json_string("built-in"));
    }
    if (f & QW_SET_DFLT_ADMIN_MAX_AGE) {
        json_object_set_new(dflt, "admin_password_max_age",
                            json_string("admin_password_policy"));
    }
    return json_pack("{s:b, s:b, s:b, s:s, s:s, s:s, s:i, s:s, s:s, s:i, "
                     "s:o}",
                     "external_share", s.external_share,
                     "watermark_default", s.watermark_default,
                     "hide_mobile", s.hide_mobile,
                     "directory_scope", s.directory_scope,
                     "admin_two_step", s.admin_two_step,
                     "member_password_policy", s.member_password_policy,
                     "member_password_max_age",
                     (json_int_t)s.member_password_max_age,
                     "member_two_step", s.member_two_step,
                     "admin_password_policy", s.admin_password_policy,
                     "admin_password_max_age",
                     (json_int_t)s.admin_password_max_age,
                     "defaults", dflt);
}

/* An optional whole number of days, 0 (never) .. the maximum; *out -1
 * when absent. */
static int days_field(qw_api *a, const char *field, int *out, int *done)
{
    json_t *v = a->body ? json_object_get(a->body, field) : NULL;

    *out = -1;
    if (!v) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0
        || json_integer_value(v) > QW_PWP_MAX_AGE_DAYS_MAX) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, field,
                             apr_psprintf(a->r->pool, "%s must be a whole "
                                          "number of days from 0 (never "
                                          "expires) to %d", field,
                                          QW_PWP_MAX_AGE_DAYS_MAX));
        return 1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

/* An optional string that must be one of two words. */
static int word_field(qw_api *a, const char *field, const char *w1,
                      const char *w2, const char **out, int *done)
{
    if (qw_api_str(a, field, 0, out, done)) {
        return 1;
    }
    if (*out && strcmp(*out, w1) && strcmp(*out, w2)) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, field,
                             apr_psprintf(a->r->pool, "%s must be %s or %s",
                                          field, w1, w2));
        return 1;
    }
    return 0;
}

static void policy_of(qw_pwpolicy *pol, const char *mode, int max_age,
                      int two_step)
{
    qw_pwpolicy_resolve(pol, mode, QW_PWP_DENGBAO, max_age, -1, two_step);
}

/* 1 when the change in makes sign-in weaker than what is in force: a
 * password policy without composition rules, a longer or no maximum age,
 * members let in without the second step.  Such a change is privileged
 * (step-up); one that strengthens or changes nothing is not. */
static int settings_weaken(request_rec *r, const qw_settings *raw,
                           const qw_settings *in)
{
    qw_settings_defaults d;
    qw_settings next = *raw, o, n;
    qw_pwpolicy po, pn;

    if (in->member_password_policy) {
        next.member_password_policy = in->member_password_policy;
    }
    if (in->member_password_max_age >= 0) {
        next.member_password_max_age = in->member_password_max_age;
    }
    if (in->member_two_step) {
        next.member_two_step = in->member_two_step;
    }
    if (in->admin_password_policy) {
        next.admin_password_policy = in->admin_password_policy;
    }
    if (in->admin_password_max_age >= 0) {
        next.admin_password_max_age = in->admin_password_max_age;
    }
    settings_defaults(r, &d);
    qw_settings_effective(raw, &d, &o, NULL);
    qw_settings_effective(&next, &d, &n, NULL);
    policy_of(&po, o.member_password_policy, o.member_password_max_age, 0);
    policy_of(&pn, n.member_password_policy, n.member_password_max_age, 0);
    if (qw_pwpolicy_weaker(&po, &pn)) {
        return 1;
    }
    policy_of(&po, o.admin_password_policy, o.admin_password_max_age, 1);
    policy_of(&pn, n.admin_password_policy, n.admin_password_max_age, 1);
    if (qw_pwpolicy_weaker(&po, &pn)) {
        return 1;
    }
    return !strcmp(o.member_two_step, "required")
           && !strcmp(n.member_two_step, "optional");
}

int qw_api_settings(qw_api *a)
{
    request_rec *r = a->r;
    qw_settings s, raw;
    qw_settings_defaults d;
    int done = OK;
    qw_status rc;
    const char *obj = apr_pstrcat(r->pool, "enterprise:", ent(a), NULL);

    if (a->nseg != 1) {
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    qw_settings_leave(&s);
    if (r->method_number == M_GET) {
        if (qw_api_need(a, "settings", "read", obj, &done)) {
            return done;
        }
    }
    else if (r->method_number == M_PATCH) {
        if (qw_api_need(a, "settings", "update", obj, &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_settings, &done)
            || qw_api_bool(a, "external_share", &s.external_share, &done)
            || qw_api_bool(a, "watermark_default", &s.watermark_default,
                           &done)
            || qw_api_bool(a, "hide_mobile", &s.hide_mobile, &done)
            || qw_api_str(a, "directory_scope", 0, &s.directory_scope,
                          &done)
            || word_field(a, "admin_two_step", "required", "optional",
                          &s.admin_two_step, &done)
            || word_field(a, "member_password_policy", "dengbao", "nist",
                          &s.member_password_policy, &done)
            || days_field(a, "member_password_max_age",
                          &s.member_password_max_age, &done)
            || word_field(a, "member_two_step", "required", "optional",
                          &s.member_two_step, &done)
            || word_field(a, "admin_password_policy", "dengbao", "nist",
                          &s.admin_password_policy, &done)
            || days_field(a, "admin_password_max_age",
                          &s.admin_password_max_age, &done)) {
            return done;
        }
        if ((rc = qw_settings_get(&a->st, ent(a), &raw)) != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        /* letting admins in without the second step is a privileged call
         * (docs/admin-api.md); requiring it narrows and needs none; so
         * is any change that weakens sign-in */
        if (((s.admin_two_step && strcmp(s.admin_two_step, "required"))
             || settings_weaken(r, &raw, &s))
            && qw_api_need_step_up(a, "settings", "update", obj, &done)) {
            return done;
        }
        settings_defaults(r, &d);
        if ((rc = qw_settings_set(&a->st, ent(a), &s, &d, NULL)) != QW_OK) {
            return qw_api_store_error(a, rc, "settings", "update", obj);
        }
    }
    else {
        return method_not_allowed(a);
    }
    if ((rc = qw_settings_get(&a->st, ent(a), &raw)) != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    return qw_api_json(a, HTTP_OK, settings_json(r, &raw));
}

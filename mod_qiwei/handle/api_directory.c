/* Admin API: departments and members (module "directory").  Every change
 * goes through the store's directory functions (store/member.c,
 * store/enterprise.c), which log it in the same transaction.  Mobile
 * numbers are write-only here: no response carries one. */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "util_script.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/api.h"
#include "util/qr.h"
#include "util/rights.h"
#include "util/text.h"

#define MOD "directory"
#define INVITE_TTL_HOURS 72
#define QUERY_MAX 100           /* bytes of ?q= */
#define INVITE_QR_PX 240

/* the keys each body may have (others: 400) */
static const char *const keys_department[] = { "code", "name", "parent",
                                               NULL };
static const char *const keys_member_add[] = { "account", "display_name",
                                               "mobile", "email",
                                               "departments", "hide_mobile",
                                               NULL };
static const char *const keys_member_edit[] = { "display_name", "mobile",
                                                "email", "hide_mobile",
                                                NULL };
static const char *const keys_department_edit[] = { "name", "parent",
                                                    NULL };
static const char *const keys_departments[] = { "departments", NULL };
static const char *const keys_status[] = { "status", NULL };

static const char *ent(qw_api *a)
{
    return qw_dir(a->r)->enterprise;
}

static int method_not_allowed(qw_api *a)
{
    return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                        "method not allowed");
}

/* A page of arr (elements of size sz) as a JSON list with paging. */
static json_t *page_of(qw_api *a, int total, json_t *items)
{
    return json_pack("{s:o, s:i, s:i, s:i}", "items", items,
                     "total", total, "limit", (json_int_t)a->limit,
                     "offset", (json_int_t)a->offset);
}

/* How the operation log names the member with account acct: by id, or a
 * keyed MAC for a name nobody holds; never the account (it outlives the
 * member). */
static const char *member_obj(qw_api *a, const char *acct)
{
    const char *obj;
    qw_store st;

    if (a->admin) {
        qw_admin_store(a->r, &st, a->admin);
        if (st.db && st.keys
            && qw_audit_account_object(&st, a->admin->enterprise_id, acct,
                                       0, &obj) == QW_OK) {
            return obj;
        }
    }
    return "member";
}

/* PATCH $B/departments/CODE {"name", "parent"} (rename, move: "parent"
 * null is the top level), DELETE $B/departments/CODE (an empty one). */
static int department_one(qw_api *a)
{
    request_rec *r = a->r;
    const char *code = a->seg[1];
    const char *obj = apr_pstrcat(r->pool, "department:", code, NULL);
    int done = OK, i;
    qw_status rc;

    if (r->method_number == M_DELETE) {
        if (qw_api_need(a, MOD, "delete", obj, &done)) {
            return done;
        }
        if ((rc = qw_department_delete(&a->st, ent(a), code)) != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "delete", obj);
        }
        return qw_api_no_content(a);
    }
    if (r->method_number == M_PATCH) {
        const char *name = NULL, *parent = NULL;
        json_t *p;
        int move;
        apr_array_header_t *all;
        if (qw_api_need(a, MOD, "update", obj, &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_department_edit, &done)
            || qw_api_str(a, "name", 0, &name, &done)) {
            return done;
        }
        p = json_object_get(a->body, "parent");
        move = p != NULL;
        if (p != NULL && !json_is_null(p)
            && qw_api_str(a, "parent", 1, &parent, &done)) {
            return done;
        }
        rc = qw_department_update(&a->st, ent(a), code, name, move, parent);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "update", obj);
        }
        if ((rc = qw_department_list(&a->st, ent(a), &all)) != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        for (i = 0; i < all->nelts; i++) {
            qw_department *d = &APR_ARRAY_IDX(all, i, qw_department);
            if (!strcmp(d->code, code)) {
                return qw_api_json(a, HTTP_OK,
                                   json_pack("{s:s, s:s, s:s?}",
                                             "code", d->code, "name",
                                             d->name, "parent",
                                             d->parent_code));
            }
        }
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such department");
    }
    return method_not_allowed(a);
}

int qw_api_departments(qw_api *a)
{
    request_rec *r = a->r;
    int done = OK, i;
    qw_status rc;

    if (a->nseg == 2) {
        return department_one(a);
    }
    if (a->nseg != 1) {
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    if (r->method_number == M_GET) {
        apr_array_header_t *all;
        json_t *items = json_array();
        if (qw_api_need(a, MOD, "read", "departments", &done)) {
            json_decref(items);
            return done;
        }
        if ((rc = qw_department_list(&a->st, ent(a), &all)) != QW_OK) {
            json_decref(items);
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        for (i = (int)a->offset; i < all->nelts
             && i < a->offset + a->limit; i++) {
            qw_department *d = &APR_ARRAY_IDX(all, i, qw_department);
            json_array_append_new(items, json_pack("{s:s, s:s, s:s?}",
                                                   "code", d->code,
                                                   "name", d->name,
                                                   "parent",
                                                   d->parent_code));
        }
        return qw_api_json(a, HTTP_OK, page_of(a, all->nelts, items));
    }
    if (r->method_number == M_POST) {
        const char *code, *name, *parent;
        if (qw_api_need(a, MOD, "create", "department", &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_department, &done)
            || qw_api_str(a, "code", 1, &code, &done)
            || qw_api_str(a, "name", 1, &name, &done)
            || qw_api_str(a, "parent", 0, &parent, &done)) {
            return done;
        }
        rc = qw_department_add(&a->st, ent(a), code, name, parent);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "create",
                                      apr_pstrcat(r->pool, "department:",
                                                  code, NULL));
        }
        return qw_api_json(a, HTTP_CREATED,
                           json_pack("{s:s, s:s, s:s?}", "code", code,
                                     "name", name, "parent", parent));
    }
    return method_not_allowed(a);
}

static json_t *member_json(const qw_member *m)
{
    /* never the mobile number itself: whether there is one */
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:s?}",
                     "account", m->account,
                     "display_name", m->display_name,
                     "status", m->status,
                     "departments", qw_api_csv_array(m->departments),
                     "roles", qw_api_csv_array(m->roles),
                     "has_mobile", m->mobile != NULL,
                     "email", m->email);
}

static int member_get(qw_api *a, const char *account)
{
    qw_member m;
    qw_status rc;

    memset(&m, 0, sizeof(m));
    if ((rc = qw_member_get(&a->st, ent(a), account, &m)) != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    return qw_api_json(a, HTTP_OK, member_json(&m));
}

/* GET $B/members?q=&department=&role=&status=: what the list keeps. */
typedef struct {
    const char *q;              /* lower case; in account or display name */
    const char *department;     /* a code the member is in */
    const char *role;           /* a (job) role the member holds */
    const char *status;
} member_filter;

static int member_filter_parse(qw_api *a, member_filter *f, int *done)
{
    apr_table_t *args;
    const char *st;

    memset(f, 0, sizeof(*f));
    ap_args_to_table(a->r, &args);
    f->q = apr_table_get(args, "q");
    f->department = apr_table_get(args, "department");
    f->role = apr_table_get(args, "role");
    st = apr_table_get(args, "status");
    if (f->q && (strlen(f->q) > QUERY_MAX
                 || !qw_valid_utf8_text(f->q, strlen(f->q)))) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, "q",
                             "q must be text of at most 100 bytes");
        return 1;
    }
    if (st && strcmp(st, "active") && strcmp(st, "invited")
        && strcmp(st, "disabled") && strcmp(st, "departed")) {
        *done = qw_api_error(a, HTTP_BAD_REQUEST, "status",
                             "status must be active, invited, disabled "
                             "or departed");
        return 1;
    }
    f->status = st;
    f->q = f->q && *f->q ? qw_ascii_lower(a->r->pool, f->q) : NULL;
    f->department = f->department && *f->department ? f->department : NULL;
    f->role = f->role && *f->role ? f->role : NULL;
    return 0;
}

static int member_matches(apr_pool_t *p, const member_filter *f,
                          const qw_member *m)
{
    if (f->status && strcmp(m->status, f->status)) {
        return 0;
    }
    if (f->department && !qw_modules_has(m->departments, f->department)) {
        return 0;
    }
    if (f->role && !qw_modules_has(m->roles, f->role)) {
        return 0;
    }
    if (f->q && !strstr(m->account, f->q)
        && !(m->display_name
             && strstr(qw_ascii_lower(p, m->display_name), f->q))) {
        return 0;
    }
    return 1;
}

/* The invitation as the console shows it: the token, the link on this
 * server and that link as a QR code (inline SVG made here by libqrencode,
 * never by a third party). */
static json_t *invite_json(qw_api *a, const char *account, const char *status,
                           const char *token)
{
    request_rec *r = a->r;
    const char *url = ap_construct_url(r->pool, apr_pstrcat(
        r->pool, qw_admin_cookie_path(r), "activate?t=", token, NULL), r);
    const char *svg = qw_qr_svg(r->pool, url, INVITE_QR_PX, NULL);

    /* (every API answer is Cache-Control: no-store) */
    return json_pack("{s:s, s:s?, s:s, s:i, s:s, s:s?}",
                     "account", account, "status", status,
                     "activation_token", token,
                     "activation_ttl_hours", INVITE_TTL_HOURS,
                     "activation_url", url, "qr_svg", svg);
}

static int members_collection(qw_api *a)
{
    request_rec *r = a->r;
    int done = OK, i, n = 0;
    qw_status rc;

    if (r->method_number == M_GET) {
        apr_array_header_t *all;
        member_filter f;
        json_t *items;
        if (qw_api_need(a, MOD, "read", "members", &done)) {
            return done;
        }
        if (member_filter_parse(a, &f, &done)) {
            return done;
        }
        if ((rc = qw_member_list(&a->st, ent(a), &all)) != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        items = json_array();
        for (i = 0; i < all->nelts; i++) {
            const qw_member *m = &APR_ARRAY_IDX(all, i, qw_member);
            if (!member_matches(r->pool, &f, m)) {
                continue;
            }
            if (n >= a->offset && n < a->offset + a->limit) {
                json_array_append_new(items, member_json(m));
            }
            n++;
        }
        return qw_api_json(a, HTTP_OK, page_of(a, n, items));
    }
    if (r->method_number == M_POST) {
        const char *account, *name, *mobile, *email, *depts;
        char *token = NULL;
        int hide;
        int64_t id;
        if (qw_api_need(a, MOD, "create", "member", &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_member_add, &done)
            || qw_api_str(a, "account", 1, &account, &done)
            || qw_api_str(a, "display_name", 1, &name, &done)
            || qw_api_str(a, "mobile", 0, &mobile, &done)
            || qw_api_str(a, "email", 0, &email, &done)
            || qw_api_str_list(a, "departments", 0, &depts, &done)
            || qw_api_bool(a, "hide_mobile", &hide, &done)) {
            return done;
        }
        rc = qw_member_add(&a->st, ent(a), account, name, mobile, email,
                           depts, INVITE_TTL_HOURS, &token, &id);
        if (rc != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "create",
                                            member_obj(a, account), account);
        }
        if (hide == 1
            && (rc = qw_member_edit(&a->st, ent(a), account, NULL, NULL,
                                    NULL, 1)) != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "update",
                                            member_obj(a, account), account);
        }
        /* the activation token goes to the admin who delivers the link;
         * only its hash is stored */
        return qw_api_json(a, HTTP_CREATED,
                           invite_json(a, qw_ascii_lower(r->pool, account),
                                       "invited", token));
    }
    return method_not_allowed(a);
}

int qw_api_members(qw_api *a)
{
    request_rec *r = a->r;
    const char *acct, *obj;
    int done = OK;
    qw_status rc;

    if (a->nseg == 1) {
        return members_collection(a);
    }
    acct = a->seg[1];
    obj = member_obj(a, acct);
    if (a->nseg == 2) {
        if (r->method_number == M_GET) {
            if (qw_api_need(a, MOD, "read", obj, &done)) {
                return done;
            }
            return member_get(a, acct);
        }
        if (r->method_number == M_PATCH) {
            const char *name, *mobile, *email;
            int hide;
            if (qw_api_need(a, MOD, "update", obj, &done)
                || qw_api_read_body(a, &done)
                || qw_api_keys(a, NULL, keys_member_edit, &done)
                || qw_api_str(a, "display_name", 0, &name, &done)
                || qw_api_str(a, "mobile", 0, &mobile, &done)
                || qw_api_str(a, "email", 0, &email, &done)
                || qw_api_bool(a, "hide_mobile", &hide, &done)) {
                return done;
            }
            rc = qw_member_edit(&a->st, ent(a), acct, name, mobile, email,
                                hide);
            if (rc != QW_OK) {
                return qw_api_store_error_about(a, rc, MOD, "update", obj,
                                            acct);
            }
            return member_get(a, acct);
        }
        if (r->method_number == M_DELETE) {
            if (qw_api_need(a, MOD, "delete", obj, &done)) {
                return done;
            }
            rc = qw_member_delete(&a->st, ent(a), acct);
            if (rc != QW_OK) {
                return qw_api_store_error_about(a, rc, MOD, "delete", obj,
                                            acct);
            }
            return qw_api_no_content(a);
        }
        return method_not_allowed(a);
    }
    if (a->nseg == 3 && !strcmp(a->seg[2], "departments")) {
        const char *depts;
        if (r->method_number != M_PUT) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "update", obj, &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_departments, &done)
            || qw_api_str_list(a, "departments", 1, &depts, &done)) {
            return done;
        }
        if ((rc = qw_member_move(&a->st, ent(a), acct, depts)) != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "update", obj,
                                            acct);
        }
        return member_get(a, acct);
    }
    if (a->nseg == 3 && !strcmp(a->seg[2], "status")) {
        const char *status;
        if (r->method_number != M_PUT) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "update", obj, &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_status, &done)
            || qw_api_str(a, "status", 1, &status, &done)) {
            return done;
        }
        rc = qw_member_set_status(&a->st, ent(a), acct, status);
        if (rc != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "update", obj,
                                            acct);
        }
        return member_get(a, acct);
    }
    if (a->nseg == 3 && !strcmp(a->seg[2], "reinvite")) {
        char *token = NULL;
        if (r->method_number != M_POST) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "update", obj, &done)) {
            return done;
        }
        rc = qw_member_reinvite(&a->st, ent(a), acct, INVITE_TTL_HOURS,
                                &token);
        if (rc != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "update", obj,
                                            acct);
        }
        return qw_api_json(a, HTTP_OK, invite_json(a, acct, NULL, token));
    }
    if (a->nseg == 3 && !strcmp(a->seg[2], "two-step")) {
        /* privileged: it takes a second factor away (a step-up within
         * the last 300 s, like the calls that widen an admin's rights) */
        if (r->method_number != M_DELETE) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "two_step_reset", obj, &done)
            || qw_api_need_step_up(a, MOD, "two_step_reset", obj, &done)) {
            return done;
        }
        rc = qw_member_totp_reset(&a->st, ent(a), acct);
        if (rc != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "two_step_reset",
                                            obj, acct);
        }
        return member_get(a, acct);
    }
    if (a->nseg == 3 && !strcmp(a->seg[2], "sessions")) {
        int ended = 0;
        if (r->method_number != M_DELETE) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "end_sessions", obj, &done)) {
            return done;
        }
        rc = qw_member_end_sessions(&a->st, ent(a), acct, &ended);
        if (rc != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "end_sessions", obj,
                                            acct);
        }
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:s, s:i}", "account",
                                     qw_ascii_lower(r->pool, acct),
                                     "sessions_ended", ended));
    }
    if (a->nseg == 4 && !strcmp(a->seg[2], "roles")) {
        /* member (job) roles, not admin roles */
        if (r->method_number != M_PUT && r->method_number != M_DELETE) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "update", obj, &done)) {
            return done;
        }
        rc = r->method_number == M_PUT
             ? qw_member_grant_role(&a->st, ent(a), acct, a->seg[3])
             : qw_member_revoke_role(&a->st, ent(a), acct, a->seg[3]);
        if (rc != QW_OK) {
            return qw_api_store_error_about(a, rc, MOD, "update", obj,
                                            acct);
        }
        return member_get(a, acct);
    }
    return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
}

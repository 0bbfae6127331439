/* Admin API: admin roles and admin accounts (module "settings").
 *
 * No escalation: an admin who is not the super admin may only define,
 * change, delete, grant or revoke a role whose modules they hold all of,
 * before and after the change.  Admin accounts themselves (create, delete,
 * disable) are the super admin's.  Creating an admin, setting an admin's
 * status, granting a role and defining what a role grants also need a
 * step-up (qw_api_need_step_up): a session ridden by a script or left
 * open cannot widen anyone's rights. */
#include <strings.h>
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/api.h"
#include "util/rights.h"
#include "util/text.h"

#define MOD "settings"

/* the keys each body may have (others: 400) */
static const char *const keys_role[] = { "modules", NULL };
static const char *const keys_admin[] = { "account", "password",
                                          "bind_member", "super", NULL };
static const char *const keys_status[] = { "status", NULL };
static const char *const keys_bind[] = { "member", NULL };

static const char *ent(qw_api *a)
{
    return qw_dir(a->r)->enterprise;
}

static int method_not_allowed(qw_api *a)
{
    return qw_api_error(a, HTTP_METHOD_NOT_ALLOWED, NULL,
                        "method not allowed");
}

/* 0 when the admin holds every module of csv; else the refusal is sent. */
static int need_subset(qw_api *a, const char *csv, const char *action,
                       const char *object, int *done)
{
    const char *missing;

    if (a->admin->is_super
        || qw_modules_subset(a->r->pool, csv, a->admin->modules, &missing)) {
        return 0;
    }
    *done = qw_api_refuse(a, MOD, action, object,
                          apr_pstrcat(a->r->pool, "cannot grant module ",
                                      missing, " it does not hold", NULL));
    return 1;
}

static int need_super(qw_api *a, const char *action, const char *object,
                      int *done)
{
    if (a->admin->is_super) {
        return 0;
    }
    *done = qw_api_refuse(a, MOD, action, object, "super admin only");
    return 1;
}

static json_t *role_json(const qw_admin_role *r)
{
    return json_pack("{s:s, s:o}", "name", r->name,
                     "modules", qw_api_csv_array(r->modules));
}

int qw_api_roles(qw_api *a)
{
    request_rec *r = a->r;
    qw_admin_role role;
    int done = OK, i, created = 0;
    const char *obj;
    qw_status rc;

    if (a->nseg == 1) {
        apr_array_header_t *all;
        json_t *items;
        if (r->method_number != M_GET) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "read", "admin-roles", &done)) {
            return done;
        }
        if ((rc = qw_admin_role_list(&a->st, ent(a), &all)) != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        items = json_array();
        for (i = (int)a->offset; i < all->nelts
             && i < a->offset + a->limit; i++) {
            json_array_append_new(items, role_json(
                &APR_ARRAY_IDX(all, i, qw_admin_role)));
        }
        return qw_api_json(a, HTTP_OK,
                           json_pack("{s:o, s:i, s:i, s:i}", "items", items,
                                     "total", all->nelts,
                                     "limit", (json_int_t)a->limit,
                                     "offset", (json_int_t)a->offset));
    }
    if (a->nseg != 2) {
        return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
    }
    obj = apr_pstrcat(r->pool, "admin-role:", a->seg[1], NULL);
    if (r->method_number == M_GET) {
        if (qw_api_need(a, MOD, "read", obj, &done)) {
            return done;
        }
        if ((rc = qw_admin_role_get(&a->st, ent(a), a->seg[1], &role))
            != QW_OK) {
            return qw_api_store_error(a, rc, NULL, NULL, NULL);
        }
        return qw_api_json(a, HTTP_OK, role_json(&role));
    }
    if (r->method_number == M_PUT) {
        const char *mods, *norm, *bad;
        if (qw_api_need(a, MOD, "update", obj, &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_role, &done)
            || qw_api_str_list(a, "modules", 1, &mods, &done)) {
            return done;
        }
        norm = qw_modules_normalize(r->pool, mods, &bad);
        if (!norm) {
            return qw_api_error(a, HTTP_BAD_REQUEST, "modules",
                                "modules must be module names (a-z 0-9 _ "
                                "-, starting with a letter)");
        }
        if (need_subset(a, norm, "update", obj, &done)) {
            return done;
        }
        /* changing a role also changes what it grants: the old modules
         * must be the admin's, too */
        rc = qw_admin_role_get(&a->st, ent(a), a->seg[1], &role);
        if (rc == QW_OK && need_subset(a, role.modules, "update", obj,
                                       &done)) {
            return done;
        }
        if (rc != QW_OK && rc != QW_ERR_NOTFOUND) {
            return qw_api_store_error(a, rc, MOD, "update", obj);
        }
        /* what a role grants changes what its admins may do */
        if (qw_api_need_step_up(a, MOD, "update", obj, &done)) {
            return done;
        }
        rc = qw_admin_role_put(&a->st, ent(a), a->seg[1], norm, &created);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "update", obj);
        }
        role.name = a->seg[1];
        role.modules = norm;
        return qw_api_json(a, created ? HTTP_CREATED : HTTP_OK,
                           role_json(&role));
    }
    if (r->method_number == M_DELETE) {
        if (qw_api_need(a, MOD, "delete", obj, &done)) {
            return done;
        }
        rc = qw_admin_role_get(&a->st, ent(a), a->seg[1], &role);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "delete", obj);
        }
        if (need_subset(a, role.modules, "delete", obj, &done)) {
            return done;
        }
        if ((rc = qw_admin_role_delete(&a->st, ent(a), a->seg[1]))
            != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "delete", obj);
        }
        return qw_api_no_content(a);
    }
    return method_not_allowed(a);
}

static json_t *admin_json(const qw_admin *ad)
{
    return json_pack("{s:s, s:b, s:s, s:s?, s:o, s:o}",
                     "account", ad->account, "super", ad->is_super,
                     "status", ad->status, "bound_member", ad->bound_member,
                     "roles", qw_api_csv_array(ad->roles),
                     "modules", qw_api_csv_array(ad->modules));
}

static int admin_get(qw_api *a, const char *account, int status)
{
    qw_admin ad;
    qw_status rc;

    if ((rc = qw_admin_get(&a->st, ent(a), account, &ad)) != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    return qw_api_json(a, status, admin_json(&ad));
}

/* PUT admins/ACCOUNT/member {"member": ACCOUNT | null}: the member the
 * account's login reminders go to (R4).  Super admin only.  Taking the
 * reminders away from a member (unbinding, or binding another one) is
 * privileged: a step-up; binding an account that has none needs none. */
static int admin_bind(qw_api *a, const char *obj)
{
    json_t *v;
    const char *member = NULL;
    qw_admin ad;
    qw_status rc;
    int done = OK;

    if (a->r->method_number != M_PUT) {
        return method_not_allowed(a);
    }
    if (need_super(a, "update", obj, &done)
        || qw_api_read_body(a, &done)
        || qw_api_keys(a, NULL, keys_bind, &done)) {
        return done;
    }
    v = a->body ? json_object_get(a->body, "member") : NULL;
    if (!v || !(json_is_null(v) || json_is_string(v))
        || (json_is_string(v) && !*json_string_value(v))) {
        return qw_api_error(a, HTTP_BAD_REQUEST, "member",
                            "member must be a member account or null");
    }
    if (json_is_string(v)) {
        member = json_string_value(v);
    }
    if ((rc = qw_admin_get(&a->st, ent(a), a->seg[1], &ad)) != QW_OK) {
        return qw_api_store_error(a, rc, NULL, NULL, NULL);
    }
    if (ad.bound_member && (!member || strcasecmp(member, ad.bound_member))
        && qw_api_need_step_up(a, MOD, "update", obj, &done)) {
        return done;
    }
    if ((rc = qw_admin_bind(&a->st, ent(a), a->seg[1], member, NULL))
        != QW_OK) {
        return qw_api_store_error(a, rc, MOD, "update", obj);
    }
    return admin_get(a, a->seg[1], HTTP_OK);
}

int qw_api_admins(qw_api *a)
{
    request_rec *r = a->r;
    int done = OK, i;
    const char *obj;
    qw_status rc;

    if (a->nseg == 1) {
        if (r->method_number == M_GET) {
            apr_array_header_t *all;
            json_t *items;
            if (qw_api_need(a, MOD, "read", "admins", &done)) {
                return done;
            }
            if ((rc = qw_admin_list(&a->st, ent(a), &all)) != QW_OK) {
                return qw_api_store_error(a, rc, NULL, NULL, NULL);
            }
            items = json_array();
            for (i = (int)a->offset; i < all->nelts
                 && i < a->offset + a->limit; i++) {
                json_array_append_new(items, admin_json(
                    &APR_ARRAY_IDX(all, i, qw_admin)));
            }
            return qw_api_json(a, HTTP_OK,
                               json_pack("{s:o, s:i, s:i, s:i}", "items",
                                         items, "total", all->nelts,
                                         "limit", (json_int_t)a->limit,
                                         "offset", (json_int_t)a->offset));
        }
        if (r->method_number == M_POST) {
            const char *account, *pw, *bind;
            int sup;
            if (need_super(a, "create", "admin", &done)
                || qw_api_read_body(a, &done)
                || qw_api_keys(a, NULL, keys_admin, &done)
                || qw_api_str(a, "account", 1, &account, &done)
                || qw_api_str(a, "password", 1, &pw, &done)
                || qw_api_str(a, "bind_member", 0, &bind, &done)
                || qw_api_bool(a, "super", &sup, &done)
                || qw_api_need_step_up(a, MOD, "create",
                                       apr_pstrcat(r->pool, "admin:",
                                                   account, NULL), &done)) {
                return done;
            }
            rc = qw_admin_add(&a->st, ent(a), account, pw, strlen(pw),
                              sup == 1, bind, NULL);
            if (rc != QW_OK) {
                return qw_api_store_error(a, rc, MOD, "create",
                                          apr_pstrcat(r->pool, "admin:",
                                                      account, NULL));
            }
            return admin_get(a, account, HTTP_CREATED);
        }
        return method_not_allowed(a);
    }
    obj = apr_pstrcat(r->pool, "admin:", a->seg[1], NULL);
    if (a->nseg == 2) {
        if (r->method_number == M_GET) {
            if (qw_api_need(a, MOD, "read", obj, &done)) {
                return done;
            }
            return admin_get(a, a->seg[1], HTTP_OK);
        }
        if (r->method_number == M_DELETE) {
            if (need_super(a, "delete", obj, &done)) {
                return done;
            }
            if (!strcmp(a->seg[1], a->admin->account)) {
                return qw_api_error(a, HTTP_CONFLICT, NULL,
                                    "an admin cannot delete itself");
            }
            if ((rc = qw_admin_delete(&a->st, ent(a), a->seg[1]))
                != QW_OK) {
                return qw_api_store_error(a, rc, MOD, "delete", obj);
            }
            return qw_api_no_content(a);
        }
        return method_not_allowed(a);
    }
    if (a->nseg == 3 && !strcmp(a->seg[2], "status")) {
        const char *status;
        if (r->method_number != M_PUT) {
            return method_not_allowed(a);
        }
        if (need_super(a, "update", obj, &done)
            || qw_api_read_body(a, &done)
            || qw_api_keys(a, NULL, keys_status, &done)
            || qw_api_str(a, "status", 1, &status, &done)
            || qw_api_need_step_up(a, MOD, "update", obj, &done)) {
            return done;
        }
        rc = qw_admin_set_status(&a->st, ent(a), a->seg[1], status);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "update", obj);
        }
        return admin_get(a, a->seg[1], HTTP_OK);
    }
    if (a->nseg == 3 && !strcmp(a->seg[2], "member")) {
        return admin_bind(a, obj);
    }
    if (a->nseg == 4 && !strcmp(a->seg[2], "roles")) {
        qw_admin_role role;
        int changed;
        if (r->method_number != M_PUT && r->method_number != M_DELETE) {
            return method_not_allowed(a);
        }
        if (qw_api_need(a, MOD, "update", obj, &done)) {
            return done;
        }
        rc = qw_admin_role_get(&a->st, ent(a), a->seg[3], &role);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "update", obj);
        }
        if (need_subset(a, role.modules, "update", obj, &done)) {
            return done;
        }
        /* a grant widens what an admin may do; a revoke does not */
        if (r->method_number == M_PUT
            && qw_api_need_step_up(a, MOD, "update", obj, &done)) {
            return done;
        }
        rc = r->method_number == M_PUT
             ? qw_admin_grant(&a->st, ent(a), a->seg[1], a->seg[3],
                              &changed)
             : qw_admin_revoke(&a->st, ent(a), a->seg[1], a->seg[3],
                               &changed);
        if (rc != QW_OK) {
            return qw_api_store_error(a, rc, MOD, "update", obj);
        }
        return admin_get(a, a->seg[1], HTTP_OK);
    }
    return qw_api_error(a, HTTP_NOT_FOUND, NULL, "no such resource");
}

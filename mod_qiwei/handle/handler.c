/* SetHandler qiwei: dispatch on the last path segment, so the handler
 * location can be anywhere (/qiwei/login, /acme/auth/login, ...). */
#include "apr_strings.h"
#include "http_core.h"
#include "http_protocol.h"
#include "http_request.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "handle/handle.h"
#include "handle/signin.h"    /* account security (issue 6) */
#include "handle/api.h"

static int dispatch(request_rec *r)
{
    const char *name;

    if (!qw_dir(r)->enterprise) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW0601: SetHandler qiwei at %s without "
                      "QiweiEnterprise", r->uri);
        return HTTP_NOT_FOUND;
    }
    /* admin API: everything under <handler>/api/v1/ (issue 5) */
    {
        const char *api = strstr(r->uri, "/api/v1/");
        if (api) {
            return qw_handle_api(r, api + 8);
        }
    }
    /* the admin console's files: <handler>/console/... (console.c) */
    {
        const char *c = strstr(r->uri, "/console/");
        if (c) {
            return qw_handle_console(r, c + 9);
        }
    }
    {
        /* the member's mailbox: <handler>/mailbox[/<id>] */
        int rc = qw_mailbox_dispatch(r);
        if (rc != DECLINED) {
            return rc;
        }
    }
    name = strrchr(r->uri, '/');
    name = name ? name + 1 : r->uri;
    if (!strcmp(name, "login")) {
        return qw_handle_login(r);
    }
    if (!strcmp(name, "logout")) {
        return qw_handle_logout(r);
    }
    if (!strcmp(name, "activate")) {
        return qw_handle_activate(r);
    }
    {
        /* account security pages (issue 6): twostep, password, scan... */
        int rc = qw_security_dispatch(r, name);
        if (rc != DECLINED) {
            return rc;
        }
    }
    if (!strcmp(name, "admin-login")) {
        return qw_handle_admin_login(r);
    }
    if (!strcmp(name, "admin-twostep")
        || !strcmp(name, "admin-twostep-setup")
        || !strcmp(name, "admin-password")) {
        return qw_handle_admin_step(r, name);
    }
    if (!strcmp(name, "admin-logout")) {
        return qw_handle_admin_logout(r);
    }
    if (!strcmp(name, "my-reminders")) {
        return qw_handle_my_reminders(r);
    }
    if (!strcmp(name, "console")) {
        return qw_handle_console(r, NULL);
    }
    if (!strcmp(name, "home")) {
        return qw_handle_home(r);
    }
    return HTTP_NOT_FOUND;
}

static int qw_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, QW_HANDLER)) {
        return DECLINED;
    }
    qw_req_get(r, 1)->ours = 1;
    return dispatch(r);
}

void qw_handler_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(qw_handler, NULL, NULL, APR_HOOK_MIDDLE);
    /* admin sessions' statements and Require qiwei-admin (issue 5) */
    qw_admin_register_hooks(p);
}

/* `Require qiwei-admin MODULE...`: the admin authz provider. */
#include "apr_strings.h"
#include "http_request.h"
#include "mod_auth.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "util/rights.h"

#include "handle/admin.h"
#include "metrics.h"

/* ---- Require qiwei-admin MODULE... ----
 *
 * Decides from the admin cookie alone, so it works before (and without)
 * a member login: granted when the admin session holds one of the
 * modules; DENIED when an admin session lacks them; DENIED_NO_USER when
 * there is no admin session, so <RequireAny> can fall back to other
 * providers and AuthType Qiwei asks for a login.  The lookup is cached per
 * request: httpd may evaluate the provider several times. */

static const char *parse_admin(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    const char *t = line;
    const char *csv = "";
    char *w;

    while (*t && (w = ap_getword_conf(cmd->pool, &t)) && *w) {
        if (!qw_module_valid(w)) {
            return apr_psprintf(cmd->pool, "Require qiwei-admin: '%s' is "
                                "not a module name (a-z 0-9 _ -)", w);
        }
        csv = apr_pstrcat(cmd->pool, csv, *csv ? "," : "", w, NULL);
    }
    if (!*csv) {
        return "Require qiwei-admin needs at least one module";
    }
    *parsed = csv;
    return NULL;
}

static authz_status admin_check(request_rec *r, const char *line,
                                const void *parsed)
{
    qw_admin_session *a;
    const char *want = parsed;
    char *copy, *tok, *last;

    qw_req_get(r, 1)->ours = 1;
    qw_req_get(r, 1)->gate = 1;
    qw_req_get(r, 1)->provider = QW_PROV_ADMIN;
    if (qw_admin_resolve(r, &a) != OK) {
        QW_REASON(r, "QW1006");
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "QW1006: Require qiwei-admin: database unavailable");
        return AUTHZ_GENERAL_ERROR;
    }
    if (!a) {
        return AUTHZ_DENIED_NO_USER;
    }
    /* a session of another enterprise (the cookie name is shared by every
     * location of the host) or one that still owes a step is none */
    if (!a->enterprise || !qw_dir(r)->enterprise
        || strcmp(a->enterprise, qw_dir(r)->enterprise)) {
        QW_REASON(r, "QW1009");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "QW1009: admin session of %s presented to a location "
                      "of %s", a->enterprise ? a->enterprise : "-",
                      qw_dir(r)->enterprise ? qw_dir(r)->enterprise : "-");
        return AUTHZ_DENIED_NO_USER;
    }
    if (!qw_admin_usable(r, a)) {
        return AUTHZ_DENIED_NO_USER;
    }
    copy = apr_pstrdup(r->pool, want);
    for (tok = apr_strtok(copy, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        if (qw_admin_may(a, tok)) {
            apr_table_setn(r->subprocess_env, "QIWEI_ADMIN", a->account);
            apr_table_setn(r->subprocess_env, "QIWEI_ADMIN_MODULES",
                           a->modules);
            return AUTHZ_GRANTED;
        }
    }
    QW_REASON(r, "QW1007");
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "QW1007: admin %s holds none of modules [%s]",
                  a->account, line);
    return AUTHZ_DENIED;
}

static const authz_provider admin_provider = {
    &admin_check, &parse_admin
};
void qw_admin_register_hooks(apr_pool_t *p)
{
    qw_admin_session_register(p);
    qw_admin_login_register(p);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "qiwei-admin",
                              AUTHZ_PROVIDER_VERSION, &admin_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}

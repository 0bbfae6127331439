/* Require qiwei-member | qiwei-department CODE... | qiwei-role NAME...
 *
 * Providers decide only from the viewer that AuthType Qiwei established for
 * this request: no side effects, no queries, so httpd may evaluate them as
 * often as <RequireAny>/<RequireAll> need. */
#include "apr_strings.h"
#include "ap_provider.h"
#include "http_core.h"
#include "http_request.h"
#include "mod_auth.h"

#include "gate.h"
#include "util/text.h"
#include "metrics.h"

typedef int (*code_check)(const char *);

static const char *parse_codes(cmd_parms *cmd, const char *line,
                               const void **parsed, code_check valid,
                               const char *what)
{
    apr_array_header_t *codes = apr_array_make(cmd->pool, 4,
                                               sizeof(const char *));
    const char *t = line;
    char *w;

    while (*t && (w = ap_getword_conf(cmd->pool, &t)) && *w) {
        if (!valid(w)) {
            return apr_psprintf(cmd->pool, "Require %s: '%s' is not a valid "
                                "code", what, w);
        }
        APR_ARRAY_PUSH(codes, const char *) = w;
    }
    if (apr_is_empty_array(codes)) {
        return apr_psprintf(cmd->pool, "Require %s needs at least one "
                            "argument", what);
    }
    *parsed = codes;
    return NULL;
}

static const char *parse_department(cmd_parms *cmd, const char *line,
                                    const void **parsed)
{
    return parse_codes(cmd, line, parsed, qw_valid_department_code,
                       "qiwei-department");
}

static const char *parse_role(cmd_parms *cmd, const char *line,
                              const void **parsed)
{
    /* role names follow the department code syntax */
    return parse_codes(cmd, line, parsed, qw_valid_department_code,
                       "qiwei-role");
}

static const char *parse_member(cmd_parms *cmd, const char *line,
                                const void **parsed)
{
    if (line && *line) {
        return "Require qiwei-member takes no arguments";
    }
    return NULL;
}

static qw_viewer *viewer_of(request_rec *r)
{
    qw_req *q = qw_req_get(r, 0);
    return q ? q->viewer : NULL;
}

static int any_in(const apr_array_header_t *want,
                  const apr_array_header_t *have)
{
    int i, j;
    for (i = 0; i < want->nelts; i++) {
        const char *w = APR_ARRAY_IDX(want, i, const char *);
        for (j = 0; j < have->nelts; j++) {
            if (!strcmp(w, APR_ARRAY_IDX(have, j, const char *))) {
                return 1;
            }
        }
    }
    return 0;
}

static authz_status member_check(request_rec *r, const char *line,
                                 const void *parsed)
{
    qw_viewer *v;

    qw_req_get(r, 1)->provider = QW_PROV_MEMBER;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    v = viewer_of(r);
    if (!v) {
        QW_REASON(r, "QW0701");
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "QW0701: user %s was not authenticated by AuthType "
                      "Qiwei: not a member", r->user);
        return AUTHZ_DENIED;
    }
    return AUTHZ_GRANTED;
}

static authz_status department_check(request_rec *r, const char *line,
                                     const void *parsed)
{
    qw_viewer *v;

    qw_req_get(r, 1)->provider = QW_PROV_DEPARTMENT;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    v = viewer_of(r);
    if (v && any_in(parsed, v->departments)) {
        return AUTHZ_GRANTED;
    }
    QW_REASON(r, "QW0702");
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0702: %s is in none of departments [%s]", r->user,
                  line);
    return AUTHZ_DENIED;
}

static authz_status role_check(request_rec *r, const char *line,
                               const void *parsed)
{
    qw_viewer *v;

    qw_req_get(r, 1)->provider = QW_PROV_ROLE;
    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    v = viewer_of(r);
    if (v && any_in(parsed, v->roles)) {
        return AUTHZ_GRANTED;
    }
    QW_REASON(r, "QW0703");
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "QW0703: %s holds none of roles [%s]", r->user, line);
    return AUTHZ_DENIED;
}

static const authz_provider member_provider = {
    &member_check, &parse_member
};
static const authz_provider department_provider = {
    &department_check, &parse_department
};
static const authz_provider role_provider = {
    &role_check, &parse_role
};

void qw_authz_register_hooks(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "qiwei-member",
                              AUTHZ_PROVIDER_VERSION, &member_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "qiwei-department",
                              AUTHZ_PROVIDER_VERSION, &department_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "qiwei-role",
                              AUTHZ_PROVIDER_VERSION, &role_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}

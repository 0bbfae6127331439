/* Account-security directives.  See cfg/security.h. */
#include <errno.h>
#include "apr_strings.h"
#include "http_core.h"
#include "mod_auth.h"
#include "ap_provider.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "cfg/security.h"
#include "util/pwpolicy.h"

const char *qw_sec_blocklist_path;

void qw_sec_global_reset(void)
{
    /* the configuration is read again on restart: forget the old one */
    qw_sec_blocklist_path = NULL;
}

void qw_sec_dir_init(qw_sec_dir_cfg *c)
{
    c->pw_policy = QW_UNSET;
    c->pw_max_age_days = QW_UNSET;
    c->two_step = QW_UNSET;
    c->pw_providers = NULL;
    c->addr_max = QW_UNSET;
    c->addr_window = QW_UNSET;
    c->addr_block = QW_UNSET;
    c->scan_login = QW_UNSET;
    c->scan_idle = QW_UNSET;
    c->scan_max_age = QW_UNSET;
}

#define SEC_MERGE_INT(f) c->f = add->f != QW_UNSET ? add->f : base->f

void qw_sec_dir_merge(qw_sec_dir_cfg *c, const qw_sec_dir_cfg *base,
                      const qw_sec_dir_cfg *add)
{
    SEC_MERGE_INT(pw_policy);
    SEC_MERGE_INT(pw_max_age_days);
    SEC_MERGE_INT(two_step);
    c->pw_providers = add->pw_providers ? add->pw_providers
                                        : base->pw_providers;
    if (add->addr_max != QW_UNSET) {
        c->addr_max = add->addr_max;
        c->addr_window = add->addr_window;
        c->addr_block = add->addr_block;
    }
    else {
        c->addr_max = base->addr_max;
        c->addr_window = base->addr_window;
        c->addr_block = base->addr_block;
    }
    SEC_MERGE_INT(scan_login);
    SEC_MERGE_INT(scan_idle);
    SEC_MERGE_INT(scan_max_age);
}

int qw_sec_policy(const qw_sec_dir_cfg *c)
{
    return c->pw_policy != QW_UNSET ? c->pw_policy : QW_PWP_DENGBAO;
}

int qw_sec_max_age(const qw_sec_dir_cfg *c)
{
    return c->pw_max_age_days;
}

int qw_sec_two_step_required(const qw_sec_dir_cfg *c)
{
    return c->two_step == 1;
}

const apr_array_header_t *qw_sec_providers(const qw_sec_dir_cfg *c)
{
    return c->pw_providers && c->pw_providers->nelts ? c->pw_providers
                                                     : NULL;
}

void qw_sec_addr_limits(const qw_sec_dir_cfg *c, int *max, int *window,
                        int *block)
{
    if (c->addr_max == QW_UNSET) {
        *max = QW_DEFAULT_ADDR_MAX;
        *window = QW_DEFAULT_ADDR_WINDOW;
        *block = QW_DEFAULT_ADDR_BLOCK;
        return;
    }
    *max = c->addr_max;
    *window = c->addr_window;
    *block = c->addr_block;
}

int qw_sec_scan_login(const qw_sec_dir_cfg *c)
{
    return c->scan_login != QW_UNSET ? c->scan_login : 1;
}

int qw_sec_scan_idle(const qw_sec_dir_cfg *c)
{
    return c->scan_idle != QW_UNSET ? c->scan_idle : QW_DEFAULT_SCAN_IDLE;
}

int qw_sec_scan_max_age(const qw_sec_dir_cfg *c)
{
    return c->scan_max_age != QW_UNSET ? c->scan_max_age
                                       : QW_DEFAULT_SCAN_MAX_AGE;
}

static qw_sec_dir_cfg *sec_of(void *dv)
{
    return &((qw_dir_cfg *)dv)->sec;
}

static const char *int_arg(cmd_parms *cmd, const char *arg, int lo, int hi,
                           int *out)
{
    char *end;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || *end || end == arg || v < lo || v > hi) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an integer in "
                            "%d..%d", cmd->cmd->name, arg, lo, hi);
    }
    *out = (int)v;
    return NULL;
}

const char *qw_sec_set_blocklist(cmd_parms *cmd, void *dv, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "none")) {
        qw_sec_blocklist_path = "";
        return NULL;
    }
    qw_sec_blocklist_path = ap_server_root_relative(cmd->pool, arg);
    if (!qw_sec_blocklist_path) {
        return apr_pstrcat(cmd->pool, "QiweiPasswordBlocklist: invalid path ",
                           arg, NULL);
    }
    return NULL;
}

const char *qw_sec_set_policy(cmd_parms *cmd, void *dv, const char *arg)
{
    int m = qw_pwpolicy_mode_parse(arg);
    if (m < 0) {
        return "QiweiPasswordPolicy: dengbao or nist";
    }
    sec_of(dv)->pw_policy = m;
    return NULL;
}

const char *qw_sec_set_max_age(cmd_parms *cmd, void *dv, const char *arg)
{
    return int_arg(cmd, arg, 0, QW_PWP_MAX_AGE_DAYS_MAX,
                   &sec_of(dv)->pw_max_age_days);
}

const char *qw_sec_set_two_step(cmd_parms *cmd, void *dv, const char *arg)
{
    if (!strcasecmp(arg, "required")) {
        sec_of(dv)->two_step = 1;
    }
    else if (!strcasecmp(arg, "optional")) {
        sec_of(dv)->two_step = 0;
    }
    else {
        return "QiweiTwoStep: optional or required";
    }
    return NULL;
}

const char *qw_sec_set_providers(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_sec_dir_cfg *c = sec_of(dv);

    if (!c->pw_providers) {
        c->pw_providers = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    if (!strcasecmp(arg, "none")) {
        c->pw_providers->nelts = 0;     /* back to mod_qiwei's hashes */
        return NULL;
    }
    if (!ap_lookup_provider(AUTHN_PROVIDER_GROUP, arg,
                            AUTHN_PROVIDER_VERSION)) {
        return apr_psprintf(cmd->pool, "QiweiPasswordProvider: unknown "
                            "authn provider '%s' (is its module, e.g. "
                            "mod_authn_%s, loaded?)", arg, arg);
    }
    APR_ARRAY_PUSH(c->pw_providers, const char *) = arg;
    return NULL;
}

const char *qw_sec_set_throttle_addr(cmd_parms *cmd, void *dv, int argc,
                                     char *const argv[])
{
    qw_sec_dir_cfg *c = sec_of(dv);
    const char *err;

    if (argc == 1 && !strcasecmp(argv[0], "off")) {
        c->addr_max = 0;
        c->addr_window = 0;
        c->addr_block = 0;
        return NULL;
    }
    if (argc != 3) {
        return "QiweiThrottleAddress: FAILURES WINDOW-SECONDS "
               "BLOCK-SECONDS, or off";
    }
    if ((err = int_arg(cmd, argv[0], 1, 100000, &c->addr_max))
        || (err = int_arg(cmd, argv[1], 1, 86400, &c->addr_window))
        || (err = int_arg(cmd, argv[2], 1, 86400, &c->addr_block))) {
        return err;
    }
    return NULL;
}

const char *qw_sec_set_scan_login(cmd_parms *cmd, void *dv, int on)
{
    sec_of(dv)->scan_login = on;
    return NULL;
}

const char *qw_sec_set_scan_timeouts(cmd_parms *cmd, void *dv,
                                     const char *idle, const char *max)
{
    qw_sec_dir_cfg *c = sec_of(dv);
    const char *err;

    if ((err = int_arg(cmd, idle, 60, 86400, &c->scan_idle))
        || (err = int_arg(cmd, max, 60, 604800, &c->scan_max_age))) {
        return err;
    }
    if (c->scan_idle > c->scan_max_age) {
        return "QiweiScanSessionTimeouts: idle must not exceed the "
               "absolute timeout";
    }
    return NULL;
}

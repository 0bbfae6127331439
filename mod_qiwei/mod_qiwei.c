/* mod_qiwei: hooks and the module record only.  See docs/architecture.md. */
#define QW_MODULE_RECORD
#include "apr_strings.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "ap_mpm.h"

#include "qiwei.h"
#include "db.h"
#include "cache.h"
#include "metrics.h"
#include "cfg/config.h"
#include "gate.h"
#include "render/page.h"
#include "handle/handle.h"
#include "util/keyring.h"
#include "util/pwhash.h"
#include "qw_version.h"
#include "handle/signin.h"    /* account security (issue 6) */

/* qw_keys_install and qw_pw_slots_init (keys.c) set the key ring and
 * the hashing limiter; qw_pw_cfg lives there too. */

static int any_server_uses_qiwei(server_rec *s)
{
    for (; s; s = s->next) {
        if (qw_srv(s)->db_conninfo) {
            return 1;
        }
    }
    return 0;
}

static int qw_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    qw_srv_cfg *c = qw_srv(s);
    const char *err = NULL;
    qw_keyring *kr;

    /* httpd reads its configuration twice at start-up; doing the work on
     * both passes is harmless (everything lives in pconf) and lets
     * "apachectl configtest" report a bad key file. */
    if (qw_pw_init() != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW0003: libsodium failed to initialise");
        return !OK;
    }
    qw_pw_cfg.mem_mib = c->pw_mem_mib != QW_UNSET ? (size_t)c->pw_mem_mib
                                                  : QW_PW_DEFAULT_MEM_MIB;
    qw_pw_cfg.ops = c->pw_ops != QW_UNSET ? (unsigned long long)c->pw_ops
                                          : QW_PW_DEFAULT_OPS;
    qw_metrics_init(s);

    if (!any_server_uses_qiwei(s)) {
        return OK;
    }
    if (!c->key_file) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW0004: QiweiDatabase is set but QiweiKeyFile is not; "
                     "generate one with 'qiweictl keygen FILE'");
        return !OK;
    }
    kr = qw_keyring_load(pconf, c->key_file, &err);
    if (!kr) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW0005: cannot use key file %s: %s", c->key_file,
                     err ? err : "unknown error");
        return !OK;
    }
    if (qw_keys_install(pconf, kr) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW0006: cannot derive keys from %s", c->key_file);
        return !OK;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "QW0007: mod_qiwei %s: %d key(s) loaded, current key id %u",
                 QW_VERSION_STRING, qw_keyring_count(kr),
                 (unsigned)qw_keyring_current(kr));

    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        qw_cfg_warn_cache(ptemp, s);
    }
    if (ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        server_rec *sp;
        for (sp = s; sp; sp = sp->next) {
            /* virtual hosts usually inherit the main server's database */
            if (sp != s && (!qw_srv(sp)->db_conninfo || !c->db_conninfo
                    || !strcmp(qw_srv(sp)->db_conninfo, c->db_conninfo))) {
                continue;
            }
            if (qw_db_check_schema(ptemp, sp) != OK) {
                return !OK;
            }
        }
    }
    return OK;
}

static void qw_child_init(apr_pool_t *pchild, server_rec *s)
{
    qw_srv_cfg *c = qw_srv(s);
    int n = c->pw_concurrency != QW_UNSET ? c->pw_concurrency
                                          : QW_DEFAULT_PW_CONCURRENCY;

    if (qw_pw_slots_init(pchild, n) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "QW0008: cannot create the password hashing limiter");
    }
    qw_db_child_init(pchild, s);
    qw_cache_child_init(pchild, s);
}

static void qw_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(qw_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(qw_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    qw_render_register_hooks(p);
    qw_authn_register_hooks(p);
    qw_authz_register_hooks(p);
    qw_backend_register_hooks(p);
    qw_handler_register_hooks(p);
    qw_security_register_hooks(p);   /* issue 6 */
    qw_wm_register_hooks(p);
    qw_article_register_hooks(p);
    qw_article_body_register_hooks(p);
    qw_metrics_register_hooks(p);
}

AP_DECLARE_MODULE(qiwei) = {
    STANDARD20_MODULE_STUFF,
    qw_create_dir_cfg,
    qw_merge_dir_cfg,
    qw_create_srv_cfg,
    qw_merge_srv_cfg,
    qw_cmds,
    qw_register_hooks,
#if defined(AP_MODULE_FLAG_NONE)
    AP_MODULE_FLAG_NONE
#endif
};

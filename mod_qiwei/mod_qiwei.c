/* mod_qiwei: hooks and the module record only.  See docs/architecture.md. */
#define QW_MODULE_RECORD
#include <openssl/crypto.h>
#include "apr_strings.h"
#include "apr_thread_mutex.h"
#include "apr_thread_cond.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "ap_mpm.h"

#include "qiwei.h"
#include "db.h"
#include "cache.h"
#include "cfg/config.h"
#include "util/keyring.h"
#include "util/pwhash.h"
#include "qw_version.h"
#include "handle/signin.h"    /* account security (issue 6) */

/* Set once per configuration cycle in post_config (before children exist),
 * read-only afterwards. */
static const qw_keyring *keys;
static unsigned char csrf_key[QW_KEY_LEN];
static int csrf_key_set;
qw_pw_params qw_pw_cfg = { QW_PW_DEFAULT_OPS, QW_PW_DEFAULT_MEM_MIB };

/* Per child: how many Argon2id hashes may run at once. */
static apr_thread_mutex_t *pw_mutex;
static apr_thread_cond_t *pw_cond;
static int pw_free;

const qw_keyring *qw_keys(void)
{
    return keys;
}

const unsigned char *qw_csrf_key(void)
{
    return csrf_key_set ? csrf_key : NULL;
}

apr_status_t qw_pw_slot_acquire(request_rec *r)
{
    apr_status_t rv;
    if (!pw_mutex) {
        return APR_SUCCESS;
    }
    apr_thread_mutex_lock(pw_mutex);
    while (pw_free == 0) {
        rv = apr_thread_cond_timedwait(pw_cond, pw_mutex,
                                       apr_time_from_sec(10));
        if (rv == APR_TIMEUP && pw_free == 0) {
            apr_thread_mutex_unlock(pw_mutex);
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r,
                          "QW0002: waited 10 s for a password hashing slot");
            return rv;
        }
    }
    pw_free--;
    apr_thread_mutex_unlock(pw_mutex);
    return APR_SUCCESS;
}

void qw_pw_slot_release(void)
{
    if (!pw_mutex) {
        return;
    }
    apr_thread_mutex_lock(pw_mutex);
    pw_free++;
    apr_thread_cond_signal(pw_cond);
    apr_thread_mutex_unlock(pw_mutex);
}

static apr_status_t wipe_csrf_key(void *data)
{
    OPENSSL_cleanse(csrf_key, sizeof(csrf_key));
    csrf_key_set = 0;
    keys = NULL;
    return APR_SUCCESS;
}

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
    if (qw_keyring_derive(kr, qw_keyring_current(kr), "csrf v1",
                          csrf_key) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "QW0006: cannot derive keys from %s", c->key_file);
        return !OK;
    }
    keys = kr;
    csrf_key_set = 1;
    apr_pool_cleanup_register(pconf, NULL, wipe_csrf_key,
                              apr_pool_cleanup_null);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
                 "QW0007: mod_qiwei %s: %d key(s) loaded, current key id %u",
                 QW_VERSION_STRING, qw_keyring_count(kr),
                 (unsigned)qw_keyring_current(kr));

    if (qw_cfg_watermark_used && ap_find_linked_module("mod_cache.c")) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                     "QW0009: mod_cache is loaded and QiweiWatermark is on: "
                     "mod_cache's quick handler answers before "
                     "authentication and output filters, so make sure "
                     "CacheDisable covers every protected location");
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

    if (apr_thread_mutex_create(&pw_mutex, APR_THREAD_MUTEX_DEFAULT,
                                pchild) != APR_SUCCESS
        || apr_thread_cond_create(&pw_cond, pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                     "QW0008: cannot create the password hashing limiter");
        pw_mutex = NULL;
    }
    pw_free = n;
    qw_db_child_init(pchild, s);
    qw_cache_child_init(pchild, s);
}

static void qw_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(qw_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(qw_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    qw_authn_register_hooks(p);
    qw_authz_register_hooks(p);
    qw_handler_register_hooks(p);
    qw_security_register_hooks(p);   /* issue 6 */
    qw_wm_register_hooks(p);
    qw_article_register_hooks(p);
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

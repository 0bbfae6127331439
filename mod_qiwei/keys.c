/* The key ring and the password hashing slots (layer 2): state set once
 * per configuration cycle (post_config) or per child (child_init) by
 * mod_qiwei.c, read by every layer above. */
#include <openssl/crypto.h>
#include "apr_thread_mutex.h"
#include "apr_thread_cond.h"
#include "httpd.h"
#include "http_log.h"

#include "qiwei.h"
#include "util/keyring.h"
#include "util/pwhash.h"

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

static apr_status_t wipe_csrf_key(void *data)
{
    OPENSSL_cleanse(csrf_key, sizeof(csrf_key));
    csrf_key_set = 0;
    keys = NULL;
    return APR_SUCCESS;
}

int qw_keys_install(apr_pool_t *pconf, const qw_keyring *kr)
{
    if (qw_keyring_derive(kr, qw_keyring_current(kr), "csrf v1",
                          csrf_key) != 0) {
        return -1;
    }
    keys = kr;
    csrf_key_set = 1;
    apr_pool_cleanup_register(pconf, NULL, wipe_csrf_key,
                              apr_pool_cleanup_null);
    return 0;
}

apr_status_t qw_pw_slots_init(apr_pool_t *pchild, int n)
{
    apr_status_t rv;

    pw_free = n;
    if ((rv = apr_thread_mutex_create(&pw_mutex, APR_THREAD_MUTEX_DEFAULT,
                                      pchild)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&pw_cond, pchild)) != APR_SUCCESS) {
        pw_mutex = NULL;
        return rv;
    }
    return APR_SUCCESS;
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

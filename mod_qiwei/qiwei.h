/* Shared declarations of the httpd side of mod_qiwei (layer 2: request
 * context; see docs/architecture.md, "Layers"). */
#ifndef QIWEI_H
#define QIWEI_H

#include <stdint.h>
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_tables.h"

#include "util/keyring.h"
#include "util/pwhash.h"

#if defined(APLOG_USE_MODULE) && !defined(QW_MODULE_RECORD)
APLOG_USE_MODULE(qiwei);
#endif
extern module AP_MODULE_DECLARE_DATA qiwei_module;

/* Auth names used in httpd.conf. */
#define QW_AUTH_TYPE "Qiwei"
#define QW_HANDLER "qiwei"
#define QW_CSRF_COOKIE "qiwei_csrf"
#define QW_ADMIN_COOKIE "qiwei_admin"
#define QW_SCAN_COOKIE "qiwei_scan"

/* The member behind the current request, as established by check_authn. */
typedef struct {
    int64_t enterprise_id;
    const char *enterprise_code;
    int64_t member_id;
    int64_t session_id;
    const char *account;
    const char *display_name;
    const char *kind;              /* member | scan | admin */
    int auth_level;
    /* department codes the member is in, ancestors included */
    apr_array_header_t *departments;
    /* department codes the member is directly in */
    apr_array_header_t *direct_departments;
    apr_array_header_t *roles;
    const char *token;             /* the cookie's token text: CSRF binding */
    /* departments and roles joined with ',' when already at hand (a
     * viewer from the cache), else NULL: apr_array_pstrcat them */
    const char *departments_csv, *roles_csv;
} qw_viewer;

/* An article's watermark setting for this request (qw_req). */
#define QW_WM_INHERIT 0     /* the location's QiweiWatermark decides */
#define QW_WM_OFF 1
#define QW_WM_ON 2

/* The server-wide key ring loaded at post_config (NULL before): keys.c. */
const qw_keyring *qw_keys(void);

/* A purpose key derived once per config cycle from the current master key;
 * NULL if no key file has been loaded. */
const unsigned char *qw_csrf_key(void);

/* The server's Argon2id parameters for new hashes (keys.c). */
extern qw_pw_params qw_pw_cfg;

/* Argon2id concurrency bound (handle/account.c uses it): keys.c. */
apr_status_t qw_pw_slot_acquire(request_rec *r);
void qw_pw_slot_release(void);

/* post_config: install the loaded key ring and derive the purpose keys
 * (wiped when pconf is cleared).  0, or -1 if a key cannot be derived. */
int qw_keys_install(apr_pool_t *pconf, const qw_keyring *kr);
/* child_init: n Argon2id hashes at once in this child. */
apr_status_t qw_pw_slots_init(apr_pool_t *pchild, int n);

#endif

/* Account-security directives (issue 6): password policy, two-step
 * verification, throttling, scan to log in, delegated password checks.
 * The per-directory part is embedded in qw_dir_cfg (cfg/config.h) as
 * "sec"; the command_rec entries are in config.c's table. */
#ifndef QW_CFG_SECURITY_H
#define QW_CFG_SECURITY_H

#include "httpd.h"
#include "http_config.h"
#include "apr_tables.h"

typedef struct {
    int pw_policy;                   /* QiweiPasswordPolicy: qw_pwp_mode */
    int pw_max_age_days;             /* QiweiPasswordMaxAge */
    int two_step;                    /* QiweiTwoStep: 1 = required */
    apr_array_header_t *pw_providers; /* QiweiPasswordProvider; empty: none */
    int addr_max;                    /* QiweiThrottleAddress: 0 = off */
    int addr_window;
    int addr_block;
    int scan_login;                  /* QiweiScanLogin */
    int scan_idle;                   /* QiweiScanSessionTimeouts */
    int scan_max_age;
} qw_sec_dir_cfg;

#define QW_DEFAULT_ADDR_MAX 20
#define QW_DEFAULT_ADDR_WINDOW 600
#define QW_DEFAULT_ADDR_BLOCK 900
#define QW_DEFAULT_SCAN_IDLE 900
#define QW_DEFAULT_SCAN_MAX_AGE 14400

void qw_sec_dir_init(qw_sec_dir_cfg *c);
void qw_sec_dir_merge(qw_sec_dir_cfg *c, const qw_sec_dir_cfg *base,
                      const qw_sec_dir_cfg *add);

/* Effective values. */
int qw_sec_policy(const qw_sec_dir_cfg *c);
int qw_sec_max_age(const qw_sec_dir_cfg *c);     /* -1: the mode's */
int qw_sec_two_step_required(const qw_sec_dir_cfg *c);
/* NULL when passwords are checked against mod_qiwei's own hashes. */
const apr_array_header_t *qw_sec_providers(const qw_sec_dir_cfg *c);
void qw_sec_addr_limits(const qw_sec_dir_cfg *c, int *max, int *window,
                        int *block);
int qw_sec_scan_login(const qw_sec_dir_cfg *c);
int qw_sec_scan_idle(const qw_sec_dir_cfg *c);
int qw_sec_scan_max_age(const qw_sec_dir_cfg *c);

/* QiweiPasswordBlocklist (global): NULL = the default path, "" = none. */
extern const char *qw_sec_blocklist_path;
void qw_sec_global_reset(void);

/* Directive handlers (config.c's command table). */
const char *qw_sec_set_blocklist(cmd_parms *cmd, void *dv, const char *arg);
const char *qw_sec_set_policy(cmd_parms *cmd, void *dv, const char *arg);
const char *qw_sec_set_max_age(cmd_parms *cmd, void *dv, const char *arg);
const char *qw_sec_set_two_step(cmd_parms *cmd, void *dv, const char *arg);
const char *qw_sec_set_providers(cmd_parms *cmd, void *dv, const char *arg);
const char *qw_sec_set_throttle_addr(cmd_parms *cmd, void *dv, int argc,
                                     char *const argv[]);
const char *qw_sec_set_scan_login(cmd_parms *cmd, void *dv, int on);
const char *qw_sec_set_scan_timeouts(cmd_parms *cmd, void *dv,
                                     const char *idle, const char *max);

#endif

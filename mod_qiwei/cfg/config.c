/* Directives.  Sensitive ones (database, keys, cookies, enterprise) take
 * RSRC_CONF / ACCESS_CONF only, so .htaccess files cannot change them. */
#include <errno.h>
#include <stdint.h>
#include "apr_strings.h"
#include "apr_lib.h"
#include "http_core.h"

#include "qiwei.h"
#include "cfg/config.h"
#include "util/text.h"
#include "util/pwhash.h"

qw_srv_cfg *qw_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &qiwei_module);
}

qw_dir_cfg *qw_dir(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &qiwei_module);
}

void *qw_create_srv_cfg(apr_pool_t *p, server_rec *s)
{
    qw_srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    c->db_pool_max = QW_UNSET;
    c->db_connect_timeout = QW_UNSET;
    c->db_retry_interval = QW_UNSET;
    c->revocation_wait_ms = QW_UNSET;
    c->pw_mem_mib = QW_UNSET;
    c->pw_ops = QW_UNSET;
    c->pw_concurrency = QW_UNSET;
    c->cache_mode = QW_UNSET;
    c->cache_entries = QW_UNSET;
    return c;
}

#define MERGE_PTR(f) c->f = add->f ? add->f : base->f
#define MERGE_INT(f) c->f = add->f != QW_UNSET ? add->f : base->f

void *qw_merge_srv_cfg(apr_pool_t *p, void *basev, void *addv)
{
    qw_srv_cfg *base = basev, *add = addv;
    qw_srv_cfg *c = apr_pcalloc(p, sizeof(*c));
    MERGE_PTR(db_conninfo);
    MERGE_INT(db_pool_max);
    MERGE_INT(db_connect_timeout);
    MERGE_INT(db_retry_interval);
    MERGE_INT(revocation_wait_ms);
    MERGE_INT(cache_mode);
    MERGE_INT(cache_entries);
    /* global-only: always the main server's */
    c->key_file = base->key_file;
    c->console_dir = base->console_dir;
    c->pw_mem_mib = base->pw_mem_mib;
    c->pw_ops = base->pw_ops;
    c->pw_concurrency = base->pw_concurrency;
    return c;
}

void *qw_create_dir_cfg(apr_pool_t *p, char *dir)
{
    qw_dir_cfg *c = apr_pcalloc(p, sizeof(*c));
    c->unauth_action = QW_UNSET;
    c->cookie_secure = QW_UNSET;
    c->idle_timeout = QW_UNSET;
    c->max_age = QW_UNSET;
    c->identity_headers = QW_UNSET;
    c->forward_cookies = QW_UNSET;
    c->cache_private = QW_UNSET;
    c->default_lang = QW_UNSET;
    c->cache_use = QW_UNSET;
    c->watermark = QW_UNSET;
    c->wm_opacity_pct = QW_UNSET;
    c->wm_angle = QW_UNSET_ANGLE;
    c->wm_font_px = QW_UNSET;
    c->wm_tile_w = QW_UNSET;
    c->wm_tile_h = QW_UNSET;
    c->wm_scan_limit_kb = QW_UNSET;
    c->article_store = QW_UNSET;
    c->article_missing = QW_UNSET;
    c->mailbox_max_body = QW_UNSET;
    c->mailbox_member_send = QW_UNSET;
    c->mailbox_max_attachment = QW_UNSET;
    qw_sec_dir_init(&c->sec);            /* issue 6 */
    return c;
}

void *qw_merge_dir_cfg(apr_pool_t *p, void *basev, void *addv)
{
    qw_dir_cfg *base = basev, *add = addv;
    qw_dir_cfg *c = apr_pcalloc(p, sizeof(*c));
    MERGE_PTR(enterprise);
    MERGE_PTR(login_url);
    MERGE_INT(unauth_action);
    MERGE_PTR(cookie_name);
    MERGE_INT(cookie_secure);
    MERGE_PTR(cookie_samesite);
    MERGE_INT(idle_timeout);
    MERGE_INT(max_age);
    MERGE_INT(identity_headers);
    MERGE_INT(forward_cookies);
    MERGE_INT(cache_private);
    MERGE_INT(default_lang);
    MERGE_INT(cache_use);
    MERGE_INT(watermark);
    MERGE_PTR(wm_text);
    MERGE_INT(wm_opacity_pct);
    c->wm_angle = add->wm_angle != QW_UNSET_ANGLE ? add->wm_angle
                                                  : base->wm_angle;
    MERGE_INT(wm_font_px);
    MERGE_INT(wm_tile_w);
    MERGE_INT(wm_tile_h);
    MERGE_PTR(wm_fill);
    MERGE_PTR(wm_stroke);
    MERGE_INT(wm_scan_limit_kb);
    MERGE_PTR(article_module);
    MERGE_INT(article_store);
    MERGE_INT(article_missing);
    MERGE_INT(mailbox_max_body);
    MERGE_INT(mailbox_member_send);
    MERGE_INT(mailbox_max_attachment);
    qw_sec_dir_merge(&c->sec, &base->sec, &add->sec);   /* issue 6 */
    return c;
}

#define EFF_INT(f, dflt) (d->f != QW_UNSET ? d->f : (dflt))

const char *qw_cfg_login_url(const qw_dir_cfg *d)
{
    return d->login_url ? d->login_url : QW_DEFAULT_LOGIN_URL;
}
const char *qw_cfg_cookie_name(const qw_dir_cfg *d)
{
    return d->cookie_name ? d->cookie_name : QW_DEFAULT_COOKIE_NAME;
}
const char *qw_cfg_samesite(const qw_dir_cfg *d)
{
    return d->cookie_samesite ? d->cookie_samesite : QW_DEFAULT_SAMESITE;
}
int qw_cfg_idle(const qw_dir_cfg *d)
{
    return EFF_INT(idle_timeout, QW_DEFAULT_IDLE);
}
int qw_cfg_max_age(const qw_dir_cfg *d)
{
    return EFF_INT(max_age, QW_DEFAULT_MAX_AGE);
}
int qw_cfg_unauth(const qw_dir_cfg *d)
{
    return EFF_INT(unauth_action, QW_UNAUTH_AUTO);
}
int qw_cfg_secure(const qw_dir_cfg *d)
{
    return EFF_INT(cookie_secure, QW_SECURE_AUTO);
}
int qw_cfg_identity_headers(const qw_dir_cfg *d)
{
    return EFF_INT(identity_headers, 0);
}
int qw_cfg_forward_cookies(const qw_dir_cfg *d)
{
    return EFF_INT(forward_cookies, 0);
}
int qw_cfg_cache_private(const qw_dir_cfg *d)
{
    return EFF_INT(cache_private, 1);
}
int qw_cfg_lang(const qw_dir_cfg *d)
{
    return EFF_INT(default_lang, QW_LANG_ZH);
}

int qw_cfg_watermark(const qw_dir_cfg *d)
{
    return EFF_INT(watermark, 0);
}

int qw_cfg_watermark_used;

const char *qw_cfg_article_module(const qw_dir_cfg *d)
{
    return d->article_module && *d->article_module ? d->article_module
                                                   : NULL;
}
int qw_cfg_mailbox_max_body(const qw_dir_cfg *d)
{
    return EFF_INT(mailbox_max_body, QW_DEFAULT_MAILBOX_MAX_BODY);
}

int qw_cfg_mailbox_max_attachment(const qw_dir_cfg *d)
{
    return EFF_INT(mailbox_max_attachment, QW_DEFAULT_MAILBOX_MAX_ATTACHMENT);
}

int qw_cfg_mailbox_member_send(const qw_dir_cfg *d)
{
    return EFF_INT(mailbox_member_send, 0);
}

int qw_cfg_article_store(const qw_dir_cfg *d)
{
    return EFF_INT(article_store, 0);
}
int qw_cfg_article_missing_allow(const qw_dir_cfg *d)
{
    /* fail closed: a path without an article record is refused */
    return EFF_INT(article_missing, 0);
}

/* ---- directive handlers ---- */

static const char *parse_int(cmd_parms *cmd, const char *arg, int lo, int hi,
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

static const char *set_db(cmd_parms *cmd, void *dummy, const char *arg)
{
    qw_srv_cfg *c = qw_srv(cmd->server);
    if (!*arg) {
        return "QiweiDatabase: empty connection string";
    }
    c->db_conninfo = arg;
    return NULL;
}

static const char *set_revocation_wait(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    qw_srv_cfg *c = qw_srv(cmd->server);
    long ms = qw_parse_seconds_ms(arg, 60);

    if (ms < 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds "
                            "from 0 to 60 (at most three decimals)",
                            cmd->cmd->name, arg);
    }
    c->revocation_wait_ms = (int)ms;
    return NULL;
}

static const char *set_srv_int(cmd_parms *cmd, void *dummy, const char *arg)
{
    qw_srv_cfg *c = qw_srv(cmd->server);
    const char *name = cmd->cmd->name;
    const char *err;

    if (!strcasecmp(name, "QiweiDatabasePoolMax")) {
        return parse_int(cmd, arg, 1, 1024, &c->db_pool_max);
    }
    if (!strcasecmp(name, "QiweiDatabaseConnectTimeout")) {
        return parse_int(cmd, arg, 1, 60, &c->db_connect_timeout);
    }
    if (!strcasecmp(name, "QiweiDatabaseRetryInterval")) {
        return parse_int(cmd, arg, 0, 60, &c->db_retry_interval);
    }
    if ((err = ap_check_cmd_context(cmd, GLOBAL_ONLY)) != NULL) {
        return err;
    }
    if (!strcasecmp(name, "QiweiPasswordHashMemory")) {
        return parse_int(cmd, arg, QW_PW_MIN_MEM_MIB, 4096, &c->pw_mem_mib);
    }
    if (!strcasecmp(name, "QiweiPasswordHashOps")) {
        return parse_int(cmd, arg, 2, 64, &c->pw_ops);
    }
    if (!strcasecmp(name, "QiweiPasswordHashConcurrency")) {
        return parse_int(cmd, arg, 1, 256, &c->pw_concurrency);
    }
    return "unknown directive";
}

/* Server scope: whether the children keep a cache (and a listener) at all.
 * In a <Location>/<Directory>: whether requests there may use it. */
static const char *set_cache_mode(cmd_parms *cmd, void *dv,
                                  const char *arg)
{
    int mode;
    if (!strcasecmp(arg, "cached")) {
        mode = QW_CACHE_CACHED;
    }
    else if (!strcasecmp(arg, "strict")) {
        mode = QW_CACHE_STRICT;
    }
    else {
        return "QiweiCacheMode: cached or strict";
    }
    if (cmd->path) {
        ((qw_dir_cfg *)dv)->cache_use = mode;
    }
    else {
        qw_srv(cmd->server)->cache_mode = mode;
    }
    return NULL;
}

static const char *set_cache_entries(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    return parse_int(cmd, arg, 16, 1048576,
                     &qw_srv(cmd->server)->cache_entries);
}

static const char *set_console_dir(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err) {
        return err;
    }
    qw_srv(cmd->server)->console_dir = ap_server_root_relative(cmd->pool,
                                                               arg);
    if (!qw_srv(cmd->server)->console_dir) {
        return apr_pstrcat(cmd->pool, "QiweiConsoleDir: invalid path ", arg,
                           NULL);
    }
    return NULL;
}

const char *qw_cfg_console_dir(const server_rec *s)
{
    const char *d = qw_srv(s)->console_dir;
    return d ? d : QW_CONSOLE_DIR;
}

static const char *set_keyfile(cmd_parms *cmd, void *dummy, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    if (err) {
        return err;
    }
    qw_srv(cmd->server)->key_file = ap_server_root_relative(cmd->pool, arg);
    if (!qw_srv(cmd->server)->key_file) {
        return apr_pstrcat(cmd->pool, "QiweiKeyFile: invalid path ", arg,
                           NULL);
    }
    return NULL;
}

static const char *set_enterprise(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!qw_valid_enterprise_code(arg)) {
        return apr_psprintf(cmd->pool, "QiweiEnterprise: '%s' is not a valid "
                            "enterprise code (a-z, 0-9, '-')", arg);
    }
    d->enterprise = arg;
    return NULL;
}

static const char *set_login_url(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!qw_safe_local_path(arg) && strncasecmp(arg, "https://", 8)
        && strncasecmp(arg, "http://", 7)) {
        return "QiweiLoginURL: must be a local path (/...) or an http(s) URL";
    }
    d->login_url = arg;
    return NULL;
}

static const char *set_unauth(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!strcasecmp(arg, "auto")) {
        d->unauth_action = QW_UNAUTH_AUTO;
    }
    else if (!strcasecmp(arg, "redirect")) {
        d->unauth_action = QW_UNAUTH_REDIRECT;
    }
    else if (!strcmp(arg, "401")) {
        d->unauth_action = QW_UNAUTH_401;
    }
    else {
        return "QiweiUnauthenticated: auto, redirect or 401";
    }
    return NULL;
}

static const char *set_cookie_name(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    const char *c;
    /* RFC 6265 token characters only, bounded length */
    if (!*arg || strlen(arg) > 64) {
        return "QiweiCookieName: 1..64 characters";
    }
    for (c = arg; *c; c++) {
        if (!apr_isalnum(*c) && *c != '_' && *c != '-' && *c != '.') {
            return "QiweiCookieName: only letters, digits, '_', '-', '.'";
        }
    }
    d->cookie_name = arg;
    return NULL;
}

static const char *set_cookie_secure(cmd_parms *cmd, void *dv,
                                     const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!strcasecmp(arg, "auto")) {
        d->cookie_secure = QW_SECURE_AUTO;
    }
    else if (!strcasecmp(arg, "on")) {
        d->cookie_secure = QW_SECURE_ON;
    }
    else if (!strcasecmp(arg, "off")) {
        d->cookie_secure = QW_SECURE_OFF;
    }
    else {
        return "QiweiCookieSecure: Auto, On or Off";
    }
    return NULL;
}

static const char *set_samesite(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!strcasecmp(arg, "lax")) {
        d->cookie_samesite = "Lax";
    }
    else if (!strcasecmp(arg, "strict")) {
        d->cookie_samesite = "Strict";
    }
    else {
        /* SameSite=None would hand the session to every cross-site form */
        return "QiweiCookieSameSite: Lax or Strict";
    }
    return NULL;
}

static const char *set_timeout(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    int *field = (int *)((char *)d + (intptr_t)cmd->info);
    /* one minute .. 30 days */
    return parse_int(cmd, arg, 60, 30 * 86400, field);
}

static const char *set_identity_headers(cmd_parms *cmd, void *dv, int on)
{
    ((qw_dir_cfg *)dv)->identity_headers = on;
    return NULL;
}

static const char *set_forward_cookies(cmd_parms *cmd, void *dv, int on)
{
    ((qw_dir_cfg *)dv)->forward_cookies = on;
    return NULL;
}

static const char *set_cache_control(cmd_parms *cmd, void *dv,
                                     const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!strcasecmp(arg, "private")) {
        d->cache_private = 1;
    }
    else if (!strcasecmp(arg, "off")) {
        d->cache_private = 0;
    }
    else {
        return "QiweiCacheControl: private or off";
    }
    return NULL;
}

static const char *set_lang(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!strcasecmp(arg, "zh-CN") || !strcasecmp(arg, "zh")) {
        d->default_lang = QW_LANG_ZH;
    }
    else if (!strcasecmp(arg, "en")) {
        d->default_lang = QW_LANG_EN;
    }
    else {
        return "QiweiDefaultLanguage: zh-CN or en";
    }
    return NULL;
}

static const char *set_watermark(cmd_parms *cmd, void *dv, int on)
{
    ((qw_dir_cfg *)dv)->watermark = on;
    if (on) {
        qw_cfg_watermark_used = 1;
    }
    return NULL;
}

static const char *set_wm_text(cmd_parms *cmd, void *dv, const char *arg)
{
    if (strlen(arg) > 200) {
        return "QiweiWatermarkText: at most 200 bytes";
    }
    ((qw_dir_cfg *)dv)->wm_text = arg;
    return NULL;
}

static const char *set_wm_int(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    const char *name = cmd->cmd->name;
    if (!strcasecmp(name, "QiweiWatermarkOpacity")) {
        return parse_int(cmd, arg, 2, 100, &d->wm_opacity_pct);
    }
    if (!strcasecmp(name, "QiweiWatermarkAngle")) {
        return parse_int(cmd, arg, -90, 90, &d->wm_angle);
    }
    if (!strcasecmp(name, "QiweiWatermarkFontSize")) {
        return parse_int(cmd, arg, 8, 96, &d->wm_font_px);
    }
    if (!strcasecmp(name, "QiweiWatermarkScanLimit")) {
        return parse_int(cmd, arg, 0, 1024 * 1024, &d->wm_scan_limit_kb);
    }
    return "unknown directive";
}

static const char *set_wm_spacing(cmd_parms *cmd, void *dv, const char *w,
                                  const char *h)
{
    qw_dir_cfg *d = dv;
    const char *err = parse_int(cmd, w, 40, 2000, &d->wm_tile_w);
    if (err) {
        return err;
    }
    return parse_int(cmd, h ? h : w, 40, 2000, &d->wm_tile_h);
}

static const char *set_wm_colour(cmd_parms *cmd, void *dv, const char *arg)
{
    qw_dir_cfg *d = dv;
    int i;
    if (strlen(arg) != 7 || arg[0] != '#') {
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": a colour like #1f1f1f", NULL);
    }
    for (i = 1; i < 7; i++) {
        if (!apr_isxdigit(arg[i])) {
            return apr_pstrcat(cmd->pool, cmd->cmd->name,
                               ": a colour like #1f1f1f", NULL);
        }
    }
    if (!strcasecmp(cmd->cmd->name, "QiweiWatermarkColor")) {
        d->wm_fill = arg;
    }
    else {
        d->wm_stroke = arg;
    }
    return NULL;
}

static const char *set_article_module(cmd_parms *cmd, void *dv,
                                      const char *arg)
{
    qw_dir_cfg *d = dv;
    size_t i, n = strlen(arg);

    if (!strcasecmp(arg, "none")) {
        d->article_module = "";
        return NULL;
    }
    if (n == 0 || n > 32 || !apr_islower(arg[0])) {
        return "QiweiArticleModule: a module name (news, wiki, minutes, "
               "forms, ...: 1-32 of a-z 0-9 _ -) or none";
    }
    for (i = 1; i < n; i++) {
        if (!apr_islower(arg[i]) && !apr_isdigit(arg[i]) && arg[i] != '_'
            && arg[i] != '-') {
            return "QiweiArticleModule: a module name (news, wiki, minutes, "
                   "forms, ...: 1-32 of a-z 0-9 _ -) or none";
        }
    }
    d->article_module = arg;
    return NULL;
}

static const char *set_mailbox_max_body(cmd_parms *cmd, void *dv,
                                        const char *arg)
{
    /* the store's own bound (QW_MAIL_MAX_BODY) is 1 MiB */
    return parse_int(cmd, arg, 1, 1024 * 1024,
                     &((qw_dir_cfg *)dv)->mailbox_max_body);
}

static const char *set_mailbox_max_attachment(cmd_parms *cmd, void *dv,
                                              const char *arg)
{
    /* the store's own bound (QW_MAIL_MAX_ATTACHMENT) is 4 MiB */
    return parse_int(cmd, arg, 0, 4 * 1024 * 1024,
                     &((qw_dir_cfg *)dv)->mailbox_max_attachment);
}

static const char *set_mailbox_member_send(cmd_parms *cmd, void *dv, int on)
{
    ((qw_dir_cfg *)dv)->mailbox_member_send = on;
    return NULL;
}

static const char *set_article_store(cmd_parms *cmd, void *dv, int on)
{
    ((qw_dir_cfg *)dv)->article_store = on;
    return NULL;
}

static const char *set_article_missing(cmd_parms *cmd, void *dv,
                                       const char *arg)
{
    qw_dir_cfg *d = dv;
    if (!strcasecmp(arg, "deny")) {
        d->article_missing = 0;
    }
    else if (!strcasecmp(arg, "allow")) {
        d->article_missing = 1;
    }
    else {
        return "QiweiArticleMissing: deny or allow";
    }
    return NULL;
}

#define DIR_SCOPE (ACCESS_CONF | RSRC_CONF)

const command_rec qw_cmds[] = {
    AP_INIT_TAKE1("QiweiDatabase", set_db, NULL, RSRC_CONF,
        "libpq connection string (multi-host allowed)"),
    AP_INIT_TAKE1("QiweiDatabasePoolMax", set_srv_int, NULL, RSRC_CONF,
        "maximum database connections per httpd process"),
    AP_INIT_TAKE1("QiweiDatabaseConnectTimeout", set_srv_int, NULL,
        RSRC_CONF, "seconds to wait for a database connection"),
    AP_INIT_TAKE1("QiweiDatabaseRetryInterval", set_srv_int, NULL,
        RSRC_CONF, "seconds to answer 503 at once after a failed connect"),
    AP_INIT_TAKE1("QiweiRevocationWait", set_revocation_wait, NULL,
        RSRC_CONF, "seconds a change that takes access away waits for "
        "every node's cache to apply it (default 2, 0: do not wait)"),
    AP_INIT_TAKE1("QiweiCacheMode", set_cache_mode, NULL,
        RSRC_CONF | ACCESS_CONF,
        "cached (default: revocation-safe cache) or strict"),
    AP_INIT_TAKE1("QiweiCacheEntries", set_cache_entries, NULL, RSRC_CONF,
        "sessions cached per child process"),
    AP_INIT_TAKE1("QiweiConsoleDir", set_console_dir, NULL, RSRC_CONF,
        "folder of the admin console's files"),
    AP_INIT_TAKE1("QiweiKeyFile", set_keyfile, NULL, RSRC_CONF,
        "key file (mode 0600, read at start-up)"),
    AP_INIT_TAKE1("QiweiPasswordHashMemory", set_srv_int, NULL, RSRC_CONF,
        "Argon2id memory in MiB (>= 19)"),
    AP_INIT_TAKE1("QiweiPasswordHashOps", set_srv_int, NULL, RSRC_CONF,
        "Argon2id passes (>= 2)"),
    AP_INIT_TAKE1("QiweiPasswordHashConcurrency", set_srv_int, NULL,
        RSRC_CONF, "password hashes running at once per process"),
    AP_INIT_TAKE1("QiweiEnterprise", set_enterprise, NULL, DIR_SCOPE,
        "code of the enterprise that owns this location"),
    AP_INIT_TAKE1("QiweiLoginURL", set_login_url, NULL, DIR_SCOPE,
        "where browsers without a session are sent"),
    AP_INIT_TAKE1("QiweiUnauthenticated", set_unauth, NULL, DIR_SCOPE,
        "auto | redirect | 401"),
    AP_INIT_TAKE1("QiweiCookieName", set_cookie_name, NULL, DIR_SCOPE,
        "session cookie name"),
    AP_INIT_TAKE1("QiweiCookieSecure", set_cookie_secure, NULL, DIR_SCOPE,
        "Auto | On | Off"),
    AP_INIT_TAKE1("QiweiCookieSameSite", set_samesite, NULL, DIR_SCOPE,
        "Lax | Strict"),
    AP_INIT_TAKE1("QiweiSessionIdleTimeout", set_timeout,
        (void *)APR_OFFSETOF(qw_dir_cfg, idle_timeout), DIR_SCOPE,
        "seconds of inactivity that end a session"),
    AP_INIT_TAKE1("QiweiSessionMaxAge", set_timeout,
        (void *)APR_OFFSETOF(qw_dir_cfg, max_age), DIR_SCOPE,
        "absolute session lifetime in seconds"),
    AP_INIT_FLAG("QiweiIdentityHeaders", set_identity_headers, NULL,
        DIR_SCOPE, "pass X-Qiwei-* identity headers to back-ends"),
    AP_INIT_FLAG("QiweiForwardCookies", set_forward_cookies, NULL,
        DIR_SCOPE, "On: hand mod_qiwei's own cookies to back-ends too"),
    AP_INIT_TAKE1("QiweiCacheControl", set_cache_control, NULL, DIR_SCOPE,
        "private (default): authenticated responses are never stored by "
        "shared caches; off"),
    AP_INIT_TAKE1("QiweiDefaultLanguage", set_lang, NULL, DIR_SCOPE,
        "zh-CN | en, when Accept-Language does not decide"),
    AP_INIT_FLAG("QiweiWatermark", set_watermark, NULL, DIR_SCOPE,
        "stamp the viewer's identity on HTML pages"),
    AP_INIT_TAKE1("QiweiWatermarkText", set_wm_text, NULL, DIR_SCOPE,
        "watermark template: {name} {id} {time}"),
    AP_INIT_TAKE1("QiweiWatermarkOpacity", set_wm_int, NULL, DIR_SCOPE,
        "opacity in percent (2..100)"),
    AP_INIT_TAKE1("QiweiWatermarkAngle", set_wm_int, NULL, DIR_SCOPE,
        "rotation in degrees (-90..90)"),
    AP_INIT_TAKE1("QiweiWatermarkFontSize", set_wm_int, NULL, DIR_SCOPE,
        "font size in CSS pixels (8..96)"),
    AP_INIT_TAKE12("QiweiWatermarkSpacing", set_wm_spacing, NULL, DIR_SCOPE,
        "tile width and height in CSS pixels"),
    AP_INIT_TAKE1("QiweiWatermarkColor", set_wm_colour, NULL, DIR_SCOPE,
        "text colour #rrggbb"),
    AP_INIT_TAKE1("QiweiWatermarkOutline", set_wm_colour, NULL, DIR_SCOPE,
        "outline colour #rrggbb"),
    AP_INIT_TAKE1("QiweiArticleModule", set_article_module, NULL, DIR_SCOPE,
                  "the article module of this location (news, wiki, ...) "
                  "or none"),
    AP_INIT_FLAG("QiweiArticleStore", set_article_store, NULL, DIR_SCOPE,
                 "On: serve the encrypted bodies mod_qiwei stores"),
    AP_INIT_TAKE1("QiweiArticleMissing", set_article_missing, NULL,
                  DIR_SCOPE, "deny (default) or allow a path without an "
                  "article record"),
    AP_INIT_TAKE1("QiweiMailboxMaxBody", set_mailbox_max_body, NULL,
                  DIR_SCOPE, "largest mailbox message text in bytes "
                  "(1..1048576, default 65536)"),
    AP_INIT_TAKE1("QiweiMailboxMaxAttachment", set_mailbox_max_attachment,
                  NULL, DIR_SCOPE, "largest mailbox attachment in bytes "
                  "(0..4194304, default 262144; 0: no attachments)"),
    AP_INIT_FLAG("QiweiMailboxMemberSend", set_mailbox_member_send, NULL,
                 DIR_SCOPE, "On: members may send mailbox messages "
                 "(default Off: admins and operators only)"),
    AP_INIT_TAKE1("QiweiWatermarkScanLimit", set_wm_int, NULL, DIR_SCOPE,
        "KiB to search for <body> before appending at the end (0: all)"),
    /* account security (issue 6): handlers in cfg/security.c */
    AP_INIT_TAKE1("QiweiPasswordBlocklist", qw_sec_set_blocklist, NULL,
                  RSRC_CONF, "file of common passwords refused (or none)"),
    AP_INIT_TAKE1("QiweiPasswordPolicy", qw_sec_set_policy, NULL, DIR_SCOPE,
                  "dengbao (default) or nist"),
    AP_INIT_TAKE1("QiweiPasswordMaxAge", qw_sec_set_max_age, NULL, DIR_SCOPE,
                  "days before a password expires (0: never)"),
    AP_INIT_TAKE1("QiweiTwoStep", qw_sec_set_two_step, NULL, DIR_SCOPE,
                  "optional (default) or required"),
    AP_INIT_ITERATE("QiweiPasswordProvider", qw_sec_set_providers, NULL,
                    DIR_SCOPE, "authn providers that check passwords, or "
                    "none"),
    AP_INIT_TAKE_ARGV("QiweiThrottleAddress", qw_sec_set_throttle_addr, NULL,
                      DIR_SCOPE, "FAILURES WINDOW BLOCK (seconds) or off"),
    AP_INIT_FLAG("QiweiScanLogin", qw_sec_set_scan_login, NULL, DIR_SCOPE,
                 "On (default): offer scan to log in"),
    AP_INIT_TAKE2("QiweiScanSessionTimeouts", qw_sec_set_scan_timeouts, NULL,
                  DIR_SCOPE, "idle and absolute timeouts (s) of sessions "
                  "made by scan to log in"),
    { NULL }
};

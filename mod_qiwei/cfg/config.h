/* Directives and their server / directory configuration. */
#ifndef QW_CONFIG_H
#define QW_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "cfg/security.h"   /* account security (issue 6) */

/* Sentinel for "not set here" in merged integer fields. */
#define QW_UNSET (-1)

typedef enum {
    QW_UNAUTH_AUTO = 0,     /* redirect browsers, 401 for the rest */
    QW_UNAUTH_REDIRECT,
    QW_UNAUTH_401
} qw_unauth_action;

typedef enum {
    QW_SECURE_AUTO = 0,     /* Secure when the request came over HTTPS */
    QW_SECURE_ON,
    QW_SECURE_OFF
} qw_secure_mode;

struct qw_db_pool;

typedef enum {
    QW_CACHE_CACHED = 0,    /* default: revocation-safe cache (cache.h) */
    QW_CACHE_STRICT         /* the database on every request */
} qw_cache_mode;

typedef struct {
    const char *db_conninfo;         /* QiweiDatabase */
    int db_pool_max;                 /* QiweiDatabasePoolMax */
    int db_connect_timeout;          /* QiweiDatabaseConnectTimeout, s */
    int db_retry_interval;           /* QiweiDatabaseRetryInterval, s */
    int revocation_wait_ms;          /* QiweiRevocationWait, ms */
    const char *key_file;            /* QiweiKeyFile (main server only) */
    const char *console_dir;         /* QiweiConsoleDir (main server only) */
    int pw_mem_mib;                  /* QiweiPasswordHashMemory */
    int pw_ops;                      /* QiweiPasswordHashOps */
    int pw_concurrency;              /* QiweiPasswordHashConcurrency */
    int cache_mode;                  /* QiweiCacheMode */
    int cache_entries;               /* QiweiCacheEntries */
    struct qw_db_pool *db;           /* runtime, per child */
} qw_srv_cfg;

typedef struct {
    const char *enterprise;          /* QiweiEnterprise */
    const char *login_url;           /* QiweiLoginURL */
    int unauth_action;               /* QiweiUnauthenticated */
    const char *cookie_name;         /* QiweiCookieName */
    int cookie_secure;               /* QiweiCookieSecure */
    const char *cookie_samesite;     /* QiweiCookieSameSite */
    int idle_timeout;                /* QiweiSessionIdleTimeout, s */
    int max_age;                     /* QiweiSessionMaxAge, s */
    int identity_headers;            /* QiweiIdentityHeaders */
    int forward_cookies;             /* QiweiForwardCookies */
    int cache_private;               /* QiweiCacheControl: 1 = private */
    int default_lang;                /* QiweiDefaultLanguage: qw_lang */
    int cache_use;                   /* QiweiCacheMode in a section */
    /* watermark (R9) */
    int watermark;                   /* QiweiWatermark */
    const char *wm_text;             /* QiweiWatermarkText */
    int wm_opacity_pct;              /* QiweiWatermarkOpacity, percent */
    int wm_angle;                    /* QiweiWatermarkAngle, QW_UNSET_ANGLE */
    int wm_font_px;                  /* QiweiWatermarkFontSize */
    int wm_tile_w, wm_tile_h;        /* QiweiWatermarkSpacing */
    const char *wm_fill;             /* QiweiWatermarkColor */
    const char *wm_stroke;           /* QiweiWatermarkOutline */
    int wm_scan_limit_kb;            /* QiweiWatermarkScanLimit */
    /* articles (R7, R8): see mod_qiwei/article.c */
    const char *article_module;      /* QiweiArticleModule; "" = none */
    int article_store;               /* QiweiArticleStore */
    int article_missing;             /* QiweiArticleMissing: 1 = allow */
    /* the private mailbox (R10): see docs/mailbox.md */
    int mailbox_max_body;            /* QiweiMailboxMaxBody, bytes */
    int mailbox_member_send;         /* QiweiMailboxMemberSend */
    int mailbox_max_attachment;      /* QiweiMailboxMaxAttachment, bytes */
    /* account security (issue 6): see cfg/security.h */
    qw_sec_dir_cfg sec;
} qw_dir_cfg;

#define QW_UNSET_ANGLE 1000

/* post_config: QW0009 for every protected location mod_cache can answer
 * before authentication (cfg/cachewarn.c). */
void qw_cfg_warn_cache(apr_pool_t *p, server_rec *s);

/* 1 once any QiweiWatermark On was read (start-up warnings). */
extern int qw_cfg_watermark_used;

/* Effective values with defaults applied. */
#define QW_DEFAULT_LOGIN_URL      "/qiwei/login"
#define QW_DEFAULT_COOKIE_NAME    "qiwei_session"
#define QW_DEFAULT_SAMESITE       "Lax"
#define QW_DEFAULT_IDLE           1800
#define QW_DEFAULT_MAX_AGE        43200
#define QW_DEFAULT_POOL_MAX       16
#define QW_DEFAULT_CONN_TIMEOUT   3
#define QW_DEFAULT_RETRY          1
#define QW_DEFAULT_PW_CONCURRENCY 2

extern const command_rec qw_cmds[];

void *qw_create_srv_cfg(apr_pool_t *p, server_rec *s);
void *qw_merge_srv_cfg(apr_pool_t *p, void *base, void *add);
void *qw_create_dir_cfg(apr_pool_t *p, char *dir);
void *qw_merge_dir_cfg(apr_pool_t *p, void *base, void *add);

qw_srv_cfg *qw_srv(const server_rec *s);
/* The admin console's files: QiweiConsoleDir, else the installed ones. */
const char *qw_cfg_console_dir(const server_rec *s);
qw_dir_cfg *qw_dir(const request_rec *r);

const char *qw_cfg_login_url(const qw_dir_cfg *d);
const char *qw_cfg_cookie_name(const qw_dir_cfg *d);
const char *qw_cfg_samesite(const qw_dir_cfg *d);
int qw_cfg_idle(const qw_dir_cfg *d);
int qw_cfg_max_age(const qw_dir_cfg *d);
int qw_cfg_unauth(const qw_dir_cfg *d);
int qw_cfg_secure(const qw_dir_cfg *d);
int qw_cfg_identity_headers(const qw_dir_cfg *d);
/* 1: our cookies reach back-ends (QiweiForwardCookies On). */
int qw_cfg_forward_cookies(const qw_dir_cfg *d);
/* 1: authenticated responses get Cache-Control: private (default). */
int qw_cfg_cache_private(const qw_dir_cfg *d);
int qw_cfg_lang(const qw_dir_cfg *d);
int qw_cfg_watermark(const qw_dir_cfg *d);
/* The article module of this location, NULL when it holds no articles. */
const char *qw_cfg_article_module(const qw_dir_cfg *d);
int qw_cfg_article_store(const qw_dir_cfg *d);
int qw_cfg_article_missing_allow(const qw_dir_cfg *d);
/* The largest message text the mailbox takes, in bytes (default 64 KiB). */
#define QW_DEFAULT_MAILBOX_MAX_BODY 65536
int qw_cfg_mailbox_max_body(const qw_dir_cfg *d);
/* The largest attachment the mailbox takes, in bytes (default 256 KiB;
 * 0: no attachments). */
#define QW_DEFAULT_MAILBOX_MAX_ATTACHMENT 262144
int qw_cfg_mailbox_max_attachment(const qw_dir_cfg *d);
/* 1: members may send mailbox messages (QiweiMailboxMemberSend On). */
int qw_cfg_mailbox_member_send(const qw_dir_cfg *d);

#endif

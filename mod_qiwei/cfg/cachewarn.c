/* Start-up check: which protected locations can mod_cache answer before
 * authentication?  Its quick handler (CacheQuickHandler On, the default)
 * runs before every access check: a response it stored for a member is
 * served to whoever asks next.  mod_qiwei marks authenticated responses
 * Cache-Control: private (QiweiCacheControl), which mod_cache does not
 * store unless CacheStorePrivate On; the warning names each location so
 * that the operator adds CacheDisable or turns the quick handler off.
 *
 * mod_cache's configuration is private to it, so this reads the parsed
 * configuration tree (ap_conftree) instead. */
#include "apr_strings.h"
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"

#include "qiwei.h"
#include "cfg/config.h"

typedef struct {
    int quick_off;          /* CacheQuickHandler Off in this server */
    const ap_directive_t *server;   /* its first directive */
} cache_scope;

static int is(const ap_directive_t *d, const char *name)
{
    return !strcasecmp(d->directive, name);
}

/* The first word of d's arguments (without a section's closing '>'). */
static const char *first_arg(apr_pool_t *p, const ap_directive_t *d)
{
    const char *args = d->args ? d->args : "";
    char *w = ap_getword_conf(p, &args);
    size_t n = strlen(w);

    if (n && w[n - 1] == '>') {
        w[n - 1] = '\0';
    }
    return w;
}

static const ap_directive_t *child_named(const ap_directive_t *sec,
                                         const char *name)
{
    const ap_directive_t *c;
    for (c = sec->first_child; c; c = c->next) {
        if (is(c, name)) {
            return c;
        }
    }
    return NULL;
}

/* A server-level "CacheEnable TYPE URL" or "CacheDisable URL" covering
 * the <Location> path loc (NULL: a section of another kind, covered by
 * any). */
static int server_covers(apr_pool_t *p, const ap_directive_t *first,
                         const char *name, const char *loc)
{
    const ap_directive_t *d;

    for (d = first; d; d = d->next) {
        const char *args, *url;
        if (!is(d, name)) {
            continue;
        }
        args = d->args ? d->args : "";
        url = ap_getword_conf(p, &args);
        if (is(d, "CacheEnable")) {
            url = ap_getword_conf(p, &args);
        }
        if (!*url || *url != '/' || !loc
            || !strncmp(loc, url, strlen(url))) {
            return 1;
        }
    }
    return 0;
}

static int protected_section(apr_pool_t *p, const ap_directive_t *sec)
{
    const ap_directive_t *c = child_named(sec, "AuthType");
    return c && !strcasecmp(first_arg(p, c), QW_AUTH_TYPE);
}

static void check_section(apr_pool_t *p, server_rec *s,
                          const cache_scope *sc, const ap_directive_t *sec)
{
    const char *loc = is(sec, "<Location") ? first_arg(p, sec) : NULL;
    const ap_directive_t *cc;
    int cached;

    if (sc->quick_off || !protected_section(p, sec)
        || child_named(sec, "CacheDisable")
        || server_covers(p, sc->server, "CacheDisable", loc)) {
        return;
    }
    cached = child_named(sec, "CacheEnable")
             || server_covers(p, sc->server, "CacheEnable", loc);
    if (!cached) {
        return;
    }
    cc = child_named(sec, "QiweiCacheControl");
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s,
                 "QW0009: mod_cache can answer %s %s> (%s:%d) before "
                 "authentication (CacheQuickHandler On): %s; add "
                 "CacheDisable for it or CacheQuickHandler Off",
                 sec->directive, first_arg(p, sec), sec->filename,
                 sec->line_num,
                 cc && !strcasecmp(first_arg(p, cc), "off")
                 ? "QiweiCacheControl off there lets it store a member's "
                   "page and serve it to anyone"
                 : "only Cache-Control: private keeps it from storing "
                   "protected pages (not with CacheStorePrivate On)");
}

static void walk(apr_pool_t *p, server_rec *s, const cache_scope *sc,
                 const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (is(d, "<VirtualHost")) {
            continue;       /* its own scope: see qw_cfg_warn_cache */
        }
        if (d->directive[0] == '<' && d->first_child) {
            check_section(p, s, sc, d);
            walk(p, s, sc, d->first_child);   /* nested sections */
        }
    }
}

static int quick_off(apr_pool_t *p, const ap_directive_t *first, int dflt)
{
    const ap_directive_t *d;
    for (d = first; d; d = d->next) {
        if (is(d, "CacheQuickHandler")) {
            dflt = !strcasecmp(first_arg(p, d), "off");
        }
    }
    return dflt;
}

void qw_cfg_warn_cache(apr_pool_t *p, server_rec *s)
{
    const ap_directive_t *v;
    cache_scope main_sc;

    if (!ap_find_linked_module("mod_cache.c") || !ap_conftree) {
        return;
    }
    main_sc.server = ap_conftree;
    main_sc.quick_off = quick_off(p, ap_conftree, 0);
    walk(p, s, &main_sc, ap_conftree);
    for (v = ap_conftree; v; v = v->next) {
        cache_scope sc;
        if (!is(v, "<VirtualHost")) {
            continue;
        }
        sc.server = v->first_child;
        sc.quick_off = quick_off(p, v->first_child, main_sc.quick_off);
        /* the main server's CacheEnable/CacheDisable apply to it too */
        if (!server_covers(p, v->first_child, "CacheEnable", NULL)) {
            sc.server = ap_conftree;
        }
        walk(p, s, &sc, v->first_child);
    }
}

/* See cache.h.  Per child: two tables of fixed-size slots (sessions and
 * article decisions; no allocation after start-up, so nothing grows per
 * request), and one listener thread per database.
 *
 * Writers (a put after a database read, the listener applying an
 * invalidation, wiping, the heartbeat's health stamp) hold the mutex, as
 * before, and also bump a sequence counter around every change: odd while
 * a change is being made (a seqlock).  Readers (every cached request) take
 * no lock: they note the counter, look up and copy the slot, and keep the
 * copy only if the counter is even and unchanged; otherwise they read
 * again, and after READ_TRIES attempts they take the mutex, which waits
 * for the writer (a writer preempted in the middle on a busy core would
 * otherwise keep readers spinning).  A reader thus sees the tables either
 * wholly before or wholly after each change, exactly as under the mutex:
 * an invalidation applied before a lookup starts is seen by it (issue 14:
 * the lock taken twice per article request, by 25 threads). */
#include <stddef.h>

#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"
#include "apr_thread_mutex.h"
#include "http_core.h"
#include "http_log.h"
#include "http_request.h"

#include "qiwei.h"
#include "cache.h"
#include "cfg/config.h"
#include "db.h"
#include "util/token.h"
#include "metrics.h"

#define SLOT_BLOB 768
#define MAX_CACHES 16
/* The listener's heartbeat runs every 500 ms (db.c): three missed answers
 * and the cache is not used.  The revocation barrier counts on this bound
 * (store/barrier.c). */
#define HEALTHY_WITHIN apr_time_from_msec(QW_CACHE_HEALTHY_WITHIN_MS)
#define LISTEN_CHANNEL "qiwei_inval"
/* Article decisions per session slot: a member reads many articles. */
#define ART_SLOTS_PER_ENTRY 2
/* Decisions do not expire by themselves (the triggers evict them); the
 * bound only limits how long an invalidation that was never sent (a change
 * made with the triggers disabled) could go unnoticed. */
#define ART_MAX_AGE apr_time_from_sec(60)
#define ART_MOD_MAX 32

typedef struct {
    int used;
    apr_time_t touched;        /* last put or hit: least recently used goes */
    unsigned char key[QW_TOKEN_HASH_LEN];
    char ent[64];
    apr_time_t deadline;
    apr_int64_t enterprise_id, member_id, session_id;
    int auth_level;
    /* NUL-separated: kind, account, name, depts, direct depts, roles */
    apr_size_t blob_len;
    char blob[SLOT_BLOB];
} slot;

/* One article decision: key (ent, member_id, mod, path), value d. */
typedef struct {
    int used;
    apr_time_t touched;
    apr_time_t deadline;
    apr_int64_t enterprise_id, member_id;
    qw_art_decision d;
    char ent[64];
    char mod[ART_MOD_MAX + 1];
    char path[QW_CACHE_ART_PATH_MAX + 1];
} art_slot;

typedef struct {
    server_rec *s;
    const char *conninfo;
    apr_thread_mutex_t *mutex; /* serialises writers (and slow readers) */
    apr_uint32_t seq;          /* seqlock: odd while a writer changes
                                * slots, arts, gen or last_ok */
    slot *slots;
    int nslots;
    art_slot *arts;
    int narts;
    /* one 64-bit tag per slot, kept apart from the slots: a lookup reads
     * the CACHE_WAYS tags of its set (one cache line) and opens only the
     * slot whose tag matches, where comparing the keys of every way in
     * place touched a line in each of four slots of ~900 (~420) bytes in
     * tables of several MB.  (Issue 14: the lookups were the module's top
     * symbols in a perf profile; with the tags they still are, as the
     * matched slot itself stays a cold line: docs/performance.md.)  A tag
     * is only a filter: the full key is still compared; an evicted slot
     * keeps its tag (used says it is free). */
    apr_uint64_t *slot_tags, *art_tags;
    /* Who each slot was last written for, also apart from the slots: an
     * invalidation names a member, an enterprise or an article, and finds
     * their slots by scanning these dense arrays (16 and 24 bytes a slot)
     * instead of reading three fields in each of 8,192 + 16,384 slots
     * across 14 MB (issue 14: a revocation sends two or three messages,
     * each child's listener scanned the whole tables for each, on the core
     * the requests run on, with the readers held off meanwhile).  Like the
     * tags they are only a filter: a slot they name is evicted only if
     * used; a freed slot keeps its owner. */
    struct slot_owner { apr_int64_t enterprise_id, member_id; } *slot_owners;
    struct art_owner {
        apr_int64_t enterprise_id, member_id;
        apr_int64_t article_id;    /* -1: a decision for no article */
    } *art_owners;
    apr_uint64_t gen;          /* bumped by every invalidation */
    apr_time_t last_ok;        /* when the last answered heartbeat was
                                * sent; 0: not connected */
    qw_db_listener *l;         /* the listener thread's own connection */
    apr_uint32_t stop;         /* atomic: set once, when the child exits */
    apr_thread_t *thread;
    apr_uint64_t evictions;    /* statistics (writers only) */
} cache;

/* A slot's string field against a key, never reading past the field: in
 * a lock-free read the field may be half rewritten and hold no NUL (the
 * read is retried, but must not overrun).  A whole field always holds its
 * NUL, so this is strcmp's equality there. */
#define FIELD_CMP(field, key) strncmp((field), (key), sizeof(field))

/* Lock-free reads that met a writer this many times take the mutex. */
#define READ_TRIES 3

/* The seqlock (see the top of this file).  GCC's __atomic builtins: the
 * fences order the counter against the slot copies; on x86 they cost
 * nothing but the compiler's ordering. */
static apr_uint32_t read_begin(const cache *c)
{
    return __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
}

/* 1: what was read since read_begin returned s may be torn: read again. */
static int read_retry(const cache *c, apr_uint32_t s)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return (s & 1) || __atomic_load_n(&c->seq, __ATOMIC_RELAXED) != s;
}

/* Around every change, with the mutex held. */
static void write_begin(cache *c)
{
    __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(cache *c)
{
    __atomic_store_n(&c->seq, c->seq + 1, __ATOMIC_RELEASE);
}

static cache *caches[MAX_CACHES];
static int ncaches;

static cache *cache_of(server_rec *s)
{
    qw_srv_cfg *c = qw_srv(s);
    int i;
    if (!c->db_conninfo) {
        return NULL;
    }
    for (i = 0; i < ncaches; i++) {
        if (!strcmp(caches[i]->conninfo, c->db_conninfo)) {
            return caches[i];
        }
    }
    return NULL;
}

/* Both tables are CACHE_WAYS-way set associative: a key may live in any of
 * the CACHE_WAYS slots of its set, and a full set gives up its least
 * recently used entry, so two busy sessions that hash alike do not keep
 * evicting each other. */
#define CACHE_WAYS 4

static apr_size_t slot_index(const cache *c, const unsigned char *hash,
                             apr_uint64_t *tag)
{
    apr_uint32_t h;
    memcpy(&h, hash, sizeof(h));     /* a SHA-256 is uniform already */
    memcpy(tag, hash + 8, sizeof(*tag));
    *tag |= 1;                       /* 0: a slot never written */
    return (h % (apr_uint32_t)(c->nslots / CACHE_WAYS)) * CACHE_WAYS;
}

/* FNV-1a over the key of an article decision. */
static apr_size_t art_index(const cache *c, const char *ent,
                            apr_int64_t member, const char *mod,
                            const char *path, apr_uint64_t *tag)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);
    const unsigned char *p;
    int i;

#define FNV(byte) (h = (h ^ (unsigned char)(byte)) \
                       * APR_UINT64_C(1099511628211))
    for (p = (const unsigned char *)ent; *p; p++) {
        FNV(*p);
    }
    FNV(0);
    for (i = 0; i < 8; i++) {
        FNV((apr_uint64_t)member >> (8 * i));
    }
    for (p = (const unsigned char *)mod; *p; p++) {
        FNV(*p);
    }
    FNV(0);
    for (p = (const unsigned char *)path; *p; p++) {
        FNV(*p);
    }
#undef FNV
    *tag = h | 1;
    return (apr_size_t)(h % (apr_uint64_t)(c->narts / CACHE_WAYS))
           * CACHE_WAYS;
}

static void wipe(cache *c)
{
    int i;
    for (i = 0; i < c->nslots; i++) {
        c->slots[i].used = 0;
    }
    for (i = 0; i < c->narts; i++) {
        c->arts[i].used = 0;
    }
    c->gen++;
}

/* Evict the article decisions of an enterprise (member < 0, article < 0),
 * of one member (article < 0) or of one article (member < 0). */
static void evict_arts(cache *c, apr_int64_t ent, apr_int64_t member,
                       apr_int64_t article)
{
    int i;
    for (i = 0; i < c->narts; i++) {
        const struct art_owner *o = &c->art_owners[i];
        if (o->enterprise_id == ent
            && (member < 0 || o->member_id == member)
            && (article < 0 || o->article_id == article)
            && c->arts[i].used) {
            c->arts[i].used = 0;
            c->evictions++;
        }
    }
}

/* Apply one invalidation message (caller holds the mutex). */
static void apply(cache *c, const char *msg)
{
    int i;
    c->gen++;
    if (msg[0] == 's' && msg[1] == ':' && strlen(msg + 2) == 64) {
        unsigned char h[QW_TOKEN_HASH_LEN];
        apr_uint64_t tag;
        for (i = 0; i < QW_TOKEN_HASH_LEN; i++) {
            char byte[3] = { msg[2 + 2 * i], msg[3 + 2 * i], 0 };
            h[i] = (unsigned char)strtoul(byte, NULL, 16);
        }
        slot_index(c, h, &tag);
        for (i = 0; i < c->nslots; i++) {
            /* every slot's tag, not just the home set's (the home set is
             * the same for every enterprise, but a slot is only a slot) */
            if (c->slot_tags[i] == tag && c->slots[i].used
                && !memcmp(c->slots[i].key, h, sizeof(h))) {
                c->slots[i].used = 0;
                c->evictions++;
            }
        }
        return;
    }
    if (msg[0] == 'm' && msg[1] == ':') {
        apr_int64_t ent, member;
        char *end;
        ent = apr_strtoi64(msg + 2, &end, 10);
        if (*end == ':') {
            member = apr_strtoi64(end + 1, &end, 10);
            if (!*end) {
                /* departments and roles decide article audiences */
                evict_arts(c, ent, member, -1);
                for (i = 0; i < c->nslots; i++) {
                    const struct slot_owner *o = &c->slot_owners[i];
                    if (o->member_id == member && o->enterprise_id == ent
                        && c->slots[i].used) {
                        c->slots[i].used = 0;
                        c->evictions++;
                    }
                }
                return;
            }
        }
    }
    if (msg[0] == 'e' && msg[1] == ':') {
        char *end;
        apr_int64_t ent = apr_strtoi64(msg + 2, &end, 10);
        if (!*end) {
            evict_arts(c, ent, -1, -1);
            for (i = 0; i < c->nslots; i++) {
                if (c->slot_owners[i].enterprise_id == ent
                    && c->slots[i].used) {
                    c->slots[i].used = 0;
                    c->evictions++;
                }
            }
            return;
        }
    }
    if (msg[0] == 'a' && msg[1] == ':') {
        apr_int64_t ent, article;
        char *end;
        ent = apr_strtoi64(msg + 2, &end, 10);
        if (*end == ':') {
            article = apr_strtoi64(end + 1, &end, 10);
            if (!*end) {
                evict_arts(c, ent, -1, article);
                return;
            }
        }
    }
    /* anything else, including '*': forget everything */
    wipe(c);
}

/* A barrier id of schema 15 starts with the microseconds since 1970 at
 * which it was sent, in 16 hex digits (sql/015_barrier_timestamp.sql):
 * how long it took to get here.  Clocks of two hosts: a difference below
 * zero or over a minute is not a delay but a skew, and is left out. */
static void barrier_delay(const char *id)
{
    apr_uint64_t sent = 0;
    apr_time_t now = apr_time_now();
    int i;

    if (strlen(id) != 32) {
        return;
    }
    for (i = 0; i < 16; i++) {
        char ch = id[i];
        int v = ch >= '0' && ch <= '9' ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (v < 0) {
            return;
        }
        sent = sent << 4 | (apr_uint64_t)v;
    }
    if (sent > 0 && (apr_uint64_t)now >= sent
        && (apr_uint64_t)now - sent < (apr_uint64_t)apr_time_from_sec(60)) {
        qw_metrics_observe(QW_H_NOTIFY_DELAY,
                           (apr_interval_time_t)((apr_uint64_t)now - sent));
    }
}

/* A NOTIFY payload, from the listener thread.  'b:<id>' is a revocation
 * barrier: the messages before it have been applied (they came first, and
 * are applied as they come), so it is answered, and changes nothing. */
static void on_message(void *baton, const char *payload)
{
    cache *c = baton;
    if (payload[0] == 'b' && payload[1] == ':') {
        qw_db_listen_ack(c->l, payload + 2);
        qw_metrics_inc(QW_C_CACHE_BARRIERS_ANSWERED);
        barrier_delay(payload + 2);
        return;
    }
    apr_thread_mutex_lock(c->mutex);
    write_begin(c);
    apply(c, payload);
    write_end(c);
    apr_thread_mutex_unlock(c->mutex);
    qw_metrics_inc(QW_C_CACHE_INVALIDATIONS);
}

static void drop(cache *c, qw_db_listener **l, const char *why)
{
    apr_thread_mutex_lock(c->mutex);
    write_begin(c);
    c->last_ok = 0;
    wipe(c);
    write_end(c);
    apr_thread_mutex_unlock(c->mutex);
    if (*l) {
        qw_metrics_inc(QW_C_CACHE_LISTENER_LOSSES);
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, c->s,
                     "QW0920: cache listener lost the database (%s): "
                     "every request asks the database until it is back",
                     why);
        qw_db_listen_close(*l);
        *l = NULL;
    }
}

static void *APR_THREAD_FUNC listener(apr_thread_t *t, void *data)
{
    cache *c = data;
    qw_db_listener *l = NULL;
    apr_time_t next_try = 0;
    const char *why;

    while (!apr_atomic_read32(&c->stop)) {
        apr_time_t now = apr_time_now();

        if (!l) {
            if (now < next_try) {
                apr_sleep(apr_time_from_msec(100));
                continue;
            }
            l = qw_db_listen_open(c->conninfo, LISTEN_CHANNEL, &why);
            if (!l) {
                /* retried every second; requests ask the database until
                 * then, which is what an operator sees (why is not logged:
                 * it would repeat every second) */
                next_try = now + apr_time_from_sec(1);
                continue;
            }
            apr_thread_mutex_lock(c->mutex);
            write_begin(c);
            wipe(c);                 /* we may have missed messages */
            c->last_ok = qw_db_listen_answered(l);
            write_end(c);
            apr_thread_mutex_unlock(c->mutex);
            qw_metrics_inc(QW_C_CACHE_LISTENER_CONNECTS);
            ap_log_error(APLOG_MARK, APLOG_INFO, 0, c->s,
                         "QW0921: cache listener connected");
        }
        c->l = l;
        /* 100 ms: also how long a stopping child waits for this thread */
        if (qw_db_listen_wait(l, 100, on_message, c, &why) < 0) {
            drop(c, &l, why);
            continue;
        }
        apr_thread_mutex_lock(c->mutex);
        {
            apr_time_t ok = qw_db_listen_answered(l);
            if (ok != c->last_ok) {      /* a new answer: readers retry */
                write_begin(c);
                c->last_ok = ok;
                write_end(c);
            }
        }
        apr_thread_mutex_unlock(c->mutex);
    }
    qw_db_listen_close(l);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* A pre-cleanup of pchild: it runs before pchild destroys its subpools, and
 * the thread's own pool is one of them (apr_thread_create makes it there,
 * apr_thread_exit destroys it).  Stopping and joining the thread in a plain
 * cleanup came too late: pchild had already destroyed the thread's pool
 * under the running listener, whose apr_thread_exit then destroyed it a
 * second time and crashed the child at every stop and restart.  Joined
 * here, the listener is gone before anything it uses (its pool, the
 * mutex, the tables, all in pchild) is freed. */
static apr_status_t cache_stop(void *data)
{
    cache *c = data;
    apr_status_t rv;
    apr_atomic_set32(&c->stop, 1);
    if (c->thread) {
        apr_thread_join(&rv, c->thread);
        c->thread = NULL;
    }
    ncaches = 0;
    return APR_SUCCESS;
}

void qw_cache_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *sp;
    for (sp = s; sp; sp = sp->next) {
        qw_srv_cfg *sc = qw_srv(sp);
        cache *c;
        apr_status_t rv;

        if (!sc->db_conninfo || sc->cache_mode == QW_CACHE_STRICT
            || cache_of(sp) || ncaches == MAX_CACHES) {
            continue;
        }
        c = apr_pcalloc(pchild, sizeof(*c));
        c->s = sp;
        c->conninfo = sc->db_conninfo;
        c->nslots = sc->cache_entries != QW_UNSET ? sc->cache_entries
                                                  : QW_CACHE_DEFAULT_ENTRIES;
        c->nslots = (c->nslots + CACHE_WAYS - 1) / CACHE_WAYS * CACHE_WAYS;
        c->slots = apr_pcalloc(pchild, sizeof(slot) * c->nslots);
        c->narts = c->nslots * ART_SLOTS_PER_ENTRY;
        c->arts = apr_pcalloc(pchild, sizeof(art_slot) * c->narts);
        c->slot_tags = apr_pcalloc(pchild, sizeof(apr_uint64_t) * c->nslots);
        c->art_tags = apr_pcalloc(pchild, sizeof(apr_uint64_t) * c->narts);
        c->slot_owners = apr_pcalloc(pchild,
                                     sizeof(*c->slot_owners) * c->nslots);
        c->art_owners = apr_pcalloc(pchild,
                                    sizeof(*c->art_owners) * c->narts);
        apr_thread_mutex_create(&c->mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
        rv = apr_thread_create(&c->thread, NULL, listener, c, pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, sp,
                         "QW0922: cannot start the cache listener; "
                         "running in strict mode");
            continue;
        }
        apr_pool_pre_cleanup_register(pchild, c, cache_stop);
        caches[ncaches++] = c;
    }
}

static int healthy(const cache *c, apr_time_t now)
{
    return c->last_ok && now - c->last_ok < HEALTHY_WITHIN;
}

int qw_cache_usable(server_rec *s)
{
    cache *c = cache_of(s);
    int ok;
    if (!c) {
        return 0;
    }
    apr_thread_mutex_lock(c->mutex);
    ok = healthy(c, apr_time_now());
    apr_thread_mutex_unlock(c->mutex);
    return ok;
}

/* Split s (a copy in r->pool) at ',' in place into the array a, whose
 * elts are the cap slots given (cap >= the number of fields).  Empty
 * fields are skipped, as apr_strtok does. */
static apr_array_header_t *split_into(apr_pool_t *p, apr_array_header_t *a,
                                      const char **elts, int cap, char *s)
{
    a->pool = p;
    a->elt_size = sizeof(const char *);
    a->nelts = 0;
    a->nalloc = cap;
    a->elts = (char *)elts;
    while (*s) {
        char *t = s;
        while (*s && *s != ',') {
            s++;
        }
        if (*s) {
            *s++ = '\0';
        }
        if (*t) {
            elts[a->nelts++] = t;
        }
    }
    return a;
}

static int fields_of(const char *s)
{
    int n = 1;
    for (; *s; s++) {
        n += *s == ',';
    }
    return n;
}

/* The viewer of a consistent slot copy, in one allocation from p (issue
 * 14: it was 13 allocations, three apr_strtok splits, and the two joins
 * set_identity made again).  The blob is copied twice: one copy is split
 * into the arrays, the other keeps the joined departments and roles. */
static qw_viewer *viewer_of(apr_pool_t *p, const slot *s)
{
    const char *f[6];
    apr_size_t off = 0, entlen = strlen(s->ent) + 1, size;
    int i, nd, ndd, nr;
    qw_viewer *v;
    apr_array_header_t *arrs;
    const char **elts;
    char *split, *joined;

    for (i = 0; i < 6; i++) {
        f[i] = s->blob + off;
        off += strlen(s->blob + off) + 1;
    }
    nd = fields_of(f[3]);
    ndd = fields_of(f[4]);
    nr = fields_of(f[5]);
    size = sizeof(*v) + 3 * sizeof(*arrs)
           + (apr_size_t)(nd + ndd + nr) * sizeof(*elts)
           + 2 * s->blob_len + entlen;
    v = apr_palloc(p, size);
    memset(v, 0, sizeof(*v));
    arrs = (apr_array_header_t *)(v + 1);
    elts = (const char **)(arrs + 3);
    split = (char *)(elts + nd + ndd + nr);
    joined = split + s->blob_len;
    memcpy(split, s->blob, s->blob_len);
    memcpy(joined, s->blob, s->blob_len);
    memcpy(joined + s->blob_len, s->ent, entlen);

    v->enterprise_id = s->enterprise_id;
    v->enterprise_code = joined + s->blob_len;
    v->member_id = s->member_id;
    v->session_id = s->session_id;
    v->auth_level = s->auth_level;
    v->kind = split + (f[0] - s->blob);
    v->account = split + (f[1] - s->blob);
    v->display_name = split + (f[2] - s->blob);
    v->departments = split_into(p, &arrs[0], elts, nd,
                                split + (f[3] - s->blob));
    v->direct_departments = split_into(p, &arrs[1], elts + nd, ndd,
                                       split + (f[4] - s->blob));
    v->roles = split_into(p, &arrs[2], elts + nd + ndd, nr,
                          split + (f[5] - s->blob));
    v->departments_csv = joined + (f[3] - s->blob);
    v->roles_csv = joined + (f[5] - s->blob);
    return v;
}

/* Look (ent, hash) up and copy its slot to *out: 1 found, 0 not, -1 the
 * cache is not usable now.  Under the mutex or inside a seqlock read: a
 * torn copy is never used (the caller retries), but must not overrun. */
static int session_lookup(cache *c, const char *ent,
                          const unsigned char *hash, apr_time_t now,
                          slot *out, apr_uint64_t *gen)
{
    slot *set;
    const apr_uint64_t *tags;
    apr_uint64_t tag;
    apr_size_t i;
    int w;

    if (!healthy(c, now)) {
        return -1;
    }
    *gen = c->gen;
    i = slot_index(c, hash, &tag);
    set = &c->slots[i];
    tags = &c->slot_tags[i];
    for (w = 0; w < CACHE_WAYS; w++) {
        slot *sl = &set[w];
        if (tags[w] == tag && sl->used && sl->deadline > now
            && !memcmp(sl->key, hash, QW_TOKEN_HASH_LEN)
            && !FIELD_CMP(sl->ent, ent)) {
            apr_size_t len;
            memcpy(out, sl, offsetof(slot, blob));
            len = out->blob_len;
            if (len > SLOT_BLOB) {
                len = SLOT_BLOB;          /* torn: retried */
            }
            memcpy(out->blob, sl->blob, len);
            out->blob_len = len;
            out->ent[sizeof(out->ent) - 1] = '\0';
            /* least recently used: a hint, written without the lock */
            __atomic_store_n(&sl->touched, now, __ATOMIC_RELAXED);
            return 1;
        }
    }
    return 0;
}

qw_viewer *qw_cache_get(request_rec *r, const char *ent,
                        const unsigned char *hash, apr_uint64_t *gen)
{
    cache *c = cache_of(r->server);
    apr_time_t now;
    slot copy;
    apr_uint32_t seq;
    int found = 0, tries;
    qw_viewer *v;

    *gen = 0;
    if (!c || qw_dir(r)->cache_use == QW_CACHE_STRICT) {
        return NULL;
    }
    now = apr_time_now();
    for (tries = 0; tries < READ_TRIES; tries++) {
        seq = read_begin(c);
        found = session_lookup(c, ent, hash, now, &copy, gen);
        if (!read_retry(c, seq)) {
            break;
        }
    }
    if (tries == READ_TRIES) {
        apr_thread_mutex_lock(c->mutex);
        found = session_lookup(c, ent, hash, now, &copy, gen);
        apr_thread_mutex_unlock(c->mutex);
    }
    if (found < 0) {
        *gen = 0;
        return NULL;
    }
    if (!found) {
        qw_metrics_inc(QW_C_CACHE_SESSION_MISS);
        return NULL;
    }
    /* the blob ends with its sixth NUL (qw_cache_put) */
    if (copy.blob_len == 0 || copy.blob[copy.blob_len - 1] != '\0') {
        return NULL;
    }
    qw_metrics_inc(QW_C_CACHE_SESSION_HIT);
    v = viewer_of(r->pool, &copy);
    return v;
}

void qw_cache_put(request_rec *r, const char *ent, const unsigned char *hash,
                  const qw_viewer *v, apr_uint64_t gen,
                  apr_interval_time_t ttl)
{
    cache *c = cache_of(r->server);
    const char *f[6];
    char blob[SLOT_BLOB];
    apr_size_t off = 0;
    int i;
    slot *sl;

    if (!c || !gen || ttl <= 0 || strlen(ent) >= sizeof(sl->ent)) {
        return;
    }
    f[0] = v->kind;
    f[1] = v->account;
    f[2] = v->display_name;
    f[3] = apr_array_pstrcat(r->pool, v->departments, ',');
    f[4] = apr_array_pstrcat(r->pool, v->direct_departments, ',');
    f[5] = apr_array_pstrcat(r->pool, v->roles, ',');
    for (i = 0; i < 6; i++) {
        apr_size_t len = strlen(f[i]) + 1;
        if (off + len > sizeof(blob)) {
            return;              /* unusually large: not cached */
        }
        memcpy(blob + off, f[i], len);
        off += len;
    }
    apr_thread_mutex_lock(c->mutex);
    /* an invalidation arrived while we read the database: what we read may
     * already be stale */
    if (gen == c->gen && healthy(c, apr_time_now())) {
        apr_uint64_t tag;
        apr_size_t home = slot_index(c, hash, &tag);
        slot *set = &c->slots[home];
        int w;
        sl = &set[0];
        for (w = 0; w < CACHE_WAYS; w++) {
            if (set[w].used && !memcmp(set[w].key, hash, QW_TOKEN_HASH_LEN)
                && !strcmp(set[w].ent, ent)) {
                sl = &set[w];          /* refresh in place */
                break;
            }
            if (!set[w].used) {
                sl = &set[w];
                break;
            }
            if (set[w].touched < sl->touched) {
                sl = &set[w];
            }
        }
        write_begin(c);
        c->slot_tags[home + (apr_size_t)(sl - set)] = tag;
        c->slot_owners[home + (apr_size_t)(sl - set)].enterprise_id =
            v->enterprise_id;
        c->slot_owners[home + (apr_size_t)(sl - set)].member_id =
            v->member_id;
        sl->used = 1;
        __atomic_store_n(&sl->touched, apr_time_now(), __ATOMIC_RELAXED);
        memcpy(sl->key, hash, QW_TOKEN_HASH_LEN);
        apr_cpystrn(sl->ent, ent, sizeof(sl->ent));
        sl->deadline = apr_time_now() + ttl;
        sl->enterprise_id = v->enterprise_id;
        sl->member_id = v->member_id;
        sl->session_id = v->session_id;
        sl->auth_level = v->auth_level;
        memcpy(sl->blob, blob, off);
        sl->blob_len = off;
        write_end(c);
    }
    apr_thread_mutex_unlock(c->mutex);
}

/* The decision for (v, mod, path) into *out: 1 found, 0 not, -1 the cache
 * is not usable now.  As session_lookup. */
static int article_lookup(cache *c, const qw_viewer *v, const char *mod,
                          const char *path, apr_time_t now,
                          qw_art_decision *out, apr_uint64_t *gen)
{
    art_slot *set;
    const apr_uint64_t *tags;
    apr_uint64_t tag;
    apr_size_t i;
    int w;

    if (!healthy(c, now)) {
        return -1;
    }
    *gen = c->gen;
    i = art_index(c, v->enterprise_code, v->member_id, mod, path, &tag);
    set = &c->arts[i];
    tags = &c->art_tags[i];
    for (w = 0; w < CACHE_WAYS; w++) {
        art_slot *x = &set[w];
        if (tags[w] == tag && x->used && x->deadline > now && x->member_id == v->member_id
            && x->enterprise_id == v->enterprise_id
            && !FIELD_CMP(x->ent, v->enterprise_code)
            && !FIELD_CMP(x->mod, mod) && !FIELD_CMP(x->path, path)) {
            *out = x->d;
            __atomic_store_n(&x->touched, now, __ATOMIC_RELAXED);
            return 1;
        }
    }
    return 0;
}

int qw_cache_article_get(request_rec *r, const qw_viewer *v,
                         const char *mod, const char *path,
                         qw_art_decision *out, apr_uint64_t *gen)
{
    cache *c = cache_of(r->server);
    apr_time_t now;
    apr_uint32_t seq;
    int found = 0, tries;

    *gen = 0;
    if (!c || !v || !v->enterprise_code
        || qw_dir(r)->cache_use == QW_CACHE_STRICT) {
        return 0;
    }
    now = apr_time_now();
    for (tries = 0; tries < READ_TRIES; tries++) {
        seq = read_begin(c);
        found = article_lookup(c, v, mod, path, now, out, gen);
        if (!read_retry(c, seq)) {
            break;
        }
    }
    if (tries == READ_TRIES) {
        apr_thread_mutex_lock(c->mutex);
        found = article_lookup(c, v, mod, path, now, out, gen);
        apr_thread_mutex_unlock(c->mutex);
    }
    if (found < 0) {
        *gen = 0;
        return 0;
    }
    qw_metrics_inc(found ? QW_C_CACHE_ARTICLE_HIT : QW_C_CACHE_ARTICLE_MISS);
    return found;
}

void qw_cache_article_put(request_rec *r, const qw_viewer *v,
                          const char *mod, const char *path,
                          const qw_art_decision *d, apr_uint64_t gen)
{
    cache *c = cache_of(r->server);
    art_slot *a;
    apr_time_t now;

    if (!c || !gen || !v || !v->enterprise_code
        || strlen(v->enterprise_code) >= sizeof(a->ent)
        || strlen(mod) > ART_MOD_MAX
        || strlen(path) > QW_CACHE_ART_PATH_MAX) {
        return;
    }
    apr_thread_mutex_lock(c->mutex);
    now = apr_time_now();
    /* as for sessions: an invalidation during the read may mean stale */
    if (gen == c->gen && healthy(c, now)) {
        apr_uint64_t tag;
        apr_size_t i = art_index(c, v->enterprise_code, v->member_id, mod,
                                 path, &tag);
        art_slot *set = &c->arts[i];
        int w;
        a = &set[0];
        for (w = 0; w < CACHE_WAYS; w++) {
            art_slot *x = &set[w];
            if (x->used && x->member_id == v->member_id
                && x->enterprise_id == v->enterprise_id
                && !strcmp(x->ent, v->enterprise_code)
                && !strcmp(x->mod, mod) && !strcmp(x->path, path)) {
                a = x;
                break;
            }
            if (!x->used) {
                a = x;
                break;
            }
            if (x->touched < a->touched) {
                a = x;
            }
        }
        write_begin(c);
        c->art_tags[i + (apr_size_t)(a - set)] = tag;
        {
            struct art_owner *o = &c->art_owners[i + (apr_size_t)(a - set)];
            o->enterprise_id = v->enterprise_id;
            o->member_id = v->member_id;
            o->article_id = d->found || d->shadowed ? d->article_id : -1;
        }
        a->used = 1;
        __atomic_store_n(&a->touched, now, __ATOMIC_RELAXED);
        a->deadline = now + ART_MAX_AGE;
        a->enterprise_id = v->enterprise_id;
        a->member_id = v->member_id;
        a->d = *d;
        apr_cpystrn(a->ent, v->enterprise_code, sizeof(a->ent));
        apr_cpystrn(a->mod, mod, sizeof(a->mod));
        apr_cpystrn(a->path, path, sizeof(a->path));
        write_end(c);
    }
    apr_thread_mutex_unlock(c->mutex);
}

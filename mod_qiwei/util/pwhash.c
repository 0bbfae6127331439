/* Argon2id password hashing through libsodium. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <apr_strings.h>
#include <sodium.h>

#include "util/pwhash.h"

#define MIB (1024ULL * 1024ULL)

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

static void init_sodium(void)
{
    /* 0: initialised now; 1: someone else did it already. */
    init_rc = sodium_init() < 0 ? -1 : 0;
}

int qw_pw_init(void)
{
    if (pthread_once(&init_once, init_sodium) != 0) {
        return -1;
    }
    return init_rc;
}

/* Effective parameters: never below the baseline (19 MiB, t = 2), never
 * above what libsodium accepts. */
static void effective(const qw_pw_params *params, unsigned long long *ops,
                      size_t *mem)
{
    unsigned long long o = params ? params->ops : QW_PW_DEFAULT_OPS;
    unsigned long long m = params ? params->mem_mib : QW_PW_DEFAULT_MEM_MIB;
    unsigned long long max_mib = crypto_pwhash_MEMLIMIT_MAX / MIB;

    if (o < QW_PW_DEFAULT_OPS) {
        o = QW_PW_DEFAULT_OPS;
    }
    if (o > crypto_pwhash_OPSLIMIT_MAX) {
        o = crypto_pwhash_OPSLIMIT_MAX;
    }
    if (m < QW_PW_MIN_MEM_MIB) {
        m = QW_PW_MIN_MEM_MIB;
    }
    if (m > max_mib) {
        m = max_mib;
    }
    *ops = o;
    *mem = (size_t)(m * MIB);
}

char *qw_pw_hash(apr_pool_t *p, const char *pw, size_t len,
                 const qw_pw_params *params)
{
    unsigned long long ops;
    size_t mem;
    char *out;

    if ((pw == NULL && len != 0) || len > QW_PW_MAX_LEN
        || qw_pw_init() != 0) {
        return NULL;
    }
    effective(params, &ops, &mem);
    out = apr_palloc(p, crypto_pwhash_STRBYTES);
    if (crypto_pwhash_str_alg(out, pw ? pw : "", len, ops, mem,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return NULL;
    }
    return out;
}

/* One cached dummy hash, remade when the parameters change (they come from
 * the configuration, so in practice it is made once per process). */
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int valid;
    unsigned long long ops;
    size_t mem;
    char hash[crypto_pwhash_STRBYTES];
} dummy;

static int dummy_hash(unsigned long long ops, size_t mem,
                      char out[crypto_pwhash_STRBYTES])
{
    int rc = 0;

    pthread_mutex_lock(&dummy_lock);
    if (!dummy.valid || dummy.ops != ops || dummy.mem != mem) {
        unsigned char junk[16];

        /* A random password nobody knows: the dummy can never match. */
        randombytes_buf(junk, sizeof(junk));
        if (crypto_pwhash_str_alg(dummy.hash, (const char *)junk,
                                  sizeof(junk), ops, mem,
                                  crypto_pwhash_ALG_ARGON2ID13) == 0) {
            dummy.valid = 1;
            dummy.ops = ops;
            dummy.mem = mem;
        }
        else {
            dummy.valid = 0;
            rc = -1;
        }
        sodium_memzero(junk, sizeof(junk));
    }
    if (rc == 0) {
        memcpy(out, dummy.hash, crypto_pwhash_STRBYTES);
    }
    pthread_mutex_unlock(&dummy_lock);
    return rc;
}

/* The m (KiB) and t of an encoded Argon2 hash: 0, or -1 when it is not
 * one libsodium verifies. */
static int stored_params(const char *encoded, unsigned long *m_kib,
                         unsigned long *t)
{
    const char *rest;

    if (!strncmp(encoded, "$argon2id$", 10)) {
        rest = encoded + 9;
    }
    else if (!strncmp(encoded, "$argon2i$", 9)) {
        rest = encoded + 8;
    }
    else {
        return -1;
    }
    if (sscanf(rest, "$v=%*u$m=%lu,t=%lu,", m_kib, t) != 2) {
        return -1;
    }
    return 0;
}

size_t qw_pw_pad_kib(const char *encoded, const qw_pw_params *params)
{
    unsigned long long ops, server, stored = 0;
    unsigned long m_kib, t;
    size_t mem, pad;

    effective(params, &ops, &mem);
    /* Argon2's work is m blocks of 1 KiB filled t times over */
    server = (unsigned long long)(mem / 1024) * ops;
    if (encoded && strnlen(encoded, crypto_pwhash_STRBYTES)
                   < crypto_pwhash_STRBYTES
        && stored_params(encoded, &m_kib, &t) == 0) {
        stored = m_kib >= server || t >= server
                 ? server : (unsigned long long)m_kib * t;
    }
    if (stored >= server) {
        return 0;               /* as costly already, or more (see docs) */
    }
    /* the rest, at the server's t */
    pad = (size_t)((server - stored) / ops);
    return pad * 1024 >= crypto_pwhash_MEMLIMIT_MIN ? pad : 0;
}

/* Argon2id over pad_kib KiB at the server's t, for the time it takes. */
static void pad_work(size_t pad_kib, const qw_pw_params *params)
{
    unsigned char out[16];
    unsigned char salt[crypto_pwhash_SALTBYTES] = { 0 };
    unsigned long long ops;
    size_t mem;

    if (pad_kib == 0) {
        return;
    }
    effective(params, &ops, &mem);
    if (crypto_pwhash(out, sizeof(out), "", 0, salt, ops, pad_kib * 1024,
                      crypto_pwhash_ALG_ARGON2ID13) == 0) {
        sodium_memzero(out, sizeof(out));
    }
}

/* How long one verify at the server's settings takes in this process:
 * a running estimate of the median of the dummy's and of stored hashes
 * made at exactly those settings (each sample moves it 4 % towards
 * itself: a mean would follow the slow tail of a loaded machine and make
 * padded verifies the slower ones).  Argon2 over less memory runs faster
 * per block (more of it stays in the CPU's caches), so work alone leaves
 * a padded verify a few per cent short; the rest is waited. */
static pthread_mutex_t ref_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    unsigned long long ops;
    size_t mem;
    double seconds;     /* 0: not measured yet */
} ref;

static double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void ref_note(unsigned long long ops, size_t mem, double seconds)
{
    pthread_mutex_lock(&ref_lock);
    if (ref.seconds <= 0 || ref.ops != ops || ref.mem != mem) {
        ref.ops = ops;
        ref.mem = mem;
        ref.seconds = seconds;
    }
    else if (seconds > ref.seconds) {
        ref.seconds *= 1.04;
    }
    else if (seconds < ref.seconds) {
        ref.seconds /= 1.04;
    }
    pthread_mutex_unlock(&ref_lock);
}

/* Wait until a verify begun at start took as long as the reference. */
static void ref_wait(unsigned long long ops, size_t mem, double start)
{
    double want = 0, left;

    pthread_mutex_lock(&ref_lock);
    if (ref.seconds > 0 && ref.ops == ops && ref.mem == mem) {
        want = ref.seconds;
    }
    pthread_mutex_unlock(&ref_lock);
    left = want - (mono_now() - start);
    if (left > 0 && left < 10.0) {
        struct timespec ts;

        ts.tv_sec = (time_t)left;
        ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
}

int qw_pw_verify(const char *encoded, const char *pw, size_t len,
                 const qw_pw_params *params)
{
    unsigned long long ops;
    size_t mem, pad;
    double start;
    int ok;

    if ((pw == NULL && len != 0) || len > QW_PW_MAX_LEN
        || qw_pw_init() != 0) {
        return 0;
    }
    if (pw == NULL) {
        pw = "";
    }
    effective(params, &ops, &mem);
    if (encoded == NULL) {
        char hash[crypto_pwhash_STRBYTES];

        if (dummy_hash(ops, mem, hash) == 0) {
            start = mono_now();
            if (crypto_pwhash_str_verify(hash, pw, len) == 0) {
                /* Unreachable (nobody knows the dummy's password); the
                 * call is there for the time it takes. */
                return 0;
            }
            ref_note(ops, mem, mono_now() - start);
        }
        return 0;
    }
    start = mono_now();
    /* crypto_pwhash_str_verify reads a NUL-terminated string of at most
     * crypto_pwhash_STRBYTES - 1 characters. */
    if (strnlen(encoded, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES) {
        pad_work(qw_pw_pad_kib(NULL, params), params);
        ref_wait(ops, mem, start);
        return 0;
    }
    ok = crypto_pwhash_str_verify(encoded, pw, len) == 0;
    /* A hash made with cheaper settings would answer sooner than the
     * dummy of an unknown account: spend the difference, whatever the
     * outcome, so that time tells nothing about the stored parameters. */
    pad = qw_pw_pad_kib(encoded, params);
    if (pad > 0) {
        pad_work(pad, params);
        ref_wait(ops, mem, start);
    }
    else if (!strncmp(encoded, "$argon2id$", 10)
             && crypto_pwhash_str_needs_rehash(encoded, ops, mem) == 0) {
        ref_note(ops, mem, mono_now() - start);
    }
    return ok;
}

int qw_pw_needs_rehash(const char *encoded, const qw_pw_params *params)
{
    unsigned long long ops;
    size_t mem;

    if (encoded == NULL
        || strnlen(encoded, crypto_pwhash_STRBYTES) >= crypto_pwhash_STRBYTES
        || qw_pw_init() != 0) {
        return 0;
    }
    /* Anything but Argon2id (libsodium would accept Argon2i here) is
     * replaced at the next login. */
    if (strncmp(encoded, "$argon2id$", 10) != 0) {
        return 1;
    }
    effective(params, &ops, &mem);
    /* Any difference, also a costlier stored hash (the settings were
     * lowered): a failed login against it would take longer than against
     * an unknown account.  Every node should have the same settings, or
     * logins flip the hash between them. */
    return crypto_pwhash_str_needs_rehash(encoded, ops, mem) != 0;
}

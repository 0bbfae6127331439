/* Password hashing: Argon2id through libsodium's crypto_pwhash_str, which
 * stores its parameters in the encoded string. */
#ifndef QW_PWHASH_H
#define QW_PWHASH_H

#include <stddef.h>
#include <apr_pools.h>

#define QW_PW_MIN_MEM_MIB 19
#define QW_PW_DEFAULT_MEM_MIB 64
#define QW_PW_DEFAULT_OPS 2
#define QW_PW_MAX_LEN 1024     /* bytes; longer input is refused, not cut */

typedef struct {
    unsigned long long ops;   /* Argon2 t (>= 2) */
    size_t mem_mib;           /* Argon2 m in MiB (>= 19) */
} qw_pw_params;

/* Initialise libsodium once per process (idempotent, thread safe). */
int qw_pw_init(void);

/* Encoded Argon2id hash from p, or NULL on failure (out of memory, password
 * longer than QW_PW_MAX_LEN). */
char *qw_pw_hash(apr_pool_t *p, const char *pw, size_t len,
                 const qw_pw_params *params);

/* 1 if pw matches encoded, 0 otherwise.  When encoded is NULL, verifies
 * against an internal dummy hash made with params so that an unknown account
 * costs the same time as a wrong password, and returns 0.  A stored hash
 * cheaper than params (or one that is not Argon2) is padded with Argon2id
 * work for the difference (qw_pw_pad_kib) and then waits, if need be,
 * until it took as long as verifies at params take in this process, so a
 * call costs one verify at params whatever the stored hash's settings,
 * when they are not above params. */
int qw_pw_verify(const char *encoded, const char *pw, size_t len,
                 const qw_pw_params *params);

/* The padding qw_pw_verify adds after checking encoded: KiB of Argon2id
 * memory at params' t, so that stored m * t plus padding is params' m * t;
 * 0 when encoded costs as much or more.  NULL or unparsable: all of it. */
size_t qw_pw_pad_kib(const char *encoded, const qw_pw_params *params);

/* 1 if encoded was made with other parameters than params (weaker or
 * costlier) or is not Argon2id: the caller re-hashes after a match. */
int qw_pw_needs_rehash(const char *encoded, const qw_pw_params *params);

#endif

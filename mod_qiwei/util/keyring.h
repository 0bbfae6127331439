/* The key file: master keys that never enter the database.
 *
 * Format (text, one key a line, '#' comments, blank lines ignored):
 *
 *     key <kid> <base64 of exactly 32 bytes>
 *     current <kid>            (optional; default: the highest kid)
 *
 * kid is a decimal integer 1..2^31-1.  Purpose keys are derived with
 * HKDF-SHA256(master[kid], info = "mod_qiwei " purpose), so one master key
 * serves field encryption, CSRF tokens, share links and the audit chain
 * without ever reusing raw key material across purposes. */
#ifndef QW_KEYRING_H
#define QW_KEYRING_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

#define QW_KEY_LEN 32
#define QW_KEYRING_MAX_KEYS 64

typedef struct qw_keyring qw_keyring;

/* Parse key file text.  Pure (no I/O): fuzzed.  On error returns NULL and sets
 * *err to a message that never contains key material.  The keys live in
 * memory from p and are wiped (OPENSSL_cleanse) when p is cleared. */
qw_keyring *qw_keyring_parse(apr_pool_t *p, const char *text, size_t len,
                             const char **err);

/* Read and parse a key file.  Refuses a file that is not a regular file, is
 * readable or writable by group or others, or holds no key. */
qw_keyring *qw_keyring_load(apr_pool_t *p, const char *path, const char **err);

/* Make a new key file text with one fresh random key (kid 1), or, when
 * 'old' is given, all of old's keys plus a new one with kid max+1 that becomes
 * current.  Returns NULL on RNG failure. */
char *qw_keyring_generate(apr_pool_t *p, const qw_keyring *old);

uint32_t qw_keyring_current(const qw_keyring *kr);
int qw_keyring_has(const qw_keyring *kr, uint32_t kid);
int qw_keyring_count(const qw_keyring *kr);

/* Derive a 32-byte purpose key from master key kid.  Returns 0 on success,
 * -1 if kid is unknown or derivation failed. */
int qw_keyring_derive(const qw_keyring *kr, uint32_t kid, const char *purpose,
                      unsigned char out[QW_KEY_LEN]);

#endif

/* CSRF tokens: HMAC-SHA256(key, purpose "|" binding), base64url.
 * binding is a secret the attacker's site cannot read (the CSRF cookie's value
 * before login, the session token after it). Verification is constant time. */
#ifndef QW_CSRF_H
#define QW_CSRF_H

#include <apr_pools.h>
#include "util/keyring.h"

#define QW_CSRF_TEXT_LEN 43   /* base64url of 32 bytes, no padding */

char *qw_csrf_make(apr_pool_t *p, const unsigned char key[QW_KEY_LEN],
                   const char *purpose, const char *binding);

/* 1 if token matches, 0 otherwise (also for NULL or wrong-length input). */
int qw_csrf_check(const unsigned char key[QW_KEY_LEN], const char *purpose,
                  const char *binding, const char *token);

#endif

/* One-time passwords for two-step verification: HOTP (RFC 4226) and TOTP
 * (RFC 6238) with HMAC-SHA-1, the base32 secret codec (RFC 4648) and the
 * otpauth:// URI that authenticator apps read from a QR code.
 *
 * Pure (OpenSSL and APR only, no httpd types): unit tested against the RFC
 * vectors and fuzzed (base32 and code parsing).  Shared by member and admin
 * two-step verification. */
#ifndef QW_TOTP_H
#define QW_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>

#define QW_TOTP_SECRET_BYTES 20     /* 160 bits: RFC 4226 section 4 R6 */
#define QW_TOTP_STEP 30             /* seconds */
#define QW_TOTP_DIGITS 6
#define QW_TOTP_WINDOW 1            /* accepted steps either side of now */
#define QW_TOTP_MAX_SECRET 64       /* bytes accepted by the decoder */

/* HOTP value of counter under key, reduced to digits (6..9) decimal digits.
 * Returns -1 on bad arguments or HMAC failure. */
long qw_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
             int digits);

/* Time step of Unix time t (64-bit: works past 2038 and 2106). */
int64_t qw_totp_step(int64_t t, int step_seconds);

/* TOTP value at Unix time t (RFC 6238 with T0 = 0). */
long qw_totp(const unsigned char *key, size_t keylen, int64_t t,
             int step_seconds, int digits);

/* The code as text with leading zeros, from p. */
char *qw_otp_format(apr_pool_t *p, long code, int digits);

/* Parse what a person typed: exactly digits decimal digits, ignoring
 * spaces and '-' (apps show "123 456").  Input longer than 32 bytes is
 * refused.  0 and *code on success, -1 otherwise. */
int qw_otp_parse(const char *s, size_t len, int digits, long *code);

/* The step in now-window..now+window whose code equals code, choosing only
 * steps greater than last_step (replay protection: a step accepted once is
 * never accepted again), or -1.  Every candidate is computed and compared in
 * constant time, whether or not an earlier one matched. */
int64_t qw_totp_match(const unsigned char *key, size_t keylen, long code,
                      int64_t now, int64_t last_step, int window,
                      int step_seconds, int digits);

/* RFC 4648 base32 without padding, upper case. */
char *qw_base32_encode(apr_pool_t *p, const unsigned char *raw, size_t n);

/* Lenient decoder for secrets typed or pasted by people: case-insensitive,
 * spaces and '-' ignored, '=' padding allowed only at the end, trailing
 * bits must be zero.  Writes at most outsize bytes.  Returns the number of
 * bytes, or -1 on any invalid input or overflow.  Pure: fuzzed. */
long qw_base32_decode(const char *s, size_t len, unsigned char *out,
                      size_t outsize);

/* otpauth://totp/<issuer>:<account>?secret=..&issuer=..&algorithm=SHA1
 * &digits=6&period=30 with issuer and account percent-encoded (UTF-8
 * allowed in both). */
char *qw_totp_uri(apr_pool_t *p, const char *issuer, const char *account,
                  const char *secret_b32);

#endif

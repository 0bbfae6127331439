/* Recovery codes as stored: pure (no database), unit tested.
 *
 * A code is 10 letters of a 32-letter alphabet (50 bits), compared case-
 * and dash-insensitively.  50 bits are too few for an unkeyed hash: a
 * database dump alone would let one 2^50 search recover every code.  So a
 * code is stored as
 *
 *     HMAC-SHA256(HKDF(master[kid], "recovery-code v1"), normalized code)
 *
 * with kid in the row.  Rows written before schema version 13 hold the
 * unkeyed SHA-256 (key id NULL): they are still accepted until used or
 * replaced by a new set, and never written again. */
#ifndef QW_RECOVERY_H
#define QW_RECOVERY_H

#include <stddef.h>
#include <stdint.h>
#include "util/keyring.h"

#define QW_RECOVERY_PURPOSE "recovery-code v1"
#define QW_RECOVERY_LEN 32      /* bytes stored */
#define QW_RECOVERY_MAX 40      /* longer input is never a code */

/* The code without dashes and spaces, in lower case, into out (NUL
 * terminated); its length, or -1 when code is NULL or too long. */
int qw_recovery_normalize(const char *code, char out[QW_RECOVERY_MAX + 1]);

/* The keyed MAC of code under master key kid: 0, or -1 (no such key, or
 * code not acceptable). */
int qw_recovery_mac(const qw_keyring *kr, uint32_t kid, const char *code,
                    unsigned char out[QW_RECOVERY_LEN]);

/* The unkeyed SHA-256 of rows written before schema version 13, only to
 * check them: 0 or -1. */
int qw_recovery_legacy(const char *code, unsigned char out[QW_RECOVERY_LEN]);

#endif

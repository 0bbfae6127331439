/* The MAC of one operation-log row: pure (no database), unit tested.
 *
 *     mac_n = HMAC-SHA256(K_v, lp(mac_(n-1)) || input_v(row_n))
 *
 * lp(x) is x prefixed with its 4-byte big-endian length (mac_0 is empty);
 * NULL is length 0xFFFFFFFF, distinct from the empty string.
 *   version 1: K = HKDF(master[kid], "audit-chain v1");
 *              input = lp(field) for the 14 fields below.  The key id is
 *              bound only through the key it selects.
 *   version 2: K = HKDF(master[kid], "audit-chain v2");
 *              input = lp("2") || lp(kid in decimal) || the 14 fields, so
 *              the format and the key id are covered by the MAC itself.
 * Rows written before schema version 10 are version 1 and keep verifying
 * under that rule; every new row is version 2. */
#ifndef QW_AUDITMAC_H
#define QW_AUDITMAC_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include "util/keyring.h"

#define QW_AUDIT_FIELDS 14      /* enterprise_id .. details */
#define QW_AUDIT_MAC_LEN 32
#define QW_AUDIT_MAC_V1 1
#define QW_AUDIT_MAC_V2 2
#define QW_AUDIT_MAC_CURRENT QW_AUDIT_MAC_V2

/* The HKDF purpose of a MAC version, NULL for an unknown version. */
const char *qw_audit_mac_purpose(int version);

/* fields[0..QW_AUDIT_FIELDS-1]: enterprise_id, seq, at, actor, actor_role,
 * source_ip, user_agent, request_id, module, action, object, result, reason,
 * details, all as text (NULL allowed).  key is the purpose key of kid for
 * this version.  Returns 0, or -1 for an unknown version or HMAC failure. */
int qw_audit_mac(apr_pool_t *p, int version, uint32_t kid,
                 const unsigned char key[QW_KEY_LEN],
                 const unsigned char *prev, size_t prevlen,
                 const char *const *fields,
                 unsigned char out[QW_AUDIT_MAC_LEN]);

#endif

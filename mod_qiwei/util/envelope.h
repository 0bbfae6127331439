/* Envelope encryption of article bodies (R3).
 *
 * Every upload gets a fresh random 256-bit data key (DEK).  The body is
 * encrypted with it, and the DEK is wrapped by a key-encryption key derived
 * from a master key of the key file, so rotating the master key means
 * re-wrapping 65-byte DEKs, not re-encrypting bodies.
 *
 * Body blob (articles.body_enc):
 *     byte 0      format version (1)
 *     bytes 1..12 random 96-bit nonce
 *     ...         AES-256-GCM(DEK) ciphertext
 *     last 16     GCM tag
 *   AAD = byte 0 || "qw1|articles.body|<enterprise_id>|<article_id>"
 *
 * Wrapped DEK (articles.dek_wrapped):
 *     byte 0      format version (1)
 *     bytes 1..4  kid of the master key, big endian
 *     bytes 5..16 random 96-bit nonce
 *     bytes 17..48 AES-256-GCM(KEK) of the DEK
 *     last 16     GCM tag
 *   KEK = qw_keyring_derive(kid, "article-kek v1")
 *   AAD = bytes 0..4 || "qw1|articles.dek|<enterprise_id>|<article_id>|<kid>"
 *
 * The body is bound to its article by its AAD and by its DEK (unique per
 * upload); the DEK is bound to enterprise, article and kid.  So a database
 * operator can neither read a body, nor move one (or its wrapped key) into
 * another row, nor relabel a wrapped key with another kid.  The body's AAD
 * leaves the kid out on purpose: re-wrapping must not touch bodies. */
#ifndef QW_ENVELOPE_H
#define QW_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include "util/keyring.h"

#define QW_ENV_VERSION 1
#define QW_ENV_DEK_LEN 32
#define QW_ENV_WRAPPED_LEN (1 + 4 + 12 + QW_ENV_DEK_LEN + 16)
#define QW_ENV_BODY_OVERHEAD (1 + 12 + 16)
#define QW_ENV_MAX_BODY (16 * 1024 * 1024)
#define QW_ENV_KEK_PURPOSE "article-kek v1"

/* The same envelope serves several kinds of row; each has its own KEK
 * (purpose) and its own AAD labels, so a blob of one kind never opens as
 * another.  AADs: body  "qw1|<label>.body|<row>",
 *                 DEK   "qw1|<label>.dek|<row>|<kid>",
 * where row names the row ("<ent>|<article>" for articles, which gives the
 * layout above).  The mailbox (sql/016_mailbox.sql) seals one copy per
 * recipient: purpose "mailbox-kek v1", label "mailbox", row
 * "<ent>|<message>|<member>".  Its attachments (sql/017) are sealed one by
 * one, each under a data key of its own: the same KEK purpose, label
 * "mailbox.att" (AADs "qw1|mailbox.att.body|..." and "qw1|mailbox.att.dek|
 * ...", which no body or key of another kind has), row
 * "<ent>|<message>|<member>|<index>". */
typedef struct {
    const char *kek_purpose;
    const char *label;
} qw_env_scheme;
extern const qw_env_scheme qw_env_articles;
extern const qw_env_scheme qw_env_mailbox;
extern const qw_env_scheme qw_env_mailbox_att;

/* The row text of one recipient's copy of a mailbox message. */
const char *qw_env_mailbox_row(apr_pool_t *p, int64_t ent, int64_t msg,
                               int64_t member);
/* The row text of attachment idx (1..4) of that copy. */
const char *qw_env_mailbox_att_row(apr_pool_t *p, int64_t ent, int64_t msg,
                                   int64_t member, int idx);

/* qw_env_seal, qw_env_open and qw_env_rewrap for a scheme and row. */
int qw_env_seal_row(apr_pool_t *p, const qw_keyring *kr,
                    const qw_env_scheme *sc, const char *row,
                    const unsigned char *pt, size_t ptlen,
                    unsigned char **body, size_t *bodylen,
                    unsigned char **wrapped, size_t *wrappedlen);
int qw_env_open_row(apr_pool_t *p, const qw_keyring *kr,
                    const qw_env_scheme *sc, const char *row,
                    const unsigned char *body, size_t bodylen,
                    const unsigned char *wrapped, size_t wrappedlen,
                    unsigned char **pt, size_t *ptlen);

int qw_env_rewrap_row(apr_pool_t *p, const qw_keyring *kr,
                      const qw_env_scheme *sc, const char *row,
                      const unsigned char *wrapped, size_t wrappedlen,
                      unsigned char **out, size_t *outlen);

/* Encrypt pt under a new DEK wrapped with the keyring's current key.
 * 0 on success, -1 on failure (RNG, key, size above QW_ENV_MAX_BODY). */
int qw_env_seal(apr_pool_t *p, const qw_keyring *kr, int64_t enterprise_id,
                int64_t article_id, const unsigned char *pt, size_t ptlen,
                unsigned char **body, size_t *bodylen,
                unsigned char **wrapped, size_t *wrappedlen);

/* Unwrap the DEK and decrypt the body, verifying both tags.  0 on success,
 * -1 on any failure (unknown kid, wrong row, tampered byte).  *pt is
 * NUL-terminated (not counted in *ptlen). */
int qw_env_open(apr_pool_t *p, const qw_keyring *kr, int64_t enterprise_id,
                int64_t article_id, const unsigned char *body, size_t bodylen,
                const unsigned char *wrapped, size_t wrappedlen,
                unsigned char **pt, size_t *ptlen);

/* Re-wrap a DEK with the keyring's current key (the body is untouched).
 * 0 on success, -1 if the old wrapping does not verify. */
int qw_env_rewrap(apr_pool_t *p, const qw_keyring *kr, int64_t enterprise_id,
                  int64_t article_id, const unsigned char *wrapped,
                  size_t wrappedlen, unsigned char **out, size_t *outlen);

/* kid of a wrapped DEK, 0 when malformed. */
uint32_t qw_env_kid(const unsigned char *wrapped, size_t wrappedlen);

#endif

/* Recovery codes as stored: see recovery.h. */
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "util/recovery.h"

int qw_recovery_normalize(const char *code, char out[QW_RECOVERY_MAX + 1])
{
    size_t i;
    int o = 0;

    if (code == NULL || strlen(code) > QW_RECOVERY_MAX) {
        return -1;
    }
    for (i = 0; code[i]; i++) {
        char c = code[i];

        if (c == '-' || c == ' ') {
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

int qw_recovery_mac(const qw_keyring *kr, uint32_t kid, const char *code,
                    unsigned char out[QW_RECOVERY_LEN])
{
    unsigned char key[QW_KEY_LEN];
    char norm[QW_RECOVERY_MAX + 1];
    unsigned int outlen = 0;
    int n, rc = -1;

    if ((n = qw_recovery_normalize(code, norm)) < 0) {
        return -1;
    }
    if (kr && qw_keyring_derive(kr, kid, QW_RECOVERY_PURPOSE, key) == 0) {
        if (HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)norm,
                 (size_t)n, out, &outlen) != NULL
            && outlen == QW_RECOVERY_LEN) {
            rc = 0;
        }
        OPENSSL_cleanse(key, sizeof(key));
    }
    OPENSSL_cleanse(norm, sizeof(norm));
    return rc;
}

int qw_recovery_legacy(const char *code, unsigned char out[QW_RECOVERY_LEN])
{
    char norm[QW_RECOVERY_MAX + 1];
    int n;

    if ((n = qw_recovery_normalize(code, norm)) < 0) {
        return -1;
    }
    SHA256((const unsigned char *)norm, (size_t)n, out);
    OPENSSL_cleanse(norm, sizeof(norm));
    return 0;
}

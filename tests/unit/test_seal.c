/* AES-256-GCM field sealing. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/keyring.h"
#include "util/seal.h"

static apr_pool_t *pool;
static qw_keyring *kr1;     /* kid 1 only */
static qw_keyring *kr12;    /* kid 1 and a new current kid 2 */
static const char *aad;

static void setup(void)
{
    const char *t1, *t2;

    apr_pool_create(&pool, NULL);
    t1 = qw_keyring_generate(pool, NULL);
    kr1 = qw_keyring_parse(pool, t1, strlen(t1), NULL);
    t2 = qw_keyring_generate(pool, kr1);
    kr12 = qw_keyring_parse(pool, t2, strlen(t2), NULL);
    ck_assert_ptr_nonnull(kr1);
    ck_assert_ptr_nonnull(kr12);
    aad = qw_seal_aad(pool, "members.mobile_enc", 7, 42);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const unsigned char msg[] = "+86 138 0013 8000";
#define MSGLEN (sizeof(msg) - 1)

static void seal(const qw_keyring *kr, unsigned char **blob, size_t *len)
{
    ck_assert_int_eq(qw_seal(pool, kr, aad, msg, MSGLEN, blob, len), 0);
    ck_assert_uint_eq(*len, MSGLEN + QW_SEAL_OVERHEAD);
}

static int unseal(const qw_keyring *kr, const char *a,
                  const unsigned char *blob, size_t len)
{
    unsigned char *pt = (unsigned char *)"x";
    size_t ptlen = 99;
    int rc = qw_unseal(pool, kr, a, blob, len, &pt, &ptlen);

    if (rc != 0) {
        /* failure leaves nothing behind */
        ck_assert_ptr_null(pt);
        ck_assert_uint_eq(ptlen, 0);
    }
    return rc;
}

START_TEST(aad_format)
{
    ck_assert_str_eq(aad, "qw1|members.mobile_enc|7|42");
    ck_assert_str_eq(qw_seal_aad(pool, "t.c", -1, 9223372036854775807LL),
                     "qw1|t.c|-1|9223372036854775807");
}
END_TEST

START_TEST(roundtrip)
{
    unsigned char *blob, *blob2, *pt;
    size_t len, len2, ptlen;

    seal(kr1, &blob, &len);
    ck_assert_int_eq(blob[0], 1);
    ck_assert_uint_eq(qw_seal_kid(blob, len), 1);
    /* the plaintext does not appear in the blob */
    ck_assert_ptr_null(memmem(blob, len, "0013", 4));
    ck_assert_int_eq(qw_unseal(pool, kr1, aad, blob, len, &pt, &ptlen), 0);
    ck_assert_uint_eq(ptlen, MSGLEN);
    ck_assert_mem_eq(pt, msg, MSGLEN);
    ck_assert_int_eq(pt[ptlen], '\0');

    /* random nonce: same input, different blob */
    seal(kr1, &blob2, &len2);
    ck_assert(memcmp(blob + 5, blob2 + 5, 12) != 0);
    ck_assert(memcmp(blob, blob2, len) != 0);

    /* empty plaintext and NULL aad work */
    ck_assert_int_eq(qw_seal(pool, kr1, NULL, (const unsigned char *)"", 0,
                             &blob, &len), 0);
    ck_assert_uint_eq(len, QW_SEAL_OVERHEAD);
    ck_assert_int_eq(qw_unseal(pool, kr1, NULL, blob, len, &pt, &ptlen), 0);
    ck_assert_uint_eq(ptlen, 0);
    /* NULL aad and "" aad are the same associated data */
    ck_assert_int_eq(qw_unseal(pool, kr1, "", blob, len, &pt, &ptlen), 0);
    ck_assert_int_eq(unseal(kr1, "x", blob, len), -1);
}
END_TEST

START_TEST(tamper_every_byte)
{
    unsigned char *blob;
    size_t len, i;
    int bit;

    seal(kr1, &blob, &len);
    /* Version, kid, nonce, ciphertext and tag: any flipped bit fails. */
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            blob[i] ^= (unsigned char)(1 << bit);
            ck_assert_msg(unseal(kr1, aad, blob, len) == -1,
                          "byte %zu bit %d", i, bit);
            blob[i] ^= (unsigned char)(1 << bit);
        }
    }
    ck_assert_int_eq(unseal(kr1, aad, blob, len), 0);
}
END_TEST

START_TEST(wrong_aad)
{
    unsigned char *blob;
    size_t len;

    seal(kr1, &blob, &len);
    /* another row, another enterprise, another column */
    ck_assert_int_eq(unseal(kr1, qw_seal_aad(pool, "members.mobile_enc", 7,
                                             43), blob, len), -1);
    ck_assert_int_eq(unseal(kr1, qw_seal_aad(pool, "members.mobile_enc", 8,
                                             42), blob, len), -1);
    ck_assert_int_eq(unseal(kr1, qw_seal_aad(pool, "members.email_enc", 7,
                                             42), blob, len), -1);
    ck_assert_int_eq(unseal(kr1, NULL, blob, len), -1);
}
END_TEST

START_TEST(unknown_kid_and_relabel)
{
    unsigned char *blob;
    size_t len;
    const char *t;
    qw_keyring *other;

    /* sealed with kid 2, kr1 has only kid 1 */
    seal(kr12, &blob, &len);
    ck_assert_uint_eq(qw_seal_kid(blob, len), 2);
    ck_assert_int_eq(unseal(kr1, aad, blob, len), -1);

    /* relabelled to kid 1: the AAD covers the kid, and the key differs */
    blob[4] = 1;
    ck_assert_int_eq(unseal(kr12, aad, blob, len), -1);

    /* a different keyring that also has kid 1 */
    t = qw_keyring_generate(pool, NULL);
    other = qw_keyring_parse(pool, t, strlen(t), NULL);
    seal(kr1, &blob, &len);
    ck_assert_int_eq(unseal(other, aad, blob, len), -1);
    ck_assert_int_eq(unseal(NULL, aad, blob, len), -1);
}
END_TEST

START_TEST(rotation_keeps_old)
{
    unsigned char *blob, *pt;
    size_t len, ptlen;

    seal(kr1, &blob, &len);
    ck_assert_int_eq(qw_unseal(pool, kr12, aad, blob, len, &pt, &ptlen), 0);
    ck_assert_mem_eq(pt, msg, MSGLEN);
    /* new seals use the new current key */
    seal(kr12, &blob, &len);
    ck_assert_uint_eq(qw_seal_kid(blob, len), 2);
    ck_assert_int_eq(unseal(kr12, aad, blob, len), 0);
}
END_TEST

START_TEST(truncated_and_malformed)
{
    unsigned char *blob;
    size_t len, i;

    seal(kr1, &blob, &len);
    for (i = 0; i < len; i++) {
        ck_assert_msg(unseal(kr1, aad, blob, i) == -1, "length %zu", i);
    }
    ck_assert_int_eq(unseal(kr1, aad, NULL, 0), -1);
    ck_assert_int_eq(unseal(kr1, aad, NULL, 100), -1);

    ck_assert_uint_eq(qw_seal_kid(blob, QW_SEAL_OVERHEAD - 1), 0);
    ck_assert_uint_eq(qw_seal_kid(blob, QW_SEAL_OVERHEAD), 1);
    ck_assert_uint_eq(qw_seal_kid(NULL, 50), 0);
    blob[0] = 2;
    ck_assert_uint_eq(qw_seal_kid(blob, len), 0);
    ck_assert_int_eq(unseal(kr1, aad, blob, len), -1);
    blob[0] = 1;
    blob[1] = 0x12; blob[2] = 0x34; blob[3] = 0x56; blob[4] = 0x78;
    ck_assert_uint_eq(qw_seal_kid(blob, len), 0x12345678u);
}
END_TEST

START_TEST(size_limit)
{
    size_t max = 64 * 1024;
    unsigned char *big = apr_pcalloc(pool, max + 1), *blob, *pt;
    size_t len, ptlen;

    ck_assert_int_eq(qw_seal(pool, kr1, aad, big, max, &blob, &len), 0);
    ck_assert_int_eq(qw_unseal(pool, kr1, aad, blob, len, &pt, &ptlen), 0);
    ck_assert_uint_eq(ptlen, max);
    ck_assert_int_eq(qw_seal(pool, kr1, aad, big, max + 1, &blob, &len), -1);
    ck_assert_ptr_null(blob);
}
END_TEST

Suite *suite_seal(void)
{
    Suite *s = suite_create("seal");
    TCase *tc = tcase_create("seal");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, aad_format);
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, tamper_every_byte);
    tcase_add_test(tc, wrong_aad);
    tcase_add_test(tc, unknown_kid_and_relabel);
    tcase_add_test(tc, rotation_keeps_old);
    tcase_add_test(tc, truncated_and_malformed);
    tcase_add_test(tc, size_limit);
    suite_add_tcase(s, tc);
    return s;
}

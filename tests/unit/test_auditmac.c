/* The operation log's row MAC: known answers for both formats (computed
 * independently with Python's hmac module), the key id and the format
 * covered by version 2, NULL distinct from "". */
#include <string.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/auditmac.h"

static apr_pool_t *pool;
static unsigned char key[QW_KEY_LEN];
static const char *fields[QW_AUDIT_FIELDS] = {
    "7", "1", "2026-01-01T00:00:00.000000Z", "system", NULL, NULL, NULL,
    NULL, "directory", "create", NULL, "success", NULL, ""
};

static void setup(void)
{
    int i;

    apr_pool_create(&pool, NULL);
    for (i = 0; i < QW_KEY_LEN; i++) {
        key[i] = (unsigned char)i;
    }
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const char *hex(const unsigned char *b)
{
    char *s = apr_palloc(pool, 2 * QW_AUDIT_MAC_LEN + 1);
    int i;

    for (i = 0; i < QW_AUDIT_MAC_LEN; i++) {
        apr_snprintf(s + 2 * i, 3, "%02x", b[i]);
    }
    return s;
}

static const char *mac_of(int version, uint32_t kid,
                          const unsigned char *prev, size_t prevlen,
                          const char *const *f)
{
    unsigned char out[QW_AUDIT_MAC_LEN];

    ck_assert_int_eq(qw_audit_mac(pool, version, kid, key, prev, prevlen, f,
                                  out), 0);
    return hex(out);
}

START_TEST(v1_known_answer)
{
    /* the format of rows written before schema version 10 */
    ck_assert_str_eq(mac_of(1, 3, NULL, 0, fields),
                     "c348fe46b41ded88a50a0beb72ca1183"
                     "f2449806914623eb9c30743c0da58587");
    /* the key id is not part of the input in version 1 */
    ck_assert_str_eq(mac_of(1, 4, NULL, 0, fields),
                     mac_of(1, 3, NULL, 0, fields));
}
END_TEST

START_TEST(v2_known_answer)
{
    unsigned char prev[QW_AUDIT_MAC_LEN];

    memset(prev, 0xaa, sizeof(prev));
    ck_assert_str_eq(mac_of(2, 3, NULL, 0, fields),
                     "7a5da0a7f4c46a127b733d689567de78"
                     "c3d4ea9b2c75979c678493030ab2cb08");
    ck_assert_str_eq(mac_of(2, 4, NULL, 0, fields),
                     "6fc311c757a488fe50c9e06bac77500e"
                     "12296edabd352ae6c0ccc4586cf10b78");
    ck_assert_str_eq(mac_of(2, 3, prev, sizeof(prev), fields),
                     "bd0d427321b856c827c2a091318cd23f"
                     "474dcd178fd771b294ee1a621a41bf11");
}
END_TEST

START_TEST(v2_covers_key_id_and_format)
{
    ck_assert_str_ne(mac_of(2, 3, NULL, 0, fields),
                     mac_of(2, 4, NULL, 0, fields));
    ck_assert_str_ne(mac_of(2, 3, NULL, 0, fields),
                     mac_of(1, 3, NULL, 0, fields));
}
END_TEST

START_TEST(null_is_not_empty)
{
    const char *f[QW_AUDIT_FIELDS];

    memcpy(f, fields, sizeof(f));
    f[13] = NULL;
    ck_assert_str_ne(mac_of(2, 3, NULL, 0, f),
                     mac_of(2, 3, NULL, 0, fields));
}
END_TEST

START_TEST(unknown_version)
{
    unsigned char out[QW_AUDIT_MAC_LEN];

    ck_assert_int_eq(qw_audit_mac(pool, 0, 1, key, NULL, 0, fields, out),
                     -1);
    ck_assert_int_eq(qw_audit_mac(pool, 3, 1, key, NULL, 0, fields, out),
                     -1);
    ck_assert_ptr_null(qw_audit_mac_purpose(3));
    ck_assert_str_eq(qw_audit_mac_purpose(1), "audit-chain v1");
    ck_assert_str_eq(qw_audit_mac_purpose(2), "audit-chain v2");
}
END_TEST

Suite *suite_auditmac(void)
{
    Suite *s = suite_create("auditmac");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, v1_known_answer);
    tcase_add_test(tc, v2_known_answer);
    tcase_add_test(tc, v2_covers_key_id_and_format);
    tcase_add_test(tc, null_is_not_empty);
    tcase_add_test(tc, unknown_version);
    suite_add_tcase(s, tc);
    return s;
}

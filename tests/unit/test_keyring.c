/* Key file parsing, loading, generation and HKDF derivation. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/keyring.h"

/* bytes 0..31 */
#define KEY_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
/* HKDF-SHA256(ikm = bytes 0..31, no salt, info = "mod_qiwei field-seal v1"),
 * computed independently with Python's hmac module. */
#define HKDF_SEAL_A "b000a619c06536295c55b0cd60772853" \
                    "cd89c771614b9ae7d72b1a63bcb86767"
#define HKDF_CSRF_A "1519826b10bcca82c6849f4aa46ce0ba" \
                    "fc07e5885595024e5c5b307170fa2ad7"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static qw_keyring *parse(const char *text, const char **err)
{
    return qw_keyring_parse(pool, text, strlen(text), err);
}

static void to_hex(const unsigned char *b, size_t n, char *out)
{
    size_t i;

    for (i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", b[i]);
    }
}

START_TEST(parse_minimal)
{
    const char *err = "unset";
    qw_keyring *kr = parse("key 1 " KEY_A "\n", &err);

    ck_assert_ptr_nonnull(kr);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(qw_keyring_count(kr), 1);
    ck_assert_uint_eq(qw_keyring_current(kr), 1);
    ck_assert(qw_keyring_has(kr, 1));
    ck_assert(!qw_keyring_has(kr, 2));
    ck_assert(!qw_keyring_has(kr, 0));
}
END_TEST

START_TEST(parse_comments_blank_crlf_current)
{
    const char *err = NULL;
    qw_keyring *kr = parse("# comment\r\n\r\n  \t\n"
                           "key 7 " KEY_A "\r\n"
                           "\tkey  3\t" KEY_A "  \n"
                           "   # indented comment\n"
                           "key 5 " KEY_A, &err);

    ck_assert_msg(kr != NULL, "err: %s", err ? err : "");
    ck_assert_int_eq(qw_keyring_count(kr), 3);
    /* no 'current': the highest kid */
    ck_assert_uint_eq(qw_keyring_current(kr), 7);

    kr = parse("key 7 " KEY_A "\nkey 3 " KEY_A "\ncurrent 3\n", &err);
    ck_assert_ptr_nonnull(kr);
    ck_assert_uint_eq(qw_keyring_current(kr), 3);

    /* 'current' may come before the key it names */
    kr = parse("current 3\nkey 3 " KEY_A "\nkey 9 " KEY_A "\n", &err);
    ck_assert_ptr_nonnull(kr);
    ck_assert_uint_eq(qw_keyring_current(kr), 3);

    kr = parse("key 2147483647 " KEY_A "\n", &err);
    ck_assert_ptr_nonnull(kr);
    ck_assert_uint_eq(qw_keyring_current(kr), 2147483647u);
}
END_TEST

/* Every malformed file is refused with a message that names the problem
 * and never echoes key material. */
static const struct {
    const char *text;
    const char *msg_part;
} bad_files[] = {
    { "", "no key" },
    { "# only a comment\n\n", "no key" },
    { "current 1\n", "no key" },
    { "key 1 " KEY_A "\nkey 1 " KEY_A "\n", "duplicate" },
    { "key 1 " KEY_A "\nkey 2 " KEY_A "\ncurrent 3\n", "current 3" },
    { "key 1 " KEY_A "\ncurrent 1\ncurrent 1\n", "twice" },
    { "key 0 " KEY_A "\n", "key id" },
    { "key 2147483648 " KEY_A "\n", "key id" },
    { "key 99999999999 " KEY_A "\n", "key id" },
    { "key 01 " KEY_A "\n", "key id" },
    { "key -1 " KEY_A "\n", "key id" },
    { "key +1 " KEY_A "\n", "key id" },
    { "key x " KEY_A "\n", "key id" },
    { "key 1 " KEY_A "\ncurrent 0\n", "key id" },
    { "key 1 " KEY_A "\ncurrent\n", "current" },
    { "key 1\n", "expected" },
    { "key 1 " KEY_A " extra\n", "expected" },
    { "key 1 " KEY_A " # trailing comment\n", "expected" },
    { "key\n", "expected" },
    /* 31 bytes */
    { "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", "32 bytes" },
    /* 33 bytes */
    { "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", "32 bytes" },
    /* missing padding */
    { "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", "32 bytes" },
    /* url-safe alphabet is not the original one */
    { "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=\n", "32 bytes" },
    /* invalid character */
    { "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd*h8=\n", "32 bytes" },
    /* non-canonical: unused low bits of the last character set */
    { "key 1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n", "32 bytes" },
    { "key 1 " KEY_A "\nkeys 2 " KEY_A "\n", "unknown word" },
    { "Key 1 " KEY_A "\n", "unknown word" },
    { KEY_A "\n", "unknown word" },
    { "key 1 " KEY_A "\nkey 2 \001" KEY_A "\n", "control" },
    { "key 1 " KEY_A "\r\r\n", "control" },
};

START_TEST(parse_rejects)
{
    const char *err = NULL;
    qw_keyring *kr = parse(bad_files[_i].text, &err);

    ck_assert_msg(kr == NULL, "accepted: %s", bad_files[_i].text);
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(strstr(err, bad_files[_i].msg_part) != NULL,
                  "case %d: message '%s' lacks '%s'", _i, err,
                  bad_files[_i].msg_part);
    /* neither the key nor a prefix of it */
    ck_assert_msg(strstr(err, "AAECAwQF") == NULL, "key echoed: %s", err);
}
END_TEST

START_TEST(parse_nul_inside)
{
    static const char text[] = "key 1 " KEY_A "\nkey 2 AA\0ECAwQ\n";
    const char *err = NULL;

    ck_assert_ptr_null(qw_keyring_parse(pool, text, sizeof(text) - 1, &err));
    ck_assert_ptr_nonnull(err);
}
END_TEST

START_TEST(parse_too_many_keys)
{
    char *text = "";
    const char *err = NULL;
    int i;

    for (i = 1; i <= QW_KEYRING_MAX_KEYS; i++) {
        text = apr_psprintf(pool, "%skey %d %s\n", text, i, KEY_A);
    }
    ck_assert_ptr_nonnull(parse(text, &err));
    text = apr_psprintf(pool, "%skey %d %s\n", text, i, KEY_A);
    ck_assert_ptr_null(parse(text, &err));
    ck_assert_ptr_nonnull(strstr(err, "more than"));
}
END_TEST

START_TEST(derive_known_answer)
{
    unsigned char out[QW_KEY_LEN];
    char hex[2 * QW_KEY_LEN + 1];
    qw_keyring *kr = parse("key 4 " KEY_A "\n", NULL);

    ck_assert_ptr_nonnull(kr);
    ck_assert_int_eq(qw_keyring_derive(kr, 4, "field-seal v1", out), 0);
    to_hex(out, sizeof(out), hex);
    ck_assert_str_eq(hex, HKDF_SEAL_A);
    ck_assert_int_eq(qw_keyring_derive(kr, 4, "csrf v1", out), 0);
    to_hex(out, sizeof(out), hex);
    ck_assert_str_eq(hex, HKDF_CSRF_A);

    ck_assert_int_eq(qw_keyring_derive(kr, 5, "csrf v1", out), -1);
    ck_assert_int_eq(qw_keyring_derive(kr, 0, "csrf v1", out), -1);
    ck_assert_int_eq(qw_keyring_derive(NULL, 4, "csrf v1", out), -1);
    ck_assert_int_eq(qw_keyring_derive(kr, 4, NULL, out), -1);
}
END_TEST

START_TEST(generate_and_rotate)
{
    const char *err = NULL;
    char *t1, *t2, *t3;
    qw_keyring *k1, *k2, *k3;
    unsigned char a[QW_KEY_LEN], b[QW_KEY_LEN];

    t1 = qw_keyring_generate(pool, NULL);
    ck_assert_ptr_nonnull(t1);
    ck_assert_ptr_nonnull(strstr(t1, "# mod_qiwei key file. Keep it secret, "
                                 "back it up: lose it and the encrypted "
                                 "data is lost."));
    ck_assert_ptr_nonnull(strstr(t1, "\ncurrent 1\n"));
    k1 = qw_keyring_parse(pool, t1, strlen(t1), &err);
    ck_assert_msg(k1 != NULL, "%s", err ? err : "");
    ck_assert_int_eq(qw_keyring_count(k1), 1);
    ck_assert_uint_eq(qw_keyring_current(k1), 1);

    t2 = qw_keyring_generate(pool, k1);
    ck_assert_ptr_nonnull(strstr(t2, "\ncurrent 2\n"));
    k2 = qw_keyring_parse(pool, t2, strlen(t2), &err);
    ck_assert_ptr_nonnull(k2);
    ck_assert_int_eq(qw_keyring_count(k2), 2);
    ck_assert_uint_eq(qw_keyring_current(k2), 2);
    ck_assert(qw_keyring_has(k2, 1) && qw_keyring_has(k2, 2));

    /* kid 1 kept its key; kid 2 is a different one */
    ck_assert_int_eq(qw_keyring_derive(k1, 1, "x", a), 0);
    ck_assert_int_eq(qw_keyring_derive(k2, 1, "x", b), 0);
    ck_assert_mem_eq(a, b, QW_KEY_LEN);
    ck_assert_int_eq(qw_keyring_derive(k2, 2, "x", b), 0);
    ck_assert(memcmp(a, b, QW_KEY_LEN) != 0);

    /* two fresh files never share a key */
    t3 = qw_keyring_generate(pool, NULL);
    k3 = qw_keyring_parse(pool, t3, strlen(t3), &err);
    ck_assert_int_eq(qw_keyring_derive(k3, 1, "x", b), 0);
    ck_assert(memcmp(a, b, QW_KEY_LEN) != 0);

    /* new kid is max + 1 even with gaps */
    k3 = parse("key 9 " KEY_A "\nkey 2 " KEY_A "\ncurrent 2\n", &err);
    t3 = qw_keyring_generate(pool, k3);
    ck_assert_ptr_nonnull(strstr(t3, "\nkey 10 "));
    ck_assert_ptr_nonnull(strstr(t3, "\ncurrent 10\n"));
    k3 = qw_keyring_parse(pool, t3, strlen(t3), &err);
    ck_assert_int_eq(qw_keyring_count(k3), 3);

    /* no room after kid 2^31-1 */
    k3 = parse("key 2147483647 " KEY_A "\n", &err);
    ck_assert_ptr_null(qw_keyring_generate(pool, k3));
}
END_TEST

START_TEST(pool_clear_wipes)
{
    apr_pool_t *sub;
    qw_keyring *kr;
    unsigned char out[QW_KEY_LEN];

    apr_pool_create(&sub, pool);
    kr = qw_keyring_parse(sub, "key 1 " KEY_A "\n",
                          strlen("key 1 " KEY_A "\n"), NULL);
    ck_assert_ptr_nonnull(kr);
    /* Runs the cleanups without giving the memory back (a cleared pool
     * keeps its first block), so the wiped keyring can still be read. */
    apr_pool_clear(sub);
    ck_assert_int_eq(qw_keyring_count(kr), 0);
    ck_assert_int_eq(qw_keyring_derive(kr, 1, "x", out), -1);
    apr_pool_destroy(sub);
}
END_TEST

static char *write_file(const char *text, mode_t mode)
{
    char *path = apr_pstrdup(pool, "/tmp/qw_keyring_test_XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

START_TEST(load_checks_file)
{
    const char *err = NULL;
    char *path;
    char *big;
    qw_keyring *kr;
    static const mode_t bad_modes[] = { 0640, 0604, 0610, 0601, 0620, 0602,
                                        0644, 0666, 0440 };
    size_t i;

    path = write_file("key 1 " KEY_A "\n", 0600);
    kr = qw_keyring_load(pool, path, &err);
    ck_assert_msg(kr != NULL, "%s", err ? err : "");
    ck_assert_int_eq(qw_keyring_count(kr), 1);
    ck_assert_int_eq(chmod(path, 0400), 0);
    ck_assert_ptr_nonnull(qw_keyring_load(pool, path, &err));

    for (i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        ck_assert_int_eq(chmod(path, bad_modes[i]), 0);
        err = NULL;
        ck_assert_msg(qw_keyring_load(pool, path, &err) == NULL,
                      "mode %o accepted", (unsigned)bad_modes[i]);
        ck_assert_ptr_nonnull(strstr(err, path));
        ck_assert_ptr_nonnull(strstr(err, "mode"));
    }
    unlink(path);

    /* parse errors carry the path, not the key */
    path = write_file("key 1 " KEY_A "\nkey 1 " KEY_A "\n", 0600);
    ck_assert_ptr_null(qw_keyring_load(pool, path, &err));
    ck_assert_ptr_nonnull(strstr(err, path));
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
    ck_assert_ptr_null(strstr(err, "AAEC"));
    unlink(path);

    /* no key */
    path = write_file("# nothing\n", 0600);
    ck_assert_ptr_null(qw_keyring_load(pool, path, &err));
    unlink(path);

    /* larger than 64 KiB, even if it is all comments */
    big = apr_palloc(pool, 64 * 1024 + 2);
    memset(big, '#', 64 * 1024 + 1);
    big[0] = '\n';
    big[64 * 1024 + 1] = '\0';
    path = write_file(big, 0600);
    ck_assert_ptr_null(qw_keyring_load(pool, path, &err));
    ck_assert_ptr_nonnull(strstr(err, "larger"));
    unlink(path);

    /* not a regular file */
    ck_assert_ptr_null(qw_keyring_load(pool, "/tmp", &err));
    ck_assert_ptr_nonnull(strstr(err, "regular"));
    ck_assert_ptr_null(qw_keyring_load(pool, "/dev/null", &err));
    ck_assert_ptr_nonnull(strstr(err, "regular"));

    /* missing */
    ck_assert_ptr_null(qw_keyring_load(pool, "/nonexistent/qw.keys", &err));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/qw.keys"));
}
END_TEST

Suite *suite_keyring(void)
{
    Suite *s = suite_create("keyring");
    TCase *tc = tcase_create("keyring");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, parse_minimal);
    tcase_add_test(tc, parse_comments_blank_crlf_current);
    tcase_add_loop_test(tc, parse_rejects, 0,
                        sizeof(bad_files) / sizeof(bad_files[0]));
    tcase_add_test(tc, parse_nul_inside);
    tcase_add_test(tc, parse_too_many_keys);
    tcase_add_test(tc, derive_known_answer);
    tcase_add_test(tc, generate_and_rotate);
    tcase_add_test(tc, pool_clear_wipes);
    tcase_add_test(tc, load_checks_file);
    suite_add_tcase(s, tc);
    return s;
}

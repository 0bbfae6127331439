/* Argon2id password hashing.  19 MiB / t = 2 keeps the suite fast. */
#include <string.h>
#include <time.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/pwhash.h"

static apr_pool_t *pool;
static const qw_pw_params fast = { 2, 19 };

static void setup(void)
{
    apr_pool_create(&pool, NULL);
    ck_assert_int_eq(qw_pw_init(), 0);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

START_TEST(init_idempotent)
{
    ck_assert_int_eq(qw_pw_init(), 0);
    ck_assert_int_eq(qw_pw_init(), 0);
}
END_TEST

START_TEST(hash_and_verify)
{
    char *h = qw_pw_hash(pool, "correct horse", 13, &fast);
    char *h2;

    ck_assert_ptr_nonnull(h);
    ck_assert_msg(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0,
                  "%s", h);
    ck_assert_int_eq(qw_pw_verify(h, "correct horse", 13, &fast), 1);
    ck_assert_int_eq(qw_pw_verify(h, "correct horsf", 13, &fast), 0);
    ck_assert_int_eq(qw_pw_verify(h, "correct hors", 12, &fast), 0);
    ck_assert_int_eq(qw_pw_verify(h, "", 0, &fast), 0);
    /* salted: same password, different string */
    h2 = qw_pw_hash(pool, "correct horse", 13, &fast);
    ck_assert_str_ne(h, h2);
    ck_assert_int_eq(qw_pw_verify(h2, "correct horse", 13, &fast), 1);
    /* garbage encodings never match */
    ck_assert_int_eq(qw_pw_verify("", "x", 1, &fast), 0);
    ck_assert_int_eq(qw_pw_verify("$argon2id$v=19$m=19456,t=2,p=1$", "x", 1,
                                  &fast), 0);
}
END_TEST

START_TEST(embedded_nul_and_unicode)
{
    char *h = qw_pw_hash(pool, "a\0b", 3, &fast);

    ck_assert_int_eq(qw_pw_verify(h, "a\0b", 3, &fast), 1);
    ck_assert_int_eq(qw_pw_verify(h, "a\0c", 3, &fast), 0);
    ck_assert_int_eq(qw_pw_verify(h, "a", 1, &fast), 0);

    h = qw_pw_hash(pool, "密码正确马电池", strlen("密码正确马电池"), &fast);
    ck_assert_int_eq(qw_pw_verify(h, "密码正确马电池",
                                  strlen("密码正确马电池"), &fast), 1);
}
END_TEST

START_TEST(length_limit)
{
    char *pw = apr_palloc(pool, QW_PW_MAX_LEN + 1);
    char *h;

    memset(pw, 'p', QW_PW_MAX_LEN + 1);
    h = qw_pw_hash(pool, pw, QW_PW_MAX_LEN, &fast);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(qw_pw_verify(h, pw, QW_PW_MAX_LEN, &fast), 1);
    /* refused, not truncated */
    ck_assert_ptr_null(qw_pw_hash(pool, pw, QW_PW_MAX_LEN + 1, &fast));
    ck_assert_int_eq(qw_pw_verify(h, pw, QW_PW_MAX_LEN + 1, &fast), 0);
}
END_TEST

START_TEST(params_clamped)
{
    qw_pw_params weak = { 1, 1 };
    char *h = qw_pw_hash(pool, "x", 1, &weak);

    ck_assert_ptr_nonnull(h);
    ck_assert_msg(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0,
                  "%s", h);
}
END_TEST

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(dummy_for_unknown_account)
{
    qw_pw_params other = { 3, 20 };
    double t0, t1;

    ck_assert_int_eq(qw_pw_verify(NULL, "anything", 8, &fast), 0);
    ck_assert_int_eq(qw_pw_verify(NULL, "", 0, &fast), 0);
    /* changed parameters: the dummy is remade, still no match */
    ck_assert_int_eq(qw_pw_verify(NULL, "anything", 8, &other), 0);
    ck_assert_int_eq(qw_pw_verify(NULL, "anything", 8, &fast), 0);

    /* The dummy costs a real Argon2id computation (19 MiB takes several
     * milliseconds anywhere; a skipped verification takes microseconds). */
    t0 = now();
    ck_assert_int_eq(qw_pw_verify(NULL, "anything", 8, &fast), 0);
    t1 = now();
    ck_assert_msg(t1 - t0 > 0.002, "dummy verify took %.6f s", t1 - t0);
}
END_TEST

START_TEST(needs_rehash)
{
    char *h = qw_pw_hash(pool, "x", 1, &fast);
    qw_pw_params more_mem = { 2, 20 }, more_ops = { 3, 19 };
    qw_pw_params less = { 2, 19 };

    ck_assert_int_eq(qw_pw_needs_rehash(h, &fast), 0);
    ck_assert_int_eq(qw_pw_needs_rehash(h, &more_mem), 1);
    ck_assert_int_eq(qw_pw_needs_rehash(h, &more_ops), 1);
    /* costlier than configured: re-hashed too (a failure against it
     * would take longer than against an unknown account) */
    h = qw_pw_hash(pool, "x", 1, &more_ops);
    ck_assert_int_eq(qw_pw_needs_rehash(h, &less), 1);
    /* Argon2i (not id), or unparsable: rehash */
    ck_assert_int_eq(qw_pw_needs_rehash(
        "$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$"
        "iWh06vD8Fy27wf9npn6FXWiCX4K6pW6Ue1Bnzz07Z8A", &fast), 1);
    ck_assert_int_eq(qw_pw_needs_rehash("garbage", &fast), 1);
    ck_assert_int_eq(qw_pw_needs_rehash(NULL, &fast), 0);
}
END_TEST

START_TEST(pad_for_cheaper_stored_hash)
{
    qw_pw_params server = { 2, 64 }, slow = { 3, 64 };
    char *cheap = qw_pw_hash(pool, "x", 1, &fast);
    char *same = qw_pw_hash(pool, "x", 1, &server);
    double t0, t1, t2, t_cheap, t_same;
    int i;

    /* 19 MiB x 2 stored, 64 MiB x 2 configured: 45 MiB x 2 more */
    ck_assert_uint_eq(qw_pw_pad_kib(cheap, &server), (64 - 19) * 1024);
    ck_assert_uint_eq(qw_pw_pad_kib(same, &server), 0);
    /* t differs: the rest of m x t, at the server's t */
    ck_assert_uint_eq(qw_pw_pad_kib(cheap, &slow),
                      (64 * 1024 * 3 - 19456 * 2) / 3);
    /* costlier stored hash: nothing to add */
    ck_assert_uint_eq(qw_pw_pad_kib(same, &fast), 0);
    /* nothing stored, not Argon2, absurd numbers: all of it, or none */
    ck_assert_uint_eq(qw_pw_pad_kib(NULL, &server), 64 * 1024);
    ck_assert_uint_eq(qw_pw_pad_kib("garbage", &server), 64 * 1024);
    ck_assert_uint_eq(qw_pw_pad_kib("$argon2id$v=19$m=99999999999,t=2,p=1$"
                                    "c29tZXNhbHQ$eA", &server), 0);
    ck_assert_uint_eq(qw_pw_pad_kib("$argon2i$v=19$m=19456,t=2,p=1$"
                                    "c29tZXNhbHQ$eA", &server),
                      (64 - 19) * 1024);

    /* a wrong password against the cheap hash costs about as much as
     * against one made at the server's settings */
    ck_assert_int_eq(qw_pw_verify(cheap, "y", 1, &server), 0);
    /* the fastest of five interleaved trials each: a loaded machine only
     * ever slows a trial down, so the minimum is what each costs, and a
     * single preempted trial cannot fail (or pass) the comparison */
    t_cheap = t_same = 1e9;
    for (i = 0; i < 5; i++) {
        t0 = now();
        ck_assert_int_eq(qw_pw_verify(cheap, "y", 1, &server), 0);
        t1 = now();
        ck_assert_int_eq(qw_pw_verify(same, "y", 1, &server), 0);
        t2 = now();
        if (t1 - t0 < t_cheap)
            t_cheap = t1 - t0;
        if (t2 - t1 < t_same)
            t_same = t2 - t1;
    }
    ck_assert_msg(t_cheap > 0.6 * t_same, "cheap %.4f s, server %.4f s",
                  t_cheap, t_same);
    /* and still verifies */
    ck_assert_int_eq(qw_pw_verify(cheap, "x", 1, &server), 1);
}
END_TEST

Suite *suite_pwhash(void)
{
    Suite *s = suite_create("pwhash");
    TCase *tc = tcase_create("pwhash");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, init_idempotent);
    tcase_add_test(tc, hash_and_verify);
    tcase_add_test(tc, embedded_nul_and_unicode);
    tcase_add_test(tc, length_limit);
    tcase_add_test(tc, params_clamped);
    tcase_add_test(tc, dummy_for_unknown_account);
    tcase_add_test(tc, needs_rehash);
    tcase_add_test(tc, pad_for_cheaper_stored_hash);
    suite_add_tcase(s, tc);
    return s;
}

/* Envelope encryption of article bodies. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>

#include "suites.h"
#include "util/keyring.h"
#include "util/envelope.h"

static apr_pool_t *pool;
static qw_keyring *kr1;     /* kid 1 only */
static qw_keyring *kr12;    /* kid 1 and a new current kid 2 */
static qw_keyring *kr2only; /* kid 2 of kr12 without kid 1 */

static const unsigned char msg[] =
    "<html><body>季度会议纪要 QIWEI-ARTICLE-BODY</body></html>";
#define MSGLEN (sizeof(msg) - 1)

static void setup(void)
{
    const char *t1, *t2;
    char *t3, *cur, *k1;

    apr_pool_create(&pool, NULL);
    t1 = qw_keyring_generate(pool, NULL);
    kr1 = qw_keyring_parse(pool, t1, strlen(t1), NULL);
    t2 = qw_keyring_generate(pool, kr1);
    kr12 = qw_keyring_parse(pool, t2, strlen(t2), NULL);
    ck_assert_ptr_nonnull(kr1);
    ck_assert_ptr_nonnull(kr12);
    /* drop the "key 1 ..." line of t2 to get a ring with kid 2 only */
    t3 = apr_pstrdup(pool, t2);
    k1 = strstr(t3, "key 1 ");
    ck_assert_ptr_nonnull(k1);
    cur = strchr(k1, '\n');
    memmove(k1, cur + 1, strlen(cur + 1) + 1);
    kr2only = qw_keyring_parse(pool, t3, strlen(t3), NULL);
    ck_assert_ptr_nonnull(kr2only);
    ck_assert_int_eq(qw_keyring_has(kr2only, 1), 0);
    ck_assert_int_eq(qw_keyring_has(kr2only, 2), 1);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

typedef struct {
    unsigned char *body, *wrapped;
    size_t bodylen, wrappedlen;
} sealed;

static sealed seal(const qw_keyring *kr, int64_t ent, int64_t art)
{
    sealed s;
    ck_assert_int_eq(qw_env_seal(pool, kr, ent, art, msg, MSGLEN, &s.body,
                                 &s.bodylen, &s.wrapped, &s.wrappedlen), 0);
    ck_assert_uint_eq(s.bodylen, MSGLEN + QW_ENV_BODY_OVERHEAD);
    ck_assert_uint_eq(s.wrappedlen, QW_ENV_WRAPPED_LEN);
    return s;
}

static int open_(const qw_keyring *kr, int64_t ent, int64_t art,
                 const sealed *s)
{
    unsigned char *pt = (unsigned char *)"x";
    size_t n = 99;
    int rc = qw_env_open(pool, kr, ent, art, s->body, s->bodylen,
                         s->wrapped, s->wrappedlen, &pt, &n);
    if (rc == 0) {
        ck_assert_uint_eq(n, MSGLEN);
        ck_assert_int_eq(memcmp(pt, msg, MSGLEN), 0);
        ck_assert_int_eq(pt[n], 0);
    }
    else {
        ck_assert_ptr_null(pt);
        ck_assert_uint_eq(n, 0);
    }
    return rc;
}

START_TEST(roundtrip)
{
    sealed s = seal(kr1, 3, 77);

    ck_assert_int_eq(open_(kr1, 3, 77, &s), 0);
    ck_assert_uint_eq(qw_env_kid(s.wrapped, s.wrappedlen), 1);
    /* no plaintext in the stored bytes */
    ck_assert_ptr_null(memmem(s.body, s.bodylen, "QIWEI-ARTICLE-BODY", 18));
}
END_TEST

START_TEST(fresh_key_and_nonce)
{
    sealed a = seal(kr1, 3, 77), b = seal(kr1, 3, 77);

    ck_assert_int_ne(memcmp(a.body, b.body, a.bodylen), 0);
    ck_assert_int_ne(memcmp(a.wrapped, b.wrapped, a.wrappedlen), 0);
    /* a body cannot be opened with another upload's key */
    a.wrapped = b.wrapped;
    ck_assert_int_eq(open_(kr1, 3, 77, &a), -1);
}
END_TEST

START_TEST(empty_body)
{
    unsigned char *body, *w, *pt;
    size_t bl, wl, n;

    ck_assert_int_eq(qw_env_seal(pool, kr1, 1, 1, NULL, 0, &body, &bl, &w,
                                 &wl), 0);
    ck_assert_uint_eq(bl, QW_ENV_BODY_OVERHEAD);
    ck_assert_int_eq(qw_env_open(pool, kr1, 1, 1, body, bl, w, wl, &pt, &n),
                     0);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(tampered_tag_and_bytes)
{
    sealed s = seal(kr1, 3, 77);
    size_t i;

    for (i = 0; i < s.bodylen; i++) {
        s.body[i] ^= 0x01;
        ck_assert_int_eq(open_(kr1, 3, 77, &s), -1);
        s.body[i] ^= 0x01;
    }
    for (i = 0; i < s.wrappedlen; i++) {
        s.wrapped[i] ^= 0x80;
        ck_assert_int_eq(open_(kr1, 3, 77, &s), -1);
        s.wrapped[i] ^= 0x80;
    }
    ck_assert_int_eq(open_(kr1, 3, 77, &s), 0);
    /* truncated blobs */
    s.bodylen--;
    ck_assert_int_eq(open_(kr1, 3, 77, &s), -1);
    s.bodylen = QW_ENV_BODY_OVERHEAD - 1;
    ck_assert_int_eq(open_(kr1, 3, 77, &s), -1);
}
END_TEST

START_TEST(swapped_row)
{
    sealed s = seal(kr1, 3, 77);

    /* same bytes presented as another article or enterprise */
    ck_assert_int_eq(open_(kr1, 3, 78, &s), -1);
    ck_assert_int_eq(open_(kr1, 4, 77, &s), -1);
    ck_assert_int_eq(open_(kr1, 3, 77, &s), 0);
}
END_TEST

START_TEST(swapped_body_between_rows)
{
    sealed a = seal(kr1, 3, 77), b = seal(kr1, 3, 78), mix;

    /* row 78's body with row 77's key, and the reverse */
    mix = a;
    mix.body = b.body;
    mix.bodylen = b.bodylen;
    ck_assert_int_eq(open_(kr1, 3, 77, &mix), -1);
    mix = b;
    mix.wrapped = a.wrapped;
    ck_assert_int_eq(open_(kr1, 3, 78, &mix), -1);
}
END_TEST

START_TEST(unknown_kid)
{
    sealed s = seal(kr12, 3, 77);

    ck_assert_uint_eq(qw_env_kid(s.wrapped, s.wrappedlen), 2);
    ck_assert_int_eq(open_(kr1, 3, 77, &s), -1);
    /* relabelling the wrapped key with kid 1 does not help */
    s.wrapped[4] = 1;
    ck_assert_int_eq(open_(kr12, 3, 77, &s), -1);
}
END_TEST

START_TEST(rewrap)
{
    sealed s = seal(kr1, 3, 77), r = s;
    unsigned char *body_before = apr_pmemdup(pool, s.body, s.bodylen);

    ck_assert_int_eq(qw_env_rewrap(pool, kr12, 3, 77, s.wrapped,
                                   s.wrappedlen, &r.wrapped, &r.wrappedlen),
                     0);
    ck_assert_uint_eq(qw_env_kid(r.wrapped, r.wrappedlen), 2);
    /* the body is untouched and opens with the new wrapping ... */
    ck_assert_int_eq(memcmp(body_before, r.body, r.bodylen), 0);
    ck_assert_int_eq(open_(kr12, 3, 77, &r), 0);
    /* ... even once the old key is gone */
    ck_assert_int_eq(open_(kr2only, 3, 77, &r), 0);
    ck_assert_int_eq(open_(kr2only, 3, 77, &s), -1);
    /* a rewrap for the wrong row fails */
    ck_assert_int_eq(qw_env_rewrap(pool, kr12, 3, 78, s.wrapped,
                                   s.wrappedlen, &r.wrapped, &r.wrappedlen),
                     -1);
}
END_TEST

START_TEST(bad_version)
{
    sealed s = seal(kr1, 3, 77);

    s.body[0] = 2;
    ck_assert_int_eq(open_(kr1, 3, 77, &s), -1);
    s.body[0] = QW_ENV_VERSION;
    s.wrapped[0] = 2;
    ck_assert_uint_eq(qw_env_kid(s.wrapped, s.wrappedlen), 0);
    ck_assert_int_eq(open_(kr1, 3, 77, &s), -1);
}
END_TEST

/* Mailbox copies: each recipient's copy opens only as that copy, and
 * never as an article (own KEK purpose, own AAD label). */
START_TEST(mailbox_scheme)
{
    unsigned char *b, *w, *pt;
    size_t bl, wl, ptl;
    const char *row = qw_env_mailbox_row(pool, 7, 11, 42);

    ck_assert_str_eq(row, "7|11|42");
    ck_assert_int_eq(qw_env_seal_row(pool, kr1, &qw_env_mailbox, row, msg,
                                     MSGLEN, &b, &bl, &w, &wl), 0);
    ck_assert_int_eq(qw_env_open_row(pool, kr1, &qw_env_mailbox, row, b, bl,
                                     w, wl, &pt, &ptl), 0);
    ck_assert_uint_eq(ptl, MSGLEN);
    ck_assert_int_eq(memcmp(pt, msg, MSGLEN), 0);
    /* another recipient's copy, another message, another enterprise */
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox,
                                     qw_env_mailbox_row(pool, 7, 11, 43),
                                     b, bl, w, wl, &pt, &ptl), 0);
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox,
                                     qw_env_mailbox_row(pool, 7, 12, 42),
                                     b, bl, w, wl, &pt, &ptl), 0);
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox,
                                     qw_env_mailbox_row(pool, 8, 11, 42),
                                     b, bl, w, wl, &pt, &ptl), 0);
    /* the same bytes under the article scheme do not open */
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_articles, row, b, bl,
                                     w, wl, &pt, &ptl), 0);
    ck_assert_int_ne(qw_env_open(pool, kr1, 7, 11, b, bl, w, wl, &pt, &ptl),
                     0);
}
END_TEST

/* Key rotation of a mailbox copy: the data key moves to the current kid,
 * the text stays, and only that copy's row re-wraps it. */
START_TEST(mailbox_rewrap)
{
    unsigned char *b, *w, *nw, *pt;
    size_t bl, wl, nwl, ptl;
    const char *row = qw_env_mailbox_row(pool, 7, 11, 42);

    ck_assert_int_eq(qw_env_seal_row(pool, kr1, &qw_env_mailbox, row, msg,
                                     MSGLEN, &b, &bl, &w, &wl), 0);
    ck_assert_uint_eq(qw_env_kid(w, wl), 1);
    ck_assert_int_eq(qw_env_rewrap_row(pool, kr12, &qw_env_mailbox, row, w,
                                       wl, &nw, &nwl), 0);
    ck_assert_uint_eq(qw_env_kid(nw, nwl), 2);
    ck_assert_int_eq(qw_env_open_row(pool, kr2only, &qw_env_mailbox, row, b,
                                     bl, nw, nwl, &pt, &ptl), 0);
    ck_assert_int_eq(memcmp(pt, msg, MSGLEN), 0);
    ck_assert_int_ne(qw_env_rewrap_row(pool, kr12, &qw_env_mailbox,
                                       qw_env_mailbox_row(pool, 7, 11, 43),
                                       w, wl, &nw, &nwl), 0);
    ck_assert_int_ne(qw_env_rewrap_row(pool, kr12, &qw_env_articles, row, w,
                                       wl, &nw, &nwl), 0);
}
END_TEST

/* Mailbox attachments (sql/017): one opens only as that attachment of that
 * copy, never as another index, another copy, the copy's text, or the
 * reverse; and its key re-wraps under its own row only. */
START_TEST(mailbox_attachment_scheme)
{
    unsigned char *b, *w, *nw, *pt;
    size_t bl, wl, nwl, ptl;
    const char *row = qw_env_mailbox_att_row(pool, 7, 11, 42, 2);

    ck_assert_str_eq(row, "7|11|42|2");
    ck_assert_int_eq(qw_env_seal_row(pool, kr1, &qw_env_mailbox_att, row,
                                     msg, MSGLEN, &b, &bl, &w, &wl), 0);
    ck_assert_int_eq(qw_env_open_row(pool, kr1, &qw_env_mailbox_att, row, b,
                                     bl, w, wl, &pt, &ptl), 0);
    ck_assert_int_eq(memcmp(pt, msg, MSGLEN), 0);
    /* another index, another member's copy */
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox_att,
                                     qw_env_mailbox_att_row(pool, 7, 11, 42,
                                                            1),
                                     b, bl, w, wl, &pt, &ptl), 0);
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox_att,
                                     qw_env_mailbox_att_row(pool, 7, 11, 43,
                                                            2),
                                     b, bl, w, wl, &pt, &ptl), 0);
    /* not as a copy's text, even under the row text "7|11|42|2" */
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox, row, b, bl,
                                     w, wl, &pt, &ptl), 0);
    ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox,
                                     qw_env_mailbox_row(pool, 7, 11, 42),
                                     b, bl, w, wl, &pt, &ptl), 0);
    /* and a copy's text does not open as an attachment */
    {
        const char *crow = qw_env_mailbox_row(pool, 7, 11, 42);
        unsigned char *cb, *cw;
        size_t cbl, cwl;

        ck_assert_int_eq(qw_env_seal_row(pool, kr1, &qw_env_mailbox, crow,
                                         msg, MSGLEN, &cb, &cbl, &cw, &cwl),
                         0);
        ck_assert_int_ne(qw_env_open_row(pool, kr1, &qw_env_mailbox_att,
                                         crow, cb, cbl, cw, cwl, &pt, &ptl),
                         0);
    }
    /* rotation */
    ck_assert_int_eq(qw_env_rewrap_row(pool, kr12, &qw_env_mailbox_att, row,
                                       w, wl, &nw, &nwl), 0);
    ck_assert_uint_eq(qw_env_kid(nw, nwl), 2);
    ck_assert_int_eq(qw_env_open_row(pool, kr2only, &qw_env_mailbox_att, row,
                                     b, bl, nw, nwl, &pt, &ptl), 0);
    ck_assert_int_ne(qw_env_rewrap_row(pool, kr12, &qw_env_mailbox_att,
                                       qw_env_mailbox_att_row(pool, 7, 11,
                                                              42, 3),
                                       w, wl, &nw, &nwl), 0);
}
END_TEST

Suite *suite_envelope(void)
{
    Suite *s = suite_create("envelope");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, roundtrip);
    tcase_add_test(tc, fresh_key_and_nonce);
    tcase_add_test(tc, empty_body);
    tcase_add_test(tc, tampered_tag_and_bytes);
    tcase_add_test(tc, swapped_row);
    tcase_add_test(tc, swapped_body_between_rows);
    tcase_add_test(tc, unknown_kid);
    tcase_add_test(tc, rewrap);
    tcase_add_test(tc, bad_version);
    tcase_add_test(tc, mailbox_scheme);
    tcase_add_test(tc, mailbox_rewrap);
    tcase_add_test(tc, mailbox_attachment_scheme);
    suite_add_tcase(s, tc);
    return s;
}

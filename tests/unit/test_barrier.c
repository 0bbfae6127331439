/* The revocation barrier's bookkeeping (store/barrier.c): which answers
 * count, when a silent listener counts as out of service, what is reported
 * when the wait is shorter than that, and the failures.  The database side
 * (the SQL function, the listeners) is tested by t/98_revocation_barrier.t;
 * here a scripted qw_sql handle plays it: the barrier's SELECT answers with
 * the listeners of the script, and wait() hands over its notifications. */
#include <string.h>

#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "suites.h"
#include "store/store.h"

#define BARRIER_ID "0123456789abcdef0123456789abcdef"

typedef struct {
    qw_sql sql;
    int nlisteners;
    int pids[4];
    const char *names[4];
    const char *notes[8];      /* payloads on qiwei_ack, handed over once */
    int nnotes;
    int fail_pin, fail_wait;
    int pinned, unpinned, listened, unlistened, waits;
} script;

static apr_pool_t *pool;

static PGresult *command_ok(void)
{
    return PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
}

static PGresult *listeners(script *s)
{
    PGresAttDesc att[3];
    const char *names[3] = { "barrier", "backend_pid", "listener" };
    PGresult *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    int i;

    memset(att, 0, sizeof(att));
    for (i = 0; i < 3; i++) {
        att[i].name = (char *)names[i];
        att[i].typid = 25;
        att[i].typlen = -1;
        att[i].atttypmod = -1;
    }
    PQsetResultAttrs(res, 3, att);
    for (i = 0; i < s->nlisteners; i++) {
        const char *pid = apr_itoa(pool, s->pids[i]);
        PQsetvalue(res, i, 0, (char *)BARRIER_ID, strlen(BARRIER_ID));
        PQsetvalue(res, i, 1, (char *)pid, strlen(pid));
        PQsetvalue(res, i, 2, (char *)s->names[i], strlen(s->names[i]));
    }
    return res;
}

static PGresult *s_exec(qw_sql *db, const char *sql, int n,
                        const char *const *params, int flags)
{
    script *s = (script *)db;

    (void)n;
    (void)params;
    (void)flags;
    ck_assert_msg(s->pinned > s->unpinned, "statement outside the pin");
    if (!strcmp(sql, "LISTEN qiwei_ack")) {
        s->listened++;
        return command_ok();
    }
    if (!strcmp(sql, "UNLISTEN qiwei_ack")) {
        s->unlistened++;
        return command_ok();
    }
    ck_assert_msg(strstr(sql, "qw_revocation_barrier()") != NULL, "%s", sql);
    ck_assert_int_eq(s->listened, s->pinned);
    return listeners(s);
}

static PGresult *s_txn(qw_sql *db, qw_sql_txn what)
{
    script *s = (script *)db;

    if (what == QW_SQL_PIN) {
        if (s->fail_pin) {
            return NULL;
        }
        s->pinned++;
        return command_ok();
    }
    ck_assert_int_eq(what, QW_SQL_UNPIN);
    s->unpinned++;
    return command_ok();
}

static const char *s_message(qw_sql *db)
{
    (void)db;
    return "scripted failure";
}

static int s_lost(qw_sql *db)
{
    (void)db;
    return 1;
}

static int s_wait(qw_sql *db, int timeout_ms,
                  void (*each)(void *, const char *, const char *),
                  void *baton)
{
    script *s = (script *)db;
    int i;

    s->waits++;
    if (s->fail_wait > 0) {
        s->fail_wait--;              /* the connection is lost this time */
        return -1;
    }
    if (s->nnotes) {
        /* another channel first: it must be ignored */
        each(baton, "qiwei_inval", BARRIER_ID ":101");
        for (i = 0; i < s->nnotes; i++) {
            each(baton, "qiwei_ack", s->notes[i]);
        }
        s->nnotes = 0;
        return 0;
    }
    apr_sleep(apr_time_from_msec(timeout_ms));
    return 0;
}

static const qw_sql_ops ops = {
    s_exec, s_txn, NULL, s_message, s_lost, s_wait
};

static qw_store store_of(script *s)
{
    qw_store st;

    memset(&st, 0, sizeof(st));
    s->sql.ops = &ops;
    st.db = &s->sql;
    st.pool = pool;
    return st;
}

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static void two_listeners(script *s)
{
    memset(s, 0, sizeof(*s));
    s->nlisteners = 2;
    s->pids[0] = 101;
    s->names[0] = "web1:2001";
    s->pids[1] = 102;
    s->names[1] = "web2:2002";
}

START_TEST(all_answer)
{
    script s;
    qw_store st;
    qw_barrier b;

    two_listeners(&s);
    s.notes[s.nnotes++] = BARRIER_ID ":102";
    s.notes[s.nnotes++] = BARRIER_ID ":101";
    st = store_of(&s);
    ck_assert_int_eq(qw_revocation_barrier(&st, 2000, &b), QW_OK);
    ck_assert_int_eq(b.listeners, 2);
    ck_assert_int_eq(b.acked, 2);
    ck_assert_int_eq(b.expired, 0);
    ck_assert_int_eq(b.confirmed, 1);
    ck_assert_ptr_null(b.pending);
    ck_assert_int_lt(b.elapsed_ms, 500);
    ck_assert_int_eq(s.pinned, 1);
    ck_assert_int_eq(s.unpinned, 1);
    ck_assert_int_eq(s.unlistened, 1);
}
END_TEST

START_TEST(other_answers_do_not_count)
{
    script s;
    qw_store st;
    qw_barrier b;

    two_listeners(&s);
    /* another barrier's, a pid not listed, malformed, and a prefix */
    s.notes[s.nnotes++] = "fedcba9876543210fedcba9876543210:101";
    s.notes[s.nnotes++] = BARRIER_ID ":103";
    s.notes[s.nnotes++] = BARRIER_ID ":101x";
    s.notes[s.nnotes++] = BARRIER_ID "0:101";
    s.notes[s.nnotes++] = BARRIER_ID;
    /* one right answer, given twice */
    s.notes[s.nnotes++] = BARRIER_ID ":102";
    s.notes[s.nnotes++] = BARRIER_ID ":102";
    st = store_of(&s);
    ck_assert_int_eq(qw_revocation_barrier(&st, 300, &b), QW_OK);
    ck_assert_int_eq(b.acked, 1);
    ck_assert_int_eq(b.expired, 0);
    ck_assert_int_eq(b.confirmed, 0);
    ck_assert_str_eq(b.pending, "web1:2001");
    ck_assert_int_ge(b.elapsed_ms, 290);
    ck_assert_int_lt(b.elapsed_ms, 1000);
}
END_TEST

START_TEST(silent_listener_expires)
{
    script s;
    qw_store st;
    qw_barrier b;

    two_listeners(&s);
    s.notes[s.nnotes++] = BARRIER_ID ":101";
    st = store_of(&s);
    ck_assert_int_eq(qw_revocation_barrier(&st, 5000, &b), QW_OK);
    ck_assert_int_eq(b.acked, 1);
    ck_assert_int_eq(b.expired, 1);
    ck_assert_int_eq(b.confirmed, 1);
    ck_assert_str_eq(b.pending, "web2:2002");
    /* no earlier than the heartbeat bound, and no later than needed */
    ck_assert_int_ge(b.elapsed_ms, QW_CACHE_HEALTHY_WITHIN_MS
                                   + QW_BARRIER_SLACK_MS);
    ck_assert_int_lt(b.elapsed_ms, QW_CACHE_HEALTHY_WITHIN_MS
                                   + QW_BARRIER_SLACK_MS + 500);
}
END_TEST

START_TEST(no_listener)
{
    script s;
    qw_store st;
    qw_barrier b;

    memset(&s, 0, sizeof(s));
    st = store_of(&s);
    ck_assert_int_eq(qw_revocation_barrier(&st, 2000, &b), QW_OK);
    ck_assert_int_eq(b.listeners, 0);
    ck_assert_int_eq(b.confirmed, 1);
    ck_assert_int_eq(s.waits, 0);
    ck_assert_int_eq(s.unpinned, 1);
}
END_TEST

START_TEST(failures)
{
    script s;
    qw_store st;
    qw_barrier b;

    two_listeners(&s);
    s.fail_pin = 1;
    st = store_of(&s);
    ck_assert_int_eq(qw_revocation_barrier(&st, 2000, &b), QW_ERR_DB);
    ck_assert_int_eq(b.confirmed, 0);
    ck_assert_ptr_nonnull(strstr(st.err, "scripted failure"));

    /* lost twice: once is retried on a fresh connection, twice is not */
    two_listeners(&s);
    s.fail_wait = 2;
    st = store_of(&s);
    ck_assert_int_eq(qw_revocation_barrier(&st, 2000, &b), QW_ERR_DB);
    ck_assert_int_eq(b.confirmed, 0);
    ck_assert_int_eq(s.pinned, 2);
    ck_assert_int_eq(s.unpinned, 2);          /* returned all the same */
    ck_assert_ptr_nonnull(strstr(st.err, "cache listeners"));
}
END_TEST

START_TEST(lost_once_is_retried)
{
    script s;
    qw_store st;
    qw_barrier b;

    two_listeners(&s);
    s.fail_wait = 1;
    s.notes[s.nnotes++] = BARRIER_ID ":101";
    s.notes[s.nnotes++] = BARRIER_ID ":102";
    st = store_of(&s);
    ck_assert_int_eq(qw_revocation_barrier(&st, 2000, &b), QW_OK);
    ck_assert_int_eq(b.confirmed, 1);
    ck_assert_int_eq(b.acked, 2);
    ck_assert_int_eq(s.pinned, 2);
    ck_assert_int_eq(s.listened, 2);
}
END_TEST

Suite *suite_barrier(void)
{
    Suite *s = suite_create("barrier");
    TCase *tc = tcase_create("barrier");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, all_answer);
    tcase_add_test(tc, other_answers_do_not_count);
    tcase_add_test(tc, silent_listener_expires);
    tcase_add_test(tc, no_listener);
    tcase_add_test(tc, failures);
    tcase_add_test(tc, lost_once_is_retried);
    suite_add_tcase(s, tc);
    return s;
}

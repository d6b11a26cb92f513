/* shm/wake.c: readers sleep on the futex word; the writer wakes them with
 * one syscall only when some reader said it sleeps. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shm/wake.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_WRITER_FIXTURE("wake")

static void put(void)
{
    uint8_t *p = rc_log_reserve(&w, "t", 1, 1, 0);
    *p = 'x';
    rc_log_commit(&w);
}

static uint64_t syscalls(void) { return atomic_load(&w.hdr->wake_syscalls); }

/* Up to 5 s for a reader thread to say it sleeps (sleepers = 1). */
static void wait_until_a_reader_sleeps(void)
{
    for (int i = 0; i < 5000 && !atomic_load(&w.hdr->sleepers); i++)
        usleep(1000);
    ck_assert_uint_eq(atomic_load(&w.hdr->sleepers), 1);
}

START_TEST(commit_without_sleepers_makes_no_wake_syscall)
{
    for (int i = 0; i < 100; i++)
        put();
    ck_assert_uint_eq(syscalls(), 0);
}
END_TEST

START_TEST(prepare_refuses_to_sleep_when_records_are_waiting)
{
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&w, &rd);
    put();
    uint32_t expect;
    ck_assert_int_eq(rc_wake_prepare(&w, &rd, &expect), -EAGAIN);
}
END_TEST

static atomic_int woke;
static void *sleeper(void *arg)
{
    rc_log_t *r = arg;
    rc_log_reader_t rd;
    rc_log_reader_at_tail(r, &rd);
    for (;;) {
        uint32_t expect;
        if (rc_wake_prepare(r, &rd, &expect) == 0)
            rc_wake_wait(r, expect, 5000);
        rc_log_view_t v;
        if (rc_log_reader_next(r, &rd, &v) == 1) {
            atomic_store(&woke, 1);
            return NULL;
        }
    }
}

START_TEST(sleeping_reader_is_woken_by_one_syscall)
{
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    pthread_t th;
    atomic_store(&woke, 0);
    pthread_create(&th, NULL, sleeper, &r);
    wait_until_a_reader_sleeps();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    put();
    pthread_join(th, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_eq(atomic_load(&woke), 1);
    ck_assert_uint_eq(syscalls(), 1);
    /* woken well before the 5 s timeout: it was the wake, not a poll */
    ck_assert_int_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 1000);
    put(); /* nobody sleeps now: no syscall */
    ck_assert_uint_eq(syscalls(), 1);
    rc_log_close(&r);
}
END_TEST

/* A broker started with another geometry and --recreate_log replaces the
 * region: readers of the old one, asleep or not, learn it at once. */
static _Atomic int retired_seen;

static void *sleep_until_retired(void *arg)
{
    rc_log_t *r = arg;
    rc_log_reader_t rd;
    rc_log_reader_at_tail(r, &rd);
    for (;;) {
        uint32_t expect;
        int rc = rc_wake_prepare(r, &rd, &expect);
        if (rc == -EPIPE) {
            atomic_store(&retired_seen, 1);
            return NULL;
        }
        if (rc == 0 && rc_wake_wait(r, expect, 5000) == -ETIMEDOUT)
            return NULL; /* not woken: the test fails */
    }
}

START_TEST(a_replaced_region_wakes_its_readers_and_says_so)
{
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    pthread_t th;
    atomic_store(&retired_seen, 0);
    pthread_create(&th, NULL, sleep_until_retired, &r);
    wait_until_a_reader_sleeps();
    /* The fixture's writer is gone (its lock with it); the test keeps its
     * mapping to look at the old region. */
    close(w.lock_fd);
    w.lock_fd = 0;
    /* The same geometry is re-attached, never retired. */
    rc_log_t same;
    ck_assert_int_eq(rc_log_open_writer(&same, inst, RC_TEST_GEO(65536), 1), RC_LOG_REATTACHED);
    rc_log_close(&same);
    ck_assert_int_eq(atomic_load(&w.hdr->retired), 0);
    /* Another geometry without --recreate_log is refused and retires nothing. */
    rc_log_t other;
    ck_assert_int_eq(rc_log_open_writer(&other, inst, RC_TEST_GEO(131072), 0), -EEXIST);
    ck_assert_int_eq(atomic_load(&w.hdr->retired), 0);
    /* With it, the old region is retired and its sleeping reader woken. */
    ck_assert_int_eq(rc_log_open_writer(&other, inst, RC_TEST_GEO(131072), 1), RC_LOG_CREATED);
    pthread_join(th, NULL);
    ck_assert_int_eq(atomic_load(&retired_seen), 1);
    ck_assert_int_eq(atomic_load(&other.hdr->retired), 0); /* the new one is live */
    rc_log_close(&other);
    rc_log_close(&r);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("wake", &tc, setup, teardown);
    tcase_add_test(tc, commit_without_sleepers_makes_no_wake_syscall);
    tcase_add_test(tc, prepare_refuses_to_sleep_when_records_are_waiting);
    tcase_add_test(tc, sleeping_reader_is_woken_by_one_syscall);
    tcase_add_test(tc, a_replaced_region_wakes_its_readers_and_says_so);
    return rc_test_run(s);
}

/* shm/futex.c: waiting on a word and waking its waiters. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/clock.h"
#include "shm/futex.h"
#include "tests/unit/unit.h"

static _Atomic uint32_t word;
static _Atomic int woke;

static void *waiter(void *arg)
{
    (void)arg;
    while (atomic_load(&word) == 0)
        rc_futex_wait(&word, 0, -1);
    atomic_store(&woke, 1);
    return NULL;
}

START_TEST(a_wait_on_a_changed_word_returns_at_once)
{
    atomic_store(&word, 5);
    uint64_t t0 = rc_clock_mono_ms();
    ck_assert_int_eq(rc_futex_wait(&word, 4, 5000), 0);
    ck_assert_uint_lt(rc_clock_mono_ms() - t0, 1000);
}
END_TEST

START_TEST(a_wait_times_out_after_its_timeout)
{
    atomic_store(&word, 0);
    uint64_t t0 = rc_clock_mono_ms();
    ck_assert_int_eq(rc_futex_wait(&word, 0, 30), -ETIMEDOUT);
    ck_assert_uint_ge(rc_clock_mono_ms() - t0, 25);
}
END_TEST

START_TEST(wake_all_wakes_a_blocked_waiter)
{
    atomic_store(&word, 0);
    atomic_store(&woke, 0);
    pthread_t th;
    pthread_create(&th, NULL, waiter, NULL);
    struct timespec nap = rc_clock_timespec_ms(20);
    nanosleep(&nap, NULL);
    ck_assert_int_eq(atomic_load(&woke), 0);
    atomic_store(&word, 1);
    rc_futex_wake_all(&word);
    pthread_join(th, NULL); /* a lost wake-up hangs here: the test's timeout fails it */
    ck_assert_int_eq(atomic_load(&woke), 1);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("futex", &tc, NULL, NULL);
    tcase_add_test(tc, a_wait_on_a_changed_word_returns_at_once);
    tcase_add_test(tc, a_wait_times_out_after_its_timeout);
    tcase_add_test(tc, wake_all_wakes_a_blocked_waiter);
    return rc_test_run(s);
}

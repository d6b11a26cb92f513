/* edge/log_watch.c: the futex-to-eventfd bridge of the epoll backend. */
#include <check.h>
#include <poll.h>
#include <stdatomic.h>

#include "edge/log_watch.h"
#include "shm/futex.h"
#include "tests/unit/unit.h"

static int readable(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 1;
}

START_TEST(an_armed_watch_fires_once_the_word_moves_and_not_before)
{
    static _Atomic uint32_t word;
    rc_log_watch_t w;
    ck_assert_int_eq(rc_log_watch_start(&w, &word), 0);
    for (uint32_t round = 0; round < 200; round++) {
        rc_log_watch_arm(&w, round);
        if (round % 50 == 0) /* now and then, check it really waits */
            ck_assert_int_eq(readable(w.efd, 20), 0);
        atomic_store(&word, round + 1);
        rc_futex_wake_all(&word);
        ck_assert_msg(readable(w.efd, 5000), "round %u: no wake-up", round);
        ck_assert_int_eq(rc_log_watch_consume(&w), 1);
        ck_assert_int_eq(rc_log_watch_consume(&w), 0);
    }
    rc_log_watch_stop(&w);
}
END_TEST

START_TEST(a_word_that_moved_before_the_arm_fires_at_once)
{
    static _Atomic uint32_t word = 7;
    rc_log_watch_t w;
    ck_assert_int_eq(rc_log_watch_start(&w, &word), 0);
    rc_log_watch_arm(&w, 6); /* the loop read 6; the writer moved on since */
    ck_assert(readable(w.efd, 5000));
    rc_log_watch_stop(&w);
}
END_TEST

START_TEST(stop_ends_a_watcher_asleep_on_the_word)
{
    static _Atomic uint32_t word;
    rc_log_watch_t w;
    ck_assert_int_eq(rc_log_watch_start(&w, &word), 0);
    rc_log_watch_arm(&w, 0);
    ck_assert_int_eq(readable(w.efd, 20), 0);
    rc_log_watch_stop(&w); /* hangs if the watcher cannot be stopped: the timeout fails it */
    ck_assert_int_eq(w.efd, -1);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("log_watch", &tc, NULL, NULL);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, an_armed_watch_fires_once_the_word_moves_and_not_before);
    tcase_add_test(tc, a_word_that_moved_before_the_arm_fires_at_once);
    tcase_add_test(tc, stop_ends_a_watcher_asleep_on_the_word);
    return rc_test_run(s);
}

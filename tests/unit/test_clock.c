/* common/clock.h: the wall clock and the monotonic clock. */
#include <check.h>
#include <time.h>

#include "common/clock.h"
#include "tests/unit/unit.h"

START_TEST(wall_clock_is_epoch_time_and_monotonic_is_not)
{
    uint64_t wall = rc_clock_wall_ns(), mono = rc_clock_mono_ns();
    uint64_t now_s = (uint64_t)time(NULL);
    ck_assert_uint_le(wall / 1000000000ull, now_s + 1);
    ck_assert_uint_ge(wall / 1000000000ull + 1, now_s);
    ck_assert_uint_lt(mono, wall); /* since boot, not since 1970 */
}
END_TEST

START_TEST(monotonic_readings_never_go_back_and_agree_in_their_units)
{
    uint64_t a = rc_clock_mono_ns(), ms = rc_clock_mono_ms(), b = rc_clock_mono_ns();
    ck_assert_uint_le(a, b);
    ck_assert_uint_le(a / 1000000u, ms);
    ck_assert_uint_le(ms, b / 1000000u);
    /* the coarse clock lags the fine one by at most a few ticks */
    uint64_t coarse = rc_clock_mono_coarse_ns();
    ck_assert_uint_lt(b > coarse ? b - coarse : coarse - b, 100000000ull);
    ck_assert_uint_le(rc_clock_mono_s(), rc_clock_mono_ns() / 1000000000ull + 1);
}
END_TEST

START_TEST(timespec_of_ms_splits_seconds_and_nanoseconds)
{
    struct timespec ts = rc_clock_timespec_ms(2500);
    ck_assert_int_eq(ts.tv_sec, 2);
    ck_assert_int_eq(ts.tv_nsec, 500000000L);
    ts = rc_clock_timespec_ms(0);
    ck_assert_int_eq(ts.tv_sec, 0);
    ck_assert_int_eq(ts.tv_nsec, 0);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("clock", &tc, NULL, NULL);
    tcase_add_test(tc, wall_clock_is_epoch_time_and_monotonic_is_not);
    tcase_add_test(tc, monotonic_readings_never_go_back_and_agree_in_their_units);
    tcase_add_test(tc, timespec_of_ms_splits_seconds_and_nanoseconds);
    return rc_test_run(s);
}

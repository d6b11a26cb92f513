/* common/textlog.c: log lines and the rate limiter of lines that could
 * flood. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/textlog.h"
#include "tests/unit/unit.h"

START_TEST(the_first_line_passes_and_the_rest_of_the_interval_is_counted)
{
    rc_textlog_limit_t lim = {0};
    ck_assert_int_eq(rc_textlog_allow(&lim, 10), 1);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rc_textlog_allow(&lim, 10), 0);
    ck_assert_uint_eq(lim.suppressed, 5);
}
END_TEST

START_TEST(a_line_passes_again_once_the_interval_is_over)
{
    rc_textlog_limit_t lim = {0};
    ck_assert_int_eq(rc_textlog_allow(&lim, 1), 1);
    ck_assert_int_eq(rc_textlog_allow(&lim, 1), 0);
    lim.last_ms -= 1000; /* as if a second went by */
    ck_assert_int_eq(rc_textlog_allow(&lim, 1), 1);
}
END_TEST

START_TEST(a_line_is_key_value_with_time_level_process_and_pid)
{
    char path[] = "/tmp/rc-unit-textlog-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    int saved = dup(STDERR_FILENO);
    dup2(fd, STDERR_FILENO);
    rc_textlog_set_component("unit");
    rc_textlog("warn", "msg=\"hello\" n=%d", 42);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char line[512] = {0};
    ck_assert_int_gt(pread(fd, line, sizeof(line) - 1, 0), 0);
    close(fd);
    char want[64];
    snprintf(want, sizeof(want), " level=warn proc=unit pid=%d msg=\"hello\" n=42\n", (int)getpid());
    ck_assert_msg(strncmp(line, "ts=", 3) == 0 && strstr(line, want), "line: %s", line);
    ck_assert_ptr_eq(strchr(line, '\n'), line + strlen(line) - 1); /* one line */
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("textlog", &tc, NULL, NULL);
    tcase_add_test(tc, the_first_line_passes_and_the_rest_of_the_interval_is_counted);
    tcase_add_test(tc, a_line_passes_again_once_the_interval_is_over);
    tcase_add_test(tc, a_line_is_key_value_with_time_level_process_and_pid);
    return rc_test_run(s);
}

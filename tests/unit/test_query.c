/* proto/query.c: query parameters and percent-decoding. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/query.h"
#include "tests/unit/unit.h"

START_TEST(query_get_finds_and_decodes_values)
{
    rc_slice_t q = RC_SLICE_LIT("token=a%20b+c&vsn=2.0.0&nested%5Ba%5D=1&flag&empty=&x=%e2%82%ac");
    char out[64];

    ck_assert_int_eq(rc_query_get(q, "token", out, sizeof(out)), 5);
    ck_assert_str_eq(out, "a b c");
    ck_assert_int_eq(rc_query_get(q, "vsn", out, sizeof(out)), 5);
    ck_assert_str_eq(out, "2.0.0");
    ck_assert_int_eq(rc_query_get(q, "nested[a]", out, sizeof(out)), 1);
    ck_assert_str_eq(out, "1");
    ck_assert_int_eq(rc_query_get(q, "flag", out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(rc_query_get(q, "empty", out, sizeof(out)), 0);
    ck_assert_int_eq(rc_query_get(q, "x", out, sizeof(out)), 3);
    ck_assert_str_eq(out, "\xE2\x82\xAC");
}
END_TEST

START_TEST(query_get_reports_absent_too_long_and_bad_escape)
{
    char out[8];
    ck_assert_int_eq(rc_query_get(RC_SLICE_NULL, "vsn", out, sizeof(out)), -ENOENT);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT(""), "vsn", out, sizeof(out)), -ENOENT);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vs=1&vsnx=2"), "vsn", out, sizeof(out)), -ENOENT);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=1234567"), "vsn", out, sizeof(out)), 7);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=12345678"), "vsn", out, sizeof(out)), -ENOSPC);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=1"), "vsn", out, 0), -ENOSPC);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=%2"), "vsn", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=%zz"), "vsn", out, sizeof(out)), -EINVAL);
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=a%00b"), "vsn", out, sizeof(out)), -EINVAL);
    /* A bad escape elsewhere does not hide a good parameter. */
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("a=%zz&vsn=2"), "vsn", out, sizeof(out)), 1);
}
END_TEST

START_TEST(query_get_last_occurrence_wins)
{
    char out[8];
    ck_assert_int_eq(rc_query_get(RC_SLICE_LIT("vsn=1.0.0&vsn=2.0.0"), "vsn", out, sizeof(out)), 5);
    ck_assert_str_eq(out, "2.0.0");
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("query", &tc, NULL, NULL);
    tcase_add_test(tc, query_get_finds_and_decodes_values);
    tcase_add_test(tc, query_get_reports_absent_too_long_and_bad_escape);
    tcase_add_test(tc, query_get_last_occurrence_wins);
    return rc_test_run(s);
}

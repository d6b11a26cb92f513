/* What every unit test shares: building and running its suite. The shm/
 * suites add tests/unit/shm_fixture.h. */
#ifndef RC_TESTS_UNIT_H
#define RC_TESTS_UNIT_H

#include <check.h>

/* A suite of one test case named like the suite, with fixture setup and
 * teardown (either may be NULL); add its tests to *tc. */
static inline Suite *rc_test_suite(const char *name, TCase **tc, void (*setup)(void), void (*teardown)(void))
{
    Suite *s = suite_create(name);
    *tc = tcase_create(name);
    if (setup || teardown)
        tcase_add_checked_fixture(*tc, setup, teardown);
    suite_add_tcase(s, *tc);
    return s;
}

/* Runs every test of s; the exit status of main. */
static inline int rc_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

#endif

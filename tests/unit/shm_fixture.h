/* What the shm/ unit tests share: a region name of their own, a small
 * geometry, and appending a record in one call. */
#ifndef RC_TESTS_SHM_FIXTURE_H
#define RC_TESTS_SHM_FIXTURE_H

#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shm/log.h"

/* A small geometry: a data ring of cap bytes, the smallest index and
 * upstream rings. */
#define RC_TEST_GEO(cap) (&(rc_log_geometry_t){(cap), 1024, 4096})

/* A region name no other test (or test process) uses:
 * unit-<suite>-<pid>-<n>. scripts/run-tests.sh removes those whose process
 * is gone, for a test that failed before its teardown. */
static inline void rc_test_instance(char *out, size_t cap, const char *suite)
{
    static int n;
    snprintf(out, cap, "unit-%s-%d-%d", suite, (int)getpid(), n++);
}

/* A region name of its own for every test of a suite, removed after it:
 * defines inst, setup and teardown. */
#define RC_TEST_REGION_FIXTURE(suite)                                          \
    static char inst[64];                                                      \
    static void setup(void) { rc_test_instance(inst, sizeof(inst), suite); }   \
    static void teardown(void) { rc_log_unlink(inst); }

/* A writer on a fresh region for every test of a suite: defines inst, w,
 * setup and teardown (a Check fixture: rc_test_suite(name, &tc, setup,
 * teardown)). */
#define RC_TEST_WRITER_FIXTURE(suite)                                                          \
    static char inst[64];                                                                      \
    static rc_log_t w;                                                                         \
    static void setup(void)                                                                    \
    {                                                                                          \
        rc_test_instance(inst, sizeof(inst), suite);                                           \
        ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED); \
    }                                                                                          \
    static void teardown(void)                                                                 \
    {                                                                                          \
        rc_log_close(&w);                                                                      \
        rc_log_unlink(inst);                                                                   \
    }

/* Appends one record of topic with frame (a C string) and wakes readers;
 * returns its seq. */
static inline uint64_t rc_test_put(rc_log_t *log, const char *topic, const char *frame)
{
    uint8_t *p = rc_log_reserve(log, topic, (uint16_t)strlen(topic), (uint32_t)strlen(frame), 0);
    ck_assert_ptr_nonnull(p);
    memcpy(p, frame, strlen(frame));
    return rc_log_commit(log);
}

#endif

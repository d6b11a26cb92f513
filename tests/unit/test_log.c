/* shm/log_writer.c, shm/log_reader.c: appending and reading records. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm/log.h"
#include "shm/topic_index.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_REGION_FIXTURE("log")

START_TEST(records_are_read_in_order_with_their_topic_and_frame)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    ck_assert_uint_eq(rc_test_put(&w, "room:a", "frame-1"), 1);
    ck_assert_uint_eq(rc_test_put(&w, "room:b", "frame-two"), 2);
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, 1);
    ck_assert_int_eq(v.topic_len, 6);
    ck_assert_mem_eq(v.topic, "room:a", 6);
    ck_assert_uint_eq(v.frame_len, 7);
    ck_assert_mem_eq(v.frame, "frame-1", 7);
    ck_assert_uint_eq(v.topic_hash, rc_topic_hash(r.hdr->topic_key, "room:a", 6));
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, 2);
    ck_assert_mem_eq(v.frame, "frame-two", 9);
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 0);
    ck_assert(rc_log_intact(&r, v.pos, v.len));
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(wrapping_reader_that_keeps_up_sees_every_seq)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    char frame[3000];
    uint64_t expect = 1;
    for (int i = 0; i < 2000; i++) {
        size_t n = 1 + (size_t)(i * 7919) % sizeof(frame);
        memset(frame, 'a' + i % 26, n);
        uint8_t *p = rc_log_reserve(&w, "t", 1, (uint32_t)n, 0);
        memcpy(p, frame, n);
        rc_log_commit(&w);
        rc_log_view_t v;
        ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
        ck_assert_uint_eq(v.seq, expect++);
        ck_assert_uint_eq(v.frame_len, n);
        ck_assert_int_eq(v.frame[0], 'a' + i % 26);
        ck_assert_int_eq(v.frame[n - 1], 'a' + i % 26);
        ck_assert_uint_eq((uintptr_t)(v.frame - 40 - 1) % 8, 0); /* record header 8-aligned */
    }
    ck_assert_uint_eq(rd.lost, 0);
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(lapped_reader_detects_it_and_counts_what_it_lost)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    char frame[1000];
    memset(frame, 'x', sizeof(frame));
    frame[sizeof(frame) - 1] = 0;
    rc_test_put(&w, "t", "first");
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    uint64_t held_pos = v.pos;
    uint32_t held_len = v.len;
    /* 200 KB through a 64 KB ring: the reader is lapped. */
    for (int i = 0; i < 200; i++)
        rc_test_put(&w, "t", frame);
    ck_assert(!rc_log_intact(&r, held_pos, held_len)); /* the post-send check fails */
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), -ESTALE);
    ck_assert_uint_eq(rd.lapped, 1);
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 0); /* jumped to the tail */
    uint64_t s = rc_test_put(&w, "t", "after");
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, s);
    ck_assert_uint_eq(rd.lost, 200); /* seqs 2..201 were never seen */
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(oversize_frame_is_refused)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_ptr_null(rc_log_reserve(&w, "t", 1, (uint32_t)rc_log_max_frame(&w) + 1, 0));
    ck_assert_ptr_nonnull(rc_log_reserve(&w, "t", 1, (uint32_t)rc_log_max_frame(&w), 0));
    rc_log_close(&w);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("log", &tc, setup, teardown);
    tcase_add_test(tc, records_are_read_in_order_with_their_topic_and_frame);
    tcase_add_test(tc, wrapping_reader_that_keeps_up_sees_every_seq);
    tcase_add_test(tc, lapped_reader_detects_it_and_counts_what_it_lost);
    tcase_add_test(tc, oversize_frame_is_refused);
    return rc_test_run(s);
}

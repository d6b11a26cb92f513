/* shm/region.c, shm/log_writer.c, shm/log_reader.c: the event log. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GEO(cap) (&(rc_log_geometry_t){(cap), 1024, 4096})
#include "shm/log.h"

static char inst[64];

static void setup(void)
{
    static int n;
    snprintf(inst, sizeof(inst), "unit-log-%d-%d", (int)getpid(), n++);
}

static void teardown(void) { rc_log_unlink(inst); }

static uint64_t put(rc_log_t *log, const char *topic, const char *frame)
{
    uint8_t *p = rc_log_reserve(log, topic, (uint16_t)strlen(topic), (uint32_t)strlen(frame), 0);
    ck_assert_ptr_nonnull(p);
    memcpy(p, frame, strlen(frame));
    return rc_log_commit(log);
}

START_TEST(records_are_read_in_order_with_their_topic_and_frame)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    ck_assert_uint_eq(put(&w, "room:a", "frame-1"), 1);
    ck_assert_uint_eq(put(&w, "room:b", "frame-two"), 2);
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, 1);
    ck_assert_int_eq(v.topic_len, 6);
    ck_assert_mem_eq(v.topic, "room:a", 6);
    ck_assert_uint_eq(v.frame_len, 7);
    ck_assert_mem_eq(v.frame, "frame-1", 7);
    ck_assert_uint_eq(v.topic_hash, rc_topic_hash("room:a", 6));
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, 2);
    ck_assert_mem_eq(v.frame, "frame-two", 9);
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 0);
    ck_assert(rc_log_intact(&r, v.pos, v.len));
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(region_is_created_mode_0600)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/ringcast-%s", inst);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    rc_log_close(&w);
}
END_TEST

START_TEST(wrapping_reader_that_keeps_up_sees_every_seq)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
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
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    char frame[1000];
    memset(frame, 'x', sizeof(frame));
    frame[sizeof(frame) - 1] = 0;
    put(&w, "t", "first");
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    uint64_t held_pos = v.pos;
    uint32_t held_len = v.len;
    /* 200 KB through a 64 KB ring: the reader is lapped. */
    for (int i = 0; i < 200; i++)
        put(&w, "t", frame);
    ck_assert(!rc_log_intact(&r, held_pos, held_len)); /* the post-send check fails */
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), -ESTALE);
    ck_assert_uint_eq(rd.lapped, 1);
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 0); /* jumped to the tail */
    uint64_t s = put(&w, "t", "after");
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, s);
    ck_assert_uint_eq(rd.lost, 200); /* seqs 2..201 were never seen */
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(restarted_writer_reattaches_and_continues_the_sequence)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    uint64_t epoch = w.hdr->epoch;
    put(&w, "t", "a");
    put(&w, "t", "b");
    /* A half-written record (reserved, never committed) is discarded. */
    rc_log_reserve(&w, "t", 1, 10, 0);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_reader_t rd;
    rc_log_reader_at_tail(&r, &rd);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(w.hdr->epoch, epoch);
    ck_assert_uint_eq(put(&w, "t", "c"), 3);
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_reader_next(&r, &rd, &v), 1);
    ck_assert_uint_eq(v.seq, 3);
    ck_assert_mem_eq(v.frame, "c", 1);
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(mismatched_region_is_refused_unless_recreate)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(131072), 0), -EEXIST);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(131072), 1), RC_LOG_CREATED);
    ck_assert_uint_eq(w.cap, 131072);
    rc_log_close(&w);
    /* garbage in the region: refused, never reused */
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/ringcast-%s", inst);
    FILE *f = fopen(path, "r+");
    ck_assert_ptr_nonnull(f);
    fputs("garbage!", f);
    fclose(f);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(131072), 0), -EEXIST);
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), -EPROTO);
}
END_TEST

START_TEST(reader_of_missing_region_gets_enoent)
{
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), -ENOENT);
}
END_TEST

START_TEST(oversize_frame_is_refused)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_ptr_null(rc_log_reserve(&w, "t", 1, (uint32_t)rc_log_max_frame(&w) + 1, 0));
    ck_assert_ptr_nonnull(rc_log_reserve(&w, "t", 1, (uint32_t)rc_log_max_frame(&w), 0));
    rc_log_close(&w);
}
END_TEST

START_TEST(bad_instance_names_are_refused)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, "a/b", GEO(65536), 0), -EINVAL);
    ck_assert_int_eq(rc_log_open_writer(&w, "", GEO(65536), 0), -EINVAL);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65537), 0), -EINVAL);
}
END_TEST

START_TEST(topic_index_finds_the_latest_record_and_prev_links_chain_back)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_topic_head(&r, "room:a", 6, &v), 0);
    put(&w, "room:a", "a1");
    put(&w, "room:b", "b1");
    put(&w, "room:a", "a2");
    uint64_t s3 = put(&w, "room:a", "a3");
    ck_assert_int_eq(rc_log_topic_head(&r, "room:a", 6, &v), 1);
    ck_assert_uint_eq(v.seq, s3);
    ck_assert_mem_eq(v.frame, "a3", 2);
    /* walk back: a3 -> a2 -> a1 -> none */
    ck_assert_int_eq(rc_log_read_at(&r, v.prev_pos, &v), 1);
    ck_assert_mem_eq(v.frame, "a2", 2);
    ck_assert_int_eq(rc_log_read_at(&r, v.prev_pos, &v), 1);
    ck_assert_mem_eq(v.frame, "a1", 2);
    ck_assert_uint_eq(v.prev_pos, UINT64_MAX);
    ck_assert_int_eq(rc_log_read_at(&r, v.prev_pos, &v), 0);
    ck_assert_int_eq(rc_log_topic_head(&r, "room:b", 6, &v), 1);
    ck_assert_mem_eq(v.frame, "b1", 2);
    ck_assert_int_eq(rc_log_topic_head(&r, "room:c", 6, &v), 0);
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(topic_index_forgets_overwritten_records_and_reuses_their_entries)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    char topic[32], frame[512];
    memset(frame, 'f', sizeof(frame) - 1);
    frame[sizeof(frame) - 1] = 0;
    /* 4000 distinct topics through a 1024-entry index and a 64 KB ring */
    for (int i = 0; i < 4000; i++) {
        snprintf(topic, sizeof(topic), "t:%d", i);
        put(&w, topic, frame);
    }
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_topic_head(&r, "t:0", 3, &v), 0); /* long overwritten */
    ck_assert_int_eq(rc_log_topic_head(&r, "t:3999", 6, &v), 1);
    ck_assert_mem_eq(v.topic, "t:3999", 6);
    ck_assert_uint_lt(atomic_load(&w.hdr->index_full), 4000);
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(writer_killed_between_commit_stores_resumes_without_gap_or_repeat)
{
    rc_log_t w;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
    put(&w, "t", "a");
    put(&w, "t", "b");
    /* died after publishing tail but before storing next_seq */
    atomic_store(&w.hdr->next_seq, 2);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(rc_log_next_seq(&w), 3);
    /* died after storing last_pos for seq 3 but before publishing tail */
    rc_log_reserve(&w, "t", 1, 1, 0);
    atomic_store(&w.hdr->last_pos, w.res_pos);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(rc_log_next_seq(&w), 3);
    ck_assert_uint_eq(put(&w, "t", "c"), 3);
    rc_log_close(&w);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("log");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, records_are_read_in_order_with_their_topic_and_frame);
    tcase_add_test(tc, region_is_created_mode_0600);
    tcase_add_test(tc, wrapping_reader_that_keeps_up_sees_every_seq);
    tcase_add_test(tc, lapped_reader_detects_it_and_counts_what_it_lost);
    tcase_add_test(tc, restarted_writer_reattaches_and_continues_the_sequence);
    tcase_add_test(tc, mismatched_region_is_refused_unless_recreate);
    tcase_add_test(tc, reader_of_missing_region_gets_enoent);
    tcase_add_test(tc, oversize_frame_is_refused);
    tcase_add_test(tc, bad_instance_names_are_refused);
    tcase_add_test(tc, topic_index_finds_the_latest_record_and_prev_links_chain_back);
    tcase_add_test(tc, topic_index_forgets_overwritten_records_and_reuses_their_entries);
    tcase_add_test(tc, writer_killed_between_commit_stores_resumes_without_gap_or_repeat);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

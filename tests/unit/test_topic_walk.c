/* shm/topic_walk.c and the positions the writer assigns: offsets per
 * topic, epochs per run, skip pointers, the index that never fills. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <stdatomic.h>

#include "shm/log.h"
#include "shm/topic_index.h"
#include "shm/topic_walk.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_WRITER_FIXTURE("topic_walk")

static uint64_t put(const char *topic, const char *frame, rc_topic_pos_t *pos)
{
    rc_topic_pos_t next = rc_log_next_position(&w, topic, (uint16_t)strlen(topic));
    uint64_t seq = rc_test_put(&w, topic, frame);
    rc_topic_pos_t got = rc_log_reserved_position(&w);
    ck_assert_uint_eq(next.epoch, got.epoch);
    ck_assert_uint_eq(next.offset, got.offset);
    if (pos)
        *pos = got;
    return seq;
}

static void state(const char *topic, uint64_t limit, rc_topic_state_t *st)
{
    rc_topic_state(&w, topic, (uint16_t)strlen(topic), limit, st);
}

START_TEST(offsets_count_per_topic_in_one_epoch_per_run)
{
    rc_topic_state_t st;
    state("a", UINT64_MAX, &st);
    ck_assert_uint_eq(st.offset, 0);
    uint64_t predicted = st.epoch; /* a topic with no entry names its first run's epoch */
    ck_assert_uint_ne(predicted, 0);
    rc_topic_pos_t p;
    for (int i = 1; i <= 5; i++) {
        put("a", "x", &p);
        ck_assert_uint_eq(p.offset, (uint64_t)i);
        ck_assert_uint_eq(p.epoch, predicted);
        put("b", "y", NULL);
    }
    rc_topic_pos_t pb;
    put("b", "y", &pb);
    ck_assert_uint_eq(pb.offset, 6);
    ck_assert_uint_ne(pb.epoch, p.epoch);
    state("a", UINT64_MAX, &st);
    ck_assert_uint_eq(st.epoch, predicted);
    ck_assert_uint_eq(st.offset, 5);
    ck_assert_uint_eq(st.oldest, 1);
    ck_assert_int_eq(st.have_head, 1);
    ck_assert_uint_eq(st.head.offset, 5);
    /* a reader whose cursor has not reached a's last record counts it as
     * still to come: the position is the one before */
    state("a", st.head.pos, &st);
    ck_assert_uint_eq(st.offset, 4);
}
END_TEST

START_TEST(seek_reaches_every_offset_in_few_steps_and_checks_each)
{
    enum { N = 3000 };
    char frame[8];
    for (int i = 1; i <= N; i++) {
        snprintf(frame, sizeof(frame), "%d", i);
        put("deep", frame, NULL);
        if (i % 7 == 0)
            put("other", "o", NULL);
    }
    rc_topic_state_t st;
    state("deep", UINT64_MAX, &st);
    ck_assert_int_eq(st.have_head, 1);
    ck_assert_uint_eq(st.offset, N);
    /* the ring (64 KiB) holds only the newest part of the run */
    ck_assert_uint_gt(st.oldest, 1);
    rc_log_view_t v, p;
    for (uint64_t t = st.oldest; t <= N; t++) {
        ck_assert_int_eq(rc_topic_seek(&w, "deep", 4, &st.head, t, &v), 1);
        ck_assert_uint_eq(v.offset, t);
        snprintf(frame, sizeof(frame), "%d", (int)t);
        ck_assert_uint_eq(v.frame_len, strlen(frame));
        ck_assert_mem_eq(v.frame, frame, strlen(frame));
    }
    ck_assert_int_eq(rc_topic_seek(&w, "deep", 4, &st.head, st.oldest - 1, &v), 0);
    ck_assert_int_eq(rc_topic_seek(&w, "deep", 4, &st.head, 0, &v), 0);
    /* prev walks one by one; another topic's name is refused */
    ck_assert_int_eq(rc_topic_prev(&w, "deep", 4, &st.head, &p), 1);
    ck_assert_uint_eq(p.offset, N - 1);
    ck_assert_int_eq(rc_topic_prev(&w, "deeq", 4, &st.head, &p), 0);
    ck_assert_int_eq(rc_topic_seek(&w, "deeq", 4, &st.head, N - 100, &v), 0);
}
END_TEST

/* The skip pointers make a seek O(log n): count the steps of the writer's
 * chain the same way the walk takes them. */
START_TEST(skip_pointers_are_logarithmic)
{
    rc_log_t big;
    char name[64];
    rc_test_instance(name, sizeof(name), "topic_walk_big");
    ck_assert_int_eq(rc_log_open_writer(&big, name, RC_TEST_GEO(1u << 24), 0), RC_LOG_CREATED);
    enum { N = 100000 };
    for (int i = 0; i < N; i++)
        rc_test_put(&big, "t", "e");
    rc_topic_state_t st;
    rc_topic_state(&big, "t", 1, UINT64_MAX, &st);
    ck_assert_uint_eq(st.oldest, 1);
    unsigned worst = 0;
    for (uint64_t t = 1; t <= N; t += 997) {
        rc_log_view_t x = st.head, y;
        unsigned steps = 0;
        while (x.offset > t) {
            if (x.jump_pos != UINT64_MAX && x.jump_offset >= t)
                ck_assert_int_eq(rc_log_read_at(&big, x.jump_pos, &y), 1);
            else
                ck_assert_int_eq(rc_log_read_at(&big, x.prev_pos, &y), 1);
            x = y;
            steps++;
        }
        ck_assert_uint_eq(x.offset, t);
        if (steps > worst)
            worst = steps;
    }
    ck_assert_uint_le(worst, 3 * 17); /* 3 log2(N) */
    rc_log_close(&big);
    rc_log_unlink(name);
}
END_TEST

START_TEST(a_topic_idle_for_a_whole_ring_continues_its_offsets)
{
    rc_topic_pos_t p, q;
    put("quiet", "1", &p);
    char frame[1024];
    memset(frame, 'f', sizeof(frame) - 1);
    frame[sizeof(frame) - 1] = 0;
    for (int i = 0; i < 200; i++) /* 200 KiB through a 64 KiB ring */
        put("loud", frame, NULL);
    rc_topic_state_t st;
    state("quiet", UINT64_MAX, &st);
    ck_assert_uint_eq(st.epoch, p.epoch);
    ck_assert_uint_eq(st.offset, 1);
    ck_assert_uint_eq(st.oldest, 0); /* nothing of it is held */
    ck_assert_int_eq(st.have_head, 0);
    put("quiet", "2", &q);
    ck_assert_uint_eq(q.epoch, p.epoch);
    ck_assert_uint_eq(q.offset, 2);
    state("quiet", UINT64_MAX, &st);
    ck_assert_uint_eq(st.oldest, 2);
}
END_TEST

START_TEST(a_full_probe_window_evicts_the_oldest_and_its_topic_gets_a_new_epoch)
{
    /* 1024 entries; far more live topics than fit, in a ring big enough to
     * keep them all: entries must be evicted, never "full" */
    rc_log_t big;
    char name[64];
    rc_test_instance(name, sizeof(name), "topic_walk_evict");
    ck_assert_int_eq(rc_log_open_writer(&big, name, RC_TEST_GEO(1u << 22), 0), RC_LOG_CREATED);
    rc_topic_pos_t first;
    uint8_t *f = rc_log_reserve(&big, "t:0", 3, 1, 0);
    *f = 'x';
    rc_log_commit(&big);
    first = rc_log_reserved_position(&big);
    char topic[32];
    for (int i = 1; i < 20000; i++) {
        snprintf(topic, sizeof(topic), "t:%d", i);
        rc_test_put(&big, topic, "x");
    }
    ck_assert_uint_gt(atomic_load(&big.hdr->index_evictions), 0);
    rc_topic_state_t st;
    rc_topic_state(&big, "t:0", 3, UINT64_MAX, &st);
    if (st.epoch == first.epoch) {
        /* t:0 kept its entry (its window had room): not what this checks */
        ck_abort_msg("t:0 was not evicted");
    }
    rc_test_put(&big, "t:0", "y");
    rc_topic_pos_t again = rc_log_reserved_position(&big);
    ck_assert_uint_ne(again.epoch, first.epoch);
    ck_assert_uint_eq(again.offset, 1);
    ck_assert_uint_eq(again.epoch, st.epoch); /* the epoch a reader named before */
    rc_log_close(&big);
    rc_log_unlink(name);
}
END_TEST

START_TEST(explicit_positions_continue_or_start_a_chain)
{
    rc_topic_pos_t at = {42, 7};
    uint8_t *f = rc_log_reserve_at(&w, "c", 1, 1, 0, &at);
    *f = '7';
    rc_log_commit(&w);
    at.offset = 8;
    f = rc_log_reserve_at(&w, "c", 1, 1, 0, &at);
    *f = '8';
    rc_log_commit(&w);
    rc_topic_state_t st;
    state("c", UINT64_MAX, &st);
    ck_assert_uint_eq(st.epoch, 42);
    ck_assert_uint_eq(st.offset, 8);
    ck_assert_uint_eq(st.oldest, 7);
    at.offset = 10; /* a gap: 9 is not held here */
    f = rc_log_reserve_at(&w, "c", 1, 1, 0, &at);
    *f = 'a';
    rc_log_commit(&w);
    state("c", UINT64_MAX, &st);
    ck_assert_uint_eq(st.offset, 10);
    ck_assert_uint_eq(st.oldest, 10);
    rc_log_view_t v;
    ck_assert_int_eq(rc_topic_seek(&w, "c", 1, &st.head, 8, &v), 0);
    /* the index continues from the given position */
    rc_topic_pos_t p = rc_log_next_position(&w, "c", 1);
    ck_assert_uint_eq(p.epoch, 42);
    ck_assert_uint_eq(p.offset, 11);
}
END_TEST

START_TEST(a_writer_that_died_between_indexing_and_publishing_leaves_no_hole)
{
    rc_topic_pos_t p;
    put("r", "1", &p);
    /* reserve and index, but die before the tail moves: simulate by
     * indexing the reserved record by hand */
    uint8_t *f = rc_log_reserve(&w, "r", 1, 1, 0);
    *f = '2';
    rc_topic_index_point(&w, w.res_entry, w.res_hash, w.res_kind, w.res_pos, w.res_epoch, w.res_offset);
    rc_log_t again;
    ck_assert_int_eq(rc_log_open_writer(&again, inst, RC_TEST_GEO(65536), 0), -EBUSY);
    rc_log_close(&w);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    rc_topic_state_t st;
    state("r", UINT64_MAX, &st);
    ck_assert_uint_eq(st.offset, 1);
    rc_topic_pos_t q;
    put("r", "2", &q);
    ck_assert_uint_eq(q.epoch, p.epoch);
    ck_assert_uint_eq(q.offset, 2);
    rc_log_view_t v;
    state("r", UINT64_MAX, &st);
    ck_assert_int_eq(rc_topic_prev(&w, "r", 1, &st.head, &v), 1);
    ck_assert_mem_eq(v.frame, "1", 1);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("topic_walk", &tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, offsets_count_per_topic_in_one_epoch_per_run);
    tcase_add_test(tc, seek_reaches_every_offset_in_few_steps_and_checks_each);
    tcase_add_test(tc, skip_pointers_are_logarithmic);
    tcase_add_test(tc, a_topic_idle_for_a_whole_ring_continues_its_offsets);
    tcase_add_test(tc, a_full_probe_window_evicts_the_oldest_and_its_topic_gets_a_new_epoch);
    tcase_add_test(tc, explicit_positions_continue_or_start_a_chain);
    tcase_add_test(tc, a_writer_that_died_between_indexing_and_publishing_leaves_no_hole);
    return rc_test_run(s);
}

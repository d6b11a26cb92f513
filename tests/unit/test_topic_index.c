/* shm/topic_index.c: the topic hash and the shm topic head index. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdatomic.h>

#include "shm/log.h"
#include "shm/topic_index.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_REGION_FIXTURE("topic_index")

START_TEST(topic_index_finds_the_latest_record_and_prev_links_chain_back)
{
    rc_log_t w, r;
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_topic_head(&r, "room:a", 6, &v), 0);
    rc_test_put(&w, "room:a", "a1");
    rc_test_put(&w, "room:b", "b1");
    rc_test_put(&w, "room:a", "a2");
    uint64_t s3 = rc_test_put(&w, "room:a", "a3");
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
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    char topic[32], frame[512];
    memset(frame, 'f', sizeof(frame) - 1);
    frame[sizeof(frame) - 1] = 0;
    /* 4000 distinct topics through a 1024-entry index and a 64 KB ring */
    for (int i = 0; i < 4000; i++) {
        snprintf(topic, sizeof(topic), "t:%d", i);
        rc_test_put(&w, topic, frame);
    }
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_topic_head(&r, "t:0", 3, &v), 0); /* long overwritten */
    ck_assert_int_eq(rc_log_topic_head(&r, "t:3999", 6, &v), 1);
    ck_assert_mem_eq(v.topic, "t:3999", 6);
    /* dead entries were reused; no live one had to go */
    ck_assert_uint_gt(atomic_load(&w.hdr->index_reuses), 0);
    ck_assert_uint_eq(atomic_load(&w.hdr->index_evictions), 0);
    rc_log_close(&r);
    rc_log_close(&w);
}
END_TEST

START_TEST(topic_hash_is_keyed_siphash_and_the_index_key_is_never_zero)
{
    /* SipHash-2-4 reference vectors (Aumasson and Bernstein): key 00..0f,
     * messages "" and 00 */
    uint8_t k[16];
    for (int i = 0; i < 16; i++)
        k[i] = (uint8_t)i;
    ck_assert_uint_eq(rc_topic_hash64(k, "", 0), 0x726fdb47dd0e0e31ull);
    ck_assert_uint_eq(rc_topic_hash64(k, "\0", 1), 0x74f839c593dc67fdull);
    ck_assert_uint_eq(rc_topic_hash(k, "", 0), 0xdd0e0e31u);
    ck_assert_uint_eq(rc_topic_index_key_of(0), 1);
}
END_TEST

/* Each region gets its own random key; records and the index use it. */
START_TEST(each_region_has_its_own_topic_key)
{
    static const uint8_t zero[16];
    rc_log_t w, w2;
    char inst2[80];
    snprintf(inst2, sizeof(inst2), "%s-b", inst);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert_int_eq(rc_log_open_writer(&w2, inst2, RC_TEST_GEO(65536), 0), RC_LOG_CREATED);
    ck_assert(memcmp(w.hdr->topic_key, zero, 16) != 0);
    ck_assert(memcmp(w.hdr->topic_key, w2.hdr->topic_key, 16) != 0);
    ck_assert_uint_eq(rc_topic_index_key(&w, "a", 1), rc_topic_index_key_of(rc_topic_hash64(w.hdr->topic_key, "a", 1)));
    /* the record carries the hash under its region's key */
    rc_log_t r;
    ck_assert_int_eq(rc_log_open_reader(&r, inst), 0);
    rc_test_put(&w, "room:a", "x");
    rc_log_view_t v;
    ck_assert_int_eq(rc_log_topic_head(&r, "room:a", 6, &v), 1);
    ck_assert_uint_eq(v.topic_hash, rc_topic_hash(w.hdr->topic_key, "room:a", 6));
    ck_assert_uint_ne(v.topic_hash, rc_topic_hash(w2.hdr->topic_key, "room:a", 6));
    rc_log_close(&r);
    rc_log_close(&w2);
    rc_log_close(&w);
    rc_log_unlink(inst2);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("topic_index", &tc, setup, teardown);
    tcase_add_test(tc, topic_index_finds_the_latest_record_and_prev_links_chain_back);
    tcase_add_test(tc, topic_index_forgets_overwritten_records_and_reuses_their_entries);
    tcase_add_test(tc, topic_hash_is_keyed_siphash_and_the_index_key_is_never_zero);
    tcase_add_test(tc, each_region_has_its_own_topic_key);
    return rc_test_run(s);
}

/* edge/topics.c: the edge's topic table. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "edge/topics.h"
#include "shm/topic_index.h"
#include "tests/unit/unit.h"

/* Stand-ins for connections: the table only stores the pointer. */
static char conns[1000];

/* A region's topic_key stand-in. */
static const uint8_t key[16] = {7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 99};

START_TEST(subscribe_find_and_unsubscribe_with_swap)
{
    rc_topics_t t;
    rc_topics_init(&t, key);
    uint32_t p0, p1, p2;
    rc_topic_t *a = rc_topics_subscribe(&t, "room:a", 6, (struct rc_conn *)&conns[0], 0, &p0);
    ck_assert_ptr_eq(rc_topics_subscribe(&t, "room:a", 6, (struct rc_conn *)&conns[1], 3, &p1), a);
    ck_assert_ptr_eq(rc_topics_subscribe(&t, "room:a", 6, (struct rc_conn *)&conns[2], 5, &p2), a);
    ck_assert_uint_eq(p2, 2);
    ck_assert_ptr_eq(rc_topics_find(&t, "room:a", 6, rc_topic_hash(key, "room:a", 6)), a);
    ck_assert_ptr_null(rc_topics_find(&t, "room:b", 6, rc_topic_hash(key, "room:b", 6)));
    rc_topic_sub_t moved;
    rc_topics_unsubscribe(&t, a, 0, &moved);
    /* the last subscriber moved into the hole and is reported */
    ck_assert_ptr_eq(moved.conn, (struct rc_conn *)&conns[2]);
    ck_assert_uint_eq(moved.sub_idx, 5);
    ck_assert_ptr_eq(a->subs[0].conn, (struct rc_conn *)&conns[2]);
    rc_topics_unsubscribe(&t, a, 1, &moved);
    ck_assert_ptr_null(moved.conn);
    rc_topics_unsubscribe(&t, a, 0, &moved);
    /* empty topics are removed */
    ck_assert_ptr_null(rc_topics_find(&t, "room:a", 6, rc_topic_hash(key, "room:a", 6)));
    ck_assert_uint_eq(t.count, 0);
    rc_topics_free(&t);
}
END_TEST

START_TEST(many_topics_grow_the_table_and_stay_findable)
{
    rc_topics_t t;
    rc_topics_init(&t, key);
    char name[32];
    uint32_t pos;
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(name, sizeof(name), "topic:%d", i);
        rc_topics_subscribe(&t, name, (size_t)n, (struct rc_conn *)&conns[i % 1000], 0, &pos);
    }
    ck_assert_uint_eq(t.count, 5000);
    ck_assert_uint_ge(t.nbuckets, 4096);
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(name, sizeof(name), "topic:%d", i);
        rc_topic_t *p = rc_topics_find(&t, name, (size_t)n, rc_topic_hash(key, name, (size_t)n));
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(p->nsubs, 1);
    }
    rc_topics_free(&t);
}
END_TEST

/* The scale of issue 6: 1M topics on one edge, 100k subscribers on one
 * topic, removed in a scrambled order; every swap keeps each remaining
 * subscriber's recorded position right. */
#define BIG_SUBS 100000
static uint32_t big_pos[BIG_SUBS];
static char big_conns[BIG_SUBS];

START_TEST(a_million_topics_and_100k_subscribers_of_one)
{
    /* Check reports every ck_assert to its parent process: the loops count
     * mistakes and assert once. */
    rc_topics_t t;
    rc_topics_init(&t, key);
    char name[32];
    uint32_t bad = 0;
    for (uint32_t i = 0; i < 1000000; i++) {
        int n = snprintf(name, sizeof(name), "t:%u", i);
        uint32_t pos;
        rc_topics_subscribe(&t, name, (size_t)n, (struct rc_conn *)&conns[i % 1000], 0, &pos);
        bad += pos != 0;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(t.count, 1000000);
    for (uint32_t i = 0; i < 1000000; i++) {
        int n = snprintf(name, sizeof(name), "t:%u", i);
        rc_topic_t *p = rc_topics_find(&t, name, (size_t)n, rc_topic_hash(key, name, (size_t)n));
        if (!p) {
            bad++;
            continue;
        }
        rc_topic_sub_t moved;
        rc_topics_unsubscribe(&t, p, 0, &moved);
        bad += moved.conn != NULL;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(t.count, 0);

    rc_topic_t *big = NULL;
    for (uint32_t i = 0; i < BIG_SUBS; i++) {
        big = rc_topics_subscribe(&t, "big", 3, (struct rc_conn *)&big_conns[i], i, &big_pos[i]);
        bad += big_pos[i] != i;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(big->nsubs, BIG_SUBS);
    /* k -> (k * 7919) mod BIG_SUBS is a permutation (7919 is a prime that
     * does not divide BIG_SUBS). */
    for (uint32_t k = 0; k < BIG_SUBS; k++) {
        uint32_t victim = (uint32_t)(((uint64_t)k * 7919) % BIG_SUBS);
        uint32_t left = big->nsubs - 1;
        rc_topic_sub_t moved;
        rc_topics_unsubscribe(&t, big, big_pos[victim], &moved);
        if (moved.conn) {
            uint32_t idx = (uint32_t)((char *)moved.conn - big_conns);
            bad += moved.sub_idx != idx;
            big_pos[idx] = big_pos[victim];
            bad += big->subs[big_pos[idx]].conn != (struct rc_conn *)&big_conns[idx];
        }
        if (left == 0)
            break; /* the topic is freed with its last subscriber */
        bad += big->nsubs != left;
    }
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(t.count, 0);
    rc_topics_free(&t);
}
END_TEST

/* The low 32 bits of FNV-1a-64 (the edge's old, unkeyed table hash) depend
 * only on the low 32 bits of its state, and a common suffix keeps a
 * collision: a prefix followed by n blocks, each one of two that take the
 * same state to the same state, gives 2^n names of one 32-bit hash. This is
 * what a hash-flooding client does, in milliseconds. */
static uint32_t fnv32_step(uint32_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 0x1b3u;
    return h;
}

#define COLL_BLOCKS 12
#define COLL_BLOCK_LEN 4

static void colliding_blocks(char blocks[COLL_BLOCKS][2][COLL_BLOCK_LEN])
{
    static uint32_t seen_state[1 << 20];
    static uint32_t seen_word[1 << 20];
    uint32_t h = fnv32_step(0x84222325u, "flood:", 6);
    uint32_t rng = 12345;
    for (int b = 0; b < COLL_BLOCKS; b++) {
        memset(seen_word, 0, sizeof(seen_word));
        for (;;) {
            rng = rng * 1103515245u + 12345u;
            char w[COLL_BLOCK_LEN];
            uint32_t x = rng;
            for (int i = 0; i < COLL_BLOCK_LEN; i++, x >>= 6)
                w[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[x & 63];
            uint32_t st = fnv32_step(h, w, COLL_BLOCK_LEN), word;
            memcpy(&word, w, 4);
            uint32_t slot = st & ((1u << 20) - 1);
            if (seen_word[slot] && seen_state[slot] == st && seen_word[slot] != word) {
                memcpy(blocks[b][0], &seen_word[slot], 4);
                memcpy(blocks[b][1], w, 4);
                h = st;
                break;
            }
            seen_state[slot] = st;
            seen_word[slot] = word;
        }
    }
}

START_TEST(names_colliding_under_fnv_spread_over_the_buckets)
{
    static char blocks[COLL_BLOCKS][2][COLL_BLOCK_LEN];
    colliding_blocks(blocks);
    rc_topics_t t;
    rc_topics_init(&t, key);
    uint32_t pos, first = 0;
    int fnv_collide = 1;
    for (uint32_t i = 0; i < (1u << COLL_BLOCKS); i++) {
        char name[6 + COLL_BLOCKS * COLL_BLOCK_LEN];
        memcpy(name, "flood:", 6);
        for (int b = 0; b < COLL_BLOCKS; b++)
            memcpy(name + 6 + b * COLL_BLOCK_LEN, blocks[b][(i >> b) & 1], COLL_BLOCK_LEN);
        uint32_t fnv = fnv32_step(0x84222325u, name, sizeof(name));
        if (i == 0)
            first = fnv;
        fnv_collide &= fnv == first;
        rc_topics_subscribe(&t, name, sizeof(name), (struct rc_conn *)&conns[0], 0, &pos);
    }
    ck_assert_msg(fnv_collide, "the generator must make names that collide under FNV-1a");
    ck_assert_uint_eq(t.count, 1u << COLL_BLOCKS);
    /* Keyed, 4096 names over >= 4096 buckets: the longest chain stays short
     * (an unkeyed table put all 4096 in one). */
    size_t longest = 0;
    for (size_t b = 0; b < t.nbuckets; b++) {
        size_t n = 0;
        for (rc_topic_t *p = t.buckets[b]; p; p = p->next)
            n++;
        if (n > longest)
            longest = n;
    }
    ck_assert_uint_le(longest, 12);
    rc_topics_free(&t);
}
END_TEST

START_TEST(another_key_gives_other_hashes)
{
    uint8_t k2[16];
    memcpy(k2, key, 16);
    k2[0] ^= 1;
    int differ = 0;
    for (int i = 0; i < 8; i++) {
        char name[16];
        int n = snprintf(name, sizeof(name), "room:%d", i);
        differ += rc_topic_hash(key, name, (size_t)n) != rc_topic_hash(k2, name, (size_t)n);
    }
    ck_assert_int_eq(differ, 8);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("topics", &tc, NULL, NULL);
    tcase_add_test(tc, subscribe_find_and_unsubscribe_with_swap);
    tcase_add_test(tc, many_topics_grow_the_table_and_stay_findable);
    tcase_add_test(tc, a_million_topics_and_100k_subscribers_of_one);
    tcase_add_test(tc, names_colliding_under_fnv_spread_over_the_buckets);
    tcase_add_test(tc, another_key_gives_other_hashes);
    tcase_set_timeout(tc, 60);
    return rc_test_run(s);
}

/* shm/upring.c: the edge -> broker SPSC rings. */
#define GEO(cap) (&(rc_log_geometry_t){(cap), 1024, 4096})
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shm/upring.h"

static char inst[64];
static rc_log_t w;

static void setup(void)
{
    static int n;
    snprintf(inst, sizeof(inst), "unit-upring-%d-%d", (int)getpid(), n++);
    ck_assert_int_eq(rc_log_open_writer(&w, inst, GEO(65536), 0), RC_LOG_CREATED);
}

static void teardown(void)
{
    rc_log_close(&w);
    rc_log_unlink(inst);
}

START_TEST(messages_come_out_in_order_across_the_wrap)
{
    rc_upring_t r = rc_upring_of(&w, 3);
    ck_assert_uint_eq(r.size, 4096);
    char msg[300];
    uint32_t type, len;
    const uint8_t *data;
    for (int i = 0; i < 500; i++) {
        size_t n = 1 + (size_t)(i * 37) % sizeof(msg);
        memset(msg, 'a' + i % 26, n);
        ck_assert_int_eq(rc_upring_push(&r, (uint32_t)i, msg, (uint32_t)n), 0);
        ck_assert_int_eq(rc_upring_peek(&r, &type, &data, &len), 1);
        ck_assert_uint_eq(type, (uint32_t)i);
        ck_assert_uint_eq(len, n);
        ck_assert_int_eq(data[0], 'a' + i % 26);
        ck_assert_int_eq(data[n - 1], 'a' + i % 26);
        rc_upring_consume(&r);
    }
    ck_assert_int_eq(rc_upring_peek(&r, &type, &data, &len), 0);
}
END_TEST

START_TEST(full_ring_refuses_and_counts_instead_of_waiting)
{
    rc_upring_t r = rc_upring_of(&w, 0);
    char msg[1000] = {0};
    int pushed = 0;
    while (rc_upring_push(&r, 1, msg, sizeof(msg)) == 0)
        pushed++;
    ck_assert_int_eq(pushed, 4); /* 4 x 1008 bytes in 4096 */
    ck_assert_int_eq(rc_upring_push(&r, 1, msg, sizeof(msg)), -ENOBUFS);
    ck_assert_uint_eq(atomic_load(&r.hdr->dropped), 2);
    ck_assert_int_eq(rc_upring_push(&r, 1, msg, 3000), -EMSGSIZE);
    rc_upring_reset(&r);
    uint32_t type, len;
    const uint8_t *data;
    ck_assert_int_eq(rc_upring_peek(&r, &type, &data, &len), 0);
    ck_assert_int_eq(rc_upring_push(&r, 1, msg, sizeof(msg)), 0);
}
END_TEST

START_TEST(rings_of_different_slots_are_independent)
{
    rc_upring_t a = rc_upring_of(&w, 0), b = rc_upring_of(&w, 63);
    ck_assert_ptr_ne(a.hdr, b.hdr);
    ck_assert_int_eq(rc_upring_push(&a, 7, "x", 1), 0);
    uint32_t type, len;
    const uint8_t *data;
    ck_assert_int_eq(rc_upring_peek(&b, &type, &data, &len), 0);
    ck_assert_int_eq(rc_upring_peek(&a, &type, &data, &len), 1);
    ck_assert_uint_eq(type, 7);
}
END_TEST

/* A producer thread and this consumer: every message arrives once, in order. */
static void *producer(void *arg)
{
    rc_upring_t *r = arg;
    for (uint32_t i = 1; i <= 200000;) {
        uint32_t v[4] = {i, i * 3, i * 7, i * 11};
        if (rc_upring_push(r, i, v, (uint32_t)sizeof(uint32_t) * (1 + i % 4)) == 0)
            i++;
    }
    return NULL;
}

START_TEST(threaded_producer_and_consumer_agree_on_every_message)
{
    rc_upring_t r = rc_upring_of(&w, 5);
    pthread_t th;
    pthread_create(&th, NULL, producer, &r);
    uint32_t expect = 1;
    while (expect <= 200000) {
        uint32_t type, len;
        const uint8_t *data;
        if (!rc_upring_peek(&r, &type, &data, &len))
            continue;
        ck_assert_uint_eq(type, expect);
        ck_assert_uint_eq(len, sizeof(uint32_t) * (1 + expect % 4));
        uint32_t v[4];
        memcpy(v, data, len);
        ck_assert_uint_eq(v[0], expect);
        if (len == 16)
            ck_assert_uint_eq(v[3], expect * 11);
        rc_upring_consume(&r);
        expect++;
    }
    pthread_join(th, NULL);
}
END_TEST

/* The doorbell: a consumer that sleeps whenever every ring is empty and a
 * producer that rings after each push. A lost wake-up would hang the
 * consumer (the test's timeout fails it); the producer makes far fewer wake
 * syscalls than pushes once the consumer is busy. */
#define DOORBELL_MSGS 100000u
static _Atomic uint32_t producer_full;

static void *ringing_producer(void *arg)
{
    rc_upring_t *r = arg;
    for (uint32_t i = 1; i <= DOORBELL_MSGS;) {
        if (rc_upring_push(r, RC_UP_BROADCAST, &i, sizeof(i)) == 0)
            i++;
        else
            atomic_fetch_add(&producer_full, 1);
        rc_upring_ring_doorbell(&w);
    }
    return NULL;
}

START_TEST(the_doorbell_never_loses_a_wake_up)
{
    rc_upring_t r = rc_upring_of(&w, 7);
    pthread_t th;
    pthread_create(&th, NULL, ringing_producer, &r);
    uint32_t expect = 1, prepares = 0, bad = 0;
    while (expect <= DOORBELL_MSGS) {
        uint32_t type, len, v;
        const uint8_t *data;
        if (!rc_upring_peek(&r, &type, &data, &len)) {
            uint32_t word;
            prepares++;
            if (rc_upring_prepare_sleep(&w, &word) == 0)
                rc_upring_sleep(&w, word, -1);
            continue;
        }
        memcpy(&v, data, sizeof(v));
        bad += type != RC_UP_BROADCAST || len != sizeof(v) || v != expect;
        rc_upring_consume(&r);
        expect++;
    }
    pthread_join(th, NULL);
    ck_assert_uint_eq(bad, 0);
    uint64_t wakes = atomic_load(&w.hdr->up_wakes);
    ck_assert_uint_le(wakes, prepares); /* at most one per announced sleep */
    ck_assert_uint_lt(wakes, DOORBELL_MSGS);
}
END_TEST

START_TEST(broadcast_messages_encode_and_decode_and_refuse_bad_lengths)
{
    uint8_t buf[64];
    rc_up_broadcast_t m = {"room:1", "evt", "{\"a\":1}", 6, 3, 7}, d;
    int n = rc_up_broadcast_encode(buf, sizeof(buf), &m);
    ck_assert_int_eq(n, 4 + 6 + 3 + 7);
    ck_assert_int_eq(rc_up_broadcast_decode(buf, (uint32_t)n, &d), 0);
    ck_assert_uint_eq(d.topic_len, 6);
    ck_assert_uint_eq(d.event_len, 3);
    ck_assert_uint_eq(d.data_len, 7);
    ck_assert(memcmp(d.topic, "room:1", 6) == 0 && memcmp(d.event, "evt", 3) == 0 && memcmp(d.data, "{\"a\":1}", 7) == 0);
    ck_assert_int_eq(rc_up_broadcast_encode(buf, 10, &m), -EMSGSIZE);
    for (uint32_t cut = 0; cut < 4 + 6 + 3; cut++) /* every prefix shorter than the names */
        ck_assert_int_eq(rc_up_broadcast_decode(buf, cut, &d), -EINVAL);
    ck_assert_int_eq(rc_up_broadcast_decode(buf, 4 + 6 + 3, &d), 0); /* empty data decodes; JSON is the broker's check */
    ck_assert_uint_eq(d.data_len, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("upring");
    TCase *tc = tcase_create("upring");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, messages_come_out_in_order_across_the_wrap);
    tcase_add_test(tc, full_ring_refuses_and_counts_instead_of_waiting);
    tcase_add_test(tc, rings_of_different_slots_are_independent);
    tcase_add_test(tc, threaded_producer_and_consumer_agree_on_every_message);
    tcase_add_test(tc, the_doorbell_never_loses_a_wake_up);
    tcase_add_test(tc, broadcast_messages_encode_and_decode_and_refuse_bad_lengths);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* shm/upring.c: the edge -> broker SPSC rings. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "shm/upring.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_WRITER_FIXTURE("upring")

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
    /* Consuming makes room again. */
    uint32_t type, len;
    const uint8_t *data;
    for (int i = 0; i < pushed; i++) {
        ck_assert_int_eq(rc_upring_peek(&r, &type, &data, &len), 1);
        ck_assert_uint_eq(len, sizeof(msg));
        rc_upring_consume(&r);
    }
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

/* A hostile or broken edge writes what it likes into its ring: every
 * impossible length or position is refused (never read past the ring, never
 * a consumer stuck), and a reset empties the ring for what comes next. */
static void hostile(rc_upring_t *r, uint64_t head, uint64_t tail, uint32_t len_at_head)
{
    atomic_store(&r->hdr->head, head);
    atomic_store(&r->hdr->tail, tail);
    memcpy(r->data + (head & (r->size - 1)), &len_at_head, 4);
}

START_TEST(impossible_lengths_and_positions_are_refused_and_reset)
{
    rc_upring_t r = rc_upring_of(&w, 5);
    uint32_t type, len;
    const uint8_t *data;
    const uint64_t base = 8 * 4096; /* some laps in */
    struct { uint64_t head, tail; uint32_t len; const char *what; } cases[] = {
        {base, base + 64, 4096, "longer than the ring"},
        {base, base + 64, 100, "longer than what was published"},
        {base + 4096 - 64, base + 4096 + 64, 200, "across the ring's end"},
        {base, base + 3 * 4096, 16, "tail more than a ring ahead"},
        {base + 64, base, 16, "tail behind head"},
        {base + 3, base + 64, 16, "head not 8-aligned"},
        {base + 4096 - 64, base + 4096 - 32, UINT32_MAX, "a wrap mark past tail"},
        {base, base + 4096, 2048, "half the ring and more"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hostile(&r, cases[i].head, cases[i].tail, cases[i].len);
        ck_assert_msg(rc_upring_peek(&r, &type, &data, &len) == -EPROTO, "%s: not refused", cases[i].what);
        rc_upring_reset(&r);
        ck_assert_int_eq(atomic_load(&r.hdr->head), atomic_load(&r.hdr->tail));
        ck_assert_int_eq(rc_upring_peek(&r, &type, &data, &len), 0);
    }
    /* after a reset at an aligned tail the ring works again */
    hostile(&r, base, base, 0);
    ck_assert_int_eq(rc_upring_push(&r, 9, "ok", 2), 0);
    ck_assert_int_eq(rc_upring_peek(&r, &type, &data, &len), 1);
    ck_assert_uint_eq(len, 2);
    /* a length rewritten after the peek does not move head by the new one */
    uint32_t evil = 1000;
    memcpy(r.data + (base & (r.size - 1)), &evil, 4);
    rc_upring_consume(&r);
    ck_assert_uint_eq(atomic_load(&r.hdr->head), base + 16);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("upring", &tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, messages_come_out_in_order_across_the_wrap);
    tcase_add_test(tc, full_ring_refuses_and_counts_instead_of_waiting);
    tcase_add_test(tc, rings_of_different_slots_are_independent);
    tcase_add_test(tc, threaded_producer_and_consumer_agree_on_every_message);
    tcase_add_test(tc, impossible_lengths_and_positions_are_refused_and_reset);
    return rc_test_run(s);
}

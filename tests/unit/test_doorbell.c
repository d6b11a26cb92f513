/* shm/doorbell.c: the broker's drain thread sleeps until an edge rings. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "shm/doorbell.h"
#include "shm/up_msg.h"
#include "shm/upring.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_WRITER_FIXTURE("doorbell")

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
        rc_doorbell_ring(&w);
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
            if (rc_doorbell_prepare_sleep(&w, &word) == 0)
                rc_doorbell_sleep(&w, word, -1);
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

START_TEST(a_consumer_with_a_message_waiting_does_not_sleep)
{
    rc_upring_t r = rc_upring_of(&w, 2);
    uint32_t word;
    ck_assert_int_eq(rc_doorbell_prepare_sleep(&w, &word), 0);
    ck_assert_int_eq(rc_upring_push(&r, RC_UP_BROADCAST, "x", 1), 0);
    ck_assert_int_eq(rc_doorbell_ring(&w), 1); /* it said it sleeps: one wake */
    ck_assert_int_eq(rc_doorbell_ring(&w), 0); /* nobody sleeps any more */
    ck_assert_int_eq(rc_doorbell_prepare_sleep(&w, &word), -EAGAIN);
    ck_assert_int_eq(atomic_load(&w.hdr->up_sleeping), 0);
    ck_assert_int_eq(rc_doorbell_sleep(&w, word - 1, 50), 0); /* the word moved: returns at once */
}
END_TEST

START_TEST(a_sleep_with_a_timeout_ends_by_itself)
{
    uint32_t word;
    ck_assert_int_eq(rc_doorbell_prepare_sleep(&w, &word), 0);
    ck_assert_int_eq(rc_doorbell_sleep(&w, word, 20), -ETIMEDOUT);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("doorbell", &tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_doorbell_never_loses_a_wake_up);
    tcase_add_test(tc, a_consumer_with_a_message_waiting_does_not_sleep);
    tcase_add_test(tc, a_sleep_with_a_timeout_ends_by_itself);
    return rc_test_run(s);
}

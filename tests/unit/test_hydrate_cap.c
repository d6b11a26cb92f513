/* shm/hydrate_cap.c: one cap on upstream calls for the broker and every
 * edge of a machine; a dead holder's calls stop counting. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/hydrate_cap.h"
#include "shm/slots.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_WRITER_FIXTURE("hydrate_cap")

START_TEST(the_cap_is_the_machines_over_the_broker_and_every_edge)
{
    int a = rc_slot_claim(&w, getpid()), b = rc_slot_claim(&w, getpid());
    _Atomic uint64_t *br = rc_hydrate_cap_mine(&w, -1), *ea = rc_hydrate_cap_mine(&w, a),
                     *eb = rc_hydrate_cap_mine(&w, b);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, br, 3), 0);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, ea, 3), 0);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, eb, 3), 0);
    ck_assert_uint_eq(rc_hydrate_cap_in_use(&w), 3);
    /* full for everyone, and a refused take leaves nothing behind */
    ck_assert_int_eq(rc_hydrate_cap_take(&w, br, 3), -EAGAIN);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, ea, 3), -EAGAIN);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, eb, 3), -EAGAIN);
    ck_assert_uint_eq(rc_hydrate_cap_in_use(&w), 3);
    /* a token given back by one is there for another */
    rc_hydrate_cap_give(ea);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, eb, 3), 0);
    ck_assert_uint_eq(atomic_load(eb), 2);
}
END_TEST

START_TEST(a_dead_or_stopped_holder_gives_its_calls_back)
{
    int a = rc_slot_claim(&w, getpid()), b = rc_slot_claim(&w, getpid());
    _Atomic uint64_t *ea = rc_hydrate_cap_mine(&w, a), *eb = rc_hydrate_cap_mine(&w, b);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(rc_hydrate_cap_take(&w, ea, 5), 0);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, eb, 5), 0);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, eb, 5), -EAGAIN);
    /* edge a's loop stops running (hung, or dying): its four stop counting */
    RC_SLOT_SET(&w.slots[a], alive_mono_ns, rc_clock_mono_ns() - RC_SLOT_STALE_NS - 1);
    ck_assert_uint_eq(rc_hydrate_cap_in_use(&w), 1);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, eb, 5), 0);
    /* its slot freed and claimed again: the counters start at zero */
    atomic_store(&w.slots[a].pid, 0);
    ck_assert_int_eq(rc_slot_claim(&w, getpid()), a);
    ck_assert_uint_eq(atomic_load(ea), 0);
    ck_assert_uint_eq(rc_hydrate_cap_in_use(&w), 2);
}
END_TEST

START_TEST(a_broker_reattaching_after_a_crash_zeroes_its_calls)
{
    _Atomic uint64_t *br = rc_hydrate_cap_mine(&w, -1);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, br, 10), 0);
    ck_assert_int_eq(rc_hydrate_cap_take(&w, br, 10), 0);
    rc_log_close(&w); /* the broker is gone, its two calls with it */
    ck_assert_int_eq(rc_log_open_writer(&w, inst, RC_TEST_GEO(65536), 0), RC_LOG_REATTACHED);
    ck_assert_uint_eq(rc_hydrate_cap_in_use(&w), 0);
}
END_TEST

/* The broker and two edges (threads) take and give at once: the calls in
 * flight never pass the cap, at any instant. */
enum { RACE_CAP = 3, RACE_ROUNDS = 20000 };
static _Atomic uint64_t *race_mine[3];
static _Atomic int race_inflight, race_over, race_taken;

static void *racer(void *arg)
{
    _Atomic uint64_t *mine = race_mine[(intptr_t)arg];
    int held = 0;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        if (held < RACE_CAP && (i & 1) == 0 && rc_hydrate_cap_take(&w, mine, RACE_CAP) == 0) {
            held++;
            atomic_fetch_add(&race_taken, 1);
            if (atomic_fetch_add(&race_inflight, 1) + 1 > RACE_CAP)
                atomic_store(&race_over, 1);
        } else if (held) {
            atomic_fetch_sub(&race_inflight, 1);
            rc_hydrate_cap_give(mine);
            held--;
        }
    }
    while (held--) {
        atomic_fetch_sub(&race_inflight, 1);
        rc_hydrate_cap_give(mine);
    }
    return NULL;
}

START_TEST(three_holders_taking_at_once_never_pass_the_cap)
{
    race_mine[0] = rc_hydrate_cap_mine(&w, -1);
    race_mine[1] = rc_hydrate_cap_mine(&w, rc_slot_claim(&w, getpid()));
    race_mine[2] = rc_hydrate_cap_mine(&w, rc_slot_claim(&w, getpid()));
    pthread_t t[3];
    for (intptr_t i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, racer, (void *)i), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&race_over), 0);
    ck_assert_int_gt(atomic_load(&race_taken), 1000); /* it did take, often */
    ck_assert_uint_eq(rc_hydrate_cap_in_use(&w), 0);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("hydrate_cap", &tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_cap_is_the_machines_over_the_broker_and_every_edge);
    tcase_add_test(tc, a_dead_or_stopped_holder_gives_its_calls_back);
    tcase_add_test(tc, a_broker_reattaching_after_a_crash_zeroes_its_calls);
    tcase_add_test(tc, three_holders_taking_at_once_never_pass_the_cap);
    return rc_test_run(s);
}

/* shm/slots.c: edges claim slots; a dead edge's slot can be taken over. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shm/slots.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_WRITER_FIXTURE("slots")

START_TEST(claim_takes_distinct_free_slots_and_release_frees_them)
{
    int a = rc_slot_claim(&w, getpid());
    int b = rc_slot_claim(&w, getpid());
    ck_assert_int_ge(a, 0);
    ck_assert_int_ne(a, b);
    ck_assert_int_eq(rc_slot_state(&w.slots[a]), 1);
    RC_SLOT_ADD(&w.slots[a], joins, 5);
    uint32_t gen = atomic_load(&w.slots[a].generation);
    rc_slot_release(&w, a, getpid());
    ck_assert_int_eq(rc_slot_state(&w.slots[a]), 0);
    ck_assert_int_eq(rc_slot_claim(&w, getpid()), a);
    ck_assert_uint_eq(atomic_load(&w.slots[a].generation), gen + 1);
    ck_assert_uint_eq(RC_SLOT_GET(&w.slots[a], joins), 0); /* counters start at zero */
}
END_TEST

START_TEST(a_dead_edges_slot_is_reported_and_taken_over_before_free_ones)
{
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* now a pid with no process */
    ck_assert_int_eq(rc_slot_claim(&w, getpid()), 0);
    ck_assert_int_eq(rc_slot_claim(&w, child), 1);
    ck_assert_int_eq(rc_slot_state(&w.slots[1]), -1);
    /* a restarted edge takes the dead one's slot, not a free one */
    ck_assert_int_eq(rc_slot_claim(&w, getpid()), 1);
    ck_assert_int_eq(rc_slot_state(&w.slots[1]), 1);
    /* then the free ones, in order, until the table is full */
    for (unsigned i = 2; i < RC_SHM_NSLOTS; i++)
        ck_assert_int_eq(rc_slot_claim(&w, getpid()), (int)i);
    ck_assert_int_eq(rc_slot_claim(&w, getpid()), -ENOSPC);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("slots", &tc, setup, teardown);
    tcase_add_test(tc, claim_takes_distinct_free_slots_and_release_frees_them);
    tcase_add_test(tc, a_dead_edges_slot_is_reported_and_taken_over_before_free_ones);
    return rc_test_run(s);
}

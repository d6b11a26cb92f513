/* shm/user_conns.c: connections per user over every edge of a machine,
 * for max_conns_per_user. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/slots.h"
#include "shm/user_conns.h"
#include "tests/unit/shm_fixture.h"
#include "tests/unit/unit.h"

RC_TEST_WRITER_FIXTURE("user_conns")

#define U(s) (s), strlen(s)

START_TEST(the_limit_counts_a_users_connections_over_every_edge)
{
    int a = rc_slot_claim(&w, getpid()), b = rc_slot_claim(&w, getpid());
    ck_assert_int_eq(rc_user_conns_enter(&w, a, U("42"), 3), 0);
    ck_assert_int_eq(rc_user_conns_enter(&w, b, U("42"), 3), 0);
    ck_assert_int_eq(rc_user_conns_enter(&w, a, U("42"), 3), 0);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("42")), 3);
    /* the fourth is refused on either edge and not counted */
    ck_assert_int_eq(rc_user_conns_enter(&w, b, U("42"), 3), -EDQUOT);
    ck_assert_int_eq(rc_user_conns_enter(&w, a, U("42"), 3), -EDQUOT);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("42")), 3);
    /* other users are apart, a prefix of the name included */
    ck_assert_int_eq(rc_user_conns_enter(&w, b, U("4"), 3), 0);
    ck_assert_int_eq(rc_user_conns_enter(&w, b, U("420"), 3), 0);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("4")), 1);
    /* one leaves: a place again */
    rc_user_conns_leave(&w, b, U("42"));
    ck_assert_uint_eq(rc_user_conns_total(&w, U("42")), 2);
    ck_assert_int_eq(rc_user_conns_enter(&w, b, U("42"), 3), 0);
}
END_TEST

START_TEST(a_slot_taken_again_gives_its_users_back)
{
    int a = rc_slot_claim(&w, getpid()), b = rc_slot_claim(&w, getpid());
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(rc_user_conns_enter(&w, a, U("u"), 10), 0);
    ck_assert_int_eq(rc_user_conns_enter(&w, b, U("u"), 10), 0);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("u")), 6);
    /* edge a dies and its slot is claimed again (a new generation): its
     * counts no longer count, with nobody cleaning up */
    atomic_store(&w.slots[a].pid, 0);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("u")), 1);
    ck_assert_int_eq(rc_slot_claim(&w, getpid()), a);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("u")), 1);
    ck_assert_int_eq(rc_user_conns_enter(&w, a, U("u"), 10), 0);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("u")), 2);
    /* an edge whose loop stopped running (alive_mono_ns old) holds none */
    RC_SLOT_SET(&w.slots[b], alive_mono_ns, rc_clock_mono_ns() - 11000000000ull);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("u")), 1);
}
END_TEST

START_TEST(entries_given_up_serve_other_users_and_a_full_chain_says_so)
{
    int a = rc_slot_claim(&w, getpid());
    char name[32];
    /* many users come and go through the same table: entries are reused */
    for (int i = 0; i < 3 * (int)RC_SHM_USER_ENTRIES; i++) {
        snprintf(name, sizeof(name), "user-%d", i);
        ck_assert_int_eq(rc_user_conns_enter(&w, a, U(name), 1), 0);
        rc_user_conns_leave(&w, a, U(name));
    }
    /* one user on all 64 slots fits one chain; a chain of live entries
     * longer than RC_USER_PROBES answers -ENOSPC (admitted, not counted) */
    for (unsigned s = 1; s < RC_SHM_NSLOTS; s++)
        ck_assert_int_eq(rc_slot_claim(&w, getpid()), (int)s);
    int full = 0;
    for (unsigned s = 0; s < RC_SHM_NSLOTS; s++) {
        int r = rc_user_conns_enter(&w, (int)s, U("everywhere"), 1000);
        if (r == -ENOSPC)
            full++;
        else
            ck_assert_int_eq(r, 0);
    }
    ck_assert_int_ge(full, (int)RC_SHM_NSLOTS - RC_USER_PROBES);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("everywhere")), RC_SHM_NSLOTS - (unsigned)full);
}
END_TEST

/* Two edges (threads) admit the same user at once: the total never passes
 * the limit, at any instant. */
enum { RACE_LIMIT = 4, RACE_ROUNDS = 20000 };
static int race_slot[2];
static _Atomic int race_held, race_over;

static void *racer(void *arg)
{
    int slot = race_slot[(intptr_t)arg];
    int mine = 0;
    for (int i = 0; i < RACE_ROUNDS; i++) {
        if (mine < RACE_LIMIT && rc_user_conns_enter(&w, slot, U("racer"), RACE_LIMIT) == 0) {
            mine++;
            if (atomic_fetch_add(&race_held, 1) + 1 > RACE_LIMIT)
                atomic_store(&race_over, 1);
        } else if (mine) {
            atomic_fetch_sub(&race_held, 1);
            rc_user_conns_leave(&w, slot, U("racer"));
            mine--;
        }
    }
    while (mine--) {
        atomic_fetch_sub(&race_held, 1);
        rc_user_conns_leave(&w, slot, U("racer"));
    }
    return NULL;
}

START_TEST(two_edges_admitting_at_once_never_pass_the_limit)
{
    race_slot[0] = rc_slot_claim(&w, getpid());
    race_slot[1] = rc_slot_claim(&w, getpid());
    pthread_t t[2];
    for (intptr_t i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, racer, (void *)i), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(atomic_load(&race_over), 0);
    ck_assert_uint_eq(rc_user_conns_total(&w, U("racer")), 0);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("user_conns", &tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_limit_counts_a_users_connections_over_every_edge);
    tcase_add_test(tc, a_slot_taken_again_gives_its_users_back);
    tcase_add_test(tc, entries_given_up_serve_other_users_and_a_full_chain_says_so);
    tcase_add_test(tc, two_edges_admitting_at_once_never_pass_the_limit);
    return rc_test_run(s);
}

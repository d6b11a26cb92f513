/* edge/topics.c: the edge's topic table. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "edge/topics.h"
#include "shm/log.h"

/* Stand-ins for connections: the table only stores the pointer. */
static char conns[1000];

START_TEST(subscribe_find_and_unsubscribe_with_swap)
{
    rc_topics_t t;
    rc_topics_init(&t);
    uint32_t p0, p1, p2;
    rc_topic_t *a = rc_topics_subscribe(&t, "room:a", 6, (struct rc_conn *)&conns[0], 0, &p0);
    ck_assert_ptr_eq(rc_topics_subscribe(&t, "room:a", 6, (struct rc_conn *)&conns[1], 3, &p1), a);
    ck_assert_ptr_eq(rc_topics_subscribe(&t, "room:a", 6, (struct rc_conn *)&conns[2], 5, &p2), a);
    ck_assert_uint_eq(p2, 2);
    ck_assert_ptr_eq(rc_topics_find(&t, "room:a", 6, rc_topic_hash("room:a", 6)), a);
    ck_assert_ptr_null(rc_topics_find(&t, "room:b", 6, rc_topic_hash("room:b", 6)));
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
    ck_assert_ptr_null(rc_topics_find(&t, "room:a", 6, rc_topic_hash("room:a", 6)));
    ck_assert_uint_eq(t.count, 0);
    rc_topics_free(&t);
}
END_TEST

START_TEST(many_topics_grow_the_table_and_stay_findable)
{
    rc_topics_t t;
    rc_topics_init(&t);
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
        rc_topic_t *p = rc_topics_find(&t, name, (size_t)n, rc_topic_hash(name, (size_t)n));
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(p->nsubs, 1);
    }
    rc_topics_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("topics");
    TCase *tc = tcase_create("topics");
    tcase_add_test(tc, subscribe_find_and_unsubscribe_with_swap);
    tcase_add_test(tc, many_topics_grow_the_table_and_stay_findable);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

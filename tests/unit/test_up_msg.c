/* shm/up_msg.c: what upstream messages hold. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "shm/up_msg.h"
#include "tests/unit/unit.h"

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
    TCase *tc;
    Suite *s = rc_test_suite("up_msg", &tc, NULL, NULL);
    tcase_add_test(tc, broadcast_messages_encode_and_decode_and_refuse_bad_lengths);
    return rc_test_run(s);
}

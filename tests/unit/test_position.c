/* proto/position.c: epochs on the wire, since, history requests, and the
 * parts of a broadcast frame. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "proto/phx.h"
#include "proto/position.h"
#include "tests/unit/unit.h"

static json_t *js(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    ck_assert_ptr_nonnull(j);
    return j;
}

START_TEST(epochs_are_16_hex_digits_both_ways)
{
    char hex[RC_EPOCH_HEX];
    rc_epoch_hex(hex, 0x00ab12cd34ef5678ull);
    ck_assert_mem_eq(hex, "00ab12cd34ef5678", 16);
    uint64_t e;
    ck_assert_int_eq(rc_epoch_parse(rc_slice(hex, 16), &e), 0);
    ck_assert_uint_eq(e, 0x00ab12cd34ef5678ull);
    ck_assert_int_eq(rc_epoch_parse(rc_slice_cstr("FFFFFFFFFFFFFFFF"), &e), 0);
    ck_assert_uint_eq(e, UINT64_MAX);
    ck_assert_int_eq(rc_epoch_parse(rc_slice_cstr("1FFFFFFFFFFFFFFFF"), &e), -EINVAL); /* 17 digits */
    ck_assert_int_eq(rc_epoch_parse(rc_slice_cstr(""), &e), -EINVAL);
    ck_assert_int_eq(rc_epoch_parse(rc_slice_cstr("12g4"), &e), -EINVAL);
}
END_TEST

START_TEST(since_is_optional_and_checked)
{
    rc_since_t s;
    const char *why = NULL;
    json_t *j = js("{}");
    ck_assert_int_eq(rc_since_parse(j, &s, &why), 0);
    ck_assert_int_eq(s.present, 0);
    json_decref(j);
    j = js("[1,2]"); /* not an object: no since */
    ck_assert_int_eq(rc_since_parse(j, &s, &why), 0);
    ck_assert_int_eq(s.present, 0);
    json_decref(j);
    j = js("{\"since\":{\"epoch\":\"ab\",\"offset\":7}}");
    ck_assert_int_eq(rc_since_parse(j, &s, &why), 0);
    ck_assert_int_eq(s.present, 1);
    ck_assert_uint_eq(s.epoch, 0xab);
    ck_assert_uint_eq(s.offset, 7);
    json_decref(j);
    const char *bad[] = {"{\"since\":5}", "{\"since\":{\"epoch\":171,\"offset\":1}}",
                         "{\"since\":{\"epoch\":\"ab\"}}", "{\"since\":{\"epoch\":\"ab\",\"offset\":-1}}",
                         "{\"since\":{\"epoch\":\"ab\",\"offset\":1.5}}", "{\"since\":{\"epoch\":\"xy\",\"offset\":1}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = js(bad[i]);
        why = NULL;
        ck_assert_int_eq(rc_since_parse(j, &s, &why), -EINVAL);
        ck_assert_ptr_nonnull(why);
        json_decref(j);
    }
}
END_TEST

START_TEST(history_requests)
{
    rc_history_req_t r;
    const char *why = NULL;
    json_t *j = js("{}");
    ck_assert_int_eq(rc_history_parse(j, 100, &r, &why), 0);
    ck_assert_int_eq(r.dir, RC_HISTORY_NEWEST);
    ck_assert_uint_eq(r.limit, 100);
    json_decref(j);
    j = js("{\"before\":50,\"limit\":10}");
    ck_assert_int_eq(rc_history_parse(j, 100, &r, &why), 0);
    ck_assert_int_eq(r.dir, RC_HISTORY_BEFORE);
    ck_assert_uint_eq(r.at, 50);
    ck_assert_uint_eq(r.limit, 10);
    json_decref(j);
    j = js("{\"after\":0}");
    ck_assert_int_eq(rc_history_parse(j, 100, &r, &why), 0);
    ck_assert_int_eq(r.dir, RC_HISTORY_AFTER);
    json_decref(j);
    j = js("null");
    ck_assert_int_eq(rc_history_parse(j, 100, &r, &why), 0);
    json_decref(j);
    const char *bad[] = {"{\"before\":1,\"after\":2}", "{\"limit\":0}", "{\"limit\":101}", "{\"before\":\"1\"}", "7"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = js(bad[i]);
        ck_assert_int_eq(rc_history_parse(j, 100, &r, &why), -EINVAL);
        json_decref(j);
    }
}
END_TEST

START_TEST(broadcast_parts_of_our_own_frames)
{
    char buf[256];
    rc_slice_t ev, d;
    int n = rc_phx_encode_broadcast(buf, sizeof(buf), 42, rc_slice_cstr("room:\"1\""), rc_slice_cstr("new\\msg"),
                                    rc_slice_cstr("{\"a\":[1,\"]\"]}"));
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(rc_broadcast_parts(buf, (size_t)n, &ev, &d), 0);
    ck_assert_int_eq((int)ev.n, (int)strlen("\"new\\\\msg\""));
    ck_assert_mem_eq(ev.p, "\"new\\\\msg\"", ev.n);
    ck_assert_int_eq((int)d.n, (int)strlen("{\"a\":[1,\"]\"]}"));
    ck_assert_mem_eq(d.p, "{\"a\":[1,\"]\"]}", d.n);
    const char *bad[] = {"", "[null,\"@\",\"t\",\"e\",1]", "[null,\"@1\",\"t\",\"e\",]", "[null,\"@1\",\"t\"]",
                         "[null,\"@1\",\"t\",\"e,1]", "[\"x\",\"@1\",\"t\",\"e\",1]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(rc_broadcast_parts(bad[i], strlen(bad[i]), &ev, &d), -EINVAL);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("position", &tc, NULL, NULL);
    tcase_add_test(tc, epochs_are_16_hex_digits_both_ways);
    tcase_add_test(tc, since_is_optional_and_checked);
    tcase_add_test(tc, history_requests);
    tcase_add_test(tc, broadcast_parts_of_our_own_frames);
    return rc_test_run(s);
}

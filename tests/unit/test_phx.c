/* proto/phx.c: serializer V2 decoding and encoding. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "proto/phx.h"
#include "tests/unit/unit.h"

static int decode(const char *s, rc_phx_msg_t *m, const char **why)
{
    return rc_phx_decode_text(s, strlen(s), m, why);
}

START_TEST(join_decodes_every_field)
{
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(decode("[\"3\",\"3\",\"room:lobby\",\"phx_join\",{\"user\":\"u1\"}]", &m, &why), 0);
    ck_assert(rc_slice_eq(m.join_ref, "3"));
    ck_assert(rc_slice_eq(m.ref, "3"));
    ck_assert(rc_slice_eq(m.topic, "room:lobby"));
    ck_assert(rc_slice_eq(m.event, "phx_join"));
    ck_assert(json_is_object(m.payload));
    ck_assert_str_eq(json_string_value(json_object_get(m.payload, "user")), "u1");
    ck_assert_ptr_null(m.binary.p);
    ck_assert_ptr_nonnull(m.root);
    rc_phx_msg_release(&m);
    ck_assert_ptr_null(m.root);
    ck_assert_ptr_null(m.payload);
}
END_TEST

START_TEST(heartbeat_has_null_join_ref)
{
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(decode("[null,\"12\",\"phoenix\",\"heartbeat\",{}]", &m, &why), 0);
    ck_assert_ptr_null(m.join_ref.p);
    ck_assert(rc_slice_eq(m.ref, "12"));
    ck_assert(rc_slice_eq(m.topic, "phoenix"));
    ck_assert(rc_slice_eq(m.event, "heartbeat"));
    rc_phx_msg_release(&m);
}
END_TEST

START_TEST(leave_and_push_with_whitespace_and_extra_elements)
{
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(decode(" [ \"14\" , \"15\" , \"room:lobby\" , \"phx_leave\" , { } , 1, 2 ] ",
                            &m, &why), 0);
    ck_assert(rc_slice_eq(m.event, "phx_leave"));
    rc_phx_msg_release(&m);
    ck_assert_int_eq(decode("[\"3\",\"10\",\"room:lobby\",\"new_msg\",\"just a string\"]", &m, &why), 0);
    ck_assert(json_is_string(m.payload));
    rc_phx_msg_release(&m);
    ck_assert_int_eq(decode("[\"3\",null,\"t\",\"e\",null]", &m, &why), 0);
    ck_assert_ptr_null(m.ref.p);
    ck_assert(json_is_null(m.payload));
    rc_phx_msg_release(&m);
}
END_TEST

START_TEST(empty_string_ref_is_present_not_null)
{
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(decode("[\"\",\"\",\"t\",\"e\",{}]", &m, &why), 0);
    ck_assert_ptr_nonnull(m.join_ref.p);
    ck_assert_uint_eq(m.join_ref.n, 0);
    rc_phx_msg_release(&m);
}
END_TEST

START_TEST(names_at_their_limits_are_accepted)
{
    char buf[1024], topic[RC_TOPIC_MAX + 1], ref[RC_REF_MAX + 1];
    rc_phx_msg_t m;
    const char *why = NULL;

    memset(topic, 't', RC_TOPIC_MAX);
    topic[RC_TOPIC_MAX] = '\0';
    memset(ref, '9', RC_REF_MAX);
    ref[RC_REF_MAX] = '\0';
    snprintf(buf, sizeof(buf), "[\"%s\",\"%s\",\"%s\",\"%s\",{}]", ref, ref, topic, topic);
    ck_assert_int_eq(decode(buf, &m, &why), 0);
    ck_assert_uint_eq(m.topic.n, RC_TOPIC_MAX);
    ck_assert_uint_eq(m.ref.n, RC_REF_MAX);
    rc_phx_msg_release(&m);
}
END_TEST

static const struct {
    const char *name;
    const char *json;
    const char *why;
} bad_text[] = {
    { "numeric_ref", "[null,12,\"phoenix\",\"heartbeat\",{}]", "ref must be a string or null" },
    { "numeric_join_ref", "[3,\"3\",\"room:lobby\",\"phx_join\",{}]", "join_ref must be a string or null" },
    { "bool_ref", "[null,true,\"phoenix\",\"heartbeat\",{}]", "ref must be a string or null" },
    { "object_join_ref", "[{},\"1\",\"t\",\"e\",{}]", "join_ref must be a string or null" },
    { "not_json", "hello", "invalid JSON" },
    { "truncated_json", "[null,\"1\",\"t\",\"e\",{}", "invalid JSON" },
    { "trailing_garbage", "[null,\"1\",\"t\",\"e\",{}] x", "invalid JSON" },
    { "invalid_utf8", "[null,\"1\",\"t\xC0\x80\",\"e\",{}]", "invalid JSON" },
    { "nul_escape", "[null,\"1\",\"t\\u0000x\",\"e\",{}]", "invalid JSON" },
    { "empty", "", "invalid JSON" },
    { "object_root", "{\"topic\":\"t\",\"event\":\"e\",\"payload\":{},\"ref\":\"1\"}", "not a JSON array of 5" },
    { "array_of_4", "[null,\"1\",\"t\",\"e\"]", "not a JSON array of 5" },
    { "empty_array", "[]", "not a JSON array of 5" },
    { "topic_number", "[null,\"1\",5,\"e\",{}]", "topic must be a non-empty string" },
    { "topic_null", "[null,\"1\",null,\"e\",{}]", "topic must be a non-empty string" },
    { "topic_empty", "[null,\"1\",\"\",\"e\",{}]", "topic must be a non-empty string" },
    { "event_empty", "[null,\"1\",\"t\",\"\",{}]", "event must be a non-empty string" },
    { "event_array", "[null,\"1\",\"t\",[],{}]", "event must be a non-empty string" },
};

START_TEST(bad_text_message_is_refused_with_reason)
{
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(decode(bad_text[_i].json, &m, &why), -EINVAL);
    ck_assert_msg(why && strcmp(why, bad_text[_i].why) == 0, "%s: why=%s", bad_text[_i].name,
                  why ? why : "(null)");
    ck_assert_ptr_null(m.root);
}
END_TEST

START_TEST(names_over_their_limits_are_refused)
{
    char buf[2048], big[400];
    rc_phx_msg_t m;
    const char *why = NULL;

    memset(big, 'x', sizeof(big));
    big[RC_TOPIC_MAX + 1] = '\0';
    snprintf(buf, sizeof(buf), "[null,\"1\",\"%s\",\"e\",{}]", big);
    ck_assert_int_eq(decode(buf, &m, &why), -EINVAL);
    ck_assert_str_eq(why, "topic too long");
    big[RC_EVENT_MAX + 1] = '\0';
    snprintf(buf, sizeof(buf), "[null,\"1\",\"t\",\"%s\",{}]", big);
    ck_assert_int_eq(decode(buf, &m, &why), -EINVAL);
    ck_assert_str_eq(why, "event too long");
    big[RC_REF_MAX + 1] = '\0';
    snprintf(buf, sizeof(buf), "[null,\"%s\",\"t\",\"e\",{}]", big);
    ck_assert_int_eq(decode(buf, &m, &why), -EINVAL);
    ck_assert_str_eq(why, "ref too long");
    snprintf(buf, sizeof(buf), "[\"%s\",\"1\",\"t\",\"e\",{}]", big);
    ck_assert_int_eq(decode(buf, &m, &why), -EINVAL);
    ck_assert_str_eq(why, "join_ref too long");
}
END_TEST

START_TEST(captured_binary_push_decodes)
{
    /* Phoenix's V2 binary push as its client sends it: topic room:lobby, event bin,
     * join_ref "6", ref "14", payload 01 02 03. */
    static const uint8_t buf[] = { 0x00, 0x01, 0x02, 0x0a, 0x03, 0x36, 0x31, 0x34,
                                   0x72, 0x6f, 0x6f, 0x6d, 0x3a, 0x6c, 0x6f, 0x62, 0x62, 0x79,
                                   0x62, 0x69, 0x6e, 0x01, 0x02, 0x03 };
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(rc_phx_decode_binary(buf, sizeof(buf), &m, &why), 0);
    ck_assert(rc_slice_eq(m.join_ref, "6"));
    ck_assert(rc_slice_eq(m.ref, "14"));
    ck_assert(rc_slice_eq(m.topic, "room:lobby"));
    ck_assert(rc_slice_eq(m.event, "bin"));
    ck_assert_uint_eq(m.binary.n, 3);
    ck_assert_mem_eq(m.binary.p, "\x01\x02\x03", 3);
    ck_assert_ptr_null(m.payload);
    ck_assert_ptr_null(m.root);
    rc_phx_msg_release(&m);
}
END_TEST

START_TEST(binary_push_with_empty_refs_and_payload)
{
    static const uint8_t buf[] = { 0x00, 0x00, 0x00, 0x01, 0x01, 't', 'e' };
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(rc_phx_decode_binary(buf, sizeof(buf), &m, &why), 0);
    ck_assert_ptr_nonnull(m.join_ref.p);
    ck_assert_uint_eq(m.join_ref.n, 0);
    ck_assert_ptr_nonnull(m.binary.p);
    ck_assert_uint_eq(m.binary.n, 0);
}
END_TEST

static const struct {
    const char *name;
    uint8_t b[16];
    size_t n;
    const char *why;
} bad_bin[] = {
    { "empty", { 0 }, 0, "binary push too short" },
    { "four_bytes", { 0, 0, 0, 1 }, 4, "binary push too short" },
    { "reply_kind", { 1, 0, 0, 1, 1, 't', 'e' }, 7, "only binary pushes (kind 0) are accepted" },
    { "broadcast_kind", { 2, 1, 1, 't', 'e' }, 5, "only binary pushes (kind 0) are accepted" },
    { "lengths_past_end", { 0, 1, 1, 1, 1, '1', '2', 't' }, 8, "binary push shorter than its header says" },
    { "empty_topic", { 0, 0, 0, 0, 1, 'e' }, 6, "topic must be a non-empty string" },
    { "empty_event", { 0, 0, 0, 1, 0, 't' }, 6, "event must be a non-empty string" },
    { "invalid_utf8_topic", { 0, 0, 0, 2, 1, 0xC0, 0x80, 'e' }, 8, "binary push strings must be UTF-8 without NUL" },
    { "nul_in_event", { 0, 0, 0, 1, 1, 't', 0 }, 7, "binary push strings must be UTF-8 without NUL" },
    /* Found by fuzz_phx: C3 A9 is valid only as one sequence, but its bytes
     * belong to join_ref and ref. */
    { "char_straddles_two_fields", { 0, 1, 1, 1, 1, 0xC3, 0xA9, 't', 'e' }, 9, "binary push strings must be UTF-8 without NUL" },
};

START_TEST(bad_binary_push_is_refused_with_reason)
{
    rc_phx_msg_t m;
    const char *why = NULL;

    ck_assert_int_eq(rc_phx_decode_binary(bad_bin[_i].b, bad_bin[_i].n, &m, &why), -EINVAL);
    ck_assert_msg(why && strcmp(why, bad_bin[_i].why) == 0, "%s: why=%s", bad_bin[_i].name,
                  why ? why : "(null)");
}
END_TEST

START_TEST(binary_ref_over_limit_is_refused)
{
    uint8_t buf[5 + 65 + 2];
    rc_phx_msg_t m;
    const char *why = NULL;

    memset(buf, '1', sizeof(buf));
    buf[0] = 0;
    buf[1] = 0;
    buf[2] = 65;
    buf[3] = 1;
    buf[4] = 1;
    ck_assert_int_eq(rc_phx_decode_binary(buf, sizeof(buf), &m, &why), -EINVAL);
    ck_assert_str_eq(why, "ref too long");
}
END_TEST

/* Runs an encoder into a buffer and compares with the expected text; also
 * checks every smaller buffer is refused with -ENOSPC. */
#define CHECK_ENC(want, call_with_cap)                                        \
    do {                                                                      \
        char out[512];                                                        \
        size_t cap = sizeof(out);                                             \
        int n_ = (call_with_cap);                                             \
        ck_assert_int_eq(n_, (int)strlen(want));                              \
        ck_assert_mem_eq(out, want, (size_t)n_);                              \
        for (cap = 0; cap < strlen(want); cap++)                              \
            ck_assert_int_eq((call_with_cap), -ENOSPC);                       \
    } while (0)

START_TEST(reply_encodes_exactly)
{
    CHECK_ENC("[\"3\",\"3\",\"room:lobby\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]",
              rc_phx_encode_reply(out, cap, RC_SLICE_LIT("3"), RC_SLICE_LIT("3"),
                                  RC_SLICE_LIT("room:lobby"), "ok", RC_SLICE_LIT("{}")));
    CHECK_ENC("[null,\"12\",\"phoenix\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]",
              rc_phx_encode_reply(out, cap, RC_SLICE_NULL, RC_SLICE_LIT("12"),
                                  RC_SLICE_LIT("phoenix"), "ok", RC_SLICE_LIT("{}")));
    CHECK_ENC("[null,\"9\",\"nope\",\"phx_reply\",{\"status\":\"error\",\"response\":"
              "{\"reason\":\"unmatched topic\"}}]",
              rc_phx_encode_reply(out, cap, RC_SLICE_NULL, RC_SLICE_LIT("9"), RC_SLICE_LIT("nope"),
                                  "error", RC_SLICE_LIT("{\"reason\":\"unmatched topic\"}")));
}
END_TEST

START_TEST(push_close_error_broadcast_encode_exactly)
{
    CHECK_ENC("[\"3\",null,\"room:lobby\",\"presence_state\",{}]",
              rc_phx_encode_push(out, cap, RC_SLICE_LIT("3"), RC_SLICE_LIT("room:lobby"),
                                 RC_SLICE_LIT("presence_state"), RC_SLICE_LIT("{}")));
    CHECK_ENC("[\"14\",\"14\",\"room:lobby\",\"phx_close\",{}]",
              rc_phx_encode_close(out, cap, RC_SLICE_LIT("14"), RC_SLICE_LIT("room:lobby")));
    CHECK_ENC("[\"3\",\"3\",\"room:lobby\",\"phx_error\",{\"reason\":\"channel_crash\"}]",
              rc_phx_encode_error(out, cap, RC_SLICE_LIT("3"), RC_SLICE_LIT("room:lobby"),
                                  "channel_crash"));
    CHECK_ENC("[null,\"@42\",\"t\",\"e\",{\"a\":1}]",
              rc_phx_encode_broadcast(out, cap, 42, RC_SLICE_LIT("t"), RC_SLICE_LIT("e"),
                                      RC_SLICE_LIT("{\"a\":1}")));
    CHECK_ENC("[null,\"@18446744073709551615\",\"t\",\"e\",null]",
              rc_phx_encode_broadcast(out, cap, UINT64_MAX, RC_SLICE_LIT("t"), RC_SLICE_LIT("e"),
                                      RC_SLICE_NULL));
}
END_TEST

START_TEST(refs_are_echoed_exactly_as_strings)
{
    /* The client compares refs with ===: whatever string came in, the
     * same string goes out, including ones that look like numbers. */
    static const char *msgs[] = {
        "[\"007\",\"1e3\",\"room:lobby\",\"new_msg\",{}]",
        "[\"a\\\"b\",\"\\u00e9\\n\",\"room:lobby\",\"new_msg\",{}]",
        "[\"\",\"-0\",\"t/\\\\x\",\"e\",{}]",
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        rc_phx_msg_t m, m2;
        const char *why = NULL;
        char out[512];
        int n;

        ck_assert_int_eq(decode(msgs[i], &m, &why), 0);
        n = rc_phx_encode_reply(out, sizeof(out), m.join_ref, m.ref, m.topic, "ok",
                                RC_SLICE_LIT("{}"));
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(rc_phx_decode_text(out, (size_t)n, &m2, &why), 0);
        ck_assert_uint_eq(m2.join_ref.n, m.join_ref.n);
        ck_assert_mem_eq(m2.join_ref.p, m.join_ref.p, m.join_ref.n);
        ck_assert_uint_eq(m2.ref.n, m.ref.n);
        ck_assert_mem_eq(m2.ref.p, m.ref.p, m.ref.n);
        ck_assert_uint_eq(m2.topic.n, m.topic.n);
        ck_assert_mem_eq(m2.topic.p, m.topic.p, m.topic.n);
        ck_assert(rc_slice_eq(m2.event, "phx_reply"));
        ck_assert_str_eq(json_string_value(json_object_get(m2.payload, "status")), "ok");
        rc_phx_msg_release(&m2);
        rc_phx_msg_release(&m);
    }
    {
        char out[128];
        int n = rc_phx_encode_reply(out, sizeof(out), RC_SLICE_LIT("007"), RC_SLICE_LIT("1e3"),
                                    RC_SLICE_LIT("t"), "ok", RC_SLICE_LIT("{}"));
        const char *want = "[\"007\",\"1e3\",\"t\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]";
        ck_assert_int_eq(n, (int)strlen(want));
        ck_assert_mem_eq(out, want, (size_t)n);
    }
}
END_TEST

START_TEST(binary_push_refs_round_trip_into_text_reply)
{
    static const uint8_t buf[] = { 0x00, 0x01, 0x02, 0x0a, 0x03, '6', '1', '4',
                                   'r', 'o', 'o', 'm', ':', 'l', 'o', 'b', 'b', 'y', 'b', 'i', 'n', 1, 2, 3 };
    rc_phx_msg_t m;
    const char *why = NULL;
    char out[256];
    int n;

    ck_assert_int_eq(rc_phx_decode_binary(buf, sizeof(buf), &m, &why), 0);
    n = rc_phx_encode_reply(out, sizeof(out), m.join_ref, m.ref, m.topic, "ok", RC_SLICE_LIT("{}"));
    {
        const char *want = "[\"6\",\"14\",\"room:lobby\",\"phx_reply\",{\"status\":\"ok\",\"response\":{}}]";
        ck_assert_int_eq(n, (int)strlen(want));
        ck_assert_mem_eq(out, want, (size_t)n);
    }
}
END_TEST

START_TEST(json_string_escapes_quotes_backslash_and_controls)
{
    char out[128];
    size_t off = 0;
    const char in[] = "a\"b\\c\n\t\r\b\f\x01\x1f\x7f/\xE2\x82\xAC";
    const char *want = "\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f\x7f/\xE2\x82\xAC\"";

    ck_assert_int_eq(rc_json_put_string(out, sizeof(out), &off, rc_slice(in, sizeof(in) - 1)), 0);
    ck_assert_uint_eq(off, strlen(want));
    ck_assert_mem_eq(out, want, off);

    off = 0;
    ck_assert_int_eq(rc_json_put_string(out, sizeof(out), &off, RC_SLICE_NULL), 0);
    ck_assert_uint_eq(off, 4);
    ck_assert_mem_eq(out, "null", 4);
    ck_assert_int_eq(rc_json_put_string(out, sizeof(out), &off, RC_SLICE_LIT("")), 0);
    ck_assert_uint_eq(off, 6);
    ck_assert_mem_eq(out, "null\"\"", 6);
}
END_TEST

START_TEST(json_string_escaped_output_parses_back)
{
    char in[32], out[256];
    size_t off = 0;
    json_t *j;
    json_error_t err;

    for (int i = 0; i < 31; i++)
        in[i] = (char)(i + 1); /* every control character but NUL */
    in[31] = '"';
    ck_assert_int_eq(rc_json_put_string(out, sizeof(out), &off, rc_slice(in, sizeof(in))), 0);
    j = json_loadb(out, off, JSON_DECODE_ANY, &err);
    ck_assert_ptr_nonnull(j);
    ck_assert_uint_eq(json_string_length(j), sizeof(in));
    ck_assert_mem_eq(json_string_value(j), in, sizeof(in));
    json_decref(j);
}
END_TEST

START_TEST(json_string_without_room_leaves_offset_unchanged)
{
    char out[16];
    for (size_t cap = 0; cap < 8; cap++) {
        size_t off = 2;
        int r = rc_json_put_string(out, cap, &off, RC_SLICE_LIT("a\nb"));
        ck_assert_int_eq(r, -ENOSPC);
        ck_assert_uint_eq(off, 2);
    }
    {
        size_t off = 2;
        ck_assert_int_eq(rc_json_put_string(out, 8, &off, RC_SLICE_LIT("a\nb")), 0);
        ck_assert_uint_eq(off, 8);
        ck_assert_mem_eq(out + 2, "\"a\\nb\"", 6);
    }
}
END_TEST

static Suite *phx_suite(void)
{
    Suite *s = suite_create("phx");
    TCase *dec = tcase_create("decode");
    TCase *enc = tcase_create("encode");

    tcase_add_test(dec, join_decodes_every_field);
    tcase_add_test(dec, heartbeat_has_null_join_ref);
    tcase_add_test(dec, leave_and_push_with_whitespace_and_extra_elements);
    tcase_add_test(dec, empty_string_ref_is_present_not_null);
    tcase_add_test(dec, names_at_their_limits_are_accepted);
    tcase_add_loop_test(dec, bad_text_message_is_refused_with_reason, 0,
                        (int)(sizeof(bad_text) / sizeof(bad_text[0])));
    tcase_add_test(dec, names_over_their_limits_are_refused);
    tcase_add_test(dec, captured_binary_push_decodes);
    tcase_add_test(dec, binary_push_with_empty_refs_and_payload);
    tcase_add_loop_test(dec, bad_binary_push_is_refused_with_reason, 0,
                        (int)(sizeof(bad_bin) / sizeof(bad_bin[0])));
    tcase_add_test(dec, binary_ref_over_limit_is_refused);
    suite_add_tcase(s, dec);

    tcase_add_test(enc, reply_encodes_exactly);
    tcase_add_test(enc, push_close_error_broadcast_encode_exactly);
    tcase_add_test(enc, refs_are_echoed_exactly_as_strings);
    tcase_add_test(enc, binary_push_refs_round_trip_into_text_reply);
    tcase_add_test(enc, json_string_escapes_quotes_backslash_and_controls);
    tcase_add_test(enc, json_string_escaped_output_parses_back);
    tcase_add_test(enc, json_string_without_room_leaves_offset_unchanged);
    suite_add_tcase(s, enc);
    return s;
}

int main(void) { return rc_test_run(phx_suite()); }

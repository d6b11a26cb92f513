/* proto/ws_reader.c: message-level rules over parsed frames. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/close_codes.h"
#include "proto/ws_frame.h"
#include "proto/ws_reader.h"
#include "tests/unit/unit.h"

#define MAXM 1024

static rc_ws_reader_t rd;

static void setup(void)
{
    rc_ws_reader_init(&rd, MAXM);
}

/* Feeds one frame with an (already unmasked) payload. */
static int feed(int fin, uint8_t op, const void *p, size_t n, uint8_t *opcode, uint16_t *code)
{
    rc_ws_frame_t f = { .fin = (uint8_t)fin, .opcode = op, .payload_len = n, .header_len = 6 };
    uint8_t dummy_op;
    uint16_t dummy_code;
    return rc_ws_reader_frame(&rd, &f, p, opcode ? opcode : &dummy_op, code ? code : &dummy_code);
}

START_TEST(single_text_frame_is_a_message)
{
    uint8_t op = 0;
    ck_assert_int_eq(feed(1, RC_WS_OP_TEXT, "Hello", 5, &op, NULL), RC_WS_EV_MESSAGE);
    ck_assert_uint_eq(op, RC_WS_OP_TEXT);
    ck_assert_uint_eq(rd.msg_opcode, 0);
}
END_TEST

START_TEST(fragmented_text_with_ping_in_the_middle)
{
    uint8_t op = 0;
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, "Hel", 3, &op, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_uint_eq(op, RC_WS_OP_TEXT);
    ck_assert_int_eq(feed(1, RC_WS_OP_PING, "Hello", 5, &op, NULL), RC_WS_EV_PING);
    ck_assert_uint_eq(op, RC_WS_OP_PING);
    ck_assert_uint_eq(rd.msg_opcode, RC_WS_OP_TEXT); /* the message stays open */
    ck_assert_int_eq(feed(1, RC_WS_OP_PONG, "", 0, &op, NULL), RC_WS_EV_PONG);
    ck_assert_int_eq(feed(1, RC_WS_OP_CONT, "lo", 2, &op, NULL), RC_WS_EV_MESSAGE);
    ck_assert_uint_eq(op, RC_WS_OP_TEXT);
    ck_assert_uint_eq(rd.msg_len, 0);
}
END_TEST

START_TEST(fragmented_binary_reports_binary)
{
    uint8_t op = 0;
    ck_assert_int_eq(feed(0, RC_WS_OP_BINARY, "\xFF\xFE", 2, &op, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(0, RC_WS_OP_CONT, "", 0, &op, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(1, RC_WS_OP_CONT, "\xC0\x80", 2, &op, NULL), RC_WS_EV_MESSAGE);
    ck_assert_uint_eq(op, RC_WS_OP_BINARY);
}
END_TEST

START_TEST(utf8_character_split_across_fragments_is_valid)
{
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, "\xE2", 1, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(0, RC_WS_OP_CONT, "\x82", 1, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(1, RC_WS_OP_CONT, "\xAC", 1, NULL, NULL), RC_WS_EV_MESSAGE);
}
END_TEST

START_TEST(invalid_utf8_fails_on_the_first_fragment)
{
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, "ok\xC0\x80", 4, NULL, NULL), -RC_CLOSE_INVALID_DATA);
}
END_TEST

START_TEST(incomplete_character_at_fin_is_invalid)
{
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, "\xF0\x9F", 2, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(1, RC_WS_OP_CONT, "\x98", 1, NULL, NULL), -RC_CLOSE_INVALID_DATA);
}
END_TEST

START_TEST(message_state_resets_after_fin)
{
    ck_assert_int_eq(feed(1, RC_WS_OP_BINARY, "x", 1, NULL, NULL), RC_WS_EV_MESSAGE);
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, "a", 1, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(1, RC_WS_OP_CONT, "b", 1, NULL, NULL), RC_WS_EV_MESSAGE);
    ck_assert_int_eq(feed(1, RC_WS_OP_TEXT, "c", 1, NULL, NULL), RC_WS_EV_MESSAGE);
}
END_TEST

START_TEST(message_of_exactly_max_is_accepted)
{
    static uint8_t big[MAXM];
    memset(big, 'a', sizeof(big));
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, big, MAXM - 1, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(1, RC_WS_OP_CONT, big, 1, NULL, NULL), RC_WS_EV_MESSAGE);
}
END_TEST

START_TEST(empty_close_reports_1005)
{
    uint16_t code = 0;
    uint8_t op = 0;
    ck_assert_int_eq(feed(1, RC_WS_OP_CLOSE, NULL, 0, &op, &code), RC_WS_EV_CLOSE);
    ck_assert_uint_eq(code, 1005);
    ck_assert_uint_eq(op, RC_WS_OP_CLOSE);
}
END_TEST

START_TEST(close_with_code_and_reason_reports_code)
{
    uint16_t code = 0;
    ck_assert_int_eq(feed(1, RC_WS_OP_CLOSE, "\x03\xE8" "done \xE2\x82\xAC", 10, NULL, &code),
                     RC_WS_EV_CLOSE);
    ck_assert_uint_eq(code, 1000);
}
END_TEST

START_TEST(close_inside_fragmented_message_is_reported)
{
    uint16_t code = 0;
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, "a", 1, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(1, RC_WS_OP_CLOSE, "\x0B\xB8", 2, NULL, &code), RC_WS_EV_CLOSE);
    ck_assert_uint_eq(code, 3000);
}
END_TEST

static const uint16_t valid_codes[] = { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                                        1011, 1012, 1013, 1014, 3000, 3999, 4000, 4001,
                                        4008, 4009, 4999 };

START_TEST(valid_close_code_is_accepted)
{
    uint16_t want = valid_codes[_i], code = 0;
    uint8_t p[2] = { (uint8_t)(want >> 8), (uint8_t)want };
    ck_assert_int_eq(feed(1, RC_WS_OP_CLOSE, p, 2, NULL, &code), RC_WS_EV_CLOSE);
    ck_assert_uint_eq(code, want);
}
END_TEST

/* Every rejection, as a short sequence of frames; the last one must return
 * exactly `code` and every earlier one must be accepted. */
struct step {
    int fin;
    uint8_t op;
    const char *p;
    size_t n;
};
struct bad_seq {
    const char *name;
    int code;
    size_t nsteps;
    struct step s[3];
};

#define S(fin, op, lit) { fin, op, lit, sizeof(lit) - 1 }
#define CLOSE_CODE(c) S(1, RC_WS_OP_CLOSE, c)

static const struct bad_seq bad[] = {
    { "close_payload_one_byte", 1002, 1, { S(1, RC_WS_OP_CLOSE, "\x03") } },
    { "close_code_0", 1002, 1, { CLOSE_CODE("\x00\x00") } },
    { "close_code_999", 1002, 1, { CLOSE_CODE("\x03\xE7") } },
    { "close_code_1004", 1002, 1, { CLOSE_CODE("\x03\xEC") } },
    { "close_code_1005", 1002, 1, { CLOSE_CODE("\x03\xED") } },
    { "close_code_1006", 1002, 1, { CLOSE_CODE("\x03\xEE") } },
    { "close_code_1015", 1002, 1, { CLOSE_CODE("\x03\xF7") } },
    { "close_code_1016", 1002, 1, { CLOSE_CODE("\x03\xF8") } },
    { "close_code_1100", 1002, 1, { CLOSE_CODE("\x04\x4C") } },
    { "close_code_2000", 1002, 1, { CLOSE_CODE("\x07\xD0") } },
    { "close_code_2999", 1002, 1, { CLOSE_CODE("\x0B\xB7") } },
    { "close_code_5000", 1002, 1, { CLOSE_CODE("\x13\x88") } },
    { "close_code_65535", 1002, 1, { CLOSE_CODE("\xFF\xFF") } },
    { "close_reason_invalid_utf8", 1007, 1, { CLOSE_CODE("\x03\xE8\xC0\x80") } },
    { "close_reason_truncated_utf8", 1007, 1, { CLOSE_CODE("\x03\xE8\xE2\x82") } },
    { "continuation_without_message", 1002, 1, { S(1, RC_WS_OP_CONT, "x") } },
    { "continuation_after_finished_message", 1002, 2,
      { S(1, RC_WS_OP_TEXT, "a"), S(0, RC_WS_OP_CONT, "b") } },
    { "text_inside_open_message", 1002, 2,
      { S(0, RC_WS_OP_TEXT, "a"), S(1, RC_WS_OP_TEXT, "b") } },
    { "binary_inside_open_message", 1002, 2,
      { S(0, RC_WS_OP_BINARY, "a"), S(1, RC_WS_OP_BINARY, "b") } },
    { "text_inside_open_binary_message", 1002, 3,
      { S(0, RC_WS_OP_BINARY, "a"), S(1, RC_WS_OP_PING, ""), S(0, RC_WS_OP_TEXT, "b") } },
    { "text_overlong_c0_80", 1007, 1, { S(1, RC_WS_OP_TEXT, "\xC0\x80") } },
    { "text_surrogate_ed_a0_80", 1007, 1, { S(1, RC_WS_OP_TEXT, "\xED\xA0\x80") } },
    { "text_above_max_f4_90_80_80", 1007, 1, { S(1, RC_WS_OP_TEXT, "\xF4\x90\x80\x80") } },
    { "text_bad_byte_in_continuation", 1007, 2,
      { S(0, RC_WS_OP_TEXT, "ok"), S(0, RC_WS_OP_CONT, "\xFF") } },
    { "text_surrogate_split_over_fragments", 1007, 2,
      { S(0, RC_WS_OP_TEXT, "\xED"), S(1, RC_WS_OP_CONT, "\xA0\x80") } },
    { "text_ends_inside_character", 1007, 1, { S(1, RC_WS_OP_TEXT, "\xE2\x82") } },
    { "text_ends_inside_character_after_ping", 1007, 3,
      { S(0, RC_WS_OP_TEXT, "\xE2"), S(1, RC_WS_OP_PING, "p"), S(1, RC_WS_OP_CONT, "\x82") } },
};

START_TEST(bad_sequence_returns_its_close_code)
{
    const struct bad_seq *b = &bad[_i];
    for (size_t k = 0; k < b->nsteps; k++) {
        const struct step *st = &b->s[k];
        int r = feed(st->fin, st->op, st->p, st->n, NULL, NULL);
        if (k + 1 < b->nsteps)
            ck_assert_msg(r > 0, "%s: step %zu refused with %d", b->name, k, r);
        else
            ck_assert_msg(r == -b->code, "%s: got %d want %d", b->name, r, -b->code);
    }
}
END_TEST

START_TEST(single_frame_over_max_is_too_big)
{
    static uint8_t big[MAXM + 1];
    ck_assert_int_eq(feed(1, RC_WS_OP_BINARY, big, MAXM + 1, NULL, NULL), -RC_CLOSE_TOO_BIG);
}
END_TEST

START_TEST(fragments_summing_over_max_are_too_big)
{
    static uint8_t big[MAXM];
    memset(big, 'a', sizeof(big));
    ck_assert_int_eq(feed(0, RC_WS_OP_TEXT, big, 600, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(0, RC_WS_OP_CONT, big, 424, NULL, NULL), RC_WS_EV_FRAGMENT);
    ck_assert_int_eq(feed(1, RC_WS_OP_CONT, big, 1, NULL, NULL), -RC_CLOSE_TOO_BIG);
}
END_TEST

START_TEST(huge_declared_length_does_not_wrap_the_sum)
{
    rc_ws_frame_t f = { .fin = 0, .opcode = RC_WS_OP_BINARY, .payload_len = 10 };
    uint8_t op;
    uint16_t code;
    uint8_t p[10] = { 0 };

    rc_ws_reader_init(&rd, ~0ull - 5);
    ck_assert_int_eq(rc_ws_reader_frame(&rd, &f, p, &op, &code), RC_WS_EV_FRAGMENT);
    f.opcode = RC_WS_OP_CONT;
    f.payload_len = ~0ull - 8; /* 10 + this wraps past 2^64 */
    ck_assert_int_eq(rc_ws_reader_frame(&rd, &f, p, &op, &code), -RC_CLOSE_TOO_BIG);
}
END_TEST

static Suite *reader_suite(void)
{
    Suite *s = suite_create("ws_reader");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, single_text_frame_is_a_message);
    tcase_add_test(tc, fragmented_text_with_ping_in_the_middle);
    tcase_add_test(tc, fragmented_binary_reports_binary);
    tcase_add_test(tc, utf8_character_split_across_fragments_is_valid);
    tcase_add_test(tc, invalid_utf8_fails_on_the_first_fragment);
    tcase_add_test(tc, incomplete_character_at_fin_is_invalid);
    tcase_add_test(tc, message_state_resets_after_fin);
    tcase_add_test(tc, message_of_exactly_max_is_accepted);
    tcase_add_test(tc, empty_close_reports_1005);
    tcase_add_test(tc, close_with_code_and_reason_reports_code);
    tcase_add_test(tc, close_inside_fragmented_message_is_reported);
    tcase_add_loop_test(tc, valid_close_code_is_accepted, 0,
                        (int)(sizeof(valid_codes) / sizeof(valid_codes[0])));
    tcase_add_loop_test(tc, bad_sequence_returns_its_close_code, 0,
                        (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, single_frame_over_max_is_too_big);
    tcase_add_test(tc, fragments_summing_over_max_are_too_big);
    tcase_add_test(tc, huge_declared_length_does_not_wrap_the_sum);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return rc_test_run(reader_suite()); }

/* proto/ws_frame.c: client frame header parsing, unmasking, server encoders. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/close_codes.h"
#include "proto/utf8.h"
#include "proto/ws_frame.h"
#include "tests/unit/unit.h"

#define MAXP (16u << 20)

static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* Builds a masked client frame with a 7-bit, 16-bit or 64-bit length form
 * (lenform 0 = minimal). Returns the frame length. */
static size_t client_frame(uint8_t *out, int fin, uint8_t op, const void *payload, size_t n,
                           int lenform)
{
    size_t h = 0;
    out[h++] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (lenform == 0)
        lenform = n < 126 ? 7 : n < 65536 ? 16 : 64;
    if (lenform == 7) {
        out[h++] = (uint8_t)(0x80 | n);
    } else if (lenform == 16) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t)(n >> 8);
        out[h++] = (uint8_t)n;
    } else {
        out[h++] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            out[h++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    memcpy(out + h, key, 4);
    h += 4;
    for (size_t i = 0; i < n; i++)
        out[h + i] = ((const uint8_t *)payload)[i] ^ key[i & 3];
    return h + n;
}

START_TEST(rfc_masked_hello_parses_and_unmasks)
{
    /* RFC 6455 5.7: a single-frame masked text message "Hello". */
    uint8_t buf[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
    rc_ws_frame_t f;

    ck_assert_int_eq(rc_ws_frame_parse(buf, sizeof(buf), MAXP, &f), 6);
    ck_assert_uint_eq(f.fin, 1);
    ck_assert_uint_eq(f.opcode, RC_WS_OP_TEXT);
    ck_assert_uint_eq(f.payload_len, 5);
    ck_assert_uint_eq(f.header_len, 6);
    ck_assert_mem_eq(f.mask, key, 4);
    rc_ws_unmask(buf + 6, 5, f.mask, 0);
    ck_assert_mem_eq(buf + 6, "Hello", 5);
}
END_TEST

START_TEST(rfc_fragmented_hello_masked_parses_both_frames)
{
    /* RFC 6455 5.7's fragmented "Hel" + "lo", masked as a client must. */
    uint8_t buf[64];
    size_t a = client_frame(buf, 0, RC_WS_OP_TEXT, "Hel", 3, 0);
    size_t b = client_frame(buf + a, 1, RC_WS_OP_CONT, "lo", 2, 0);
    rc_ws_frame_t f;

    ck_assert_uint_eq(buf[0], 0x01);
    ck_assert_uint_eq(buf[a], 0x80);
    ck_assert_int_eq(rc_ws_frame_parse(buf, a + b, MAXP, &f), 6);
    ck_assert_uint_eq(f.fin, 0);
    ck_assert_uint_eq(f.opcode, RC_WS_OP_TEXT);
    ck_assert_uint_eq(f.payload_len, 3);
    rc_ws_unmask(buf + 6, 3, f.mask, 0);
    ck_assert_mem_eq(buf + 6, "Hel", 3);
    ck_assert_int_eq(rc_ws_frame_parse(buf + a, b, MAXP, &f), 6);
    ck_assert_uint_eq(f.fin, 1);
    ck_assert_uint_eq(f.opcode, RC_WS_OP_CONT);
    rc_ws_unmask(buf + a + 6, 2, f.mask, 0);
    ck_assert_mem_eq(buf + a + 6, "lo", 2);
}
END_TEST

START_TEST(masked_ping_and_pong_parse)
{
    uint8_t buf[32];
    rc_ws_frame_t f;
    size_t n = client_frame(buf, 1, RC_WS_OP_PING, "Hello", 5, 0);

    ck_assert_int_eq(rc_ws_frame_parse(buf, n, MAXP, &f), 6);
    ck_assert_uint_eq(f.opcode, RC_WS_OP_PING);
    n = client_frame(buf, 1, RC_WS_OP_PONG, "", 0, 0);
    ck_assert_int_eq(rc_ws_frame_parse(buf, n, MAXP, &f), 6);
    ck_assert_uint_eq(f.opcode, RC_WS_OP_PONG);
    ck_assert_uint_eq(f.payload_len, 0);
}
END_TEST

START_TEST(length_126_form_parses_256_bytes)
{
    static uint8_t payload[256], buf[300];
    rc_ws_frame_t f;
    size_t n;

    memset(payload, 'x', sizeof(payload));
    n = client_frame(buf, 1, RC_WS_OP_BINARY, payload, 256, 0);
    ck_assert_uint_eq(buf[1], 0x80 | 126);
    ck_assert_int_eq(rc_ws_frame_parse(buf, n, MAXP, &f), 8);
    ck_assert_uint_eq(f.payload_len, 256);
    rc_ws_unmask(buf + 8, 256, f.mask, 0);
    ck_assert_mem_eq(buf + 8, payload, 256);
}
END_TEST

START_TEST(length_127_form_parses_65536_bytes)
{
    uint8_t *payload = malloc(65536), *buf = malloc(65536 + 14);
    rc_ws_frame_t f;
    size_t n;

    for (size_t i = 0; i < 65536; i++)
        payload[i] = (uint8_t)(i * 7);
    n = client_frame(buf, 1, RC_WS_OP_BINARY, payload, 65536, 0);
    ck_assert_uint_eq(buf[1], 0x80 | 127);
    ck_assert_int_eq(rc_ws_frame_parse(buf, n, MAXP, &f), 14);
    ck_assert_uint_eq(f.payload_len, 65536);
    rc_ws_unmask(buf + 14, 65536, f.mask, 0);
    ck_assert_mem_eq(buf + 14, payload, 65536);
    free(payload);
    free(buf);
}
END_TEST

START_TEST(boundary_lengths_use_the_minimal_form)
{
    /* 125 in 7 bits, 126 and 65535 in 16 bits are all minimal. */
    static const struct { size_t n; int form; int hl; } ok[] = {
        { 125, 7, 6 }, { 126, 16, 8 }, { 65535, 16, 8 },
    };
    uint8_t *buf = malloc(70000), *payload = calloc(1, 65536);
    rc_ws_frame_t f;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        size_t n = client_frame(buf, 1, RC_WS_OP_BINARY, payload, ok[i].n, ok[i].form);
        ck_assert_int_eq(rc_ws_frame_parse(buf, n, MAXP, &f), ok[i].hl);
        ck_assert_uint_eq(f.payload_len, ok[i].n);
    }
    free(buf);
    free(payload);
}
END_TEST

START_TEST(payload_equal_to_limit_is_accepted)
{
    uint8_t buf[32];
    rc_ws_frame_t f;
    size_t n = client_frame(buf, 1, RC_WS_OP_TEXT, "abcd", 4, 0);
    ck_assert_int_eq(rc_ws_frame_parse(buf, n, 4, &f), 6);
    ck_assert_int_eq(rc_ws_frame_parse(buf, n, 3, &f), -RC_CLOSE_TOO_BIG);
}
END_TEST

/* Every rejection the header lists, with the exact close code. Only the
 * header bytes matter; mask key bytes are appended so the header is whole. */
struct bad {
    const char *name;
    uint8_t b[14];
    size_t n;
    uint64_t max;
    int code;
};

#define MK 0x11, 0x22, 0x33, 0x44

static const struct bad bad_frames[] = {
    { "rsv1_set", { 0xC1, 0x80, MK }, 6, MAXP, 1002 },
    { "rsv2_set", { 0xA1, 0x80, MK }, 6, MAXP, 1002 },
    { "rsv3_set", { 0x91, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_3", { 0x83, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_4", { 0x84, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_5", { 0x85, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_6", { 0x86, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_7", { 0x87, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_b", { 0x8B, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_c", { 0x8C, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_d", { 0x8D, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_e", { 0x8E, 0x80, MK }, 6, MAXP, 1002 },
    { "opcode_f", { 0x8F, 0x80, MK }, 6, MAXP, 1002 },
    { "unmasked_text", { 0x81, 0x05 }, 2, MAXP, 1002 },
    { "unmasked_close", { 0x88, 0x00 }, 2, MAXP, 1002 },
    { "ping_len_126", { 0x89, 0x80 | 126, 0x00, 126, MK }, 8, MAXP, 1002 },
    { "close_len_127_form", { 0x88, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0, MK }, 14, MAXP, 1002 },
    { "ping_not_fin", { 0x09, 0x80, MK }, 6, MAXP, 1002 },
    { "close_not_fin", { 0x08, 0x82, MK }, 6, MAXP, 1002 },
    { "pong_not_fin", { 0x0A, 0x80, MK }, 6, MAXP, 1002 },
    { "len16_form_for_0", { 0x82, 0x80 | 126, 0x00, 0x00, MK }, 8, MAXP, 1002 },
    { "len16_form_for_125", { 0x82, 0x80 | 126, 0x00, 125, MK }, 8, MAXP, 1002 },
    { "len64_form_for_126", { 0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0, 126, MK }, 14, MAXP, 1002 },
    { "len64_form_for_65535", { 0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, MK }, 14, MAXP, 1002 },
    { "len64_msb_set", { 0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, MK }, 14, ~0ull, 1002 },
    { "len64_all_ones", { 0x82, 0x80 | 127, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, MK }, 14, ~0ull, 1002 },
    { "len7_over_limit", { 0x82, 0x80 | 100, MK }, 6, 99, 1009 },
    { "len16_over_limit", { 0x82, 0x80 | 126, 0x01, 0x00, MK }, 8, 255, 1009 },
    { "len64_over_limit", { 0x82, 0x80 | 127, 0, 0, 0, 1, 0, 0, 0, 0, MK }, 14, MAXP, 1009 },
    { "continuation_over_limit", { 0x80, 0x80 | 10, MK }, 6, 9, 1009 },
};

START_TEST(bad_frame_returns_its_close_code)
{
    const struct bad *b = &bad_frames[_i];
    rc_ws_frame_t f;
    ck_assert_msg(rc_ws_frame_parse(b->b, b->n, b->max, &f) == -b->code, "%s: got %d want %d",
                  b->name, rc_ws_frame_parse(b->b, b->n, b->max, &f), -b->code);
}
END_TEST

START_TEST(every_truncated_prefix_returns_incomplete)
{
    /* Each header form, cut at every byte: "need more", never an error. */
    static uint8_t buf[70000];
    static uint8_t payload[65536];
    static const struct { uint8_t op; int fin; size_t n; } frames[] = {
        { RC_WS_OP_TEXT, 1, 5 }, { RC_WS_OP_TEXT, 0, 300 }, { RC_WS_OP_CONT, 1, 65536 },
        { RC_WS_OP_PING, 1, 125 }, { RC_WS_OP_CLOSE, 1, 2 }, { RC_WS_OP_BINARY, 1, 0 },
    };
    for (size_t k = 0; k < sizeof(frames) / sizeof(frames[0]); k++) {
        size_t n = client_frame(buf, frames[k].fin, frames[k].op, payload, frames[k].n, 0);
        size_t hl = n - frames[k].n;
        rc_ws_frame_t f;
        for (size_t cut = 0; cut < hl; cut++)
            ck_assert_msg(rc_ws_frame_parse(buf, cut, MAXP, &f) == 0, "frame %zu cut %zu", k, cut);
        ck_assert_int_eq(rc_ws_frame_parse(buf, hl, MAXP, &f), (int)hl);
    }
}
END_TEST

START_TEST(every_truncated_prefix_of_a_frame_sequence_is_never_an_error)
{
    /* A stream as an edge reads it: fragmented text with a ping in the
     * middle, a 300-byte binary frame, then a close. Cut anywhere, walking
     * the frames gives only complete frames and then "need more". */
    static uint8_t buf[1024], payload[300];
    size_t n = 0, total_frames = 0;

    n += client_frame(buf + n, 0, RC_WS_OP_TEXT, "Hel", 3, 0);
    n += client_frame(buf + n, 1, RC_WS_OP_PING, "ping", 4, 0);
    n += client_frame(buf + n, 1, RC_WS_OP_CONT, "lo", 2, 0);
    n += client_frame(buf + n, 1, RC_WS_OP_BINARY, payload, sizeof(payload), 0);
    n += client_frame(buf + n, 1, RC_WS_OP_CLOSE, "\x03\xe9", 2, 0);

    for (size_t cut = 0; cut <= n; cut++) {
        size_t pos = 0, frames = 0;
        for (;;) {
            rc_ws_frame_t f;
            int r = rc_ws_frame_parse(buf + pos, cut - pos, MAXP, &f);
            ck_assert_msg(r >= 0, "cut %zu pos %zu: %d", cut, pos, r);
            if (r == 0 || f.payload_len > cut - pos - f.header_len)
                break;
            pos += f.header_len + (size_t)f.payload_len;
            frames++;
        }
        if (cut == n)
            total_frames = frames;
    }
    ck_assert_uint_eq(total_frames, 5);
}
END_TEST

static void unmask_ref(uint8_t *d, size_t n, const uint8_t m[4], uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        d[i] ^= m[(off + i) & 3];
}

START_TEST(unmask_matches_bytewise_reference_at_any_offset_and_alignment)
{
    uint8_t a[300], b[300];
    const uint8_t m[4] = { 0xA5, 0x5A, 0x0F, 0xF0 };
    for (size_t align = 0; align < 8; align++)
        for (uint64_t off = 0; off < 9; off++)
            for (size_t n = 0; n < 100; n++) {
                for (size_t i = 0; i < sizeof(a); i++)
                    a[i] = b[i] = (uint8_t)(i * 31 + 7);
                rc_ws_unmask(a + align, n, m, off);
                unmask_ref(b + align, n, m, off);
                ck_assert_mem_eq(a, b, sizeof(a));
            }
}
END_TEST

START_TEST(unmask_in_pieces_equals_unmask_whole)
{
    uint8_t a[257], b[257];
    for (size_t i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)i;
    rc_ws_unmask(a, sizeof(a), key, 0);
    for (size_t pos = 0, step = 1; pos < sizeof(b); pos += step, step = step * 2 + 1) {
        size_t n = step < sizeof(b) - pos ? step : sizeof(b) - pos;
        rc_ws_unmask(b + pos, n, key, pos);
    }
    ck_assert_mem_eq(a, b, sizeof(a));
}
END_TEST

START_TEST(header_encode_uses_minimal_forms)
{
    static const struct { uint64_t len; size_t hl; } cases[] = {
        { 0, 2 }, { 125, 2 }, { 126, 4 }, { 65535, 4 }, { 65536, 10 }, { 1ull << 32, 10 },
    };
    uint8_t out[RC_WS_MAX_SERVER_HEADER];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t hl = rc_ws_header_encode(out, RC_WS_OP_TEXT, cases[i].len);
        ck_assert_uint_eq(hl, cases[i].hl);
        ck_assert_uint_eq(rc_ws_header_size(cases[i].len), hl);
        ck_assert_uint_eq(out[0], 0x81);
        ck_assert_uint_eq(out[1] & 0x80, 0); /* servers never mask */
    }
    rc_ws_header_encode(out, RC_WS_OP_BINARY, 300);
    ck_assert_uint_eq(out[0], 0x82);
    ck_assert_uint_eq(out[1], 126);
    ck_assert_uint_eq(out[2], 0x01);
    ck_assert_uint_eq(out[3], 0x2C);
    rc_ws_header_encode(out, RC_WS_OP_BINARY, 0x0102030405ull);
    {
        const uint8_t want[10] = { 0x82, 127, 0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05 };
        ck_assert_mem_eq(out, want, 10);
    }
}
END_TEST

START_TEST(close_encode_writes_code_and_reason)
{
    uint8_t out[127];
    size_t n = rc_ws_close_encode(out, RC_CLOSE_GOING_AWAY, "bye");
    const uint8_t want[] = { 0x88, 5, 0x03, 0xE9, 'b', 'y', 'e' };
    ck_assert_uint_eq(n, sizeof(want));
    ck_assert_mem_eq(out, want, sizeof(want));
    n = rc_ws_close_encode(out, RC_CLOSE_RESTART, NULL);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(out[1], 2);
    ck_assert_uint_eq(out[2] << 8 | out[3], 1012);
}
END_TEST

START_TEST(close_encode_code_zero_has_empty_payload)
{
    uint8_t out[127];
    ck_assert_uint_eq(rc_ws_close_encode(out, 0, "ignored"), 2);
    ck_assert_uint_eq(out[0], 0x88);
    ck_assert_uint_eq(out[1], 0);
}
END_TEST

START_TEST(close_encode_truncates_long_reason_on_char_boundary)
{
    char reason[300];
    uint8_t out[127];
    size_t n;

    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    n = rc_ws_close_encode(out, 4008, reason);
    ck_assert_uint_eq(n, 127);
    ck_assert_uint_eq(out[1], 125);

    /* 122 ASCII bytes then a 3-byte character: byte 123 would split it. */
    memset(reason, 'a', 122);
    memcpy(reason + 122, "\xE2\x82\xAC\xE2\x82\xAC", 7);
    n = rc_ws_close_encode(out, 4008, reason);
    ck_assert_uint_eq(n, 4 + 122);
    ck_assert(rc_utf8_valid(out + 4, n - 4));
}
END_TEST

static Suite *frame_suite(void)
{
    Suite *s = suite_create("ws_frame");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, rfc_masked_hello_parses_and_unmasks);
    tcase_add_test(tc, rfc_fragmented_hello_masked_parses_both_frames);
    tcase_add_test(tc, masked_ping_and_pong_parse);
    tcase_add_test(tc, length_126_form_parses_256_bytes);
    tcase_add_test(tc, length_127_form_parses_65536_bytes);
    tcase_add_test(tc, boundary_lengths_use_the_minimal_form);
    tcase_add_test(tc, payload_equal_to_limit_is_accepted);
    tcase_add_loop_test(tc, bad_frame_returns_its_close_code, 0,
                        (int)(sizeof(bad_frames) / sizeof(bad_frames[0])));
    tcase_add_test(tc, every_truncated_prefix_returns_incomplete);
    tcase_add_test(tc, every_truncated_prefix_of_a_frame_sequence_is_never_an_error);
    tcase_add_test(tc, unmask_matches_bytewise_reference_at_any_offset_and_alignment);
    tcase_add_test(tc, unmask_in_pieces_equals_unmask_whole);
    tcase_add_test(tc, header_encode_uses_minimal_forms);
    tcase_add_test(tc, close_encode_writes_code_and_reason);
    tcase_add_test(tc, close_encode_code_zero_has_empty_payload);
    tcase_add_test(tc, close_encode_truncates_long_reason_on_char_boundary);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return rc_test_run(frame_suite()); }

/* proto/utf8.c: the incremental validator. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/utf8.h"
#include "tests/unit/unit.h"

#define U8(s) ((const uint8_t *)(s))

static int valid_str(const char *s, size_t n)
{
    return rc_utf8_valid(U8(s), n);
}

struct vec {
    const char *name;
    const char *bytes;
    size_t n;
    int valid;
};

#define V(name, lit, ok) { name, lit, sizeof(lit) - 1, ok }

static const struct vec vectors[] = {
    V("empty", "", 1),
    V("ascii", "hello, world", 1),
    V("ascii_with_nul", "a\0b", 1),
    V("two_byte_min_c2_80", "\xC2\x80", 1),
    V("two_byte_max_df_bf", "\xDF\xBF", 1),
    V("three_byte_euro", "\xE2\x82\xAC", 1),
    V("three_byte_min_e0_a0_80", "\xE0\xA0\x80", 1),
    V("last_before_surrogates_ed_9f_bf", "\xED\x9F\xBF", 1),
    V("first_after_surrogates_ee_80_80", "\xEE\x80\x80", 1),
    V("bom_ef_bb_bf", "\xEF\xBB\xBF", 1),
    V("u_fffd", "\xEF\xBF\xBD", 1),
    V("four_byte_min_f0_90_80_80", "\xF0\x90\x80\x80", 1),
    V("four_byte_emoji", "\xF0\x9F\x98\x80", 1),
    V("max_code_point_f4_8f_bf_bf", "\xF4\x8F\xBF\xBF", 1),
    V("mixed_long", "\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5-abcdefghijklmnop\xF0\x9F\x98\x80", 1),
    V("overlong_nul_c0_80", "\xC0\x80", 0),
    V("overlong_c1_bf", "\xC1\xBF", 0),
    V("overlong_e0_80_80", "\xE0\x80\x80", 0),
    V("overlong_e0_9f_bf", "\xE0\x9F\xBF", 0),
    V("overlong_f0_80_80_80", "\xF0\x80\x80\x80", 0),
    V("overlong_f0_8f_bf_bf", "\xF0\x8F\xBF\xBF", 0),
    V("surrogate_high_ed_a0_80", "\xED\xA0\x80", 0),
    V("surrogate_low_ed_bf_bf", "\xED\xBF\xBF", 0),
    V("above_max_f4_90_80_80", "\xF4\x90\x80\x80", 0),
    V("lead_f5", "\xF5\x80\x80\x80", 0),
    V("byte_ff", "\xFF", 0),
    V("lone_continuation", "\x80", 0),
    V("continuation_after_ascii", "abc\xBF", 0),
    V("truncated_two_byte", "\xC2", 0),
    V("truncated_four_byte", "\xF0\x9F\x98", 0),
    V("lead_then_ascii", "\xE2\x82" "A", 0),
    V("invalid_after_8_ascii", "abcdefgh\xC0\x80", 0),
    V("invalid_inside_long_ascii", "abcdefghijklmnopqrstuvwxyz\xFF" "abcdefghijklmnop", 0),
};

START_TEST(vectors_are_classified)
{
    const struct vec *v = &vectors[_i];
    ck_assert_msg(valid_str(v->bytes, v->n) == v->valid, "vector %s", v->name);
}
END_TEST

START_TEST(every_split_gives_the_same_answer)
{
    /* Feeding a vector in two pieces at every cut point must agree with
     * feeding it whole: the state carries the partial character. */
    const struct vec *v = &vectors[_i];
    for (size_t cut = 0; cut <= v->n; cut++) {
        uint32_t st = rc_utf8_feed(RC_UTF8_ACCEPT, U8(v->bytes), cut);
        st = rc_utf8_feed(st, U8(v->bytes) + cut, v->n - cut);
        ck_assert_msg((st == RC_UTF8_ACCEPT) == v->valid, "vector %s cut %zu", v->name, cut);
    }
}
END_TEST

START_TEST(split_multibyte_is_incomplete_then_accepted)
{
    const uint8_t euro[] = { 0xE2, 0x82, 0xAC };
    uint32_t st = rc_utf8_feed(RC_UTF8_ACCEPT, euro, 1);
    ck_assert_uint_ne(st, RC_UTF8_ACCEPT);
    ck_assert_uint_ne(st, RC_UTF8_REJECT);
    st = rc_utf8_feed(st, euro + 1, 1);
    ck_assert_uint_ne(st, RC_UTF8_ACCEPT);
    ck_assert_uint_ne(st, RC_UTF8_REJECT);
    st = rc_utf8_feed(st, euro + 2, 1);
    ck_assert_uint_eq(st, RC_UTF8_ACCEPT);
}
END_TEST

START_TEST(split_surrogate_rejected_on_second_byte)
{
    uint32_t st = rc_utf8_feed(RC_UTF8_ACCEPT, U8("\xED"), 1);
    ck_assert_uint_ne(st, RC_UTF8_REJECT);
    st = rc_utf8_feed(st, U8("\xA0"), 1);
    ck_assert_uint_eq(st, RC_UTF8_REJECT);
}
END_TEST

START_TEST(reject_is_sticky)
{
    uint32_t st = rc_utf8_feed(RC_UTF8_ACCEPT, U8("\xFF"), 1);
    ck_assert_uint_eq(st, RC_UTF8_REJECT);
    st = rc_utf8_feed(st, U8("plain ascii after the error"), 27);
    ck_assert_uint_eq(st, RC_UTF8_REJECT);
    st = rc_utf8_feed(st, U8(""), 0);
    ck_assert_uint_eq(st, RC_UTF8_REJECT);
}
END_TEST

START_TEST(empty_feed_keeps_state)
{
    uint32_t st = rc_utf8_feed(RC_UTF8_ACCEPT, U8("\xF0\x9F"), 2);
    ck_assert_uint_eq(rc_utf8_feed(st, NULL, 0), st);
}
END_TEST

START_TEST(ascii_fast_path_at_every_alignment)
{
    /* A bad byte at every position of a long buffer, at every start offset,
     * so the 8-byte path and the byte path both see it. */
    uint8_t buf[80];
    for (size_t start = 0; start < 8; start++) {
        for (size_t bad = start; bad < sizeof(buf); bad++) {
            memset(buf, 'a', sizeof(buf));
            buf[bad] = 0x80;
            ck_assert_uint_eq(rc_utf8_feed(RC_UTF8_ACCEPT, buf + start, sizeof(buf) - start),
                              RC_UTF8_REJECT);
        }
        memset(buf, 'a', sizeof(buf));
        ck_assert_uint_eq(rc_utf8_feed(RC_UTF8_ACCEPT, buf + start, sizeof(buf) - start),
                          RC_UTF8_ACCEPT);
    }
}
END_TEST

/* Reference: decode each code point and check its range. */
static int ref_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t len;
        uint8_t c = s[i];
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
            return 0;
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return 0;
        i += len;
    }
    return 1;
}

START_TEST(all_short_sequences_match_reference_decoder)
{
    /* Every 1-, 2- and 3-byte string over a byte set that hits every class
     * boundary, plus all 4-byte strings starting with a 4-byte lead. */
    static const uint8_t pick[] = { 0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                    0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                    0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF };
    const size_t np = sizeof(pick);
    uint8_t s[4];
    for (size_t a = 0; a < np; a++)
        for (size_t b = 0; b < np; b++)
            for (size_t c = 0; c < np; c++)
                for (size_t d = 0; d < np; d++) {
                    s[0] = pick[a]; s[1] = pick[b]; s[2] = pick[c]; s[3] = pick[d];
                    for (size_t n = 1; n <= 4; n++)
                        ck_assert_msg(rc_utf8_valid(s, n) == ref_valid(s, n),
                                      "%02x %02x %02x %02x n=%zu", s[0], s[1], s[2], s[3], n);
                }
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");
    size_t nv = sizeof(vectors) / sizeof(vectors[0]);
    tcase_set_timeout(tc, 60); /* the exhaustive comparisons take seconds under ASan on a busy machine */

    tcase_add_loop_test(tc, vectors_are_classified, 0, (int)nv);
    tcase_add_loop_test(tc, every_split_gives_the_same_answer, 0, (int)nv);
    tcase_add_test(tc, split_multibyte_is_incomplete_then_accepted);
    tcase_add_test(tc, split_surrogate_rejected_on_second_byte);
    tcase_add_test(tc, reject_is_sticky);
    tcase_add_test(tc, empty_feed_keeps_state);
    tcase_add_test(tc, ascii_fast_path_at_every_alignment);
    tcase_add_test(tc, all_short_sequences_match_reference_decoder);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return rc_test_run(utf8_suite()); }

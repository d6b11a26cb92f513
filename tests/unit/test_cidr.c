/* common/cidr.c: parsing address allow-lists and matching peers. */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "common/cidr.h"
#include "tests/unit/unit.h"

/* A peer address, as accept() would give it. */
static const struct sockaddr *peer(struct sockaddr_storage *ss, const char *addr)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(addr, ':')) {
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(1234) };
        ck_assert_int_eq(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
        memcpy(ss, &sin6, sizeof(sin6));
    } else {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(1234) };
        ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
        memcpy(ss, &sin, sizeof(sin));
    }
    return (const struct sockaddr *)ss;
}

static int match(const rc_cidr_list_t *l, const char *addr)
{
    struct sockaddr_storage ss;
    return rc_cidr_list_match(l, peer(&ss, addr));
}

static void parse_ok(const char *text, rc_cidr_list_t *l)
{
    char err[128];
    ck_assert_msg(rc_cidr_list_parse(text, l, err, sizeof(err)) == 0, "%s: %s", text, err);
    ck_assert_str_eq(err, "");
}

/* Entry i of l is family, the text address and bits. */
static void check_entry(const rc_cidr_list_t *l, unsigned i, int family, const char *addr, unsigned bits)
{
    uint8_t want[16] = { 0 };

    ck_assert_uint_lt(i, l->n);
    ck_assert_int_eq(l->v[i].family, family);
    ck_assert_uint_eq(l->v[i].bits, bits);
    ck_assert_int_eq(inet_pton(family, addr, want), 1);
    ck_assert(memcmp(l->v[i].addr, want, sizeof(want)) == 0);
}

START_TEST(list_of_v4_v6_and_bare_addresses_parses)
{
    rc_cidr_list_t l;

    parse_ok("127.0.0.1/32, 10.0.0.0/8,::1/128, 192.168.1.7", &l);
    ck_assert_uint_eq(l.n, 4);
    check_entry(&l, 0, AF_INET, "127.0.0.1", 32);
    check_entry(&l, 1, AF_INET, "10.0.0.0", 8);
    check_entry(&l, 2, AF_INET6, "::1", 128);
    check_entry(&l, 3, AF_INET, "192.168.1.7", 32);
    rc_cidr_list_free(&l);

    parse_ok("2001:db8::1", &l);
    ck_assert_uint_eq(l.n, 1);
    check_entry(&l, 0, AF_INET6, "2001:db8::1", 128);
    rc_cidr_list_free(&l);

    parse_ok("2001:db8::/32,fe80::/10,172.16.0.0/12,0.0.0.0/0,::/0", &l);
    ck_assert_uint_eq(l.n, 5);
    check_entry(&l, 0, AF_INET6, "2001:db8::", 32);
    check_entry(&l, 1, AF_INET6, "fe80::", 10);
    check_entry(&l, 2, AF_INET, "172.16.0.0", 12);
    check_entry(&l, 3, AF_INET, "0.0.0.0", 0);
    check_entry(&l, 4, AF_INET6, "::", 0);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(blanks_around_entries_are_ignored)
{
    rc_cidr_list_t l;

    parse_ok("  \t10.0.0.0/8 \t,\t ::/0  ,192.168.0.0/16", &l);
    ck_assert_uint_eq(l.n, 3);
    check_entry(&l, 0, AF_INET, "10.0.0.0", 8);
    check_entry(&l, 1, AF_INET6, "::", 0);
    check_entry(&l, 2, AF_INET, "192.168.0.0", 16);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(empty_or_blank_text_is_an_empty_list_matching_nothing)
{
    static const char *const texts[] = { "", " ", "\t \t" };
    rc_cidr_list_t l;

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        parse_ok(texts[i], &l);
        ck_assert_uint_eq(l.n, 0);
        ck_assert_ptr_null(l.v);
        ck_assert_int_eq(match(&l, "127.0.0.1"), 0);
        ck_assert_int_eq(match(&l, "::1"), 0);
        ck_assert_int_eq(match(&l, "::ffff:127.0.0.1"), 0);
        rc_cidr_list_free(&l);
    }
}
END_TEST

static const struct {
    const char *text, *err;
} bad[] = {
    { "10.0.0.0/33", "bad entry \"10.0.0.0/33\": prefix length above 32" },
    { "::/129", "bad entry \"::/129\": prefix length above 128" },
    { "10.0.0.0/999", "bad entry \"10.0.0.0/999\": prefix length above 32" },
    { "10.0.0.0/1000", "bad entry \"10.0.0.0/1000\": prefix length is not a number 0..32" },
    { "10.0.0.1/8", "bad entry \"10.0.0.1/8\": host bits set after /8" },
    { "2001:db8::1/32", "bad entry \"2001:db8::1/32\": host bits set after /32" },
    { "::ffff:10.0.0.1/104", "bad entry \"::ffff:10.0.0.1/104\": host bits set after /104" },
    { "0.0.0.1/0", "bad entry \"0.0.0.1/0\": host bits set after /0" },
    { "172.16.0.0/11", "bad entry \"172.16.0.0/11\": host bits set after /11" },
    { "10.0.0.0/08", "bad entry \"10.0.0.0/08\": prefix length has a leading zero" },
    { "10.0.0.0/00", "bad entry \"10.0.0.0/00\": prefix length has a leading zero" },
    { "::/064", "bad entry \"::/064\": prefix length has a leading zero" },
    { "10.0.0.0/", "bad entry \"10.0.0.0/\": prefix length is not a number 0..32" },
    { "10.0.0.0/x", "bad entry \"10.0.0.0/x\": prefix length is not a number 0..32" },
    { "10.0.0.0/+8", "bad entry \"10.0.0.0/+8\": prefix length is not a number 0..32" },
    { "::/-1", "bad entry \"::/-1\": prefix length is not a number 0..128" },
    { "10.0.0.0/8/8", "bad entry \"10.0.0.0/8/8\": prefix length is not a number 0..32" },
    { "10.0.0.0/ 8", "bad entry \"10.0.0.0/ 8\": prefix length is not a number 0..32" },
    { "10.0.0.0 /8", "bad entry \"10.0.0.0 /8\": not an IPv4 or IPv6 address" },
    { "garbage", "bad entry \"garbage\": not an IPv4 or IPv6 address" },
    { "/8", "bad entry \"/8\": not an IPv4 or IPv6 address" },
    { "10.0.0", "bad entry \"10.0.0\": not an IPv4 or IPv6 address" },
    { "10.0.0.256", "bad entry \"10.0.0.256\": not an IPv4 or IPv6 address" },
    { "localhost", "bad entry \"localhost\": not an IPv4 or IPv6 address" },
    { "[::1]", "bad entry \"[::1]\": not an IPv4 or IPv6 address" },
    { "10.0.0.0/8 192.168.0.0/16", "bad entry \"10.0.0.0/8 192.168.0.0/16\": prefix length is not a number 0..32" },
    { "10.0.0.0/8; ::1", "bad entry \"10.0.0.0/8; ::1\": prefix length is not a number 0..32" },
    /* The bad entry is named trimmed, whatever its place in the list. */
    { "10.0.0.0/8,  1.2.3.4/8 ", "bad entry \"1.2.3.4/8\": host bits set after /8" },
    { "10.0.0.0/8,,::1", "empty entry (two commas in a row, or one at an end)" },
    { "10.0.0.0/8,", "empty entry (two commas in a row, or one at an end)" },
    { ",10.0.0.0/8", "empty entry (two commas in a row, or one at an end)" },
    { "10.0.0.0/8, \t ,::1", "empty entry (two commas in a row, or one at an end)" },
    { ",", "empty entry (two commas in a row, or one at an end)" },
    { " , ", "empty entry (two commas in a row, or one at an end)" },
};

START_TEST(bad_entry_returns_einval_naming_it)
{
    rc_cidr_list_t l = { 0 };
    char err[128];

    ck_assert_int_eq(rc_cidr_list_parse(bad[_i].text, &l, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, bad[_i].err);
    ck_assert_uint_eq(l.n, 0);
    ck_assert_ptr_null(l.v);
}
END_TEST

START_TEST(long_bad_entry_is_cut_in_the_message)
{
    char text[200], err[128], want[128];
    rc_cidr_list_t l;

    memset(text, 'x', 100);
    text[100] = '\0';
    ck_assert_int_eq(rc_cidr_list_parse(text, &l, err, sizeof(err)), -EINVAL);
    snprintf(want, sizeof(want), "bad entry \"%.64s...\": not an IPv4 or IPv6 address", text);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(small_or_absent_error_buffer_is_safe)
{
    rc_cidr_list_t l;
    char err[8];

    ck_assert_int_eq(rc_cidr_list_parse("10.0.0.0/33", &l, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "bad ent");
    ck_assert_int_eq(rc_cidr_list_parse("10.0.0.0/8,,", &l, err, sizeof(err)), -EINVAL);
    ck_assert_str_eq(err, "empty e");
    ck_assert_int_eq(rc_cidr_list_parse("10.0.0.0/33", &l, NULL, 0), -EINVAL);
    ck_assert_int_eq(rc_cidr_list_parse(",", &l, NULL, 0), -EINVAL);
    ck_assert_ptr_null(l.v);
    ck_assert_int_eq(rc_cidr_list_parse("10.0.0.0/8", &l, NULL, 0), 0);
    ck_assert_uint_eq(l.n, 1);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(peer_inside_a_prefix_matches_and_outside_does_not)
{
    rc_cidr_list_t l;

    parse_ok("10.0.0.0/8, 192.168.1.7, 172.16.0.0/12, 2001:db8::/32, fe80::/10, ::1", &l);
    ck_assert_int_eq(match(&l, "10.0.0.0"), 1);
    ck_assert_int_eq(match(&l, "10.255.255.255"), 1);
    ck_assert_int_eq(match(&l, "9.255.255.255"), 0);
    ck_assert_int_eq(match(&l, "11.0.0.0"), 0);
    ck_assert_int_eq(match(&l, "192.168.1.7"), 1);
    ck_assert_int_eq(match(&l, "192.168.1.6"), 0);
    ck_assert_int_eq(match(&l, "192.168.1.8"), 0);
    /* Prefixes that end inside a byte. */
    ck_assert_int_eq(match(&l, "172.16.0.1"), 1);
    ck_assert_int_eq(match(&l, "172.31.255.255"), 1);
    ck_assert_int_eq(match(&l, "172.32.0.0"), 0);
    ck_assert_int_eq(match(&l, "172.15.255.255"), 0);
    ck_assert_int_eq(match(&l, "fe80::1"), 1);
    ck_assert_int_eq(match(&l, "febf:ffff::1"), 1);
    ck_assert_int_eq(match(&l, "fec0::"), 0);
    ck_assert_int_eq(match(&l, "2001:db8::"), 1);
    ck_assert_int_eq(match(&l, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
    ck_assert_int_eq(match(&l, "2001:db9::"), 0);
    ck_assert_int_eq(match(&l, "2001:db7:ffff::"), 0);
    ck_assert_int_eq(match(&l, "::1"), 1);
    ck_assert_int_eq(match(&l, "::2"), 0);
    ck_assert_int_eq(match(&l, "::"), 0);
    ck_assert_int_eq(match(&l, "127.0.0.1"), 0);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(slash_0_matches_every_address_of_its_family_only)
{
    rc_cidr_list_t l;

    parse_ok("0.0.0.0/0", &l);
    ck_assert_int_eq(match(&l, "0.0.0.0"), 1);
    ck_assert_int_eq(match(&l, "1.2.3.4"), 1);
    ck_assert_int_eq(match(&l, "255.255.255.255"), 1);
    ck_assert_int_eq(match(&l, "::ffff:1.2.3.4"), 1);
    ck_assert_int_eq(match(&l, "::1"), 0);
    ck_assert_int_eq(match(&l, "2001:db8::1"), 0);
    rc_cidr_list_free(&l);

    parse_ok("::/0", &l);
    ck_assert_int_eq(match(&l, "::"), 1);
    ck_assert_int_eq(match(&l, "::1"), 1);
    ck_assert_int_eq(match(&l, "2001:db8::1"), 1);
    ck_assert_int_eq(match(&l, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
    ck_assert_int_eq(match(&l, "1.2.3.4"), 0);
    /* A mapped peer is matched as the IPv4 address it carries. */
    ck_assert_int_eq(match(&l, "::ffff:1.2.3.4"), 0);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(ipv4_mapped_peer_matches_an_ipv4_entry)
{
    rc_cidr_list_t l;

    parse_ok("10.0.0.0/8, 127.0.0.1", &l);
    ck_assert_int_eq(match(&l, "::ffff:10.1.2.3"), 1);
    ck_assert_int_eq(match(&l, "::ffff:127.0.0.1"), 1);
    ck_assert_int_eq(match(&l, "::ffff:11.0.0.1"), 0);
    ck_assert_int_eq(match(&l, "::ffff:127.0.0.2"), 0);
    /* Not mapped: IPv4-compatible and other prefixes stay IPv6. */
    ck_assert_int_eq(match(&l, "::10.1.2.3"), 0);
    ck_assert_int_eq(match(&l, "::fffe:10.1.2.3"), 0);
    ck_assert_int_eq(match(&l, "64:ff9b::10.1.2.3"), 0);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(ipv4_mapped_entry_is_stored_as_ipv4)
{
    rc_cidr_list_t l;

    parse_ok("::ffff:10.0.0.0/104, ::ffff:127.0.0.1, ::ffff:0.0.0.0/96, ::ffff:192.168.0.0/112", &l);
    ck_assert_uint_eq(l.n, 4);
    check_entry(&l, 0, AF_INET, "10.0.0.0", 8);
    check_entry(&l, 1, AF_INET, "127.0.0.1", 32);
    check_entry(&l, 2, AF_INET, "0.0.0.0", 0);
    check_entry(&l, 3, AF_INET, "192.168.0.0", 16);
    rc_cidr_list_free(&l);

    parse_ok("::ffff:10.0.0.0/104", &l);
    ck_assert_int_eq(match(&l, "10.9.9.9"), 1);
    ck_assert_int_eq(match(&l, "::ffff:10.9.9.9"), 1);
    ck_assert_int_eq(match(&l, "11.0.0.0"), 0);
    ck_assert_int_eq(match(&l, "::ffff:11.0.0.0"), 0);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(other_family_never_matches)
{
    rc_cidr_list_t l;
    struct sockaddr_storage ss;
    struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/tmp/ringcast.sock" };

    parse_ok("0.0.0.0/0, ::/0", &l);
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &sun, sizeof(sun));
    ck_assert_int_eq(rc_cidr_list_match(&l, (const struct sockaddr *)&ss), 0);
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNSPEC;
    ck_assert_int_eq(rc_cidr_list_match(&l, (const struct sockaddr *)&ss), 0);
    rc_cidr_list_free(&l);

    /* Same leading bytes, other family. */
    parse_ok("10.0.0.0/8", &l);
    ck_assert_int_eq(match(&l, "a00::1"), 0);
    rc_cidr_list_free(&l);
    parse_ok("a00::/8", &l);
    ck_assert_int_eq(match(&l, "a00::1"), 1);
    ck_assert_int_eq(match(&l, "10.0.0.1"), 0);
    ck_assert_int_eq(match(&l, "::ffff:10.0.0.1"), 0);
    rc_cidr_list_free(&l);
}
END_TEST

START_TEST(free_leaves_the_list_empty)
{
    rc_cidr_list_t l;

    parse_ok("10.0.0.0/8", &l);
    rc_cidr_list_free(&l);
    ck_assert_uint_eq(l.n, 0);
    ck_assert_ptr_null(l.v);
    ck_assert_int_eq(match(&l, "10.0.0.1"), 0);
    rc_cidr_list_free(&l);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("cidr", &tc, NULL, NULL);
    tcase_add_test(tc, list_of_v4_v6_and_bare_addresses_parses);
    tcase_add_test(tc, blanks_around_entries_are_ignored);
    tcase_add_test(tc, empty_or_blank_text_is_an_empty_list_matching_nothing);
    tcase_add_loop_test(tc, bad_entry_returns_einval_naming_it, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(tc, long_bad_entry_is_cut_in_the_message);
    tcase_add_test(tc, small_or_absent_error_buffer_is_safe);
    tcase_add_test(tc, peer_inside_a_prefix_matches_and_outside_does_not);
    tcase_add_test(tc, slash_0_matches_every_address_of_its_family_only);
    tcase_add_test(tc, ipv4_mapped_peer_matches_an_ipv4_entry);
    tcase_add_test(tc, ipv4_mapped_entry_is_stored_as_ipv4);
    tcase_add_test(tc, other_family_never_matches);
    tcase_add_test(tc, free_leaves_the_list_empty);
    return rc_test_run(s);
}

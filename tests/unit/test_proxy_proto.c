/* proto/proxy_proto.c: PROXY protocol v1 lines and v2 binary headers. */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proxy_proto.h"
#include "tests/unit/unit.h"

/* Parses n bytes from an exact-size heap copy, so ASan sees any read past n. */
static int parse_n(const void *p, size_t n, rc_proxy_hdr_t *h)
{
    uint8_t *copy = malloc(n ? n : 1);
    int r;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, p, n);
    r = rc_proxy_hdr_parse(copy, n, h);
    free(copy);
    return r;
}

static int parse_str(const char *s, rc_proxy_hdr_t *h)
{
    return parse_n(s, strlen(s), h);
}

/* ss holds family, the text address and the port. */
static void check_addr(const struct sockaddr_storage *ss, socklen_t len, int family, const char *addr,
                       unsigned port)
{
    char s[INET6_ADDRSTRLEN];

    ck_assert_int_eq(ss->ss_family, family);
    if (family == AF_INET) {
        struct sockaddr_in sin;
        ck_assert_uint_eq(len, sizeof(sin));
        memcpy(&sin, ss, sizeof(sin));
        ck_assert_ptr_nonnull(inet_ntop(AF_INET, &sin.sin_addr, s, sizeof(s)));
        ck_assert_uint_eq(ntohs(sin.sin_port), port);
    } else {
        struct sockaddr_in6 sin6;
        ck_assert_uint_eq(len, sizeof(sin6));
        memcpy(&sin6, ss, sizeof(sin6));
        ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &sin6.sin6_addr, s, sizeof(s)));
        ck_assert_uint_eq(ntohs(sin6.sin6_port), port);
    }
    ck_assert_str_eq(s, addr);
}

static void check_local(const rc_proxy_hdr_t *h)
{
    static const struct sockaddr_storage zero;

    ck_assert_int_eq(h->local, 1);
    ck_assert_uint_eq(h->src_len, 0);
    ck_assert_uint_eq(h->dst_len, 0);
    ck_assert(memcmp(&h->src, &zero, sizeof(zero)) == 0);
    ck_assert(memcmp(&h->dst, &zero, sizeof(zero)) == 0);
}

/* ---- v1 ---- */

static const char tcp4_line[] = "PROXY TCP4 192.168.0.1 10.0.0.2 56324 443\r\n";
static const char tcp6_line[] = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
static const char unknown_line[] = "PROXY UNKNOWN\r\n";
static const char unknown_addr_line[] = "PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n";
/* The longest line of the spec's worst case: full IPv6 addresses, 5-digit ports. */
static const char tcp6_long_line[] =
    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";

START_TEST(v1_tcp4_line_gives_addresses_ports_and_length)
{
    rc_proxy_hdr_t h;
    char buf[128];

    snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", tcp4_line);
    ck_assert_int_eq(parse_str(buf, &h), (int)strlen(tcp4_line));
    ck_assert_int_eq(h.local, 0);
    check_addr(&h.src, h.src_len, AF_INET, "192.168.0.1", 56324);
    check_addr(&h.dst, h.dst_len, AF_INET, "10.0.0.2", 443);
}
END_TEST

START_TEST(v1_tcp6_line_gives_addresses_ports_and_length)
{
    rc_proxy_hdr_t h;
    char buf[160];

    snprintf(buf, sizeof(buf), "%s\x16\x03\x01", tcp6_line);
    ck_assert_int_eq(parse_str(buf, &h), (int)strlen(tcp6_line));
    ck_assert_int_eq(h.local, 0);
    check_addr(&h.src, h.src_len, AF_INET6, "2001:db8::1", 65535);
    check_addr(&h.dst, h.dst_len, AF_INET6, "::1", 0);

    ck_assert_int_eq(parse_str(tcp6_long_line, &h), (int)strlen(tcp6_long_line));
    ck_assert_uint_le(strlen(tcp6_long_line), RC_PROXY_V1_MAX);
    check_addr(&h.src, h.src_len, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
    check_addr(&h.dst, h.dst_len, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);

    /* Dotted IPv4 inside IPv6 is what inet_pton accepts. */
    ck_assert_int_gt(parse_str("PROXY TCP6 ::ffff:10.1.2.3 ::1 1 2\r\n", &h), 0);
    check_addr(&h.src, h.src_len, AF_INET6, "::ffff:10.1.2.3", 1);
}
END_TEST

START_TEST(v1_unknown_line_is_local_and_rest_of_line_is_ignored)
{
    rc_proxy_hdr_t h;
    char buf[128];

    snprintf(buf, sizeof(buf), "%sHELLO", unknown_line);
    memset(&h, 0xAA, sizeof(h));
    ck_assert_int_eq(parse_str(buf, &h), (int)strlen(unknown_line));
    check_local(&h);

    snprintf(buf, sizeof(buf), "%s\r\n", unknown_addr_line);
    ck_assert_int_eq(parse_str(buf, &h), (int)strlen(unknown_addr_line));
    check_local(&h);
}
END_TEST

START_TEST(v1_ports_zero_and_65535_are_accepted)
{
    rc_proxy_hdr_t h;

    ck_assert_int_gt(parse_str("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", &h), 0);
    check_addr(&h.src, h.src_len, AF_INET, "0.0.0.0", 0);
    check_addr(&h.dst, h.dst_len, AF_INET, "255.255.255.255", 65535);
}
END_TEST

START_TEST(every_strict_prefix_of_a_valid_v1_line_returns_0)
{
    static const char *const lines[] = { tcp4_line, tcp6_line, unknown_line, unknown_addr_line, tcp6_long_line };
    rc_proxy_hdr_t h;

    for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
        size_t n = strlen(lines[k]);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(parse_n(lines[k], i, &h) == 0, "line %zu prefix %zu", k, i);
        ck_assert_int_eq(parse_n(lines[k], n, &h), (int)n);
    }
}
END_TEST

START_TEST(v1_resumed_one_byte_at_a_time_gives_the_same_header)
{
    rc_proxy_hdr_t once, h;
    size_t n = strlen(tcp4_line);
    int r = 0;

    ck_assert_int_eq(parse_str(tcp4_line, &once), (int)n);
    for (size_t i = 1; i <= n && r == 0; i++)
        r = parse_n(tcp4_line, i, &h);
    ck_assert_int_eq(r, (int)n);
    ck_assert(memcmp(&once, &h, sizeof(h)) == 0);
}
END_TEST

static const char *const bad_v1[] = {
    /* not single spaces */
    "PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n",
    "PROXY\tTCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    " PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    /* protocol word */
    "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n",
    "proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n",
    "PROXY TCP4\r\n",
    "PROXY UNKNOWNX\r\n",
    /* addresses */
    "PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
    "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8.9.10.11.12.13 1 2\r\n",
    "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
    "PROXY TCP6 2001:db8::g ::1 1 2\r\n",
    "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
    "PROXY TCP6 ::1 1::2::3 1 2\r\n",
    /* ports */
    "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 0x1 2\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
    /* line end */
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
    "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n",
    "PROXY UNKNOWN\n",
    "PROXY UNKNOWN\rX",
    "PROXY UNKNOWN 1.2.3.4\n",
    /* not a PROXY header at all */
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "PRX",
    "\x16\x03\x01\x02\x00\x01",
};

START_TEST(malformed_v1_returns_einval)
{
    rc_proxy_hdr_t h;
    ck_assert_msg(parse_str(bad_v1[_i], &h) == -EINVAL, "%s", bad_v1[_i]);
}
END_TEST

START_TEST(plain_http_request_is_refused_at_its_first_byte)
{
    rc_proxy_hdr_t h;

    ck_assert_int_eq(parse_str("GET / HTTP/1.1", &h), -EINVAL);
    ck_assert_int_eq(parse_str("G", &h), -EINVAL);
    /* "P" could still start "PROXY "; "PU" (PUT) cannot. */
    ck_assert_int_eq(parse_str("P", &h), 0);
    ck_assert_int_eq(parse_str("PUT / HTTP/1.1\r\n", &h), -EINVAL);
    ck_assert_int_eq(parse_n("", 0, &h), 0);
}
END_TEST

START_TEST(v1_line_of_max_bytes_is_accepted_one_more_returns_emsgsize)
{
    char buf[256];
    rc_proxy_hdr_t h;
    /* "PROXY UNKNOWN " and filler, then CRLF: exactly RC_PROXY_V1_MAX bytes. */
    size_t fill = RC_PROXY_V1_MAX - strlen("PROXY UNKNOWN ") - 2;

    snprintf(buf, sizeof(buf), "PROXY UNKNOWN %.*s\r\n", (int)fill,
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    ck_assert_uint_eq(strlen(buf), RC_PROXY_V1_MAX);
    ck_assert_int_eq(parse_str(buf, &h), RC_PROXY_V1_MAX);
    check_local(&h);

    snprintf(buf, sizeof(buf), "PROXY UNKNOWN %.*s\r\n", (int)fill + 1,
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    ck_assert_int_eq(parse_str(buf, &h), -EMSGSIZE);
    /* Until RC_PROXY_V1_MAX bytes are there, a line without CRLF may still end. */
    ck_assert_int_eq(parse_n(buf, RC_PROXY_V1_MAX - 1, &h), 0);
    ck_assert_int_eq(parse_n(buf, RC_PROXY_V1_MAX, &h), -EMSGSIZE);
}
END_TEST

START_TEST(overlong_v1_line_returns_emsgsize)
{
    char buf[400];
    rc_proxy_hdr_t h;

    memset(buf, 'a', sizeof(buf));
    memcpy(buf, "PROXY UNKNOWN ", 14);
    ck_assert_int_eq(parse_n(buf, sizeof(buf), &h), -EMSGSIZE);
    /* A TCP6 line with mixed-notation addresses is valid to inet_pton but
     * longer than the spec's 107 bytes. */
    ck_assert_int_eq(parse_str("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 "
                               "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 65535 65535\r\n", &h),
                     -EMSGSIZE);
    /* A malformed byte before the limit is still -EINVAL. */
    buf[20] = '\n';
    ck_assert_int_eq(parse_n(buf, sizeof(buf), &h), -EINVAL);
}
END_TEST

/* ---- v2 ---- */

static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

/* Signature, version/command, family/transport and the length field, then
 * body; returns the bytes written. */
static size_t v2(uint8_t *buf, uint8_t ver_cmd, uint8_t fam_tr, uint16_t len, const void *body, size_t n)
{
    memcpy(buf, sig, 12);
    buf[12] = ver_cmd;
    buf[13] = fam_tr;
    buf[14] = (uint8_t)(len >> 8);
    buf[15] = (uint8_t)len;
    if (n)
        memcpy(buf + 16, body, n);
    return 16 + n;
}

/* src 192.0.2.10:50000, dst 198.51.100.1:443, then ALPN "h2", a NOOP pad
 * and an AWS VPC endpoint TLV. */
static const uint8_t inet_body[] = {
    192, 0, 2, 10, 198, 51, 100, 1, 0xC3, 0x50, 0x01, 0xBB,
    0x01, 0x00, 0x02, 'h', '2',
    0x04, 0x00, 0x03, 0, 0, 0,
    0xEA, 0x00, 0x09, 0x01, 'v', 'p', 'c', 'e', '-', 'a', 'b', 'c',
};

/* src [2001:db8::10]:1234, dst [2001:db8::1]:8443, then an authority TLV. */
static const uint8_t inet6_body[] = {
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
    0x04, 0xD2, 0x20, 0xFB,
    0x02, 0x00, 0x05, 'a', '.', 'c', 'o', 'm',
};

START_TEST(v2_proxy_inet_with_tlvs_gives_addresses_and_skips_tlvs)
{
    uint8_t buf[128];
    rc_proxy_hdr_t h;
    size_t n = v2(buf, 0x21, 0x11, sizeof(inet_body), inet_body, sizeof(inet_body));

    memcpy(buf + n, "GET / HTTP/1.1\r\n", 16);
    ck_assert_int_eq(parse_n(buf, n + 16, &h), (int)n);
    ck_assert_int_eq((int)n, 16 + (int)sizeof(inet_body));
    ck_assert_int_eq(h.local, 0);
    check_addr(&h.src, h.src_len, AF_INET, "192.0.2.10", 50000);
    check_addr(&h.dst, h.dst_len, AF_INET, "198.51.100.1", 443);

    /* Addresses alone, no TLVs. */
    n = v2(buf, 0x21, 0x11, 12, inet_body, 12);
    ck_assert_int_eq(parse_n(buf, n, &h), 28);
    check_addr(&h.src, h.src_len, AF_INET, "192.0.2.10", 50000);
}
END_TEST

START_TEST(v2_proxy_inet6_with_tlvs_gives_addresses_and_skips_tlvs)
{
    uint8_t buf[128];
    rc_proxy_hdr_t h;
    size_t n = v2(buf, 0x21, 0x21, sizeof(inet6_body), inet6_body, sizeof(inet6_body));

    buf[n] = 0x16; /* a TLS record follows */
    ck_assert_int_eq(parse_n(buf, n + 1, &h), (int)n);
    ck_assert_int_eq(h.local, 0);
    check_addr(&h.src, h.src_len, AF_INET6, "2001:db8::10", 1234);
    check_addr(&h.dst, h.dst_len, AF_INET6, "2001:db8::1", 8443);
}
END_TEST

START_TEST(v2_local_and_addressless_families_are_local)
{
    uint8_t buf[128];
    rc_proxy_hdr_t h;
    size_t n;

    /* LOCAL, UNSPEC, no body: a health check. */
    n = v2(buf, 0x20, 0x00, 0, NULL, 0);
    memset(&h, 0xAA, sizeof(h));
    ck_assert_int_eq(parse_n(buf, n, &h), 16);
    check_local(&h);

    /* LOCAL whatever its family says: the addresses are not read. */
    n = v2(buf, 0x20, 0x11, sizeof(inet_body), inet_body, sizeof(inet_body));
    ck_assert_int_eq(parse_n(buf, n, &h), (int)n);
    check_local(&h);
    n = v2(buf, 0x20, 0x21, 4, inet6_body, 4);
    ck_assert_int_eq(parse_n(buf, n, &h), 20);
    check_local(&h);

    /* PROXY with UNSPEC or AF_UNIX keeps the socket's own peer. */
    n = v2(buf, 0x21, 0x00, 0, NULL, 0);
    ck_assert_int_eq(parse_n(buf, n, &h), 16);
    check_local(&h);
    n = v2(buf, 0x21, 0x31, 8, "/tmp/s\0\0", 8);
    ck_assert_int_eq(parse_n(buf, n, &h), 24);
    check_local(&h);
}
END_TEST

START_TEST(every_strict_prefix_of_a_valid_v2_header_returns_0)
{
    uint8_t hdrs[4][128];
    size_t lens[4];
    rc_proxy_hdr_t h;

    lens[0] = v2(hdrs[0], 0x21, 0x11, sizeof(inet_body), inet_body, sizeof(inet_body));
    lens[1] = v2(hdrs[1], 0x21, 0x21, sizeof(inet6_body), inet6_body, sizeof(inet6_body));
    lens[2] = v2(hdrs[2], 0x20, 0x00, 0, NULL, 0);
    lens[3] = v2(hdrs[3], 0x21, 0x31, 8, "/tmp/s\0\0", 8);
    for (size_t k = 0; k < 4; k++) {
        for (size_t i = 0; i < lens[k]; i++)
            ck_assert_msg(parse_n(hdrs[k], i, &h) == 0, "header %zu prefix %zu", k, i);
        ck_assert_int_eq(parse_n(hdrs[k], lens[k], &h), (int)lens[k]);
    }
}
END_TEST

struct bad_v2 {
    uint8_t ver_cmd, fam_tr;
    uint16_t len;
    size_t verdict_at; /* bytes after which the verdict is due */
};

static const struct bad_v2 bad_v2[] = {
    { 0x11, 0x11, 12, 13 }, /* version 1 */
    { 0x31, 0x11, 12, 13 }, /* version 3 */
    { 0x01, 0x11, 12, 13 }, /* version 0 */
    { 0x22, 0x11, 12, 13 }, /* command 2 */
    { 0x2F, 0x11, 12, 13 }, /* command 15 */
    { 0x21, 0x12, 12, 14 }, /* INET over DGRAM */
    { 0x21, 0x22, 36, 14 }, /* INET6 over DGRAM */
    { 0x21, 0x32, 0, 14 },  /* UNIX DGRAM */
    { 0x21, 0x13, 12, 14 }, /* transport 3 */
    { 0x21, 0x41, 12, 14 }, /* family 4 */
    { 0x21, 0xF1, 12, 14 }, /* family 15 */
    { 0x21, 0x11, 11, 16 }, /* INET, shorter than its addresses */
    { 0x21, 0x11, 0, 16 },
    { 0x21, 0x21, 35, 16 }, /* INET6, shorter than its addresses */
    { 0x21, 0x21, 12, 16 },
};

START_TEST(malformed_v2_returns_einval_as_soon_as_the_byte_is_there)
{
    const struct bad_v2 *b = &bad_v2[_i];
    uint8_t buf[128] = { 0 };
    rc_proxy_hdr_t h;
    size_t n = v2(buf, b->ver_cmd, b->fam_tr, b->len, inet6_body, 36);

    ck_assert_int_eq(parse_n(buf, n, &h), -EINVAL);
    ck_assert_int_eq(parse_n(buf, b->verdict_at, &h), -EINVAL);
    ck_assert_int_eq(parse_n(buf, b->verdict_at - 1, &h), 0);
}
END_TEST

START_TEST(wrong_v2_signature_returns_einval)
{
    uint8_t buf[64];
    rc_proxy_hdr_t h;

    for (size_t i = 0; i < 12; i++) {
        size_t n = v2(buf, 0x21, 0x11, 12, inet_body, 12);
        buf[i] ^= 0x20;
        ck_assert_msg(parse_n(buf, n, &h) == -EINVAL, "byte %zu", i);
        ck_assert_msg(parse_n(buf, i + 1, &h) == -EINVAL, "byte %zu alone", i);
    }
}
END_TEST

START_TEST(v2_length_of_max_is_accepted_one_more_returns_emsgsize)
{
    static uint8_t buf[RC_PROXY_HDR_MAX + 64];
    static uint8_t body[RC_PROXY_V2_MAX_LEN];
    rc_proxy_hdr_t h;
    size_t n;

    /* INET addresses, then one NOOP TLV padding the rest. */
    memcpy(body, inet_body, 12);
    body[12] = 0x04;
    body[13] = (uint8_t)((RC_PROXY_V2_MAX_LEN - 15) >> 8);
    body[14] = (uint8_t)(RC_PROXY_V2_MAX_LEN - 15);
    n = v2(buf, 0x21, 0x11, RC_PROXY_V2_MAX_LEN, body, sizeof(body));
    ck_assert_uint_eq(n, RC_PROXY_HDR_MAX);
    ck_assert_int_eq(parse_n(buf, n, &h), RC_PROXY_HDR_MAX);
    check_addr(&h.src, h.src_len, AF_INET, "192.0.2.10", 50000);
    ck_assert_int_eq(parse_n(buf, n - 1, &h), 0);

    /* Refused from the length field alone, before the body arrives. */
    v2(buf, 0x21, 0x11, RC_PROXY_V2_MAX_LEN + 1, NULL, 0);
    ck_assert_int_eq(parse_n(buf, 16, &h), -EMSGSIZE);
    ck_assert_int_eq(parse_n(buf, 15, &h), 0);
    v2(buf, 0x20, 0x00, 0xFFFF, NULL, 0);
    ck_assert_int_eq(parse_n(buf, 16, &h), -EMSGSIZE);
}
END_TEST

START_TEST(header_is_rewritten_on_every_call)
{
    uint8_t buf[64];
    rc_proxy_hdr_t h;
    size_t n;

    ck_assert_int_gt(parse_str(tcp4_line, &h), 0);
    n = v2(buf, 0x20, 0x00, 0, NULL, 0);
    ck_assert_int_eq(parse_n(buf, n, &h), 16);
    check_local(&h);
    ck_assert_int_gt(parse_str(tcp6_line, &h), 0);
    ck_assert_int_eq(h.local, 0);
    check_addr(&h.src, h.src_len, AF_INET6, "2001:db8::1", 65535);
}
END_TEST

int main(void)
{
    TCase *tc;
    Suite *s = rc_test_suite("proxy_proto", &tc, NULL, NULL);
    tcase_add_test(tc, v1_tcp4_line_gives_addresses_ports_and_length);
    tcase_add_test(tc, v1_tcp6_line_gives_addresses_ports_and_length);
    tcase_add_test(tc, v1_unknown_line_is_local_and_rest_of_line_is_ignored);
    tcase_add_test(tc, v1_ports_zero_and_65535_are_accepted);
    tcase_add_test(tc, every_strict_prefix_of_a_valid_v1_line_returns_0);
    tcase_add_test(tc, v1_resumed_one_byte_at_a_time_gives_the_same_header);
    tcase_add_loop_test(tc, malformed_v1_returns_einval, 0, (int)(sizeof(bad_v1) / sizeof(bad_v1[0])));
    tcase_add_test(tc, plain_http_request_is_refused_at_its_first_byte);
    tcase_add_test(tc, v1_line_of_max_bytes_is_accepted_one_more_returns_emsgsize);
    tcase_add_test(tc, overlong_v1_line_returns_emsgsize);
    tcase_add_test(tc, v2_proxy_inet_with_tlvs_gives_addresses_and_skips_tlvs);
    tcase_add_test(tc, v2_proxy_inet6_with_tlvs_gives_addresses_and_skips_tlvs);
    tcase_add_test(tc, v2_local_and_addressless_families_are_local);
    tcase_add_test(tc, every_strict_prefix_of_a_valid_v2_header_returns_0);
    tcase_add_loop_test(tc, malformed_v2_returns_einval_as_soon_as_the_byte_is_there, 0,
                        (int)(sizeof(bad_v2) / sizeof(bad_v2[0])));
    tcase_add_test(tc, wrong_v2_signature_returns_einval);
    tcase_add_test(tc, v2_length_of_max_is_accepted_one_more_returns_emsgsize);
    tcase_add_test(tc, header_is_rewritten_on_every_call);
    return rc_test_run(s);
}

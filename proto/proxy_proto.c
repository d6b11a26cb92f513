/* PROXY protocol v1 and v2 (HAProxy's proxy-protocol.txt). Every byte is
 * checked as soon as it is there, so a connection that does not start with
 * a header is refused at its first wrong byte, and a proper prefix of a
 * valid header is never refused. */
#include "proto/proxy_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

/* ---- shared ---- */

static socklen_t put_addr(struct sockaddr_storage *ss, int family, const void *addr, uint16_t port)
{
    if (family == AF_INET) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
        memcpy(&sin.sin_addr, addr, 4);
        memcpy(ss, &sin, sizeof(sin));
        return sizeof(sin);
    }
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
    memcpy(&sin6.sin6_addr, addr, 16);
    memcpy(ss, &sin6, sizeof(sin6));
    return sizeof(sin6);
}

/* ---- v1: "PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\n" ---- */

/* The v1 helpers return 1 when their part is complete, MORE when the input
 * ends inside a valid prefix of it, or -EINVAL. */
#define MORE 0

struct cur {
    const uint8_t *p;
    size_t n, i;
};

static int lit(struct cur *c, const char *s)
{
    for (; *s; s++, c->i++) {
        if (c->i == c->n)
            return MORE;
        if (c->p[c->i] != (uint8_t)*s)
            return -EINVAL;
    }
    return 1;
}

static int is_digit(int b) { return b >= '0' && b <= '9'; }
static int is_v4_char(int b) { return is_digit(b) || b == '.'; }
static int is_v6_char(int b)
{
    return is_digit(b) || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F') || b == ':' || b == '.';
}

/* A non-empty field of at most max bytes that ok() accepts, ending at the
 * byte end (consumed). out gets it NUL-terminated: it holds max + 1. */
static int field(struct cur *c, int (*ok)(int), size_t max, uint8_t end, char *out)
{
    size_t k = 0;

    for (;; c->i++) {
        if (c->i == c->n)
            return MORE;
        uint8_t b = c->p[c->i];
        if (b == end && k > 0) {
            out[k] = '\0';
            c->i++;
            return 1;
        }
        if (!ok(b) || k == max)
            return -EINVAL;
        out[k++] = (char)b;
    }
}

enum { V1_TCP4, V1_TCP6, V1_UNKNOWN };
static const char *const v1_protos[] = { "TCP4", "TCP6", "UNKNOWN" };

/* The protocol word and the space after it; UNKNOWN may end the line at
 * once ("PROXY UNKNOWN\r\n"), so its CR is left for the caller. */
static int v1_proto(struct cur *c, int *which)
{
    const uint8_t *s = c->p + c->i;
    size_t avail = c->n - c->i;

    for (int k = 0; k < 3; k++) {
        size_t m = strlen(v1_protos[k]);
        if (memcmp(s, v1_protos[k], avail < m ? avail : m) != 0)
            continue;
        if (avail <= m)
            return MORE;
        if (s[m] == ' ' || (k == V1_UNKNOWN && s[m] == '\r')) {
            *which = k;
            c->i += m + (s[m] == ' ');
            return 1;
        }
    }
    return -EINVAL;
}

/* After UNKNOWN the receiver ignores everything up to the CRLF. */
static int v1_skip_line(struct cur *c)
{
    for (; c->i < c->n; c->i++) {
        if (c->p[c->i] == '\n')
            return -EINVAL;
        if (c->p[c->i] == '\r')
            return lit(c, "\r\n");
    }
    return MORE;
}

static int v1_addr(struct cur *c, int family, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char s[INET6_ADDRSTRLEN];
    uint8_t a[16];
    int r = family == AF_INET ? field(c, is_v4_char, INET_ADDRSTRLEN - 1, ' ', s)
                              : field(c, is_v6_char, INET6_ADDRSTRLEN - 1, ' ', s);
    if (r != 1)
        return r;
    if (inet_pton(family, s, a) != 1)
        return -EINVAL;
    *sslen = put_addr(ss, family, a, 0);
    return 1;
}

/* sin_port and sin6_port sit at the same offset, just after the family. */
_Static_assert(offsetof(struct sockaddr_in, sin_port) == offsetof(struct sockaddr_in6, sin6_port),
               "port offsets differ");

/* A port, 0..65535 in plain decimal, stored into the address put_addr wrote. */
static int v1_port(struct cur *c, uint8_t end, struct sockaddr_storage *ss)
{
    char s[6];
    unsigned v = 0;
    uint16_t be;
    int r = field(c, is_digit, 5, end, s);

    if (r != 1)
        return r;
    if (s[0] == '0' && s[1])
        return -EINVAL;
    for (const char *q = s; *q; q++)
        v = v * 10 + (unsigned)(*q - '0');
    if (v > 65535)
        return -EINVAL;
    be = htons((uint16_t)v);
    memcpy((uint8_t *)ss + offsetof(struct sockaddr_in, sin_port), &be, 2);
    return 1;
}

static int v1_line(struct cur *c, rc_proxy_hdr_t *out)
{
    int which, family, r;

    if ((r = lit(c, "PROXY ")) != 1 || (r = v1_proto(c, &which)) != 1)
        return r;
    if (which == V1_UNKNOWN) {
        if ((r = v1_skip_line(c)) == 1)
            out->local = 1;
        return r;
    }
    family = which == V1_TCP4 ? AF_INET : AF_INET6;
    if ((r = v1_addr(c, family, &out->src, &out->src_len)) != 1 ||
        (r = v1_addr(c, family, &out->dst, &out->dst_len)) != 1 ||
        (r = v1_port(c, ' ', &out->src)) != 1 ||
        (r = v1_port(c, '\r', &out->dst)) != 1)
        return r;
    return lit(c, "\n");
}

static int parse_v1(const uint8_t *buf, size_t len, rc_proxy_hdr_t *out)
{
    /* Reading stops at the longest legal line; needing more than that is
     * a line too long, not a wait. */
    struct cur c = { buf, len < RC_PROXY_V1_MAX ? len : RC_PROXY_V1_MAX, 0 };
    int r = v1_line(&c, out);

    if (r == MORE)
        return len >= RC_PROXY_V1_MAX ? -EMSGSIZE : 0;
    return r < 0 ? r : (int)c.i;
}

/* ---- v2: signature, ver/cmd, family/transport, length, addresses, TLVs ---- */

static const uint8_t v2_sig[12] = {
    0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A,
};

enum { V2_LOCAL = 0x0, V2_PROXY = 0x1 };
enum { V2_UNSPEC = 0x0, V2_INET = 0x1, V2_INET6 = 0x2, V2_UNIX = 0x3 };
enum { V2_STREAM = 0x1 };

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static int parse_v2(const uint8_t *buf, size_t len, rc_proxy_hdr_t *out)
{
    uint8_t cmd, fam, transport;
    size_t hlen, need;

    if (memcmp(buf, v2_sig, len < 12 ? len : 12) != 0)
        return -EINVAL;
    if (len < 13)
        return 0;
    cmd = buf[12] & 0x0F;
    if (buf[12] >> 4 != 2 || cmd > V2_PROXY)
        return -EINVAL;
    if (len < 14)
        return 0;
    fam = buf[13] >> 4;
    transport = buf[13] & 0x0F;
    /* We serve TCP only: a datagram header is not for us. */
    if (fam > V2_UNIX || transport > V2_STREAM)
        return -EINVAL;
    if (len < 16)
        return 0;
    hlen = be16(buf + 14);
    if (hlen > RC_PROXY_V2_MAX_LEN)
        return -EMSGSIZE;
    need = fam == V2_INET ? 12 : fam == V2_INET6 ? 36 : 0;
    /* LOCAL carries no addresses worth reading, whatever its family says. */
    if (cmd == V2_LOCAL)
        need = 0;
    if (hlen < need)
        return -EINVAL;
    if (len < 16 + hlen)
        return 0;

    if (need == 0) {
        out->local = 1;
    } else if (fam == V2_INET) {
        const uint8_t *a = buf + 16;
        out->src_len = put_addr(&out->src, AF_INET, a, be16(a + 8));
        out->dst_len = put_addr(&out->dst, AF_INET, a + 4, be16(a + 10));
    } else {
        const uint8_t *a = buf + 16;
        out->src_len = put_addr(&out->src, AF_INET6, a, be16(a + 32));
        out->dst_len = put_addr(&out->dst, AF_INET6, a + 16, be16(a + 34));
    }
    /* Whatever follows the addresses (TLVs: ALPN, authority, AWS VPC
     * endpoint, padding) is consumed unread. */
    return (int)(16 + hlen);
}

int rc_proxy_hdr_parse(const uint8_t *buf, size_t len, rc_proxy_hdr_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len == 0)
        return 0;
    if (buf[0] == 'P')
        return parse_v1(buf, len, out);
    if (buf[0] == v2_sig[0])
        return parse_v2(buf, len, out);
    return -EINVAL;
}

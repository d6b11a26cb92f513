/* libFuzzer driver for the PROXY protocol header parser and the address
 * allow-lists that decide who may send one: parse, check the verdict and
 * what it filled in, verify the resumability contract on the same bytes,
 * then read the bytes as an allow-list and match fixed peers against it. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/cidr.h"
#include "proto/proxy_proto.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

#define CIDR_TEXT_MAX 512

static const struct sockaddr_storage zero_ss;

/* Parses buf[0..n) from the end of a heap block of exactly n bytes (at
 * least 1), so ASan sees any read past n. */
static int parse_tail(uint8_t *block, size_t blen, const uint8_t *buf, size_t n, rc_proxy_hdr_t *h)
{
    memcpy(block + blen - n, buf, n);
    return rc_proxy_hdr_parse(block + blen - n, n, h);
}

static void check_addr(const struct sockaddr_storage *ss, socklen_t len, int family)
{
    CHECK(ss->ss_family == family);
    CHECK(len == (family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
}

/* What a header with verdict r > 0 over data[0..r) must have filled in. */
static void check_header(const uint8_t *data, int r, const rc_proxy_hdr_t *h)
{
    CHECK(h->local == 0 || h->local == 1);
    if (h->local) {
        CHECK(h->src_len == 0 && h->dst_len == 0);
        CHECK(memcmp(&h->src, &zero_ss, sizeof(zero_ss)) == 0);
        CHECK(memcmp(&h->dst, &zero_ss, sizeof(zero_ss)) == 0);
    } else {
        CHECK(h->src.ss_family == AF_INET || h->src.ss_family == AF_INET6);
        check_addr(&h->src, h->src_len, h->src.ss_family);
        check_addr(&h->dst, h->dst_len, h->src.ss_family);
    }
    if (data[0] == 'P') {
        CHECK(r >= 15 && r <= RC_PROXY_V1_MAX);
        CHECK(memcmp(data, "PROXY ", 6) == 0);
        CHECK(data[r - 2] == '\r' && data[r - 1] == '\n');
        CHECK(memchr(data, '\n', (size_t)r - 1) == NULL);
    } else {
        CHECK(r >= 16 && r == 16 + (data[14] << 8 | data[15]));
        CHECK(data[12] >> 4 == 2);
    }
}

/* A verdict, once reached, does not change with more bytes: any earlier
 * length gives 0 or the same verdict, and the same header. */
static void check_prefixes(const uint8_t *data, size_t size, int r, const rc_proxy_hdr_t *h)
{
    rc_proxy_hdr_t again;
    size_t blen = size ? size : 1;
    uint8_t *block = malloc(blen);

    CHECK(block != NULL);
    if (r > 0) {
        /* The block alone parses the same; any strict prefix is "need more". */
        CHECK(parse_tail(block, blen, data, (size_t)r, &again) == r);
        CHECK(memcmp(h, &again, sizeof(again)) == 0);
        for (size_t k = 0; k < (size_t)r; k++)
            CHECK(parse_tail(block, blen, data, k, &again) == 0);
    } else {
        size_t cuts[3] = { size / 3, size / 2, size ? size - 1 : 0 };
        for (int i = 0; i < 3; i++) {
            int q = parse_tail(block, blen, data, cuts[i], &again);
            CHECK(q == 0 || q == r);
        }
    }
    free(block);
}

static void put_peer(struct sockaddr_storage *ss, const char *addr)
{
    memset(ss, 0, sizeof(*ss));
    if (strchr(addr, ':')) {
        struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
        CHECK(inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1);
        memcpy(ss, &sin6, sizeof(sin6));
    } else {
        struct sockaddr_in sin = { .sin_family = AF_INET };
        CHECK(inet_pton(AF_INET, addr, &sin.sin_addr) == 1);
        memcpy(ss, &sin, sizeof(sin));
    }
}

static int match_str(const rc_cidr_list_t *l, const char *addr)
{
    struct sockaddr_storage ss;
    int m;

    put_peer(&ss, addr);
    m = rc_cidr_list_match(l, (const struct sockaddr *)&ss);
    CHECK(m == 0 || m == 1);
    return m;
}

/* Each entry of a parsed list is well formed and matches its own address. */
static void check_entries(const rc_cidr_list_t *l)
{
    for (unsigned i = 0; i < l->n; i++) {
        const rc_cidr_t *e = &l->v[i];
        struct sockaddr_storage ss;
        unsigned max = e->family == AF_INET ? 32 : 128;

        CHECK(e->family == AF_INET || e->family == AF_INET6);
        CHECK(e->bits <= max);
        for (unsigned b = e->bits; b < 128; b++)
            CHECK(!(e->addr[b / 8] & (0x80 >> (b % 8))));
        memset(&ss, 0, sizeof(ss));
        if (e->family == AF_INET) {
            struct sockaddr_in sin = { .sin_family = AF_INET };
            memcpy(&sin.sin_addr, e->addr, 4);
            memcpy(&ss, &sin, sizeof(sin));
        } else {
            struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
            memcpy(&sin6.sin6_addr, e->addr, 16);
            memcpy(&ss, &sin6, sizeof(sin6));
        }
        CHECK(rc_cidr_list_match(l, (const struct sockaddr *)&ss) == 1);
    }
}

/* The bytes as an allow-list; a parsed one is matched against fixed peers
 * and the header's own client address. */
static void check_cidr(const uint8_t *data, size_t size, const rc_proxy_hdr_t *h, int r)
{
    static const char *const v4[] = { "127.0.0.1", "10.1.2.3", "0.0.0.0", "255.255.255.255" };
    char text[CIDR_TEXT_MAX + 1], err[128], small[6];
    size_t n = size < CIDR_TEXT_MAX ? size : CIDR_TEXT_MAX;
    rc_cidr_list_t l, l2;
    int rc;

    memcpy(text, data, n);
    text[n] = '\0';
    rc = rc_cidr_list_parse(text, &l, err, sizeof(err));
    CHECK(rc == 0 || rc == -EINVAL);
    CHECK(strlen(err) < sizeof(err));
    /* The verdict does not depend on the error buffer. */
    CHECK(rc_cidr_list_parse(text, &l2, small, sizeof(small)) == rc);
    CHECK(strlen(small) < sizeof(small));
    rc_cidr_list_free(&l2);
    CHECK(rc_cidr_list_parse(text, &l2, NULL, 0) == rc);
    rc_cidr_list_free(&l2);
    if (rc < 0) {
        CHECK(err[0] != '\0');
        CHECK(l.n == 0 && l.v == NULL);
        return;
    }
    CHECK(err[0] == '\0');
    CHECK((l.n == 0) == (l.v == NULL));
    check_entries(&l);

    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        char mapped[32] = "::ffff:";
        strcat(mapped, v4[i]);
        /* A mapped peer matches as the IPv4 address it carries. */
        CHECK(match_str(&l, v4[i]) == match_str(&l, mapped));
    }
    match_str(&l, "::1");
    match_str(&l, "2001:db8::1");
    match_str(&l, "::");
    if (l.n == 0)
        CHECK(match_str(&l, "127.0.0.1") == 0 && match_str(&l, "::1") == 0);
    {
        struct sockaddr_storage ss;
        struct sockaddr_un sun = { .sun_family = AF_UNIX, .sun_path = "/tmp/x" };
        memset(&ss, 0, sizeof(ss));
        memcpy(&ss, &sun, sizeof(sun));
        CHECK(rc_cidr_list_match(&l, (const struct sockaddr *)&ss) == 0);
    }
    if (r > 0 && !h->local) {
        int m = rc_cidr_list_match(&l, (const struct sockaddr *)&h->src);
        CHECK(m == 0 || m == 1);
    }
    rc_cidr_list_free(&l);
    CHECK(l.n == 0 && l.v == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rc_proxy_hdr_t h;
    int r;

    r = rc_proxy_hdr_parse(data, size, &h);
    CHECK(r == 0 || r == -EINVAL || r == -EMSGSIZE || (r > 0 && (size_t)r <= size));
    CHECK(r <= RC_PROXY_HDR_MAX);
    /* A buffer of RC_PROXY_HDR_MAX bytes always reaches a verdict, and a
     * v1 line has one within RC_PROXY_V1_MAX. */
    if (r == 0)
        CHECK(size < RC_PROXY_HDR_MAX && (size == 0 || data[0] != 'P' || size < RC_PROXY_V1_MAX));
    if (r == -EMSGSIZE)
        CHECK(data[0] == 'P' ? size >= RC_PROXY_V1_MAX : size >= 16);
    if (r > 0)
        check_header(data, r, &h);
    check_prefixes(data, size, r, &h);
    check_cidr(data, size, &h, r);
    return 0;
}

/* Address allow-lists: parsing an option's text and matching peers. */
#include "common/cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Writes 'bad entry "<entry>": <why>' into err. */
static int bad(char *err, size_t errlen, const char *entry, size_t n, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (errlen == 0)
        return -EINVAL;
    k = snprintf(err, errlen, "bad entry \"%.*s%s\": ", n > 64 ? 64 : (int)n, entry, n > 64 ? "..." : "");
    if (k >= 0 && (size_t)k < errlen) {
        va_start(ap, fmt);
        vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* 1 if the first bits bits of a and b agree. */
static int prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;

    if (memcmp(a, b, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return ((a[full] ^ b[full]) & mask) == 0;
}

/* One trimmed, non-empty entry at s[0..n). */
static int parse_entry(const char *s, size_t n, rc_cidr_t *e, char *err, size_t errlen)
{
    char a[INET6_ADDRSTRLEN];
    const char *slash = memchr(s, '/', n);
    size_t alen = slash ? (size_t)(slash - s) : n;
    unsigned max, bits = 0;

    if (alen == 0 || alen >= sizeof(a))
        return bad(err, errlen, s, n, "not an IPv4 or IPv6 address");
    memcpy(a, s, alen);
    a[alen] = '\0';
    memset(e, 0, sizeof(*e));
    if (inet_pton(AF_INET, a, e->addr) == 1) {
        e->family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, a, e->addr) == 1) {
        e->family = AF_INET6;
        max = 128;
    } else {
        return bad(err, errlen, s, n, "not an IPv4 or IPv6 address");
    }

    if (!slash) {
        bits = max;
    } else {
        const char *d = slash + 1, *end = s + n;
        if (d == end || end - d > 3)
            return bad(err, errlen, s, n, "prefix length is not a number 0..%u", max);
        for (const char *q = d; q < end; q++) {
            if (*q < '0' || *q > '9')
                return bad(err, errlen, s, n, "prefix length is not a number 0..%u", max);
            bits = bits * 10 + (unsigned)(*q - '0');
        }
        if (*d == '0' && end - d > 1)
            return bad(err, errlen, s, n, "prefix length has a leading zero");
        if (bits > max)
            return bad(err, errlen, s, n, "prefix length above %u", max);
    }
    e->bits = (uint8_t)bits;

    /* Host bits must be zero: they would be ignored, and "10.0.0.1/8" is
     * more likely a typo than a wish to trust 10/8. */
    for (unsigned i = bits; i < max; i++) {
        if (e->addr[i / 8] & (0x80 >> (i % 8)))
            return bad(err, errlen, s, n, "host bits set after /%u", bits);
    }

    /* Peers arrive IPv4-mapped on dual-stack sockets and are matched as
     * IPv4, so a mapped entry is stored as IPv4 too, or it would never match. */
    if (e->family == AF_INET6 && bits >= 96 && memcmp(e->addr, v4_mapped, 12) == 0) {
        memmove(e->addr, e->addr + 12, 4);
        memset(e->addr + 4, 0, 12);
        e->family = AF_INET;
        e->bits = (uint8_t)(bits - 96);
    }
    return 0;
}

int rc_cidr_list_parse(const char *text, rc_cidr_list_t *out, char *err, size_t errlen)
{
    const char *p = text;
    unsigned cap = 1;
    int rc = 0;

    out->n = 0;
    out->v = NULL;
    if (errlen)
        err[0] = '\0';
    while (is_blank(*p))
        p++;
    if (*p == '\0')
        return 0;
    for (const char *q = p; *q; q++)
        cap += *q == ',';
    out->v = rc_xcalloc(cap, sizeof(*out->v));

    for (;;) {
        const char *end = strchr(p, ',');
        const char *s = p, *t;
        if (!end)
            end = p + strlen(p);
        while (s < end && is_blank(*s))
            s++;
        t = end;
        while (t > s && is_blank(t[-1]))
            t--;
        if (s == t) {
            rc = -EINVAL;
            if (errlen)
                snprintf(err, errlen, "empty entry (two commas in a row, or one at an end)");
            break;
        }
        rc = parse_entry(s, (size_t)(t - s), &out->v[out->n], err, errlen);
        if (rc < 0)
            break;
        out->n++;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    if (rc < 0)
        rc_cidr_list_free(out);
    return rc;
}

int rc_cidr_list_match(const rc_cidr_list_t *l, const struct sockaddr *sa)
{
    uint8_t a[16];
    uint8_t family;

    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof(sin));
        memcpy(a, &sin.sin_addr, 4);
        family = AF_INET;
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof(sin6));
        memcpy(a, &sin6.sin6_addr, 16);
        family = AF_INET6;
        if (memcmp(a, v4_mapped, 12) == 0) {
            memmove(a, a + 12, 4);
            family = AF_INET;
        }
    } else {
        return 0;
    }
    for (unsigned i = 0; i < l->n; i++) {
        if (l->v[i].family == family && prefix_eq(l->v[i].addr, a, l->v[i].bits))
            return 1;
    }
    return 0;
}

void rc_cidr_list_free(rc_cidr_list_t *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

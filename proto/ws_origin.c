/* Origin allow-list for the WebSocket handshake, with Phoenix's
 * check_origin rules (proto/ws_origin.h).
 * Allocates nothing; parses the list on every call. */
#include <stddef.h>
#include <string.h>

#include "proto/ws_origin.h"

/* An origin or allow-list entry split into slices of its text. */
typedef struct origin_parts {
    rc_slice_t scheme; /* NULL for a "//host" entry */
    rc_slice_t host;   /* may start with "*." in an entry */
    int port;          /* explicit port, -1 if none */
} origin_parts_t;

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

/* reg-name characters we accept in a host (DNS names, IPv4, "_" as some
 * internal names have); no "%", "@" or anything a URL parser would treat
 * as a delimiter. */
static int is_host_char(int c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

/* 1..65535, decimal digits only. */
static int parse_port(const char *p, size_t n)
{
    int x = 0;

    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)p[i]))
            return -1;
        x = x * 10 + (p[i] - '0');
    }
    return (x >= 1 && x <= 65535) ? x : -1;
}

/* host [":" port], host a reg-name or an IPv6 literal in brackets.
 * wildcard: a leading "*." is allowed (allow-list entries). */
static int parse_hostport(const char *p, size_t n, int wildcard, rc_slice_t *host, int *port)
{
    size_t i = 0, hs = 0;

    if (wildcard && n >= 2 && p[0] == '*' && p[1] == '.')
        i = hs = 2;
    if (i < n && p[i] == '[' && hs == 0) {
        for (i++; i < n && p[i] != ']'; i++)
            if (!is_digit((unsigned char)p[i]) && !(p[i] && strchr("abcdefABCDEF:.", p[i])))
                return -1;
        if (i == n || i == 1)
            return -1;
        i++; /* the brackets are part of the host, as in a Host header */
    } else {
        while (i < n && is_host_char((unsigned char)p[i]))
            i++;
        if (i == hs)
            return -1;
    }
    *host = rc_slice(p, i);
    *port = -1;
    if (i == n)
        return 0;
    if (p[i] != ':' || (*port = parse_port(p + i + 1, n - i - 1)) < 0)
        return -1;
    return 0;
}

/* "scheme://host[:port]"; an allow-list entry (is_entry) may also be
 * "//host[:port]" and use a "*." host. */
static int parse_origin(const char *p, size_t n, int is_entry, origin_parts_t *o)
{
    size_t i = 0;

    o->scheme = RC_SLICE_NULL;
    if (is_entry && n >= 2 && p[0] == '/' && p[1] == '/') {
        i = 2;
    } else {
        /* RFC 3986 3.1: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
        if (n == 0 || !is_alpha((unsigned char)p[0]))
            return -1;
        while (i < n && (is_alpha((unsigned char)p[i]) || is_digit((unsigned char)p[i]) ||
                         p[i] == '+' || p[i] == '-' || p[i] == '.'))
            i++;
        if (n - i < 3 || memcmp(p + i, "://", 3) != 0)
            return -1;
        o->scheme = rc_slice(p, i);
        i += 3;
    }
    /* An entry written as a URL with its root path is understood; a
     * browser's Origin never has a path. */
    if (is_entry && n > i && p[n - 1] == '/')
        n--;
    return parse_hostport(p + i, n - i, is_entry, &o->host, &o->port);
}

static int default_port(rc_slice_t scheme)
{
    if (rc_ascii_ieq(scheme.p, scheme.n, "http") || rc_ascii_ieq(scheme.p, scheme.n, "ws"))
        return 80;
    if (rc_ascii_ieq(scheme.p, scheme.n, "https") || rc_ascii_ieq(scheme.p, scheme.n, "wss"))
        return 443;
    return -1;
}

static int host_ieq(rc_slice_t a, rc_slice_t b)
{
    if (a.n != b.n)
        return 0;
    for (size_t i = 0; i < a.n; i++)
        if (rc_ascii_lower((unsigned char)a.p[i]) != rc_ascii_lower((unsigned char)b.p[i]))
            return 0;
    return 1;
}

/* "*.example.com" matches example.com and every name ending in
 * ".example.com" (as Phoenix does since it stopped matching
 * "evilexample.com"). */
static int host_matches(rc_slice_t host, rc_slice_t pattern)
{
    rc_slice_t base;

    if (pattern.n < 2 || pattern.p[0] != '*' || pattern.p[1] != '.')
        return host_ieq(host, pattern);
    base = rc_slice(pattern.p + 2, pattern.n - 2);
    if (host_ieq(host, base))
        return 1;
    return host.n > base.n + 1 && host.p[host.n - base.n - 1] == '.' &&
           host_ieq(rc_slice(host.p + host.n - base.n, base.n), base);
}

static int entry_matches(const char *e, size_t n, const origin_parts_t *o, int o_port,
                         rc_slice_t host_header)
{
    origin_parts_t a;

    if (n == 5 && memcmp(e, ":conn", 5) == 0) {
        rc_slice_t hh;
        int hp;
        if (!host_header.p || parse_hostport(host_header.p, host_header.n, 0, &hh, &hp) < 0)
            return 0;
        if (hp < 0)
            hp = default_port(o->scheme);
        return host_ieq(o->host, hh) && hp == o_port;
    }
    if (parse_origin(e, n, 1, &a) < 0)
        return 0;
    if (a.scheme.p && !host_ieq(a.scheme, o->scheme))
        return 0;
    if (a.port >= 0 && a.port != o_port)
        return 0;
    return host_matches(o->host, a.host);
}

int rc_ws_origin_allowed(rc_slice_t origin, const char *allowlist, rc_slice_t host_header)
{
    origin_parts_t o;
    int o_port;
    const char *e = allowlist;

    if (!origin.p || !allowlist || !*allowlist)
        return 1;
    if (parse_origin(origin.p, origin.n, 0, &o) < 0)
        return 0;
    o_port = o.port >= 0 ? o.port : default_port(o.scheme);
    while (*e) {
        const char *s, *end;
        while (*e == ' ' || *e == '\t' || *e == ',')
            e++;
        s = e;
        while (*e && *e != ',')
            e++;
        end = e;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > s && entry_matches(s, (size_t)(end - s), &o, o_port, host_header))
            return 1;
    }
    return 0;
}


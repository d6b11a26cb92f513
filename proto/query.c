/* Query strings of a request-target: finding one parameter and
 * percent-decoding its value, as Plug (Phoenix's HTTP layer) does. */
#include "proto/query.h"

#include <errno.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)rc_ascii_lower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Decodes p[0..n) into out (may be NULL to only check and measure).
 * Returns the decoded length or -EINVAL. %00 is refused: values end up in C
 * strings, where an embedded NUL would silently cut them short. */
static int pct_decode(const char *p, size_t n, char *out, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi, lo;
            if (n - i < 3 || (hi = hexval(p[i + 1])) < 0 || (lo = hexval(p[i + 2])) < 0)
                return -EINVAL;
            c = hi << 4 | lo;
            if (c == 0)
                return -EINVAL;
            i += 2;
        }
        if (out) {
            if (o + 1 >= cap)
                return -ENOSPC;
            out[o] = (char)c;
        }
        o++;
    }
    return (int)o;
}

/* 1 if the percent-encoded key p[0..n) decodes to name. */
static int key_matches(const char *p, size_t n, const char *name)
{
    char tmp[256];
    size_t nl = strlen(name);
    int d;

    if (nl >= sizeof(tmp))
        return 0;
    d = pct_decode(p, n, tmp, sizeof(tmp));
    return d >= 0 && (size_t)d == nl && memcmp(tmp, name, nl) == 0;
}

int rc_query_get(rc_slice_t query, const char *name, char *out, size_t cap)
{
    const char *val = NULL;
    size_t vlen = 0, i = 0;
    int d;

    if (!query.p)
        return -ENOENT;
    /* The last occurrence wins, as in Plug's query decoding. */
    while (i <= query.n) {
        size_t s = i, eq, e;
        while (i < query.n && query.p[i] != '&')
            i++;
        e = i++;
        eq = s;
        while (eq < e && query.p[eq] != '=')
            eq++;
        if (e > s && key_matches(query.p + s, eq - s, name)) {
            val = eq < e ? query.p + eq + 1 : query.p + e;
            vlen = eq < e ? e - eq - 1 : 0;
        }
    }
    if (!val)
        return -ENOENT;
    if (cap == 0)
        return -ENOSPC;
    d = pct_decode(val, vlen, out, cap);
    if (d < 0)
        return d;
    out[d] = '\0';
    return d;
}

/* Request framing for the producer listener. Line ends are CRLF or a lone
 * LF (evhttp reads lines with EVBUFFER_EOL_CRLF, which takes both); a CR
 * anywhere else is malformed. Where evhttp is lenient in a way that would
 * let it frame a request differently (folded header lines, signs or "0x" in
 * lengths, chunk extensions, trailers), the parser refuses instead. */
#include "broker/http_head.h"

#include <string.h>

enum { SCAN_MID, SCAN_LF, SCAN_LF_CR };

size_t rc_http_head_end(rc_http_scan_t *s, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '\n') {
            if (s->state != SCAN_MID) {
                s->state = SCAN_MID;
                return i + 1;
            }
            s->state = SCAN_LF;
        } else if (c == '\r' && s->state == SCAN_LF) {
            s->state = SCAN_LF_CR;
        } else {
            s->state = SCAN_MID;
        }
    }
    return 0;
}

static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Next line of buf[*pos..len): its bytes without the terminator. Returns 1,
 * 0 at the end of buf, -1 on a CR not followed by LF. */
static int next_line(const char *buf, size_t len, size_t *pos, rc_slice_t *line)
{
    size_t i = *pos;
    if (i >= len)
        return 0;
    const char *lf = memchr(buf + i, '\n', len - i);
    size_t end = lf ? (size_t)(lf - buf) : len;
    size_t e = end;
    if (e > i && buf[e - 1] == '\r')
        e--;
    if (memchr(buf + i, '\r', e - i))
        return -1;
    *line = rc_slice(buf + i, e - i);
    *pos = end + 1;
    return 1;
}

/* "METHOD SP origin-form SP HTTP/1.d" */
static int request_line(rc_slice_t l, rc_http_head_t *h)
{
    size_t i = 0;
    while (i < l.n && is_tchar((unsigned char)l.p[i]))
        i++;
    if (i == 0 || i == l.n || l.p[i] != ' ')
        return -400;
    h->method = rc_slice(l.p, i);
    size_t t = ++i;
    while (i < l.n && l.p[i] != ' ') {
        if ((unsigned char)l.p[i] < 0x21 || l.p[i] == 0x7F)
            return -400;
        i++;
    }
    if (i == t || i == l.n || l.p[t] != '/')
        return -400;
    const char *q = memchr(l.p + t, '?', i - t);
    h->path = rc_slice(l.p + t, (size_t)((q ? q : l.p + i) - (l.p + t)));
    i++;
    if (l.n - i != 8 || memcmp(l.p + i, "HTTP/", 5) != 0 || l.p[i + 6] != '.' || l.p[i + 7] < '0' ||
        l.p[i + 7] > '9' || l.p[i + 5] < '0' || l.p[i + 5] > '9')
        return -400;
    if (l.p[i + 5] != '1')
        return -505;
    h->http_minor = l.p[i + 7] - '0';
    return 0;
}

static int parse_length(rc_slice_t v, int64_t *out)
{
    int64_t x = 0;
    if (v.n == 0 || v.n > 18)
        return -400;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -400;
        x = x * 10 + (v.p[i] - '0');
    }
    *out = x;
    return 0;
}

/* What the head's headers say; evhttp looks at the first of each name, so
 * a repeated one that matters is refused rather than guessed. */
typedef struct seen {
    rc_slice_t connection, te;
    unsigned n_te;
} seen_t;

static int header_line(rc_slice_t l, rc_http_head_t *h, seen_t *s)
{
    size_t i = 0;
    while (i < l.n && is_tchar((unsigned char)l.p[i]))
        i++;
    /* A line starting with whitespace is obsolete folding: evhttp would
     * join it to the previous header. */
    if (i == 0 || i == l.n || l.p[i] != ':')
        return -400;
    size_t nl = i++;
    for (size_t k = i; k < l.n; k++) {
        unsigned char c = (unsigned char)l.p[k];
        if (c != '\t' && (c < 0x20 || c == 0x7F))
            return -400;
    }
    size_t vs = i, ve = l.n;
    while (vs < ve && (l.p[vs] == ' ' || l.p[vs] == '\t'))
        vs++;
    while (ve > vs && (l.p[ve - 1] == ' ' || l.p[ve - 1] == '\t'))
        ve--;
    rc_slice_t v = rc_slice(l.p + vs, ve - vs);

    if (rc_ascii_ieq(l.p, nl, "content-length")) {
        int64_t x;
        if (parse_length(v, &x))
            return -400;
        if (h->content_length >= 0 && h->content_length != x)
            return -400;
        h->content_length = x;
    } else if (rc_ascii_ieq(l.p, nl, "transfer-encoding")) {
        s->te = v;
        s->n_te++;
    } else if (rc_ascii_ieq(l.p, nl, "authorization")) {
        if (h->authorization.p)
            return -400;
        h->authorization = v;
    } else if (rc_ascii_ieq(l.p, nl, "connection")) {
        if (!s->connection.p)
            s->connection = v;
    } else if (rc_ascii_ieq(l.p, nl, "expect")) {
        if (!rc_ascii_ieq(v.p, v.n, "100-continue"))
            return -417;
        h->expect_continue = 1;
    }
    return 0;
}

/* evhttp_method_may_have_body(): the methods whose body evhttp reads. */
static int body_method(rc_slice_t m)
{
    return rc_slice_eq(m, "POST") || rc_slice_eq(m, "PUT") || rc_slice_eq(m, "PATCH");
}

int rc_http_head_parse(const char *buf, size_t len, rc_http_head_t *h)
{
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    seen_t s = {0};
    size_t pos = 0;
    rc_slice_t l;
    int r = next_line(buf, len, &pos, &l);
    if (r <= 0)
        return -400;
    if ((r = request_line(l, h)) < 0)
        return r;
    for (;;) {
        r = next_line(buf, len, &pos, &l);
        if (r <= 0)
            return -400; /* no blank line: not a whole head */
        if (l.n == 0)
            break;
        if ((r = header_line(l, h, &s)) < 0)
            return r;
    }
    if (pos != len)
        return -400;
    if (s.n_te) {
        if (s.n_te > 1 || h->content_length >= 0)
            return -400;
        if (!rc_ascii_ieq(s.te.p, s.te.n, "chunked"))
            return -501;
        h->chunked = 1;
    }
    if (!body_method(h->method)) {
        /* evhttp takes what follows the head as the next request. */
        if (h->chunked || h->content_length > 0)
            return -400;
        return 0;
    }
    if (!h->chunked && h->content_length < 0 && s.connection.p && !rc_ascii_ieq(s.connection.p, s.connection.n, "close"))
        return -411; /* evhttp_get_body_length() refuses this */
    h->has_body = h->chunked || h->content_length > 0;
    return 0;
}

enum { CH_SIZE, CH_SIZE_SP, CH_SIZE_CR, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_LAST, CH_LAST_LF };

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)rc_ascii_lower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The size line ended: the chunk's data comes next, or the last blank line. */
static int size_done(rc_http_chunked_t *c, uint64_t max)
{
    if (c->digits == 0)
        return -400;
    if (c->left > max - c->total)
        return -413;
    c->total += c->left;
    c->state = c->left ? CH_DATA : CH_LAST;
    return 0;
}

long rc_http_chunked_feed(rc_http_chunked_t *c, const char *p, size_t n, uint64_t max, int *done)
{
    *done = 0;
    size_t i = 0;
    while (i < n) {
        char ch = p[i];
        int r = 0;
        switch (c->state) {
        case CH_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                /* 15 hex digits already exceed any body we take. */
                if (++c->digits > 15)
                    return -413;
                c->left = c->left * 16 + (uint64_t)v;
            } else if (ch == ' ' && c->digits) {
                c->state = CH_SIZE_SP;
            } else if (ch == '\r') {
                c->state = CH_SIZE_CR;
            } else if (ch == '\n') {
                r = size_done(c, max);
            } else {
                return -400;
            }
            break;
        }
        case CH_SIZE_SP:
            if (ch == '\r')
                c->state = CH_SIZE_CR;
            else if (ch == '\n')
                r = size_done(c, max);
            else if (ch != ' ')
                return -400;
            break;
        case CH_SIZE_CR:
            if (ch != '\n')
                return -400;
            r = size_done(c, max);
            break;
        case CH_DATA: {
            size_t k = n - i < c->left ? n - i : (size_t)c->left;
            c->left -= k;
            i += k;
            if (c->left == 0)
                c->state = CH_DATA_CR;
            continue;
        }
        case CH_DATA_CR:
            if (ch == '\r')
                c->state = CH_DATA_LF;
            else if (ch == '\n')
                c->state = CH_SIZE, c->digits = 0;
            else
                return -400;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                return -400;
            c->state = CH_SIZE;
            c->digits = 0;
            break;
        case CH_LAST:
            /* Trailer fields are refused: evhttp would parse them as
             * headers, and no producer needs them. */
            if (ch == '\r') {
                c->state = CH_LAST_LF;
                break;
            }
            if (ch != '\n')
                return -400;
            *done = 1;
            return (long)(i + 1);
        case CH_LAST_LF:
            if (ch != '\n')
                return -400;
            *done = 1;
            return (long)(i + 1);
        }
        if (r < 0)
            return r;
        i++;
    }
    return (long)n;
}

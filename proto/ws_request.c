/* The request of the WebSocket opening handshake over HTTP/1.1 (RFC 9112
 * message syntax): the request line and the headers ringcast reads. The
 * parser is picohttpparser-shaped: it starts again from the first byte on
 * every call, allocates nothing, and returns slices into the caller's
 * buffer.
 *
 * Line ends: CRLF, or a lone LF (RFC 9112 2.2 lets a recipient accept it);
 * both are accepted everywhere, including the blank line. A CR not followed
 * by LF is malformed. */
#include "proto/ws_request.h"

#include <string.h>

#include "proto/limits.h"

#define BEARER_PREFIX "base64url.bearer.phx."

static int is_tchar(unsigned char c)
{
    /* RFC 9110 5.6.2 token characters. */
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field value and request-target bytes: visible ASCII, space, tab, obs-text. */
static int is_vchar_or_ws(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7F);
}



/* Finds the end of the line starting at buf[pos] within buf[0..lim).
 * Returns 1 with *eol (first byte of the terminator) and *next (first byte
 * after it) set, 0 if the terminator is not there yet, -1 on a bare CR. */
static int line_end(const char *buf, size_t lim, size_t pos, size_t *eol, size_t *next)
{
    for (size_t i = pos; i < lim; i++) {
        if (buf[i] == '\n') {
            *eol = i;
            *next = i + 1;
            return 1;
        }
        if (buf[i] == '\r') {
            if (i + 1 == lim)
                return 0;
            if (buf[i + 1] != '\n')
                return -1;
            *eol = i;
            *next = i + 2;
            return 1;
        }
    }
    return 0;
}

/* "METHOD SP request-target SP HTTP/1.d" */
static int parse_request_line(const char *p, size_t n, rc_ws_request_t *req)
{
    size_t i = 0, start;

    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i == n || p[i] != ' ')
        return -400;
    req->method = rc_slice(p, i);
    start = ++i;
    while (i < n && p[i] != ' ') {
        if ((unsigned char)p[i] < 0x21 || p[i] == 0x7F)
            return -400; /* no controls or tabs in the request-target */
        i++;
    }
    if (i == start || i == n)
        return -400;
    {
        const char *t = p + start, *q = memchr(t, '?', i - start);
        if (q) {
            req->path = rc_slice(t, (size_t)(q - t));
            req->query = rc_slice(q + 1, (size_t)(t + (i - start) - q - 1));
        } else {
            req->path = rc_slice(t, i - start);
        }
    }
    i++;
    if (n - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 || p[i + 7] < '0' || p[i + 7] > '9')
        return -400;
    req->http_minor = p[i + 7] - '0';
    return 0;
}

/* Calls tok() for each element of a comma-separated list, OWS trimmed and
 * empty elements skipped (RFC 9110 5.6.1). */
static void list_each(const char *v, size_t n, rc_ws_request_t *req,
                      void (*tok)(const char *, size_t, rc_ws_request_t *))
{
    size_t i = 0;

    while (i < n) {
        size_t s, e;
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < n && v[i] != ',')
            i++;
        e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e > s)
            tok(v + s, e - s, req);
    }
}

static void tok_upgrade(const char *t, size_t n, rc_ws_request_t *req)
{
    if (rc_ascii_ieq(t, n, "websocket"))
        req->upgrade_websocket = 1;
}

static void tok_connection(const char *t, size_t n, rc_ws_request_t *req)
{
    if (rc_ascii_ieq(t, n, "upgrade"))
        req->connection_upgrade = 1;
}

static void tok_protocol(const char *t, size_t n, rc_ws_request_t *req)
{
    size_t pl = sizeof(BEARER_PREFIX) - 1;

    /* Subprotocol names are case-sensitive (RFC 6455 4.1), unlike the
     * Upgrade and Connection tokens. */
    if (n == 7 && memcmp(t, "phoenix", 7) == 0)
        req->offers_phoenix = 1;
    else if (n >= pl && memcmp(t, BEARER_PREFIX, pl) == 0 && !req->bearer.p)
        req->bearer = rc_slice(t + pl, n - pl);
}

static int parse_version(const char *v, size_t n)
{
    int x = 0;

    if (n == 0 || n > 3)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x;
}

/* One "name: value" line, p[0..n) without its terminator. */
static int parse_header(const char *p, size_t n, rc_ws_request_t *req)
{
    size_t i = 0, vs, ve;
    const char *name = p, *v;
    size_t nl;

    while (i < n && is_tchar((unsigned char)p[i]))
        i++;
    /* No whitespace is allowed before the colon (RFC 9112 5.1); a line that
     * starts with whitespace would be obsolete folding, refused as well. */
    if (i == 0 || i == n || p[i] != ':')
        return -400;
    nl = i++;
    for (size_t k = i; k < n; k++)
        if (!is_vchar_or_ws((unsigned char)p[k]))
            return -400;
    vs = i;
    while (vs < n && (p[vs] == ' ' || p[vs] == '\t'))
        vs++;
    ve = n;
    while (ve > vs && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
        ve--;
    v = p + vs;

    if (rc_ascii_ieq(name, nl, "upgrade")) {
        list_each(v, ve - vs, req, tok_upgrade);
    } else if (rc_ascii_ieq(name, nl, "connection")) {
        list_each(v, ve - vs, req, tok_connection);
    } else if (rc_ascii_ieq(name, nl, "sec-websocket-key")) {
        /* Single-valued headers: two copies are ambiguous, so refuse
         * rather than guess which one a proxy in front of us looked at. */
        if (req->key.p)
            return -400;
        req->key = rc_slice(v, ve - vs);
    } else if (rc_ascii_ieq(name, nl, "sec-websocket-version")) {
        if (req->version != -2)
            return -400;
        req->version = parse_version(v, ve - vs);
    } else if (rc_ascii_ieq(name, nl, "origin")) {
        if (req->origin.p)
            return -400;
        req->origin = rc_slice(v, ve - vs);
    } else if (rc_ascii_ieq(name, nl, "host")) {
        /* RFC 9112 3.2: more than one Host is a 400. */
        if (req->host.p)
            return -400;
        req->host = rc_slice(v, ve - vs);
    } else if (rc_ascii_ieq(name, nl, "sec-websocket-protocol")) {
        /* May be repeated (RFC 6455 11.3.4); the raw slice is the first. */
        if (!req->protocols.p)
            req->protocols = rc_slice(v, ve - vs);
        list_each(v, ve - vs, req, tok_protocol);
    }
    return 0;
}

/* The parser proper; version is -2 while no version header was seen. */
static int request_scan(const char *buf, size_t len, size_t lim, rc_ws_request_t *req)
{
    size_t pos = 0, eol, next;
    int r;

    r = line_end(buf, lim, pos, &eol, &next);
    if (r < 0)
        return -400;
    if (r == 0)
        goto incomplete;
    if (parse_request_line(buf, eol, req) < 0)
        return -400;
    pos = next;

    for (;;) {
        r = line_end(buf, lim, pos, &eol, &next);
        if (r < 0)
            return -400;
        if (r == 0)
            goto incomplete;
        if (eol == pos)
            break; /* the blank line */
        if (++req->nheaders > RC_HS_MAX_HEADERS)
            return -431;
        if (parse_header(buf + pos, eol - pos, req) < 0)
            return -400;
        pos = next;
    }
    return (int)next;

incomplete:
    /* The block did not end within the limit, and never will. */
    if (len >= RC_HS_MAX_BYTES)
        return -431;
    return 0;
}

/* 1 if buf[from..lim) holds the end of a header block: a line end ("\n" or
 * "\r\n") right after another. from is backed up by the caller so that a
 * terminator split across calls is seen. */
static int has_block_end(const char *buf, size_t from, size_t lim)
{
    for (size_t i = from; i < lim; i++) {
        if (buf[i] != '\n')
            continue;
        if (i >= 1 && buf[i - 1] == '\n')
            return 1;
        if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')
            return 1;
    }
    return 0;
}

int rc_ws_request_parse(const char *buf, size_t len, size_t prev_len, rc_ws_request_t *req)
{
    size_t lim = len < RC_HS_MAX_BYTES ? len : RC_HS_MAX_BYTES;
    int r;

    memset(req, 0, sizeof(*req));
    /* Resuming: the bytes up to prev_len held no block end, so only the new
     * ones (and the two before them, for a terminator split across reads)
     * need a look before the one full parse. */
    if (prev_len > 0 && prev_len < lim && lim < RC_HS_MAX_BYTES &&
        !has_block_end(buf, prev_len > 2 ? prev_len - 2 : 0, lim)) {
        req->version = -1;
        return 0;
    }
    req->version = -2; /* "not seen yet", to spot a repeated header */
    r = request_scan(buf, len, lim, req);
    if (req->version == -2)
        req->version = -1;
    return r;
}

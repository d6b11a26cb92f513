/* The server side of the RFC 6455 opening handshake over HTTP/1.1
 * (RFC 9112 message syntax). The parser is picohttpparser-shaped: it starts
 * again from the first byte on every call, allocates nothing, and returns
 * slices into the caller's buffer.
 *
 * Line ends: CRLF, or a lone LF (RFC 9112 2.2 lets a recipient accept it);
 * both are accepted everywhere, including the blank line. A CR not followed
 * by LF is malformed. */
#include "proto/ws_handshake.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "proto/limits.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
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

int rc_ws_request_parse(const char *buf, size_t len, rc_ws_request_t *req)
{
    size_t lim = len < RC_HS_MAX_BYTES ? len : RC_HS_MAX_BYTES;
    int r;

    memset(req, 0, sizeof(*req));
    req->version = -2; /* "not seen yet", to spot a repeated header */
    r = request_scan(buf, len, lim, req);
    if (req->version == -2)
        req->version = -1;
    return r;
}

static int is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
}

/* 16 bytes encode to 22 base64 characters and "==". The 4 spare bits of the
 * last character are not required to be zero: common decoders ignore them. */
static int key_valid(rc_slice_t key)
{
    if (key.n != 24 || key.p[22] != '=' || key.p[23] != '=')
        return 0;
    for (int i = 0; i < 22; i++)
        if (!is_b64((unsigned char)key.p[i]))
            return 0;
    return 1;
}

int rc_ws_request_check(const rc_ws_request_t *req, const char **why)
{
    if (!rc_slice_eq(req->method, "GET")) {
        *why = "method must be GET";
        return 400;
    }
    /* RFC 6455 4.2.1: "HTTP/1.1 or higher". */
    if (req->http_minor < 1) {
        *why = "HTTP/1.1 required";
        return 400;
    }
    if (!req->upgrade_websocket || !req->connection_upgrade) {
        *why = "not a websocket upgrade";
        return 400;
    }
    if (req->version != 13) {
        *why = "Sec-WebSocket-Version must be 13";
        return 426; /* the caller adds "Sec-WebSocket-Version: 13" (4.4) */
    }
    if (!req->key.p) {
        *why = "missing Sec-WebSocket-Key";
        return 400;
    }
    if (!key_valid(req->key)) {
        *why = "invalid Sec-WebSocket-Key";
        return 400;
    }
    return 0;
}

void rc_ws_accept_key(rc_slice_t key, char out[29])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    char tmp[128];
    size_t gl = sizeof(WS_GUID) - 1;

    if (key.n <= sizeof(tmp) - gl) {
        memcpy(tmp, key.p, key.n);
        memcpy(tmp + key.n, WS_GUID, gl);
        SHA1((const unsigned char *)tmp, key.n + gl, md);
    } else {
        /* Only reachable with a key that rc_ws_request_check would refuse;
         * still answer correctly rather than truncate. */
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        if (!c || !EVP_DigestInit_ex(c, EVP_sha1(), NULL) ||
            !EVP_DigestUpdate(c, key.p, key.n) || !EVP_DigestUpdate(c, WS_GUID, gl) ||
            !EVP_DigestFinal_ex(c, md, NULL))
            abort(); /* out of memory in libcrypto */
        EVP_MD_CTX_free(c);
    }
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
}

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

static int put_done(int n, size_t cap)
{
    return (n < 0 || (size_t)n >= cap) ? -ENOSPC : n;
}

int rc_ws_response_101(char *out, size_t cap, const char accept[29], int protocol_phoenix)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %.28s\r\n"
                     "%s"
                     "\r\n",
                     accept, protocol_phoenix ? "Sec-WebSocket-Protocol: phoenix\r\n" : "");
    return put_done(n, cap);
}

int rc_http_response(char *out, size_t cap, int status, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len)
{
    int n = snprintf(out, cap,
                     "HTTP/1.1 %d %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "Connection: close\r\n"
                     "%s"
                     "\r\n",
                     status, rc_http_reason(status),
                     content_type ? content_type : "text/plain", body_len,
                     extra_headers ? extra_headers : "");
    if (n < 0 || (size_t)n >= cap || body_len > cap - (size_t)n ||
        (size_t)n + body_len > INT_MAX)
        return -ENOSPC;
    if (body_len)
        memcpy(out + n, body, body_len);
    return n + (int)body_len;
}

const char *rc_http_reason(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
    }
}

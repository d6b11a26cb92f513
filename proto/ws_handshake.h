/* The server side of the RFC 6455 opening handshake (section 4.2) plus the
 * Phoenix specifics (query params, the "phoenix" subprotocol and its bearer
 * token).
 *
 * The parser is resumable and allocates nothing: call it again with the
 * whole buffer received so far; every slice it returns points into that
 * buffer, which the caller owns and must keep while it uses the request. */
#ifndef RC_PROTO_WS_HANDSHAKE_H
#define RC_PROTO_WS_HANDSHAKE_H

#include <stddef.h>
#include "proto/slice.h"

typedef struct rc_ws_request {
    rc_slice_t method;
    rc_slice_t path;       /* without the query string */
    rc_slice_t query;      /* after '?', still percent-encoded; NULL if none */
    rc_slice_t key;        /* Sec-WebSocket-Key, NULL if absent */
    rc_slice_t origin;     /* Origin, NULL if absent */
    rc_slice_t host;       /* Host, NULL if absent */
    rc_slice_t protocols;  /* Sec-WebSocket-Protocol raw value, NULL if absent */
    rc_slice_t bearer;     /* base64 token of "base64url.bearer.phx.<t>", NULL if absent */
    int version;           /* Sec-WebSocket-Version, -1 if absent or not a number */
    int http_minor;        /* 1 for HTTP/1.1 */
    unsigned upgrade_websocket : 1;  /* Upgrade header has token "websocket" */
    unsigned connection_upgrade : 1; /* Connection header has token "upgrade" */
    unsigned offers_phoenix : 1;     /* Sec-WebSocket-Protocol lists "phoenix" */
    unsigned nheaders;
} rc_ws_request_t;

/* Parses the request line and headers in buf[0..len).
 * Returns the length of the header block (> 0, through the blank line) when
 * complete, 0 when more bytes are needed, or a negative HTTP status:
 * -400 malformed (including a repeated Sec-WebSocket-Key, -Version, Origin
 * or Host), -431 header block over RC_HS_MAX_BYTES or more than
 * RC_HS_MAX_HEADERS headers. Never reads past len. */
int rc_ws_request_parse(const char *buf, size_t len, rc_ws_request_t *req);

/* Checks a parsed request is an acceptable WebSocket upgrade: GET, HTTP/1.1,
 * Upgrade/Connection tokens, version 13, a key that is base64 of 16 bytes.
 * Returns 0, or a positive HTTP status (400, 426) with *why set to a short
 * static text naming the problem. */
int rc_ws_request_check(const rc_ws_request_t *req, const char **why);

// Checks the Origin header against an allow-list, as Phoenix's
// check_origin does. Returns 1 if allowed, 0 if refused (answer 403).
// (Line comments here: the entries below contain a slash-star.)
//
// origin: req->origin; absent (p == NULL) is always allowed, since only
// browsers send it. allowlist: NULL or "" means no check (allow all);
// otherwise comma-separated entries, blanks around them ignored:
//   :conn                     Origin host[:port] equals the Host header
//                             (host_header, req->host; absent -> refused)
//   //example.com             that host, any scheme, any port
//   //*.example.com           example.com or any subdomain of it
//   https://example.com       that scheme and host, any port
//   https://example.com:8443  exactly that (a port in an entry is compared
//                             with the Origin's port, or with its scheme's
//                             default, 80 for http/ws, 443 for https/wss)
// Schemes and hosts compare case-insensitively. An Origin that is not
// "scheme://host[:port]" ("null", "example.com", a path or userinfo) is
// refused when a list is set; an entry that does not parse matches nothing,
// so a list of only such entries refuses every Origin.
// For :conn, a Host without a port stands for the Origin scheme's default.
// Pure function over its arguments; allocates nothing.
int rc_ws_origin_allowed(rc_slice_t origin, const char *allowlist, rc_slice_t host_header);

/* Computes Sec-WebSocket-Accept for key: base64(SHA1(key + GUID)).
 * out receives 28 characters and a NUL. */
void rc_ws_accept_key(rc_slice_t key, char out[29]);

/* Finds parameter name in a query string and writes its percent-decoded
 * value ('+' decodes to space, as Plug does) to out with a NUL.
 * Returns the decoded length, -ENOENT if absent, -ENOSPC if it does not fit
 * in cap-1 bytes, -EINVAL on a bad %-escape. */
int rc_query_get(rc_slice_t query, const char *name, char *out, size_t cap);

/* Writes the 101 response into out. protocol_phoenix: add
 * "Sec-WebSocket-Protocol: phoenix" (required when the client offered it).
 * Returns bytes written or -ENOSPC. */
int rc_ws_response_101(char *out, size_t cap, const char accept[29], int protocol_phoenix);

/* Writes a complete HTTP/1.1 response with Connection: close, a
 * Content-Length and the given body (text/plain unless content_type given);
 * extra_headers ("Name: value\r\n"...) may be NULL.
 * Returns bytes written or -ENOSPC. */
int rc_http_response(char *out, size_t cap, int status, const char *content_type,
                     const char *extra_headers, const char *body, size_t body_len);

/* Reason phrase of an HTTP status ("Bad Request"); "Unknown" if not known. */
const char *rc_http_reason(int status);

#endif

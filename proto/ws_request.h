/* The request of a WebSocket opening handshake (RFC 6455 section 4.2)
 * plus the Phoenix specifics (the "phoenix" subprotocol and its bearer
 * token): the request line and the headers ringcast reads.
 *
 * The parser is resumable and allocates nothing: call it again with the
 * whole buffer received so far and how much of it the last call saw; it
 * looks for the end of the block only in the new bytes, and parses the
 * block once, when it is complete, so a request sent a byte at a time costs
 * O(length), not O(length^2). Every slice it returns points into that
 * buffer, which the caller owns and must keep while it uses the request. */
#ifndef RC_PROTO_WS_REQUEST_H
#define RC_PROTO_WS_REQUEST_H

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

/* Parses the request line and headers in buf[0..len). prev_len is the len
 * of the previous call on the same buffer that returned 0, or 0 for the
 * first call (which parses what is there, so a request that is wrong from
 * its first bytes is refused at once). A later call only scans
 * buf[prev_len - 2..len) for the blank line, and parses the whole block
 * when it is found or when the block reaches RC_HS_MAX_BYTES.
 * Returns the length of the header block (> 0, through the blank line) when
 * complete, 0 when more bytes are needed, or a negative HTTP status:
 * -400 malformed (including a repeated Sec-WebSocket-Key, -Version, Origin
 * or Host), -431 header block over RC_HS_MAX_BYTES or more than
 * RC_HS_MAX_HEADERS headers. Never reads past len. */
int rc_ws_request_parse(const char *buf, size_t len, size_t prev_len, rc_ws_request_t *req);

#endif

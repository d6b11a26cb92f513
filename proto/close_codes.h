/* Every WebSocket close code and handshake refusal status ringcast sends.
 * docs/protocol.md documents each (a test keeps its table equal to this one).
 * Clients (the official phoenix client included) reconnect on each of them;
 * 1000 is never sent by the server because phoenix <= 1.8.12 does not
 * reconnect after it. */
#ifndef RC_PROTO_CLOSE_CODES_H
#define RC_PROTO_CLOSE_CODES_H

enum rc_close_code {
    RC_CLOSE_GOING_AWAY      = 1001, /* server-initiated close: shutdown, kick */
    RC_CLOSE_PROTOCOL_ERROR  = 1002, /* protocol error from the client */
    RC_CLOSE_INVALID_DATA    = 1007, /* invalid UTF-8 or unparsable message */
    RC_CLOSE_POLICY          = 1008, /* rate limit, too many topics, forbidden */
    RC_CLOSE_TOO_BIG         = 1009, /* message too big */
    RC_CLOSE_INTERNAL        = 1011, /* internal error */
    RC_CLOSE_RESTART         = 1012, /* drain / restart: reconnect elsewhere */
    RC_CLOSE_TOKEN_EXPIRED   = 4001, /* token expired without refresh */
    RC_CLOSE_SLOW_CONSUMER   = 4008, /* out-queue limit reached */
    RC_CLOSE_LAPPED          = 4009, /* lapped by the log: resume from last @seq */
};

/* HTTP statuses used to refuse a WebSocket handshake (no upgrade happens). */
enum rc_http_refusal {
    RC_HTTP_BAD_REQUEST      = 400, /* malformed request, not a WebSocket upgrade */
    RC_HTTP_FORBIDDEN        = 403, /* auth, origin, unsupported vsn (as Phoenix) */
    RC_HTTP_NOT_FOUND        = 404, /* unknown path */
    RC_HTTP_UPGRADE_REQUIRED = 426, /* Sec-WebSocket-Version is not 13 */
    RC_HTTP_HEADERS_TOO_BIG  = 431, /* header block or header count over the limit */
    RC_HTTP_UNAVAILABLE      = 503, /* over capacity; with a jittered Retry-After */
};

#endif

/* Sample upgrade requests that several proto/ unit tests parse: what
 * Chrome and Firefox send, and a minimal one with lone-LF line ends. */
#ifndef RC_TESTS_WS_REQUESTS_H
#define RC_TESTS_WS_REQUESTS_H

#include <string.h>

#include "proto/ws_request.h"

static const char chrome_req[] =
    "GET /socket/websocket?token=abc&vsn=2.0.0 HTTP/1.1\r\n"
    "Host: localhost:4000\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:4000\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

static const char firefox_req[] =
    "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\n"
    "Host: example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Origin: https://example.com\r\n"
    "Sec-WebSocket-Protocol: phoenix, base64url.bearer.phx.c2VjcmV0\r\n"
    "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n"
    "Connection: keep-alive, Upgrade\r\n"
    "Upgrade: websocket\r\n"
    "\r\n";

static const char lf_req[] =
    "GET /ws HTTP/1.1\n"
    "upgrade: WebSocket\n"
    "CONNECTION: upgrade\n"
    "sec-websocket-version: 13\n"
    "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\n"
    "\n";

static inline int parse_str(const char *s, rc_ws_request_t *req)
{
    return rc_ws_request_parse(s, strlen(s), 0, req);
}

#endif

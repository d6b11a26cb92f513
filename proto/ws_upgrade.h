/* Whether a parsed request is an acceptable WebSocket upgrade, and the
 * 101 answer to one. Pure functions over their arguments. */
#ifndef RC_PROTO_WS_UPGRADE_H
#define RC_PROTO_WS_UPGRADE_H

#include <stddef.h>
#include "proto/ws_request.h"

/* Checks a parsed request is an acceptable WebSocket upgrade: GET, HTTP/1.1,
 * Upgrade/Connection tokens, version 13, a key that is base64 of 16 bytes.
 * Returns 0, or a positive HTTP status (400, 426) with *why set to a short
 * static text naming the problem. */
int rc_ws_request_check(const rc_ws_request_t *req, const char **why);

/* Computes Sec-WebSocket-Accept for key: base64(SHA1(key + GUID)).
 * out receives 28 characters and a NUL. */
void rc_ws_accept_key(rc_slice_t key, char out[29]);

/* Writes the 101 response into out. protocol_phoenix: add
 * "Sec-WebSocket-Protocol: phoenix" (required when the client offered it).
 * Returns bytes written or -ENOSPC. */
int rc_ws_response_101(char *out, size_t cap, const char accept[29], int protocol_phoenix);

#endif

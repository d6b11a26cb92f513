/* The client side of RFC 6455 as the loadgen needs it: the upgrade request,
 * checking the 101 response (status and Sec-WebSocket-Accept), parsing
 * server frame headers and building masked client frames.
 * Pure functions over caller-owned buffers; resumable (call again with the
 * whole buffer when more bytes arrive); no allocation, no I/O. */
#ifndef RC_LG_WS_H
#define RC_LG_WS_H

#include <stddef.h>
#include <stdint.h>

#define RC_LG_WS_MAX_RESPONSE 8192 /* a longer response header block is refused */
#define RC_LG_WS_MAX_PAYLOAD 1024  /* largest client frame we build */

/* Writes the GET upgrade request for path with a new random
 * Sec-WebSocket-Key (its 16 raw bytes go to key, to check the answer).
 * Returns the request's length, or -1 if it does not fit in cap. */
int rc_lg_ws_request(char *out, size_t cap, const char *host, int port, const char *path, uint8_t key[16]);

/* Checks the response to that request in buf[0..len). Returns the length of
 * its header block (bytes after it are frames), 0 if incomplete, -1 if
 * refused, with a short description (e.g. the status line) in why. */
long rc_lg_ws_response(const uint8_t *buf, size_t len, const uint8_t key[16], char *why, size_t whycap);

typedef struct rc_lg_ws_hdr {
    uint8_t fin, opcode;
    size_t header_len;
    uint64_t payload_len;
} rc_lg_ws_hdr_t;

/* Parses one server frame header in buf[0..len). Returns header_len (> 0;
 * the payload may still be incomplete), 0 if more bytes are needed, or a
 * negative close code: -1002 (RSV or mask bit set, control frame long or
 * fragmented, unknown opcode), -1009 (payload over max_payload). */
int rc_lg_ws_parse(const uint8_t *buf, size_t len, uint64_t max_payload, rc_lg_ws_hdr_t *h);

/* Writes a masked FIN frame (random mask) of n <= RC_LG_WS_MAX_PAYLOAD
 * bytes into f, which holds 8 + n bytes. Returns the frame length. */
size_t rc_lg_ws_build(uint8_t *f, uint8_t opcode, const void *payload, size_t n);

#endif

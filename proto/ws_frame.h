/* RFC 6455 frame headers: strict parsing of client frames, minimal encoding
 * of server frames, and unmasking. Functions over buffers; no allocation. */
#ifndef RC_PROTO_WS_FRAME_H
#define RC_PROTO_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum rc_ws_opcode {
    RC_WS_OP_CONT = 0x0,
    RC_WS_OP_TEXT = 0x1,
    RC_WS_OP_BINARY = 0x2,
    RC_WS_OP_CLOSE = 0x8,
    RC_WS_OP_PING = 0x9,
    RC_WS_OP_PONG = 0xA,
};

#define RC_WS_MAX_HEADER 14  /* 2 + 8 (length) + 4 (mask) */
#define RC_WS_MAX_SERVER_HEADER 10

typedef struct rc_ws_frame {
    uint8_t fin;
    uint8_t opcode;
    uint8_t mask[4];
    uint64_t payload_len;
    size_t header_len;
} rc_ws_frame_t;

/* Parses one client frame header at buf[0..len).
 * Returns header_len (> 0) when the header is complete (the payload may not
 * be), 0 when more bytes are needed, or a negative close code:
 * -1002 RSV bits set, unknown opcode, unmasked frame, control frame longer
 * than 125 bytes or fragmented, non-minimal or 2^63+ length;
 * -1009 payload longer than max_payload. */
int rc_ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload, rc_ws_frame_t *f);

/* XORs data[0..n) with mask, where offset is the position of data[0] within
 * the frame payload (so a payload can be unmasked in pieces). */
void rc_ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset);

/* Writes a server (unmasked, FIN) frame header for a payload of len bytes.
 * Returns the header length: 2, 4 or 10 (the minimal form). */
size_t rc_ws_header_encode(uint8_t out[RC_WS_MAX_SERVER_HEADER], uint8_t opcode, uint64_t len);

/* Size of the minimal server header for a payload of len bytes. */
size_t rc_ws_header_size(uint64_t len);

/* Writes a complete close frame (code, reason truncated to fit 125 bytes,
 * at a UTF-8 character boundary; reason may be NULL). code 0 writes a close
 * frame with an empty payload, to echo a close that carried no code.
 * out must hold 2 + 125 bytes. Returns the frame length. */
size_t rc_ws_close_encode(uint8_t out[127], uint16_t code, const char *reason);

#endif

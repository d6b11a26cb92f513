/* Message-level rules of RFC 6455 on top of frame headers: continuation
 * sequencing, interleaved control frames, UTF-8 of text messages across
 * fragments, the message size limit, close frame payload rules.
 *
 * The reader holds only a few words of state; it never buffers payload. The
 * caller keeps the bytes of a fragmented message if it wants them. */
#ifndef RC_PROTO_WS_READER_H
#define RC_PROTO_WS_READER_H

#include <stdint.h>
#include "proto/ws_frame.h"

typedef struct rc_ws_reader {
    uint64_t max_message;  /* limit over all fragments of one message */
    uint64_t msg_len;      /* bytes of the data message in progress */
    uint32_t utf8_state;
    uint8_t msg_opcode;    /* TEXT or BINARY while a message is open, else 0 */
} rc_ws_reader_t;

enum rc_ws_event {
    RC_WS_EV_FRAGMENT = 1, /* data frame accepted, message not finished */
    RC_WS_EV_MESSAGE,      /* data frame accepted and the message is complete */
    RC_WS_EV_PING,
    RC_WS_EV_PONG,
    RC_WS_EV_CLOSE,        /* valid close frame; *close_code set (1005 if none) */
};

static inline void rc_ws_reader_init(rc_ws_reader_t *r, uint64_t max_message)
{
    r->max_message = max_message;
    r->msg_len = 0;
    r->utf8_state = 0;
    r->msg_opcode = 0;
}

/* Accounts for one complete frame whose header f was parsed by
 * rc_ws_frame_parse and whose payload (already unmasked) is
 * payload[0..f->payload_len). For RC_WS_EV_MESSAGE and FRAGMENT,
 * r->msg_opcode tells TEXT or BINARY (it is reset after MESSAGE is returned,
 * so read it from *opcode). Returns an rc_ws_event, or a negative close code:
 * -1002 continuation without a message / new data frame inside a message /
 * close payload of 1 byte or an invalid close code; -1007 invalid UTF-8 in a
 * text message or close reason; -1009 message over max_message. */
int rc_ws_reader_frame(rc_ws_reader_t *r, const rc_ws_frame_t *f, const uint8_t *payload,
                       uint8_t *opcode, uint16_t *close_code);

#endif

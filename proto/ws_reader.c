/* RFC 6455 message rules (sections 5.4, 5.5.1, 7.4, 8.1) over frames whose
 * headers rc_ws_frame_parse already accepted. */
#include "proto/ws_reader.h"

#include "proto/close_codes.h"
#include "proto/utf8.h"

/* Close codes a peer may send (RFC 6455 7.4.1 and the IANA registry).
 * 1004-1006 and 1015 are reserved and must never be on the wire; other codes
 * below 3000 are unassigned. 1012-1014 are registered (1012 is the code our
 * own drain sends, and clients such as the `ws` package echo it back), so they
 * are accepted too. */
static int close_code_valid(uint16_t code)
{
    if (code >= 1000 && code <= 1003)
        return 1;
    if (code >= 1007 && code <= 1014)
        return 1;
    return code >= 3000 && code <= 4999;
}

static int reader_close(const rc_ws_frame_t *f, const uint8_t *payload, uint16_t *close_code)
{
    uint16_t code;

    if (f->payload_len == 0) {
        *close_code = 1005; /* "no status received" is reported, never sent */
        return RC_WS_EV_CLOSE;
    }
    if (f->payload_len == 1)
        return -RC_CLOSE_PROTOCOL_ERROR;
    code = (uint16_t)(payload[0] << 8 | payload[1]);
    if (!close_code_valid(code))
        return -RC_CLOSE_PROTOCOL_ERROR;
    if (!rc_utf8_valid(payload + 2, (size_t)f->payload_len - 2))
        return -RC_CLOSE_INVALID_DATA;
    *close_code = code;
    return RC_WS_EV_CLOSE;
}

int rc_ws_reader_frame(rc_ws_reader_t *r, const rc_ws_frame_t *f, const uint8_t *payload,
                       uint8_t *opcode, uint16_t *close_code)
{
    switch (f->opcode) {
    case RC_WS_OP_CLOSE:
        *opcode = RC_WS_OP_CLOSE;
        return reader_close(f, payload, close_code);
    case RC_WS_OP_PING:
        *opcode = RC_WS_OP_PING;
        return RC_WS_EV_PING;
    case RC_WS_OP_PONG:
        *opcode = RC_WS_OP_PONG;
        return RC_WS_EV_PONG;
    case RC_WS_OP_CONT:
        if (!r->msg_opcode)
            return -RC_CLOSE_PROTOCOL_ERROR; /* nothing to continue */
        break;
    case RC_WS_OP_TEXT:
    case RC_WS_OP_BINARY:
        if (r->msg_opcode)
            return -RC_CLOSE_PROTOCOL_ERROR; /* previous message not finished */
        r->msg_opcode = f->opcode;
        r->msg_len = 0;
        r->utf8_state = RC_UTF8_ACCEPT;
        break;
    default:
        return -RC_CLOSE_PROTOCOL_ERROR; /* the frame parser refuses these */
    }

    /* Written as a subtraction so a huge payload_len cannot wrap the sum. */
    if (f->payload_len > r->max_message || r->msg_len > r->max_message - f->payload_len)
        return -RC_CLOSE_TOO_BIG;
    r->msg_len += f->payload_len;

    if (r->msg_opcode == RC_WS_OP_TEXT) {
        /* Checked per fragment with the state carried, so a bad byte fails
         * the connection as soon as it arrives (8.1), not at the end. */
        if (f->payload_len)
            r->utf8_state = rc_utf8_feed(r->utf8_state, payload, (size_t)f->payload_len);
        if (r->utf8_state == RC_UTF8_REJECT)
            return -RC_CLOSE_INVALID_DATA;
        if (f->fin && r->utf8_state != RC_UTF8_ACCEPT)
            return -RC_CLOSE_INVALID_DATA; /* message ends inside a character */
    }

    *opcode = r->msg_opcode;
    if (!f->fin)
        return RC_WS_EV_FRAGMENT;
    r->msg_opcode = 0;
    r->msg_len = 0;
    r->utf8_state = RC_UTF8_ACCEPT;
    return RC_WS_EV_MESSAGE;
}

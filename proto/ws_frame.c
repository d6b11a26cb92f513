/* RFC 6455 section 5.2 frame headers. Client frames are parsed strictly
 * (anything the RFC says a server must fail the connection for is refused
 * here, with the close code the edge sends back); server frames are always
 * written in the minimal form. */
#include "proto/ws_frame.h"

#include <string.h>

#include "proto/close_codes.h"

static int opcode_known(uint8_t op)
{
    return op == RC_WS_OP_CONT || op == RC_WS_OP_TEXT || op == RC_WS_OP_BINARY ||
           op == RC_WS_OP_CLOSE || op == RC_WS_OP_PING || op == RC_WS_OP_PONG;
}

int rc_ws_frame_parse(const uint8_t *buf, size_t len, uint64_t max_payload, rc_ws_frame_t *f)
{
    uint8_t b0, b1, op, len7;
    uint64_t plen;
    size_t need;

    if (len < 2)
        return 0;
    b0 = buf[0];
    b1 = buf[1];
    op = b0 & 0x0F;
    /* Everything checkable from the first two bytes is checked before waiting
     * for more, so garbage is refused at once; a prefix of a valid frame
     * never fails these. */
    if (b0 & 0x70)
        return -RC_CLOSE_PROTOCOL_ERROR; /* no extension was negotiated */
    if (!opcode_known(op))
        return -RC_CLOSE_PROTOCOL_ERROR;
    if (!(b1 & 0x80))
        return -RC_CLOSE_PROTOCOL_ERROR; /* clients must mask (5.1) */
    len7 = b1 & 0x7F;
    if (op & 0x8) {
        /* Control frames: at most 125 bytes and never fragmented (5.5). */
        if (!(b0 & 0x80) || len7 > 125)
            return -RC_CLOSE_PROTOCOL_ERROR;
    }

    if (len7 < 126) {
        plen = len7;
        need = 2;
    } else if (len7 == 126) {
        if (len < 4)
            return 0;
        plen = (uint64_t)buf[2] << 8 | buf[3];
        if (plen < 126)
            return -RC_CLOSE_PROTOCOL_ERROR; /* non-minimal (5.2) */
        need = 4;
    } else {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = plen << 8 | buf[2 + i];
        if (plen >> 63)
            return -RC_CLOSE_PROTOCOL_ERROR; /* MSB must be 0 (5.2) */
        if (plen < 65536)
            return -RC_CLOSE_PROTOCOL_ERROR; /* non-minimal */
        need = 10;
    }
    if (plen > max_payload)
        return -RC_CLOSE_TOO_BIG;
    if (len < need + 4)
        return 0;

    f->fin = b0 >> 7;
    f->opcode = op;
    memcpy(f->mask, buf + need, 4);
    f->payload_len = plen;
    f->header_len = need + 4;
    return (int)f->header_len;
}

void rc_ws_unmask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t offset)
{
    uint8_t m[8];
    uint64_t m8;
    size_t i = 0;

    /* Rotate the key so m[0] applies to data[0]; then one 64-bit XOR covers
     * eight bytes. memcpy makes the loads and stores alignment- and
     * aliasing-safe and compiles to plain moves (or vector code). */
    for (int k = 0; k < 8; k++)
        m[k] = mask[(offset + (uint64_t)k) & 3];
    memcpy(&m8, m, 8);

    for (; n - i >= 32; i += 32) {
        uint64_t w[4];
        memcpy(w, data + i, 32);
        w[0] ^= m8;
        w[1] ^= m8;
        w[2] ^= m8;
        w[3] ^= m8;
        memcpy(data + i, w, 32);
    }
    for (; n - i >= 8; i += 8) {
        uint64_t w;
        memcpy(&w, data + i, 8);
        w ^= m8;
        memcpy(data + i, &w, 8);
    }
    for (; i < n; i++)
        data[i] ^= m[i & 7];
}

size_t rc_ws_header_size(uint64_t len)
{
    if (len < 126)
        return 2;
    if (len < 65536)
        return 4;
    return 10;
}

size_t rc_ws_header_encode(uint8_t out[RC_WS_MAX_SERVER_HEADER], uint8_t opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F));
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

size_t rc_ws_close_encode(uint8_t out[127], uint16_t code, const char *reason)
{
    size_t rlen = 0;

    if (code == 0) {
        /* No status: used to answer a close that carried none (1005 must
         * never appear on the wire). */
        out[0] = 0x80 | RC_WS_OP_CLOSE;
        out[1] = 0;
        return 2;
    }
    if (reason) {
        rlen = strnlen(reason, 124);
        if (rlen > 123) {
            /* Cut at a character boundary: the peer fails the connection on
             * a close reason that is not valid UTF-8. */
            rlen = 123;
            while (rlen > 0 && ((uint8_t)reason[rlen] & 0xC0) == 0x80)
                rlen--;
        }
    }
    out[0] = 0x80 | RC_WS_OP_CLOSE;
    out[1] = (uint8_t)(2 + rlen);
    out[2] = (uint8_t)(code >> 8);
    out[3] = (uint8_t)code;
    if (rlen)
        memcpy(out + 4, reason, rlen);
    return 4 + rlen;
}

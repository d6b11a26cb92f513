/* libFuzzer driver that reads a byte stream as an edge does: parse a frame
 * header, wait for the whole payload, unmask it, hand the frame to the
 * message reader, repeat; stop at the first error, a close, or the end.
 * The first input byte picks the limits so the -1009 paths are reached. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/utf8.h"
#include "proto/ws_frame.h"
#include "proto/ws_reader.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static int is_close_code(int r)
{
    return r == -1002 || r == -1007 || r == -1009;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf, *msg, *copy;
    uint64_t max_payload, max_message;
    size_t pos = 1, msg_len = 0;
    rc_ws_reader_t rd;

    if (size < 1)
        return 0;
    max_payload = (data[0] & 1) ? 125 : (1u << 20);
    max_message = (data[0] & 2) ? 300 : (1u << 20);
    rc_ws_reader_init(&rd, max_message);

    /* Exact-size heap copies so ASan catches any read past the input. */
    buf = malloc(size);
    msg = malloc(size);
    copy = malloc(size);
    CHECK(buf && msg && copy);
    memcpy(buf, data, size);

    for (;;) {
        rc_ws_frame_t f;
        uint8_t op = 0, *p;
        uint16_t code = 0;
        size_t plen, split;
        int r = rc_ws_frame_parse(buf + pos, size - pos, max_payload, &f);

        CHECK(r >= 0 || is_close_code(r));
        if (r <= 0)
            break;
        CHECK(r == (int)f.header_len && f.header_len >= 6 && f.header_len <= RC_WS_MAX_HEADER);
        CHECK(f.payload_len <= max_payload);
        /* Every strict prefix of an accepted header is "need more". */
        for (size_t cut = 0; cut < f.header_len; cut++)
            CHECK(rc_ws_frame_parse(buf + pos, cut, max_payload, &f) == 0);
        CHECK(rc_ws_frame_parse(buf + pos, size - pos, max_payload, &f) == r);
        if (f.payload_len > size - pos - f.header_len)
            break; /* payload not here yet */
        plen = (size_t)f.payload_len;
        p = buf + pos + f.header_len;

        /* Unmask in two pieces and compare with unmasking in one. */
        memcpy(copy, p, plen);
        rc_ws_unmask(copy, plen, f.mask, 0);
        split = plen ? p[0] % (plen + 1) : 0;
        rc_ws_unmask(p, split, f.mask, 0);
        rc_ws_unmask(p + split, plen - split, f.mask, split);
        CHECK(memcmp(copy, p, plen) == 0);

        r = rc_ws_reader_frame(&rd, &f, p, &op, &code);
        CHECK(r > 0 || is_close_code(r));
        if (r < 0)
            break;
        if (r == RC_WS_EV_FRAGMENT || r == RC_WS_EV_MESSAGE) {
            CHECK(op == RC_WS_OP_TEXT || op == RC_WS_OP_BINARY);
            memcpy(msg + msg_len, p, plen);
            msg_len += plen;
            CHECK(msg_len <= max_message);
        }
        if (r == RC_WS_EV_MESSAGE) {
            /* The incremental check agrees with validating the whole. */
            if (op == RC_WS_OP_TEXT)
                CHECK(rc_utf8_valid(msg, msg_len));
            CHECK(rd.msg_opcode == 0);
            msg_len = 0;
        }
        if (r == RC_WS_EV_CLOSE) {
            /* Echo it as an edge would: the reason as a C string. */
            uint8_t out[127];
            char reason[126] = "";
            size_t n;
            CHECK(code == 1005 || (code >= 1000 && code <= 4999));
            if (plen > 2)
                memcpy(reason, p + 2, plen - 2);
            n = rc_ws_close_encode(out, code == 1005 ? 0 : code, reason);
            CHECK(n >= 2 && n <= 127 && out[1] == n - 2);
            CHECK(n == 2 || rc_utf8_valid(out + 4, n - 4));
            break;
        }
        pos += f.header_len + plen;
    }
    free(copy);
    free(msg);
    free(buf);
    return 0;
}

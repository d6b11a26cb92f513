/* libFuzzer driver for proto/position.c: the input, parsed as JSON, is a
 * join payload (since) and a history request; as raw bytes it is a
 * broadcast frame's text to split. Whatever is accepted must hold together:
 * a since's epoch re-encodes to digits that parse back to it, a history
 * limit is in range, the parts of a frame lie inside it and the event is
 * a complete JSON string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/position.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t err;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY, &err);
    if (j) {
        rc_since_t s;
        const char *why = NULL;
        if (rc_since_parse(j, &s, &why) == 0) {
            if (s.present) {
                char hex[RC_EPOCH_HEX];
                uint64_t back;
                rc_epoch_hex(hex, s.epoch);
                CHECK(rc_epoch_parse(rc_slice(hex, sizeof(hex)), &back) == 0 && back == s.epoch);
            }
        } else {
            CHECK(why);
        }
        rc_history_req_t r;
        if (rc_history_parse(j, 100, &r, &why) == 0)
            CHECK(r.limit >= 1 && r.limit <= 100 && r.dir >= RC_HISTORY_NEWEST && r.dir <= RC_HISTORY_AFTER);
        else
            CHECK(why);
        json_decref(j);
    }
    rc_slice_t ev, d;
    const char *text = (const char *)data;
    if (rc_broadcast_parts(text, size, &ev, &d) == 0) {
        CHECK(ev.p > text && ev.p + ev.n <= text + size && ev.n >= 2 && ev.p[0] == '"' && ev.p[ev.n - 1] == '"');
        CHECK(d.p > ev.p + ev.n && d.p + d.n == text + size - 1 && d.n >= 1);
    }
    uint64_t e;
    if (rc_epoch_parse(rc_slice(text, size), &e) == 0)
        CHECK(size >= 1 && size <= RC_EPOCH_HEX);
    return 0;
}

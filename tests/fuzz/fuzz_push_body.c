/* libFuzzer driver for the producer push body parsers (broker/push_*.c):
 * JSON and msgpack, one event and batches. The first byte picks the form
 * (bit 0: msgpack, bit 1: batch); the rest is the body. Checks that a
 * successful parse yields well-formed events: checked names, data that is
 * valid JSON within max_data. The parser files are included here because
 * the fuzz link line has the library sources but not broker/. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "broker/push_json_scan.c"
#include "broker/push_msgpack.c"
#include "broker/push_parse.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rc_push_batch_t b;
    static int ready;
    if (!ready) {
        rc_push_batch_init(&b);
        ready = 1;
    }
    if (size < 1)
        return 0;
    const rc_push_limits_t lim = {.max_data = 4096, .max_batch = 64};
    int format = data[0] & 1 ? RC_PUSH_MSGPACK : RC_PUSH_JSON;
    int batch = (data[0] >> 1) & 1;
    /* An exact-size copy so ASan sees any read past the body. */
    size_t n = size - 1;
    char *body = malloc(n ? n : 1);
    memcpy(body, data + 1, n);
    int r = rc_push_parse(&b, body, n, format, batch, &lim);
    if (r == 0) {
        assert(b.nev >= 1 && (batch || b.nev == 1) && b.nev <= lim.max_batch);
        for (size_t i = 0; i < b.nev; i++) {
            const rc_push_event_t *e = &b.ev[i];
            assert(e->ntopics >= 1 && e->ntopics <= RC_PUSH_MAX_TOPICS);
            for (unsigned t = 0; t < e->ntopics; t++) {
                rc_slice_t s = b.topics[e->topic0 + t];
                assert(s.n >= 1 && s.n <= RC_TOPIC_MAX && rc_utf8_valid((const uint8_t *)s.p, s.n) &&
                       !memchr(s.p, 0, s.n));
            }
            assert(e->event.n >= 1 && e->event.n <= RC_EVENT_MAX && !memchr(e->event.p, 0, e->event.n));
            rc_slice_t d = rc_push_data(&b, e);
            assert(d.n <= lim.max_data);
            json_error_t jerr;
            json_t *v = json_loadb(d.p, d.n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
            /* msgpack's uint64 above INT64_MAX is valid JSON jansson cannot hold */
            assert(v || json_error_code(&jerr) == json_error_numeric_overflow);
            json_decref(v);
        }
    } else {
        assert(b.status == 400 || b.status == 413 || b.status == 422);
        assert(b.error[0]);
        assert(b.index >= -1 && (b.index < 0 || batch));
    }
    free(body);
    return 0;
}

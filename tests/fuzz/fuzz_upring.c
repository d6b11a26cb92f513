/* libFuzzer driver for what the broker reads from an edge's upstream ring:
 * the ring's positions and bytes are the input, as a faulty or hostile edge
 * could leave them. The consumer must only ever hand out messages inside
 * the ring and inside what was published, move head forward on every
 * consume, and end (empty, or refused and reset) within a bounded number of
 * steps; each message's payload goes through the broadcast decoder, whose
 * fields must lie inside the message.
 *
 * Input: u64 head, u64 tail (little endian), then the ring's bytes (the ring
 * is 4096 bytes; missing bytes are zero). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shm/layout.h"
#include "shm/up_msg.h"
#include "shm/upring.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define RING 4096u

static int inside(const void *p, size_t n, const uint8_t *base, size_t cap)
{
    const uint8_t *q = p;
    return q >= base && n <= cap && (size_t)(q - base) <= cap - n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16)
        return 0;
    static rc_upring_hdr_t hdr;
    uint8_t *ring = calloc(1, RING);
    CHECK(ring);
    uint64_t head, tail;
    memcpy(&head, data, 8);
    memcpy(&tail, data + 8, 8);
    memcpy(ring, data + 16, size - 16 < RING ? size - 16 : RING);
    atomic_store(&hdr.head, head);
    atomic_store(&hdr.tail, tail);
    rc_upring_t r = {.hdr = &hdr, .data = ring, .size = RING};

    /* Every step moves head at least 8 bytes towards tail (or ends), and
     * tail is at most a ring ahead when anything is handed out. */
    for (unsigned step = 0;; step++) {
        CHECK(step <= RING / 8 + 2);
        uint32_t type, len;
        const uint8_t *p;
        uint64_t before = atomic_load(&hdr.head);
        int got = rc_upring_peek(&r, &type, &p, &len);
        if (got == 0) {
            CHECK(atomic_load(&hdr.head) == atomic_load(&hdr.tail));
            break;
        }
        if (got < 0) {
            CHECK(got == -EPROTO);
            rc_upring_reset(&r);
            CHECK(atomic_load(&hdr.head) == atomic_load(&hdr.tail));
            CHECK(rc_upring_peek(&r, &type, &p, &len) == 0);
            break;
        }
        CHECK(got == 1);
        CHECK(inside(p, len, ring, RING));
        CHECK(r.next > atomic_load(&hdr.head) && r.next <= tail && r.next - atomic_load(&hdr.head) <= RING / 2);
        rc_up_broadcast_t m;
        if (rc_up_broadcast_decode(p, len, &m) == 0) {
            CHECK(inside(m.topic, m.topic_len, p, len));
            CHECK(inside(m.event, m.event_len, p, len));
            CHECK(inside(m.data, m.data_len, p, len));
            CHECK(4u + m.topic_len + m.event_len + m.data_len == len);
        }
        rc_upring_consume(&r);
        CHECK(atomic_load(&hdr.head) > before);
    }
    free(ring);
    return 0;
}

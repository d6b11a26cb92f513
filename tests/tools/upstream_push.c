/* upstream_push: plays an edge's producer side of the upstream ring for the
 * tests (the edge itself produces nothing upstream until the hydration
 * issue): attaches to an instance's region, claims an edge slot, pushes
 * client broadcasts into that slot's ring and rings the doorbell, then
 * releases the slot.
 *
 *   upstream_push --instance I --topic T --count N [--burst B] [--bad K] [--pause-ms M] [--corrupt 1]
 *
 * Message i (1..N) is event "up" with data {"n":i}. --bad K also pushes K
 * malformed messages (unknown type, lengths that do not add up, data that
 * is not JSON), interleaved, which the broker must refuse without losing
 * the good ones. --corrupt 1 first publishes a message whose length is
 * larger than the ring (what a faulty or hostile edge could write), waits
 * for the broker to discard it, then pushes the good ones. Prints
 * "pushed N bad K full F". Exit 0, or 1 on error. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shm/log.h"
#include "shm/slots.h"
#include "shm/doorbell.h"
#include "shm/up_msg.h"
#include "shm/upring.h"

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Pushes, waiting while the ring is full (counted). */
static void push(rc_upring_t *r, const rc_log_t *log, uint32_t type, const void *p, uint32_t n, unsigned long *full)
{
    while (rc_upring_push(r, type, p, n) == -ENOBUFS) {
        (*full)++;
        rc_doorbell_ring(log);
        nap_ms(1);
    }
}

int main(int argc, char **argv)
{
    const char *inst = NULL, *topic = NULL;
    unsigned long count = 0, burst = 1, bad = 0, pause_ms = 0, corrupt = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--instance"))
            inst = argv[i + 1];
        else if (!strcmp(argv[i], "--topic"))
            topic = argv[i + 1];
        else if (!strcmp(argv[i], "--count"))
            count = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--burst"))
            burst = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--bad"))
            bad = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--pause-ms"))
            pause_ms = strtoul(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--corrupt"))
            corrupt = strtoul(argv[i + 1], NULL, 10);
    }
    if (!inst || !topic || !count || !burst) {
        fprintf(stderr, "usage: upstream_push --instance I --topic T --count N [--burst B] [--bad K] [--pause-ms M]\n");
        return 1;
    }
    rc_log_t log;
    if (rc_log_open_reader(&log, inst) != 0) {
        fprintf(stderr, "upstream_push: cannot open the region of instance %s\n", inst);
        return 1;
    }
    int slot = rc_slot_claim(&log, getpid());
    if (slot < 0) {
        fprintf(stderr, "upstream_push: no free edge slot\n");
        return 1;
    }
    rc_upring_t r = rc_upring_of(&log, (unsigned)slot);
    if (corrupt) {
        /* a message header claiming 2 GiB, published like any message */
        uint64_t tail = atomic_load(&r.hdr->tail);
        uint32_t hdr[2] = {0x7fffffffu, RC_UP_BROADCAST};
        memcpy(r.data + (tail & (r.size - 1)), hdr, sizeof(hdr));
        atomic_store_explicit(&r.hdr->tail, tail + 16, memory_order_release);
        rc_doorbell_ring(&log);
        for (int i = 0; i < 5000 && rc_upring_pending(&r); i++)
            nap_ms(1);
        if (rc_upring_pending(&r)) {
            fprintf(stderr, "upstream_push: the broker did not discard the corrupt ring\n");
            return 1;
        }
    }
    uint8_t buf[512];
    unsigned long full = 0, bad_left = bad;
    unsigned long every = bad ? (count / (bad + 1) ? count / (bad + 1) : 1) : 0;
    for (unsigned long i = 1; i <= count; i++) {
        char data[64];
        int dn = snprintf(data, sizeof(data), "{\"n\":%lu}", i);
        rc_up_broadcast_t m = {topic, "up", data, (uint16_t)strlen(topic), 2, (uint32_t)dn};
        int n = rc_up_broadcast_encode(buf, sizeof(buf), &m);
        if (n < 0)
            return 1;
        push(&r, &log, RC_UP_BROADCAST, buf, (uint32_t)n, &full);
        if (bad_left && i % every == 0) {
            switch (bad_left-- % 3) {
            case 0: /* a type the broker does not know */
                push(&r, &log, 99, buf, (uint32_t)n, &full);
                break;
            case 1: { /* a topic length past the end of the message */
                uint8_t b2[8] = {0xff, 0x00, 0x02, 0x00, 'x', 'y', 'z', 'w'};
                push(&r, &log, RC_UP_BROADCAST, b2, sizeof(b2), &full);
                break;
            }
            default: { /* data that is not JSON */
                rc_up_broadcast_t j = {topic, "up", "{not json", (uint16_t)strlen(topic), 2, 9};
                int jn = rc_up_broadcast_encode(buf, sizeof(buf), &j);
                push(&r, &log, RC_UP_BROADCAST, buf, (uint32_t)jn, &full);
            }
            }
        }
        if (i % burst == 0 || i == count) {
            rc_doorbell_ring(&log);
            if (pause_ms)
                nap_ms((long)pause_ms);
        }
    }
    /* Hold the slot until the broker has taken everything: a released slot's
     * ring may be reset by its next holder. */
    for (int i = 0; i < 5000 && rc_upring_pending(&r); i++)
        nap_ms(1);
    int left = rc_upring_pending(&r);
    rc_slot_release(&log, slot, getpid());
    rc_log_close(&log);
    printf("pushed %lu bad %lu full %lu%s\n", count, bad - bad_left, full, left ? " (broker did not drain)" : "");
    return left ? 1 : 0;
}

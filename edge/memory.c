/* The edge's memory budget, edge_memory_max: what all connections hold in
 * partial input (c->in), message fragments (c->msg) and out-queues (owned
 * buffers, items, the queue itself) is kept in e->mem as those buffers
 * grow and shrink (recv.c, outq.c). Frames queued as log positions cost
 * only their item: the bytes are in shm.
 *
 * Each per-connection limit (max_message, out_queue_max) bounds one
 * connection; many connections each under their own limit can still add up
 * to more than the machine has. Once a turn, when the total passes
 * edge_memory_max, the connections holding the most are closed first until
 * the total is under 90% of it: 4008 if most of what it holds is queued
 * output (a slow consumer, resumable), 1008 if it is buffered input (a
 * client parking partial frames), an abort before the upgrade. Closing the
 * largest first sheds the fewest clients; the 10% margin keeps a busy edge
 * from closing one connection every turn. */
#include "edge/edge.h"

#include <stdlib.h>

#include "common/alloc.h"
#include "common/textlog.h"
#include "proto/close_codes.h"
#include "shm/slots.h"

typedef struct victim {
    uint64_t mem;
    int fd;
} victim_t;

static int by_mem_desc(const void *a, const void *b)
{
    const victim_t *x = a, *y = b;
    return x->mem < y->mem ? 1 : x->mem > y->mem ? -1 : 0;
}

void rc_mem_shed(rc_edge_t *e, rc_conn_t *c)
{
    uint64_t out = rc_out_mem(c);
    uint64_t in = rc_conn_mem(c) - out;
    static rc_textlog_limit_t lim;
    RC_SLOT_ADD(e->slot, kicks_memory, 1);
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("warn", "msg=\"edge_memory_max reached: connection closed\" "
                           "input_bytes=%llu output_bytes=%llu edge_bytes=%llu suppressed=%lu",
                   (unsigned long long)in, (unsigned long long)out, (unsigned long long)e->mem, lim.suppressed);
    rc_conn_close(e, c, out >= in ? RC_CLOSE_SLOW_CONSUMER : RC_CLOSE_POLICY);
}

void rc_mem_enforce(rc_edge_t *e)
{
    if (e->mem != e->mem_published) {
        RC_SLOT_SET(e->slot, memory, e->mem);
        e->mem_published = e->mem;
    }
    if (!e->edge_memory_max || e->mem <= e->edge_memory_max)
        return;
    uint64_t target = e->edge_memory_max / 10 * 9;
    victim_t *v = rc_xmalloc((e->nconns ? e->nconns : 1) * sizeof(*v));
    uint32_t n = 0;
    for (uint32_t fd = 0; fd < e->by_fd_cap && n < e->nconns; fd++) {
        rc_conn_t *c = e->by_fd[fd];
        if (!c || c->state == RC_CONN_CLOSING)
            continue;
        uint64_t m = rc_conn_mem(c);
        if (m)
            v[n++] = (victim_t){.mem = m, .fd = (int)fd};
    }
    qsort(v, n, sizeof(*v), by_mem_desc);
    /* Closing frees at once what it can (input, unsent output); a frame
     * half on the wire and the close frame stay until sent. */
    for (uint32_t i = 0; i < n && e->mem > target; i++) {
        rc_conn_t *c = e->by_fd[v[i].fd];
        rc_mem_shed(e, c);
        /* Its input is of no use once it is closing: give it back now
         * (no parse of it is running: this is between reads). */
        rc_conn_free_input(e, c);
    }
    free(v);
    RC_SLOT_SET(e->slot, memory, e->mem);
    e->mem_published = e->mem;
}

/* Drain: the edge's side of `ringcast stop`, `scale` down and
 * `restart-edges` (docs/operations.md, "Drain").
 *
 * On the first SIGTERM (or SIGINT) the edge stops accepting, then closes
 * each connection with 1012 at a random moment, uniform over the drain
 * window (drain_ms), so its clients' reconnects spread over the other edges
 * instead of arriving there as one spike. The times are drawn from the
 * process's getrandom-seeded generator (common/rand.h); the loop wakes when
 * the next one is due and closes every connection due by then, so the
 * batches are random in size and membership. A closed connection still gets
 * the usual closing grace to read its close frame; the edge exits when the
 * last one is gone, or at the hard deadline (window + grace + 1 s).
 *
 * A second SIGTERM or SIGINT closes whatever is left with 1012 at once,
 * hands the close frames to the kernel and stops the loop.
 *
 * The listener is shut down at the start. What the kernel does with
 * connections still queued on it (net.ipv4.tcp_migrate_req) is in the
 * README's operations section. */
#include "edge/edge.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/textlog.h"
#include "common/rand.h"
#include "proto/close_codes.h"

#define RC_DRAIN_GRACE_MS 6000   /* the closing grace (timers.c) + 1 s */

static int by_time(const void *a, const void *b)
{
    const rc_drain_item_t *x = a, *y = b;
    return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms;
}

/* Closes the connection an item names, if it is still the same one and not
 * already closing. */
static void close_item(rc_edge_t *e, const rc_drain_item_t *it)
{
    rc_conn_t *c = e->by_fd[it->fd];
    if (c && c->gen == it->gen && c->state != RC_CONN_CLOSING)
        rc_conn_close(e, c, RC_CLOSE_RESTART); /* aborts one still in its handshake */
}

void rc_drain_start(rc_edge_t *e)
{
    rc_drain_t *d = &e->drain;
    e->draining = 1;
    e->io->stop_accept(e);
    d->items = rc_xcalloc(e->nconns ? e->nconns : 1, sizeof(*d->items));
    for (uint32_t fd = 0; fd < e->by_fd_cap && d->n < e->nconns; fd++) {
        rc_conn_t *c = e->by_fd[fd];
        if (!c || c->state == RC_CONN_CLOSING)
            continue;
        uint64_t at = e->drain_ms ? rc_rand_range(0, e->drain_ms - 1) : 0;
        d->items[d->n++] = (rc_drain_item_t){.at_ms = at, .fd = (int)fd, .gen = c->gen};
    }
    qsort(d->items, d->n, sizeof(*d->items), by_time);
    d->start_ms = rc_clock_mono_ms();
    d->deadline_ms = d->start_ms + e->drain_ms + RC_DRAIN_GRACE_MS;
    rc_textlog("info", "msg=\"draining\" connections=%llu window_ms=%llu", (unsigned long long)d->n,
            (unsigned long long)e->drain_ms);
    rc_edge_timer_soon(e, 0);
}

uint64_t rc_drain_on_timer(rc_edge_t *e)
{
    rc_drain_t *d = &e->drain;
    if (!e->draining)
        return UINT64_MAX;
    uint64_t now = rc_clock_mono_ms();
    if (now >= d->deadline_ms) {
        rc_textlog("warn", "msg=\"drain deadline passed\" connections_left=%llu", (unsigned long long)e->nconns);
        e->stop = 1;
        return UINT64_MAX;
    }
    uint64_t elapsed = now - d->start_ms;
    uint32_t first = d->next;
    while (d->next < d->n && d->items[d->next].at_ms <= elapsed)
        close_item(e, &d->items[d->next++]);
    if (d->next > first && d->next == d->n)
        rc_textlog("info", "msg=\"drain: every connection closed\" connections=%u elapsed_ms=%llu", d->n,
                (unsigned long long)elapsed);
    if (d->next < d->n)
        return d->items[d->next].at_ms - elapsed;
    return d->deadline_ms - now; /* the loop ends earlier once nconns is 0 */
}

void rc_drain_now(rc_edge_t *e)
{
    rc_drain_t *d = &e->drain;
    rc_textlog("info", "msg=\"second signal: stopping now\" connections=%llu", (unsigned long long)e->nconns);
    for (uint32_t fd = 0; fd < e->by_fd_cap; fd++) {
        rc_conn_t *c = e->by_fd[fd];
        if (c && c->state != RC_CONN_CLOSING)
            rc_conn_close(e, c, RC_CLOSE_RESTART);
    }
    d->next = d->n;
    /* Hand the close frames to the kernel before the loop ends; they go out
     * as the process closes its sockets. */
    rc_out_flush(e);
    e->io->submit(e);
    e->stop = 1;
}

void rc_drain_free(rc_edge_t *e)
{
    free(e->drain.items);
    e->drain.items = NULL;
    e->drain.n = e->drain.next = 0;
}

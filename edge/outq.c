/* A connection's out-queue and its sends.
 *
 * One send in flight per connection: bytes of two frames never interleave on
 * a socket. Frames due while a send is in flight wait here as log positions
 * (not copies) and leave together in the next vectored send. Sends never
 * block (edge/io.h): the kernel has the bytes when the completion arrives,
 * so a slow socket never pins shm; -EAGAIN waits for writability instead. A short
 * send copies only the unsent rest of a log frame into the queue.
 *
 * Lapping: a log frame is checked intact before it is handed to the kernel
 * and again after the kernel took it; a frame the writer overwrote in
 * between may have reached the socket corrupt, so the connection is closed
 * with 4009 (its client resumes from its last @seq). */
#include "edge/edge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/alloc.h"
#include "common/textlog.h"
#include "proto/close_codes.h"
#include "proto/ws_frame.h"
#include "shm/slots.h"

#define RC_MAX_IOV 64

enum { RC_ITEM_LOG = 1, RC_ITEM_OWNED = 2 };

typedef struct rc_out_item {
    const uint8_t *ptr;  /* first unsent byte */
    uint32_t len;        /* unsent bytes */
    uint32_t rec_len;    /* LOG: record length, for the lapping check */
    uint64_t pos;        /* LOG: record position */
    void *owned;         /* OWNED: the heap block to free */
    uint32_t cost;       /* OWNED: bytes of that block, with the allocator's overhead */
    uint8_t kind;
    uint8_t started;     /* part of it is on the wire: it must finish first */
} rc_out_item_t;

struct rc_outq {
    uint32_t head, count, cap; /* ring of items, cap a power of two */
    uint32_t inflight;         /* items covered by the send in flight */
    uint64_t bytes;            /* unsent bytes queued */
    uint64_t owned;            /* bytes of owned blocks (their cost) */
    struct msghdr msg;
    struct iovec iov[RC_MAX_IOV];
    rc_out_item_t *items;
    rc_outq_t *next_free;
};

/* What an allocation costs beyond its bytes (glibc's chunk header, rounded). */
#define RC_MALLOC_OVERHEAD 16
/* Per queued item, counted against out_queue_max with the bytes, so a flood
 * of tiny replies (pongs) is bounded by what it really holds. */
#define RC_ITEM_OVERHEAD (sizeof(rc_out_item_t) + RC_MALLOC_OVERHEAD)

static uint64_t ring_mem(const rc_outq_t *q) { return sizeof(*q) + (uint64_t)q->cap * sizeof(rc_out_item_t); }

uint64_t rc_out_mem(const rc_conn_t *c) { return c->outq ? ring_mem(c->outq) + c->outq->owned : 0; }

static void free_item(rc_edge_t *e, rc_outq_t *q, rc_out_item_t *it)
{
    if (it->owned) {
        q->owned -= it->cost;
        rc_mem_add(e, -(int64_t)it->cost);
        free(it->owned);
        it->owned = NULL;
    }
}

/* Out-queues are pooled: an idle connection holds none, and a broadcast to
 * many connections does not malloc one per connection per event. */
static rc_outq_t *pool;

static rc_outq_t *outq_get(rc_edge_t *e, rc_conn_t *c)
{
    if (c->outq)
        return c->outq;
    rc_outq_t *q = pool;
    if (q) {
        pool = q->next_free;
    } else {
        q = rc_xcalloc(1, sizeof(*q));
        q->cap = 16;
        q->items = rc_xmalloc(q->cap * sizeof(*q->items));
    }
    q->head = q->count = q->inflight = 0;
    q->bytes = q->owned = 0;
    c->outq = q;
    rc_mem_add(e, (int64_t)ring_mem(q));
    return q;
}

static void outq_put(rc_edge_t *e, rc_conn_t *c)
{
    rc_outq_t *q = c->outq;
    c->outq = NULL;
    rc_mem_add(e, -(int64_t)ring_mem(q));
    if (q->cap > 1024) { /* don't keep a burst's worth of memory forever */
        free(q->items);
        free(q);
        return;
    }
    q->next_free = pool;
    pool = q;
}

static rc_out_item_t *item_at(rc_outq_t *q, uint32_t i) { return &q->items[(q->head + i) & (q->cap - 1)]; }

static void mark_dirty(rc_edge_t *e, rc_conn_t *c)
{
    if (c->flags & RC_CF_DIRTY)
        return;
    c->flags |= RC_CF_DIRTY;
    c->dirty_next = e->dirty;
    e->dirty = c;
}

uint64_t rc_out_queued(const rc_conn_t *c) { return c->outq ? c->outq->bytes : 0; }

static void push_item(rc_edge_t *e, rc_conn_t *c, const rc_out_item_t *it)
{
    rc_outq_t *q = outq_get(e, c);
    if (q->count == q->cap) {
        rc_mem_add(e, (int64_t)(q->cap * sizeof(*q->items)));
        /* grow the ring, keeping item order */
        rc_out_item_t *n = rc_xmalloc(2 * q->cap * sizeof(*n));
        for (uint32_t i = 0; i < q->count; i++)
            n[i] = *item_at(q, i);
        free(q->items);
        q->items = n;
        q->head = 0;
        q->cap *= 2;
    }
    *item_at(q, q->count++) = *it;
    q->bytes += it->len;
    if (it->owned) {
        q->owned += it->cost;
        rc_mem_add(e, (int64_t)it->cost);
    }
    mark_dirty(e, c);
}

/* The slow-consumer bulkhead: past out_queue_max the connection is closed
 * with 4008 instead of growing without bound. Returns 1 if it was kicked. */
static int over_limit(rc_edge_t *e, rc_conn_t *c, size_t add)
{
    rc_outq_t *q = c->outq;
    /* A ring that must double to take this item adds megabytes at once,
     * more than the check of edge_memory_max after each read allows for:
     * past the budget, the connection asking for it is closed instead. */
    if (q && q->count == q->cap && e->edge_memory_max &&
        e->mem + add + (uint64_t)q->cap * sizeof(*q->items) > e->edge_memory_max) {
        rc_mem_shed(e, c);
        return 1;
    }
    uint64_t items = q ? q->count + 1 : 1;
    if (rc_out_queued(c) + add + items * RC_ITEM_OVERHEAD <= e->out_queue_max)
        return 0;
    static rc_textlog_limit_t lim;
    RC_SLOT_ADD(e->slot, kicks_slow, 1);
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("warn", "msg=\"slow consumer closed\" code=4008 queued=%llu suppressed=%lu",
                (unsigned long long)rc_out_queued(c), lim.suppressed);
    rc_conn_close(e, c, RC_CLOSE_SLOW_CONSUMER);
    return 1;
}

void rc_out_bytes(rc_edge_t *e, rc_conn_t *c, const void *data, size_t len)
{
    void *copy = rc_xmalloc(len);
    memcpy(copy, data, len);
    rc_out_item_t it = {.ptr = copy, .len = (uint32_t)len, .owned = copy,
                        .cost = (uint32_t)len + RC_MALLOC_OVERHEAD, .kind = RC_ITEM_OWNED};
    push_item(e, c, &it);
}

void rc_out_frame(rc_edge_t *e, rc_conn_t *c, uint8_t opcode, const void *payload, size_t len)
{
    if (c->state == RC_CONN_CLOSING && opcode != RC_WS_OP_CLOSE)
        return;
    if (opcode != RC_WS_OP_CLOSE && over_limit(e, c, len))
        return;
    uint8_t *buf = rc_xmalloc(RC_WS_MAX_SERVER_HEADER + len);
    size_t h = rc_ws_header_encode(buf, opcode, len);
    memcpy(buf + h, payload, len);
    rc_out_item_t it = {.ptr = buf, .len = (uint32_t)(h + len), .owned = buf,
                        .cost = (uint32_t)(RC_WS_MAX_SERVER_HEADER + len + RC_MALLOC_OVERHEAD), .kind = RC_ITEM_OWNED};
    push_item(e, c, &it);
}

void rc_out_log(rc_edge_t *e, rc_conn_t *c, const rc_log_view_t *v)
{
    if (c->state != RC_CONN_OPEN || (c->flags & RC_CF_LOST)) {
        /* closing, or waiting for its 4009: it already missed events */
        RC_SLOT_ADD(e->slot, drops, 1);
        return;
    }
    if (over_limit(e, c, v->frame_len))
        return;
    rc_out_item_t it = {.ptr = v->frame, .len = v->frame_len, .rec_len = v->len, .pos = v->pos,
                        .kind = RC_ITEM_LOG};
    push_item(e, c, &it);
}

/* Gives back a ring that grew for a burst, once what it holds fits a
 * quarter of it: a connection that queued 400,000 pongs and was closed
 * must not keep their ring (16 MB) through its closing grace. The iovecs of
 * a send in flight point at the frames, not at the ring, so moving the
 * items is safe. */
static void shrink_ring(rc_edge_t *e, rc_outq_t *q)
{
    if (q->cap <= 16 || q->count > q->cap / 4)
        return;
    uint32_t cap = 16;
    while (cap < q->count)
        cap *= 2;
    rc_out_item_t *n = rc_xmalloc(cap * sizeof(*n));
    for (uint32_t i = 0; i < q->count; i++)
        n[i] = *item_at(q, i);
    rc_mem_add(e, -(int64_t)((q->cap - cap) * sizeof(*q->items)));
    free(q->items);
    q->items = n;
    q->head = 0;
    q->cap = cap;
}

/* Drops what has not reached the wire. A frame the kernel took part of
 * stays: the close frame that follows must start on a frame boundary. */
static void drop_unsent(rc_edge_t *e, rc_outq_t *q)
{
    while (q->count > q->inflight) {
        rc_out_item_t *it = item_at(q, q->count - 1);
        if (it->started)
            break;
        q->bytes -= it->len;
        free_item(e, q, it);
        q->count--;
    }
    shrink_ring(e, q);
}

void rc_out_drop_unsent(rc_edge_t *e, rc_conn_t *c)
{
    if (c->outq)
        drop_unsent(e, c->outq);
}

void rc_out_free(rc_edge_t *e, rc_conn_t *c)
{
    if (!c->outq)
        return;
    rc_outq_t *q = c->outq;
    while (q->count) { /* everything, a frame half on the wire included */
        rc_out_item_t *it = item_at(q, q->count - 1);
        q->bytes -= it->len;
        free_item(e, q, it);
        q->count--;
    }
    q->inflight = 0;
    outq_put(e, c);
}

static void kick_lapped(rc_edge_t *e, rc_conn_t *c)
{
    static rc_textlog_limit_t lim;
    RC_SLOT_ADD(e->slot, kicks_lapped, 1);
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("warn", "msg=\"connection lapped by the log\" code=4009 suppressed=%lu", lim.suppressed);
    if (c->state == RC_CONN_OPEN)
        rc_conn_close(e, c, RC_CLOSE_LAPPED);
    else
        rc_conn_abort(e, c);
}

static void send_now(rc_edge_t *e, rc_conn_t *c)
{
    rc_outq_t *q = c->outq;
    uint32_t n = q->count < RC_MAX_IOV ? q->count : RC_MAX_IOV;
    for (uint32_t i = 0; i < n; i++) {
        rc_out_item_t *it = item_at(q, i);
        if (it->kind == RC_ITEM_LOG && !rc_log_intact(&e->log, it->pos, it->rec_len)) {
            /* Lapped before sending: the close (if any) goes out next flush. */
            kick_lapped(e, c);
            return;
        }
        q->iov[i].iov_base = (void *)it->ptr;
        q->iov[i].iov_len = it->len;
    }
    q->inflight = n;
    memset(&q->msg, 0, sizeof(q->msg));
    q->msg.msg_iov = q->iov;
    q->msg.msg_iovlen = n;
    c->flags |= RC_CF_SEND_INFLIGHT;
    e->io->send(e, c, &q->msg);
}

/* The last frame (a close, a refusal) is on the wire: send our FIN but keep
 * reading, and dropping, until the peer closes too or the closing grace
 * ends. Closing a socket with unread input makes the kernel answer with a
 * reset, and a reset can overtake the close frame: the client would see
 * 1006 instead of the code that tells it why. */
static void shut(rc_edge_t *e, rc_conn_t *c)
{
    if (!(c->flags & RC_CF_SHUT)) {
        c->flags |= RC_CF_SHUT;
        /* A receive that ended for lack of buffers (io_uring's starved
         * list) is still a read side with input behind it: it lingers too,
         * and is re-armed at the end of the turn. */
        if (c->flags & (RC_CF_RECV_ARMED | RC_CF_RECV_STARVED)) {
            c->flags |= RC_CF_LINGER;
            shutdown(c->fd, SHUT_WR);
        } else {
            shutdown(c->fd, SHUT_RDWR);
        }
    }
    rc_conn_maybe_free(e, c);
}

int rc_out_flush_some(rc_edge_t *e, uint32_t budget)
{
    while (e->dirty && budget) {
        rc_conn_t *c = e->dirty;
        e->dirty = c->dirty_next;
        c->dirty_next = NULL;
        c->flags &= ~RC_CF_DIRTY;
        if (c->flags & (RC_CF_SEND_INFLIGHT | RC_CF_SHUT | RC_CF_FREE))
            continue;
        if (c->outq && c->outq->count) {
            send_now(e, c);
            budget--;
        } else if (c->flags & RC_CF_CLOSE_AFTER_SEND) {
            shut(e, c);
        }
    }
    return e->dirty != NULL;
}

void rc_out_flush(rc_edge_t *e) { rc_out_flush_some(e, UINT32_MAX); }

void rc_out_on_pollout(rc_edge_t *e, rc_conn_t *c, int res)
{
    c->flags &= ~RC_CF_SEND_INFLIGHT;
    if (res < 0 || (c->flags & RC_CF_SHUT)) {
        rc_conn_abort(e, c);
        return;
    }
    mark_dirty(e, c);
}

void rc_out_on_send(rc_edge_t *e, rc_conn_t *c, int res)
{
    rc_outq_t *q = c->outq;
    if (res == -EAGAIN && !(c->flags & RC_CF_SHUT)) {
        /* Socket buffer full: wait until it drains; the send stays "in flight". */
        e->io->wait_writable(e, c);
        return;
    }
    c->flags &= ~RC_CF_SEND_INFLIGHT;
    if (res < 0) {
        q->inflight = 0;
        rc_conn_abort(e, c);
        return;
    }
    /* After the kernel took the bytes: were any of them overwritten meanwhile? */
    int lapped = 0, nlog = 0;
    for (uint32_t i = 0; i < q->inflight; i++) {
        rc_out_item_t *it = item_at(q, i);
        if (it->kind == RC_ITEM_LOG) {
            nlog++;
            if (!rc_log_intact(&e->log, it->pos, it->rec_len))
                lapped = 1;
        }
    }
    size_t left = (size_t)res;
    uint32_t frames = 0;
    RC_SLOT_ADD(e->slot, sends, 1);
    RC_SLOT_ADD(e->slot, bytes_out, (uint64_t)res);
    while (q->inflight) {
        rc_out_item_t *it = item_at(q, 0);
        if (left < it->len) {
            /* Short send: keep only the unsent rest, as our own copy if it
             * lives in the log (the log may lap it while we wait). */
            if (it->kind == RC_ITEM_LOG && left && !lapped) {
                uint8_t *rest = rc_xmalloc(it->len - left);
                memcpy(rest, it->ptr + left, it->len - left);
                it->kind = RC_ITEM_OWNED;
                it->owned = rest;
                it->ptr = rest;
                it->cost = (uint32_t)(it->len - left) + RC_MALLOC_OVERHEAD;
                q->owned += it->cost;
                rc_mem_add(e, (int64_t)it->cost);
            } else {
                it->ptr += left;
            }
            it->len -= (uint32_t)left;
            it->started |= left != 0;
            q->bytes -= left;
            break;
        }
        left -= it->len;
        q->bytes -= it->len;
        if (it->kind == RC_ITEM_LOG)
            frames++;
        free_item(e, q, it);
        q->head = (q->head + 1) & (q->cap - 1);
        q->count--;
        q->inflight--;
    }
    q->inflight = 0;
    RC_SLOT_ADD(e->slot, frames_out, frames);
    if (nlog > 1)
        RC_SLOT_ADD(e->slot, coalesced, (uint64_t)nlog);
    if (lapped) {
        kick_lapped(e, c);
    }
    if (q->count) {
        mark_dirty(e, c);
        return;
    }
    outq_put(e, c);
    if (c->flags & RC_CF_CLOSE_AFTER_SEND)
        shut(e, c);
}

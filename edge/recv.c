/* Receiving: bytes from the provided-buffer ring through the handshake,
 * then WebSocket frames, to whole client messages (edge/channel.c).
 *
 * The backend hands over bytes in a buffer that is ours only during the
 * call (io_uring's provided buffers, epoll's one shared read buffer), so
 * bytes of an incomplete frame are copied into a small per-connection buffer
 * (c->in) that exists only while something is incomplete: an idle
 * connection holds no receive buffer on either backend. */
#include "edge/edge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "proto/close_codes.h"
#include "proto/limits.h"
#include "proto/proxy_proto.h"
#include "proto/ws_frame.h"

/* The bytes an input buffer holds against edge_memory_max. */
static uint64_t inbuf_mem(const rc_inbuf_t *b) { return b ? sizeof(*b) + b->cap : 0; }

static rc_inbuf_t *inbuf_append(rc_edge_t *e, rc_inbuf_t *b, const uint8_t *data, size_t n)
{
    uint32_t len = b ? b->len : 0;
    uint32_t cap = b ? b->cap : 0;
    if (len + n > cap) {
        size_t ncap = cap ? cap : 256;
        while (ncap < len + n)
            ncap *= 2;
        rc_mem_add(e, -(int64_t)inbuf_mem(b));
        b = rc_xrealloc(b, sizeof(*b) + ncap);
        b->cap = (uint32_t)ncap;
        b->len = len;
        rc_mem_add(e, (int64_t)inbuf_mem(b));
    }
    memcpy(b->data + b->len, data, n);
    b->len += (uint32_t)n;
    return b;
}

static void inbuf_free(rc_edge_t *e, rc_inbuf_t **b)
{
    rc_mem_add(e, -(int64_t)inbuf_mem(*b));
    free(*b);
    *b = NULL;
}

void rc_conn_free_input(rc_edge_t *e, rc_conn_t *c)
{
    inbuf_free(e, &c->in);
    inbuf_free(e, &c->msg);
}

uint64_t rc_conn_mem(const rc_conn_t *c) { return inbuf_mem(c->in) + inbuf_mem(c->msg) + rc_out_mem(c); }

static void deliver(rc_edge_t *e, rc_conn_t *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    rc_channel_on_message(e, c, opcode, data, len);
}

/* Consumes complete frames from buf; returns the bytes consumed. Payloads
 * are unmasked in place (the buffer is ours). */
static size_t consume_frames(rc_edge_t *e, rc_conn_t *c, uint8_t *buf, size_t len)
{
    size_t off = 0;
    while (off < len && c->state == RC_CONN_OPEN) {
        rc_ws_frame_t f;
        int h = rc_ws_frame_parse(buf + off, len - off, e->max_message, &f);
        if (h == 0)
            break;
        if (h < 0) {
            rc_conn_close(e, c, (uint16_t)-h);
            return len;
        }
        if (len - off - (size_t)h < f.payload_len)
            break; /* payload incomplete */
        uint8_t *payload = buf + off + h;
        /* Every frame but a close spends from the client's bucket (a ping
         * costs the edge a pong as much as a message costs a reply). */
        if (f.opcode != RC_WS_OP_CLOSE && rc_admit_msg(e, c) < 0)
            return len;
        e->turn_msgs++;
        rc_ws_unmask(payload, (size_t)f.payload_len, f.mask, 0);
        uint8_t opcode = 0;
        uint16_t code = 0;
        int ev = rc_ws_reader_frame(&c->wsr, &f, payload, &opcode, &code);
        off += (size_t)h + (size_t)f.payload_len;
        if (ev < 0) {
            rc_conn_close(e, c, (uint16_t)-ev);
            return len;
        }
        switch (ev) {
        case RC_WS_EV_FRAGMENT:
            c->msg = inbuf_append(e, c->msg, payload, (size_t)f.payload_len);
            break;
        case RC_WS_EV_MESSAGE:
            if (c->msg) {
                c->msg = inbuf_append(e, c->msg, payload, (size_t)f.payload_len);
                rc_inbuf_t *m = c->msg;
                c->msg = NULL;
                deliver(e, c, opcode, m->data, m->len);
                inbuf_free(e, &m);
            } else {
                deliver(e, c, opcode, payload, (size_t)f.payload_len);
            }
            break;
        case RC_WS_EV_PING:
            rc_out_frame(e, c, RC_WS_OP_PONG, payload, (size_t)f.payload_len);
            break;
        case RC_WS_EV_PONG:
            break;
        case RC_WS_EV_CLOSE: {
            /* Echo the client's close (RFC 6455 5.5.1), then end the TCP side. */
            uint8_t frame[127];
            size_t n = code == 1005 ? rc_ws_close_encode(frame, 0, NULL) : rc_ws_close_encode(frame, code, "");
            rc_conn_set_closing(e, c);
            rc_out_bytes(e, c, frame, n);
            c->flags |= RC_CF_CLOSE_AFTER_SEND;
            return len;
        }
        }
    }
    return off;
}

/* prev_len: how many of these bytes an earlier call already saw (the
 * handshake parser resumes after them). */
static size_t consume(rc_edge_t *e, rc_conn_t *c, uint8_t *buf, size_t len, size_t prev_len)
{
    size_t off = 0;
    if (c->flags & RC_CF_PROXY_HDR) {
        int r = rc_admit_proxy_header(e, c, buf, len);
        if (r <= 0)
            return r < 0 ? len : 0;
        off = (size_t)r;
        prev_len = 0;
        if (off == len)
            return len;
    }
    if (c->state == RC_CONN_HANDSHAKE) {
        int r = rc_handshake_feed(e, c, buf + off, len - off, prev_len);
        if (r <= 0)
            return r < 0 ? len : off;
        off += (size_t)r;
    }
    return off + consume_frames(e, c, buf + off, len - off);
}

/* The most bytes a connection may keep while incomplete. */
static size_t pending_limit(rc_edge_t *e, rc_conn_t *c)
{
    if (c->state == RC_CONN_HANDSHAKE)
        return RC_HS_MAX_BYTES + ((c->flags & RC_CF_PROXY_HDR) ? RC_PROXY_HDR_MAX : 0);
    return e->max_message + RC_WS_MAX_HEADER;
}

static void on_data(rc_edge_t *e, rc_conn_t *c, uint8_t *data, size_t n);

void rc_conn_on_data(rc_edge_t *e, rc_conn_t *c, uint8_t *data, size_t n)
{
    on_data(e, c, data, n);
    /* A few bytes in can hold many more (a 6-byte ping queues a pong item):
     * the budget is checked after each read, not only once a turn. */
    if (e->edge_memory_max && e->mem > e->edge_memory_max)
        rc_mem_enforce(e);
}

static void on_data(rc_edge_t *e, rc_conn_t *c, uint8_t *data, size_t n)
{
    if (c->state == RC_CONN_CLOSING)
        return; /* closing: what the client still sends is read and dropped */
    /* The handshake's deadline runs from accept (a slowloris client that
     * trickles a header byte at a time must not keep its slot); once open,
     * any bytes count as life. */
    if (c->state != RC_CONN_HANDSHAKE)
        c->last_rx_s = rc_clock_mono_s();
    if (c->in) {
        /* The parsers refuse oversize input themselves (431 for a header
         * block, 1009 for a frame header over max_message) before c->in can
         * pass these bounds; this is the backstop. */
        if (c->in->len + n > pending_limit(e, c) + e->buf_size) {
            rc_conn_close(e, c, RC_CLOSE_TOO_BIG);
            return;
        }
        size_t seen = c->in->len;
        c->in = inbuf_append(e, c->in, data, n);
        size_t used = consume(e, c, c->in->data, c->in->len, seen);
        if (used >= c->in->len || c->state == RC_CONN_CLOSING) {
            inbuf_free(e, &c->in);
        } else if (used) {
            memmove(c->in->data, c->in->data + used, c->in->len - used);
            c->in->len -= (uint32_t)used;
        }
        return;
    }
    size_t used = consume(e, c, data, n, 0);
    if (used < n && c->state != RC_CONN_CLOSING)
        c->in = inbuf_append(e, NULL, data + used, n - used);
}

void rc_conn_on_recv_end(rc_edge_t *e, rc_conn_t *c, int res)
{
    /* The peer closed its side, the socket failed, or our shutdown ended
     * the receive. A peer that only half-closed after its request still
     * gets the answer already queued for it (a refusal, a close echo). */
    int answer_pending = res == 0 && (c->flags & RC_CF_CLOSE_AFTER_SEND);
    if (!(c->flags & RC_CF_SHUT) && !answer_pending)
        rc_conn_abort(e, c);
    rc_conn_maybe_free(e, c);
}

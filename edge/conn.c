/* Connections: finding one by its operation's user_data, closing, freeing.
 *
 * Closing: a close frame (or HTTP refusal) is queued and sent, then
 * shutdown(2) of the write side sends our FIN while input is still read and
 * dropped (outq.c shut()), until the peer closes or the closing grace ends
 * (then the receive is shut too); when no operation is in flight the fd is
 * closed and the connection freed at the end of the loop turn. */
#include "edge/edge.h"

#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "edge/auth.h"
#include "proto/close_codes.h"
#include "proto/ws_frame.h"
#include "shm/slots.h"

rc_conn_t *rc_conn_lookup(rc_edge_t *e, int fd, uint32_t gen)
{
    if (fd < 0 || (uint32_t)fd >= e->by_fd_cap)
        return NULL;
    rc_conn_t *c = e->by_fd[fd];
    return c && (c->gen & 0xffffff) == (gen & 0xffffff) ? c : NULL;
}

void rc_conn_close(rc_edge_t *e, rc_conn_t *c, uint16_t code)
{
    if (c->state == RC_CONN_CLOSING)
        return;
    if (c->state != RC_CONN_OPEN || !code) {
        rc_conn_abort(e, c);
        return;
    }
    /* A slow or lapped consumer gets no more of its backlog, only the close. */
    if (code == RC_CLOSE_SLOW_CONSUMER || code == RC_CLOSE_LAPPED)
        rc_out_drop_unsent(e, c);
    uint8_t frame[127];
    size_t n = rc_ws_close_encode(frame, code, "");
    rc_conn_set_closing(e, c);
    c->close_code = code;
    rc_out_bytes(e, c, frame, n);
    c->flags |= RC_CF_CLOSE_AFTER_SEND;
}

void rc_conn_set_closing(rc_edge_t *e, rc_conn_t *c)
{
    if (c->state == RC_CONN_CLOSING)
        return;
    c->state = RC_CONN_CLOSING;
    c->last_rx_s = rc_clock_mono_s();
    rc_wheel_add(e, c);
}

void rc_conn_abort(rc_edge_t *e, rc_conn_t *c)
{
    rc_conn_set_closing(e, c);
    rc_out_drop_unsent(e, c);
    if (!(c->flags & RC_CF_SHUT) || (c->flags & RC_CF_LINGER)) {
        /* (a lingering close whose grace ended: the receive ends now) */
        c->flags = (uint16_t)((c->flags | RC_CF_SHUT) & ~RC_CF_LINGER);
        shutdown(c->fd, SHUT_RDWR);
    }
    rc_conn_maybe_free(e, c);
}

void rc_conn_maybe_free(rc_edge_t *e, rc_conn_t *c)
{
    if (!(c->flags & RC_CF_SHUT) ||
        (c->flags & (RC_CF_RECV_ARMED | RC_CF_SEND_INFLIGHT | RC_CF_FREE | RC_CF_RECV_STARVED)))
        return; /* an operation is in flight, or it is on the starved list */
    /* Never freed inside its own completion: queued for the end of the turn. */
    c->flags |= RC_CF_FREE;
    c->next = e->to_free;
    e->to_free = c;
}

void rc_conn_free_pending(rc_edge_t *e)
{
    while (e->to_free) {
        rc_conn_t *c = e->to_free;
        e->to_free = c->next;
        rc_channel_unsubscribe_all(e, c);
        rc_wheel_del(e, c);
        rc_out_free(e, c);
        e->io->conn_free(e, c);
        rc_conn_free_input(e, c);
        rc_admit_release(e, c);
        rc_auth_conn_free(e, c);
        free(c->subs);
        close(c->fd);
        e->by_fd[c->fd] = NULL;
        e->nconns--;
        RC_SLOT_SET(e->slot, connections, e->nconns);
        free(c);
    }
}

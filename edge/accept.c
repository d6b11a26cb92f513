/* Accepting connections and admission: a connection gets a slot only while
 * the edge is under max_connections, is not draining and has descriptors
 * left; the others get 503 with a jittered Retry-After at once. */
#include "edge/edge.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/rand.h"
#include "common/textlog.h"
#include "proto/close_codes.h"
#include "proto/http_response.h"
#include "shm/slots.h"

/* Over capacity: answer 503 with a jittered Retry-After at once and close.
 * The socket is fresh, so a non-blocking send of a few bytes cannot block. */
static void refuse_busy(rc_edge_t *e, int fd)
{
    char body[] = "edge at capacity, retry later\n";
    char hdr[64], resp[512];
    snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n", (unsigned)rc_rand_range(1, 10));
    int n = rc_http_response(resp, sizeof(resp), RC_HTTP_UNAVAILABLE, NULL, hdr, body, sizeof(body) - 1);
    if (n > 0 && send(fd, resp, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* nothing to do: the client sees the close */
    }
    close(fd);
    RC_SLOT_ADD(e->slot, refused, 1);
}

void rc_conn_on_accept_error(rc_edge_t *e, int err)
{
    static rc_textlog_limit_t lim;
    if (err != EMFILE && err != ENFILE) {
        if (rc_textlog_allow(&lim, 10))
            rc_textlog("warn", "msg=\"accept failed\" err=\"%s\" suppressed=%lu", strerror(err), lim.suppressed);
        return;
    }
    if (e->spare_fd >= 0)
        close(e->spare_fd);
    /* The listening socket is non-blocking: with nobody waiting this returns
     * EAGAIN at once. */
    int fd = accept4(e->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd >= 0)
        refuse_busy(e, fd);
    e->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("warn", "msg=\"out of file descriptors: refusing with 503\" err=\"%s\" connections=%llu suppressed=%lu",
                strerror(err), (unsigned long long)e->nconns, lim.suppressed);
}

void rc_conn_on_accept(rc_edge_t *e, int fd)
{
    if (e->draining) {
        close(fd);
        return;
    }
    if ((uint32_t)fd >= e->by_fd_cap) { /* the limit was raised after start */
        refuse_busy(e, fd);
        return;
    }
    if (e->nconns >= e->max_connections) {
        refuse_busy(e, fd);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc_conn_t *c = rc_xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->gen = ++e->next_gen & 0xffffff;
    c->state = RC_CONN_HANDSHAKE;
    c->last_rx_s = rc_clock_mono_s();
    e->by_fd[fd] = c;
    rc_wheel_add(e, c);
    e->nconns++;
    RC_SLOT_ADD(e->slot, accepted, 1);
    RC_SLOT_SET(e->slot, connections, e->nconns);
    e->io->recv_start(e, c);
}

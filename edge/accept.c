/* Accepting connections and admission: a connection gets a slot only while
 * the edge is under max_connections, is not draining, has descriptors left
 * and the bulkheads of edge/admit.c let it in; the others get 503 with a
 * jittered Retry-After at once. */
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
        rc_refuse_fd(e, fd, "edge at capacity");
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
        rc_refuse_fd(e, fd, "edge at capacity");
        return;
    }
    if (e->nconns >= e->max_connections) {
        rc_refuse_fd(e, fd, "edge at capacity");
        return;
    }
    int proxied;
    rc_ip_entry_t *ip;
    if (rc_admit_accept(e, fd, &proxied, &ip) < 0)
        return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    rc_conn_t *c = rc_xcalloc(1, sizeof(*c));
    c->ip = ip;
    if (proxied)
        c->flags |= RC_CF_PROXY_HDR;
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

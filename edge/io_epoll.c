/* The epoll backend (edge/io.h), on libevent: for where io_uring is refused.
 *
 * Readiness instead of completions, made to look like completions to the
 * shared code:
 *  - accept and receive run when their descriptor is readable; a receive
 *    reads into one buffer the edge shares between all its connections
 *    (rc_conn_on_data copies an incomplete frame out of it), so an idle
 *    connection holds no receive buffer here either;
 *  - a send is a non-blocking sendmsg made at once, straight from shm as on
 *    io_uring; its result is queued and handed to rc_out_on_send in the
 *    next poll, never inside the call that sent it;
 *  - the log's futex word is watched by a thread that writes an eventfd
 *    (edge/log_watch.h).
 * Per connection this backend keeps one libevent read event (and a write
 * event only while the socket is full). */
#include "edge/edge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/alloc.h"
#include "common/textlog.h"
#include "edge/log_watch.h"
#include "shm/slots.h"

/* Reads per readable connection per turn, and accepts per turn: one busy
 * client cannot starve the others, level-triggered epoll brings the rest
 * back next turn. */
#define READS_PER_TURN 4
#define ACCEPTS_PER_TURN 64

typedef struct done_send {
    int fd;
    uint32_t gen;
    int res;
} done_send_t;

/* One edge per process: static storage. */
static struct ep {
    struct event_base *base;
    struct event *accept_ev, *signal_ev, *tick_ev, *timer_ev, *log_ev;
    struct event **rd, **wr; /* by fd: a connection's read event, its write event while full */
    uint8_t *rxbuf;          /* buf_size bytes, shared by every receive */
    done_send_t *done;       /* sends made, results not yet handed over */
    uint32_t ndone, capdone;
    rc_log_watch_t watch;
} P;

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    rc_edge_t *e = arg;
    if (e->draining)
        return;
    for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                rc_conn_on_accept_error(e, errno);
            return;
        }
        rc_conn_on_accept(e, fd);
    }
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    rc_edge_t *e = arg;
    struct signalfd_siginfo si;
    /* One read per wake-up: the signal fd blocks, and level-triggered epoll
     * brings a second pending signal back next turn. */
    if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        rc_edge_on_signal(e);
}

static void on_tick(evutil_socket_t fd, short what, void *arg) { rc_wheel_tick(arg); }
static void on_timer(evutil_socket_t fd, short what, void *arg) { rc_edge_on_timer(arg); }

static void on_log(evutil_socket_t fd, short what, void *arg)
{
    rc_edge_t *e = arg;
    if (!rc_log_watch_consume(&P.watch))
        return;
    e->log_armed = 0;
    e->log_ready = 1;
    RC_SLOT_ADD(e->slot, wakeups, 1);
}

static void recv_end(rc_edge_t *e, rc_conn_t *c, int res)
{
    event_del(P.rd[c->fd]);
    c->flags &= ~RC_CF_RECV_ARMED;
    rc_conn_on_recv_end(e, c, res);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    rc_edge_t *e = arg;
    rc_conn_t *c = e->by_fd[fd];
    if (!c || !(c->flags & RC_CF_RECV_ARMED))
        return;
    for (int i = 0; i < READS_PER_TURN; i++) {
        ssize_t n = recv(fd, P.rxbuf, e->buf_size, 0);
        if (n > 0) {
            rc_conn_on_data(e, c, P.rxbuf, (size_t)n);
            if ((size_t)n < e->buf_size)
                return; /* the socket is empty now */
            if (e->turn_msgs >= RC_TURN_MSG_BUDGET) {
                /* Enough for this turn: the socket stays readable (level
                 * triggered) and the other active events wait their turn. */
                event_base_loopbreak(P.base);
                return;
            }
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        recv_end(e, c, n == 0 ? 0 : -errno);
        return;
    }
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    rc_edge_t *e = arg;
    rc_conn_t *c = e->by_fd[fd];
    if (c)
        rc_out_on_pollout(e, c, 0);
}

static int epoll_init(rc_edge_t *e, char *why, size_t cap)
{
    struct event_config *cfg = event_config_new();
    if (!cfg) {
        snprintf(why, cap, "out of memory");
        return -ENOMEM;
    }
    /* epoll or nothing: select and poll would not scale to our counts. */
    event_config_avoid_method(cfg, "select");
    event_config_avoid_method(cfg, "poll");
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    P.base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!P.base) {
        snprintf(why, cap, "libevent has no epoll here");
        return -ENOSYS;
    }
    int rc = rc_log_watch_start(&P.watch, &e->log.hdr->wake_word);
    if (rc < 0) {
        snprintf(why, cap, "cannot start the log watcher thread: %s", strerror(-rc));
        event_base_free(P.base);
        P.base = NULL;
        return rc;
    }
    P.rd = rc_xcalloc(e->by_fd_cap, sizeof(*P.rd));
    P.wr = rc_xcalloc(e->by_fd_cap, sizeof(*P.wr));
    P.rxbuf = rc_xmalloc(e->buf_size);
    P.capdone = 64;
    P.done = rc_xmalloc(P.capdone * sizeof(*P.done));
    P.accept_ev = event_new(P.base, e->listen_fd, EV_READ | EV_PERSIST, on_accept, e);
    P.signal_ev = event_new(P.base, e->signal_fd, EV_READ | EV_PERSIST, on_signal, e);
    P.tick_ev = evtimer_new(P.base, on_tick, e);
    P.timer_ev = evtimer_new(P.base, on_timer, e);
    P.log_ev = event_new(P.base, P.watch.efd, EV_READ | EV_PERSIST, on_log, e);
    if (!P.accept_ev || !P.signal_ev || !P.tick_ev || !P.timer_ev || !P.log_ev || event_add(P.log_ev, NULL) < 0) {
        snprintf(why, cap, "cannot register the edge's events with libevent");
        return -ENOMEM;
    }
    e->io_state = &P;
    rc_textlog("info", "msg=\"epoll ready\" method=%s", event_base_get_method(P.base));
    return 0;
}

static void epoll_fini(rc_edge_t *e)
{
    for (uint32_t fd = 0; fd < e->by_fd_cap; fd++) {
        if (P.rd[fd])
            event_free(P.rd[fd]);
        if (P.wr[fd])
            event_free(P.wr[fd]);
    }
    event_free(P.accept_ev);
    event_free(P.signal_ev);
    event_free(P.tick_ev);
    event_free(P.timer_ev);
    event_free(P.log_ev);
    rc_log_watch_stop(&P.watch);
    event_base_free(P.base);
    free(P.rd);
    free(P.wr);
    free(P.rxbuf);
    free(P.done);
}

static void epoll_start(rc_edge_t *e)
{
    event_add(P.accept_ev, NULL);
    event_add(P.signal_ev, NULL);
}

static void epoll_stop_accept(rc_edge_t *e)
{
    event_del(P.accept_ev);
    shutdown(e->listen_fd, SHUT_RDWR); /* new connections go to the other edges */
}

static void epoll_recv_start(rc_edge_t *e, rc_conn_t *c)
{
    if (!P.rd[c->fd])
        P.rd[c->fd] = event_new(P.base, c->fd, EV_READ | EV_PERSIST, on_readable, e);
    if (!P.rd[c->fd] || event_add(P.rd[c->fd], NULL) < 0) {
        rc_textlog("fatal", "msg=\"cannot register a connection with libevent\"");
        abort();
    }
    c->flags |= RC_CF_RECV_ARMED;
}

static void epoll_send(rc_edge_t *e, rc_conn_t *c, struct msghdr *msg)
{
    ssize_t n = sendmsg(c->fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (P.ndone == P.capdone) {
        P.capdone *= 2;
        P.done = rc_xrealloc(P.done, P.capdone * sizeof(*P.done));
    }
    P.done[P.ndone++] = (done_send_t){c->fd, c->gen, n >= 0 ? (int)n : -errno};
}

static void epoll_wait_writable(rc_edge_t *e, rc_conn_t *c)
{
    if (!P.wr[c->fd])
        P.wr[c->fd] = event_new(P.base, c->fd, EV_WRITE, on_writable, e);
    if (!P.wr[c->fd] || event_add(P.wr[c->fd], NULL) < 0) {
        rc_textlog("fatal", "msg=\"cannot register a connection with libevent\"");
        abort();
    }
}

static void epoll_tick_arm(rc_edge_t *e)
{
    struct timeval tv = {1, 0};
    evtimer_add(P.tick_ev, &tv);
}

static void epoll_timer_arm(rc_edge_t *e, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    evtimer_add(P.timer_ev, &tv);
}

static void epoll_log_wait(rc_edge_t *e, uint32_t expect) { rc_log_watch_arm(&P.watch, expect); }

static void epoll_conn_free(rc_edge_t *e, rc_conn_t *c)
{
    if (P.rd[c->fd]) {
        event_free(P.rd[c->fd]);
        P.rd[c->fd] = NULL;
    }
    if (P.wr[c->fd]) {
        event_free(P.wr[c->fd]);
        P.wr[c->fd] = NULL;
    }
}

static void epoll_submit(rc_edge_t *e) { /* sends were made when they were asked for */ }

/* Hands over the results of the sends made since the last poll, oldest
 * first. Returns how many. */
static uint32_t deliver_sends(rc_edge_t *e)
{
    uint32_t n = 0;
    /* The handlers make no new sends (those come with the next flush), but
     * read the count afresh in case one does. */
    for (; n < P.ndone; n++) {
        done_send_t d = P.done[n];
        rc_conn_t *c = rc_conn_lookup(e, d.fd, d.gen);
        if (c)
            rc_out_on_send(e, c, d.res);
    }
    P.ndone = 0;
    return n;
}

static void epoll_poll(rc_edge_t *e, int block)
{
    if (deliver_sends(e))
        block = 0; /* those completions may have made work for this turn */
    event_base_loop(P.base, EVLOOP_ONCE | (block ? 0 : EVLOOP_NONBLOCK));
}

const rc_io_ops_t rc_io_epoll_ops = {
    .name = "epoll",
    .init = epoll_init,
    .fini = epoll_fini,
    .start = epoll_start,
    .stop_accept = epoll_stop_accept,
    .recv_start = epoll_recv_start,
    .send = epoll_send,
    .wait_writable = epoll_wait_writable,
    .tick_arm = epoll_tick_arm,
    .timer_arm = epoll_timer_arm,
    .log_wait = epoll_log_wait,
    .conn_free = epoll_conn_free,
    .submit = epoll_submit,
    .poll = epoll_poll,
};

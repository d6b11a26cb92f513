/* The io_uring backend (edge/io.h): one ring with the fastest flags the
 * kernel has, multishot accept and receive from a provided-buffer ring (so
 * an idle connection holds no receive buffer), sends straight from shm, and
 * the log's futex word waited on with IORING_OP_FUTEX_WAIT in the same ring,
 * so one loop sleeps on sockets and the log at once. */
#include "edge/edge.h"

#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "common/textlog.h"
#include "shm/slots.h"

#define RC_BGID 1
/* Not in liburing 2.3's headers; stable kernel ABI since 6.7. */
#define RC_IORING_OP_FUTEX_WAIT 51
#define RC_FUTEX2_SIZE_U32 0x02
#define RC_FUTEX_BITSET_MATCH_ANY 0xffffffffu

/* user_data of every SQE: op in the top byte, connection generation in the
 * next 24 bits, fd in the low 32. */
enum rc_op { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_POLLOUT, OP_FUTEX, OP_SIGNAL, OP_TIMER, OP_TICK };
#define UD(op, gen, fd) (((uint64_t)(op) << 56) | (((uint64_t)(gen) & 0xffffff) << 32) | (uint32_t)(fd))
#define UD_OP(ud) ((unsigned)((ud) >> 56))
#define UD_GEN(ud) ((uint32_t)(((ud) >> 32) & 0xffffff))
#define UD_FD(ud) ((int)(uint32_t)(ud))

/* One edge per process, one ring per edge: static storage. */
static struct uring {
    struct io_uring ring;
    struct io_uring_buf_ring *bufring;
    uint8_t *bufs;
    size_t bufring_bytes;
    unsigned flags;                 /* IORING_SETUP_* in effect */
    struct __kernel_timespec tick_ts, timer_ts;
    struct signalfd_siginfo si;     /* one signal read in flight, ever */
    rc_conn_t *starved;             /* receives to re-arm once buffers are back */
    unsigned provided;              /* buffers handed to the kernel so far (<= recv_buffers) */
} U;

#define RC_BUFS_STEP 64u

static int setup_ring(char *why, size_t cap)
{
    struct io_uring_params p;
    /* DEFER_TASKRUN + SINGLE_ISSUER: completions run only when we enter the
     * kernel to wait, in our thread (the fastest send path measured here,
     * docs/architecture.md); fall back quietly on kernels without them. */
    const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CQSIZE,
        IORING_SETUP_CQSIZE,
    };
    int rc = -EINVAL;
    for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        memset(&p, 0, sizeof(p));
        p.flags = tries[i];
        p.cq_entries = 65536;
        rc = io_uring_queue_init_params(4096, &U.ring, &p);
        if (rc == 0) {
            U.flags = tries[i];
            return 0;
        }
        if (rc == -EPERM || rc == -ENOSYS)
            break; /* refused outright: no other flags will help */
    }
    if (rc == -EPERM)
        snprintf(why, cap, "io_uring_setup refused (EPERM): a seccomp profile (Docker's and containerd's default) "
                           "or kernel.io_uring_disabled; allow io_uring_setup, io_uring_enter and "
                           "io_uring_register to use io_uring");
    else
        snprintf(why, cap, "io_uring_setup failed: %s", strerror(-rc));
    return rc;
}

/* Hands the kernel RC_BUFS_STEP more receive buffers, up to recv_buffers.
 * The buffers are one mapping reserved for all recv_buffers at start, but a
 * page counts only once the kernel has written into it, and the ring hands
 * buffers out in order: so the edge's receive memory is what its busiest
 * moment needed (a join storm), not recv_buffers x recv_buffer_size. */
static void provide_more(rc_edge_t *e)
{
    unsigned n = e->nbufs - U.provided < RC_BUFS_STEP ? e->nbufs - U.provided : RC_BUFS_STEP;
    int mask = io_uring_buf_ring_mask(e->nbufs);
    for (unsigned i = 0; i < n; i++) {
        unsigned bid = U.provided + i;
        io_uring_buf_ring_add(U.bufring, U.bufs + (size_t)bid * e->buf_size, e->buf_size, (unsigned short)bid, mask,
                              (int)i);
    }
    io_uring_buf_ring_advance(U.bufring, (int)n);
    U.provided += n;
}

static int setup_bufring(rc_edge_t *e)
{
    U.bufring_bytes = (size_t)e->nbufs * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, U.bufring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (br == MAP_FAILED)
        return -errno;
    U.bufring = br;
    U.bufs = mmap(NULL, (size_t)e->nbufs * e->buf_size, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (U.bufs == MAP_FAILED) {
        U.bufs = NULL;
        return -errno;
    }
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)br;
    reg.ring_entries = e->nbufs;
    reg.bgid = RC_BGID;
    int rc = io_uring_register_buf_ring(&U.ring, &reg, 0);
    if (rc < 0)
        return rc;
    io_uring_buf_ring_init(U.bufring);
    provide_more(e);
    return 0;
}

static void unmap_bufs(rc_edge_t *e)
{
    if (U.bufs)
        munmap(U.bufs, (size_t)e->nbufs * e->buf_size);
    if (U.bufring)
        munmap(U.bufring, U.bufring_bytes);
    U.bufs = NULL;
    U.bufring = NULL;
}

static int uring_init(rc_edge_t *e, char *why, size_t cap)
{
    int rc = setup_ring(why, cap);
    if (rc < 0)
        return rc;
    struct io_uring_probe *probe = io_uring_get_probe_ring(&U.ring);
    int futex_ok = probe && probe->last_op >= RC_IORING_OP_FUTEX_WAIT &&
                   (probe->ops[RC_IORING_OP_FUTEX_WAIT].flags & IO_URING_OP_SUPPORTED);
    int recv_ok = probe && io_uring_opcode_supported(probe, IORING_OP_RECV) &&
                  io_uring_opcode_supported(probe, IORING_OP_SENDMSG);
    io_uring_free_probe(probe);
    if (!futex_ok || !recv_ok) {
        snprintf(why, cap, "the kernel's io_uring lacks %s", !futex_ok ? "IORING_OP_FUTEX_WAIT (Linux 6.7+), "
                                                                         "needed to sleep on the log"
                                                                       : "IORING_OP_RECV or IORING_OP_SENDMSG");
        io_uring_queue_exit(&U.ring);
        return -ENOSYS;
    }
    rc = setup_bufring(e);
    if (rc < 0) {
        snprintf(why, cap, "cannot register the provided buffer ring: %s", strerror(-rc));
        unmap_bufs(e);
        io_uring_queue_exit(&U.ring);
        return rc;
    }
    e->io_state = &U;
    rc_textlog("info", "msg=\"io_uring ready\" ring_flags=0x%x recv_buffers=%u provided_now=%u", U.flags, e->nbufs,
               U.provided);
    return 0;
}

static void uring_fini(rc_edge_t *e)
{
    io_uring_queue_exit(&U.ring);
    unmap_bufs(e);
}

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&U.ring);
    if (!sqe) {
        /* SQ full: hand what we have to the kernel and take a fresh entry. */
        io_uring_submit(&U.ring);
        sqe = io_uring_get_sqe(&U.ring);
    }
    if (!sqe) {
        rc_textlog("fatal", "msg=\"no SQE after submit\"");
        abort();
    }
    return sqe;
}

static void arm_accept(rc_edge_t *e)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_multishot_accept(sqe, e->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, UD(OP_ACCEPT, 0, e->listen_fd));
}

static void arm_signal(rc_edge_t *e)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_read(sqe, e->signal_fd, &U.si, sizeof(U.si), 0);
    io_uring_sqe_set_data64(sqe, UD(OP_SIGNAL, 0, e->signal_fd));
}

static void uring_start(rc_edge_t *e)
{
    arm_accept(e);
    arm_signal(e);
}

static void uring_stop_accept(rc_edge_t *e)
{
    shutdown(e->listen_fd, SHUT_RDWR); /* ends the multishot accept */
}

static void uring_recv_start(rc_edge_t *e, rc_conn_t *c)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RC_BGID;
    io_uring_sqe_set_data64(sqe, UD(OP_RECV, c->gen, c->fd));
    c->flags |= RC_CF_RECV_ARMED;
}

static void uring_send(rc_edge_t *e, rc_conn_t *c, struct msghdr *msg)
{
    struct io_uring_sqe *sqe = sqe_get();
    if (msg->msg_iovlen == 1) {
        /* The common case at low rates: a plain send skips the kernel's
         * msghdr and iovec import (about 5% of an edge's broadcast CPU). */
        io_uring_prep_send(sqe, c->fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
    } else {
        io_uring_prep_sendmsg(sqe, c->fd, msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    io_uring_sqe_set_data64(sqe, UD(OP_SEND, c->gen, c->fd));
}

static void uring_wait_writable(rc_edge_t *e, rc_conn_t *c)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_poll_add(sqe, c->fd, POLLOUT);
    io_uring_sqe_set_data64(sqe, UD(OP_POLLOUT, c->gen, c->fd));
}

static void uring_tick_arm(rc_edge_t *e)
{
    U.tick_ts.tv_sec = 1;
    U.tick_ts.tv_nsec = 0;
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_timeout(sqe, &U.tick_ts, 0, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_TICK, 0, 0));
}

static void uring_timer_arm(rc_edge_t *e, uint64_t ms)
{
    U.timer_ts.tv_sec = (long long)(ms / 1000);
    U.timer_ts.tv_nsec = (long long)(ms % 1000) * 1000000;
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_timeout(sqe, &U.timer_ts, 0, 0);
    io_uring_sqe_set_data64(sqe, UD(OP_TIMER, 0, 0));
}

static void uring_log_wait(rc_edge_t *e, uint32_t expect)
{
    struct io_uring_sqe *sqe = sqe_get();
    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = RC_IORING_OP_FUTEX_WAIT;
    sqe->fd = RC_FUTEX2_SIZE_U32; /* shared (not FUTEX2_PRIVATE): the word is in shm */
    sqe->addr = (uint64_t)(uintptr_t)&e->log.hdr->wake_word;
    sqe->off = expect;
    sqe->addr3 = RC_FUTEX_BITSET_MATCH_ANY;
    io_uring_sqe_set_data64(sqe, UD(OP_FUTEX, 0, 0));
}

static void uring_conn_free(rc_edge_t *e, rc_conn_t *c)
{
    /* Nothing is in flight once a connection is freed (rc_conn_maybe_free). */
}

static uint8_t *buf_addr(const rc_edge_t *e, unsigned bid) { return U.bufs + (size_t)bid * e->buf_size; }

static void buf_return(rc_edge_t *e, unsigned bid)
{
    io_uring_buf_ring_add(U.bufring, buf_addr(e, bid), e->buf_size, (unsigned short)bid,
                          io_uring_buf_ring_mask(e->nbufs), 0);
    io_uring_buf_ring_advance(U.bufring, 1);
}

static void on_recv(rc_edge_t *e, rc_conn_t *c, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        c->flags &= ~RC_CF_RECV_ARMED;
    if (cqe->res > 0 && (cqe->flags & IORING_CQE_F_BUFFER)) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        rc_conn_on_data(e, c, buf_addr(e, bid), (size_t)cqe->res);
        buf_return(e, bid);
    } else if (cqe->res == -ENOBUFS && (!(c->flags & RC_CF_SHUT) || (c->flags & RC_CF_LINGER))) {
        /* Every buffer is in use this instant: provide more if recv_buffers
         * allows, and re-arm at the end of the turn. */
        if (U.provided < e->nbufs)
            provide_more(e);
        if (!(c->flags & RC_CF_RECV_STARVED)) {
            c->flags |= RC_CF_RECV_STARVED;
            c->next = U.starved;
            U.starved = c;
        }
        return;
    } else if (cqe->res <= 0) {
        rc_conn_on_recv_end(e, c, cqe->res);
        return;
    }
    if (c->flags & (RC_CF_RECV_ARMED | RC_CF_RECV_STARVED))
        return;
    if (!(c->flags & RC_CF_SHUT) || (c->flags & RC_CF_LINGER))
        uring_recv_start(e, c); /* a lingering close reads until the peer's FIN */
    else
        rc_conn_maybe_free(e, c);
}

static void rearm_starved(rc_edge_t *e)
{
    rc_conn_t *list = U.starved;
    U.starved = NULL;
    while (list) {
        rc_conn_t *c = list;
        list = c->next;
        c->flags &= ~RC_CF_RECV_STARVED;
        /* A lingering connection (only its write side shut) still reads and
         * drops its input until the peer closes: freeing it here would
         * close the socket on unread bytes, and the kernel would answer the
         * client with a reset that overtakes our close frame. */
        if ((c->flags & RC_CF_SHUT) && !(c->flags & RC_CF_LINGER))
            rc_conn_maybe_free(e, c);
        else
            uring_recv_start(e, c);
    }
}

static void on_cqe(rc_edge_t *e, const struct io_uring_cqe *cqe)
{
    uint64_t ud = cqe->user_data;
    rc_conn_t *c;
    switch (UD_OP(ud)) {
    case OP_ACCEPT:
        if (cqe->res >= 0)
            rc_conn_on_accept(e, cqe->res);
        else if (!e->draining)
            rc_conn_on_accept_error(e, -cqe->res);
        if (!(cqe->flags & IORING_CQE_F_MORE) && !e->draining)
            arm_accept(e);
        break;
    case OP_RECV:
        c = rc_conn_lookup(e, UD_FD(ud), UD_GEN(ud));
        if (c)
            on_recv(e, c, cqe);
        else if (cqe->flags & IORING_CQE_F_BUFFER)
            buf_return(e, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        break;
    case OP_SEND:
        if ((c = rc_conn_lookup(e, UD_FD(ud), UD_GEN(ud))))
            rc_out_on_send(e, c, cqe->res);
        break;
    case OP_POLLOUT:
        if ((c = rc_conn_lookup(e, UD_FD(ud), UD_GEN(ud))))
            rc_out_on_pollout(e, c, cqe->res < 0 ? cqe->res : 0);
        break;
    case OP_FUTEX:
        e->log_armed = 0;
        e->log_ready = 1;
        RC_SLOT_ADD(e->slot, wakeups, 1);
        break;
    case OP_SIGNAL:
        rc_edge_on_signal(e);
        if (!e->stop)
            arm_signal(e);
        break;
    case OP_TICK:
        rc_wheel_tick(e);
        break;
    case OP_TIMER:
        rc_edge_on_timer(e);
        break;
    }
}

static void uring_submit(rc_edge_t *e) { io_uring_submit(&U.ring); }

static void uring_poll(rc_edge_t *e, int block)
{
    rearm_starved(e);
    if (block)
        io_uring_submit_and_wait(&U.ring, 1);
    else
        io_uring_submit_and_get_events(&U.ring);
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&U.ring, head, cqe) {
        on_cqe(e, cqe);
        n++;
        if (e->turn_msgs >= RC_TURN_MSG_BUDGET)
            break; /* the rest stay in the ring for the next turn */
    }
    io_uring_cq_advance(&U.ring, n);
}

const rc_io_ops_t rc_io_uring_ops = {
    .name = "uring",
    .init = uring_init,
    .fini = uring_fini,
    .start = uring_start,
    .stop_accept = uring_stop_accept,
    .recv_start = uring_recv_start,
    .send = uring_send,
    .wait_writable = uring_wait_writable,
    .tick_arm = uring_tick_arm,
    .timer_arm = uring_timer_arm,
    .log_wait = uring_log_wait,
    .conn_free = uring_conn_free,
    .submit = uring_submit,
    .poll = uring_poll,
};

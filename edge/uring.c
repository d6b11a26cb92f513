/* The edge's io_uring: setup with the fastest flags the kernel has, the
 * provided-buffer ring for receives (so an idle connection holds no receive
 * buffer), and the SQEs the loop arms. */
#include "edge/edge.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "common/textlog.h"
#include "shm/wake.h"

#define RC_BGID 1
/* Not in liburing 2.3's headers; stable kernel ABI since 6.7. */
#define RC_IORING_OP_FUTEX_WAIT 51
#define RC_FUTEX2_SIZE_U32 0x02
#define RC_FUTEX_BITSET_MATCH_ANY 0xffffffffu

static int setup_ring(rc_edge_t *e)
{
    struct io_uring_params p;
    /* DEFER_TASKRUN + SINGLE_ISSUER: completions run only when we enter the
     * kernel to wait, in our thread (the fastest send path measured here: docs/architecture.md);
     * fall back quietly on kernels without them. */
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
        rc = io_uring_queue_init_params(4096, &e->ring, &p);
        if (rc == 0) {
            e->ring_flags = tries[i];
            return 0;
        }
    }
    return rc;
}

static int setup_bufring(rc_edge_t *e)
{
    size_t ring_bytes = (size_t)e->nbufs * sizeof(struct io_uring_buf);
    void *br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (br == MAP_FAILED)
        return -errno;
    e->bufs = mmap(NULL, (size_t)e->nbufs * e->buf_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (e->bufs == MAP_FAILED)
        return -errno;
    e->bufring = br;
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)br;
    reg.ring_entries = e->nbufs;
    reg.bgid = RC_BGID;
    int rc = io_uring_register_buf_ring(&e->ring, &reg, 0);
    if (rc < 0)
        return rc;
    io_uring_buf_ring_init(e->bufring);
    int mask = io_uring_buf_ring_mask(e->nbufs);
    for (unsigned i = 0; i < e->nbufs; i++)
        io_uring_buf_ring_add(e->bufring, e->bufs + (size_t)i * e->buf_size, e->buf_size, (unsigned short)i,
                              mask, (int)i);
    io_uring_buf_ring_advance(e->bufring, (int)e->nbufs);
    return 0;
}

int rc_edge_uring_init(rc_edge_t *e)
{
    int rc = setup_ring(e);
    if (rc < 0) {
        rc_textlog("fatal", "msg=\"io_uring unavailable\" err=\"%s\"", strerror(-rc));
        return rc;
    }
    struct io_uring_probe *probe = io_uring_get_probe_ring(&e->ring);
    int futex_ok = probe && probe->last_op >= RC_IORING_OP_FUTEX_WAIT &&
                   (probe->ops[RC_IORING_OP_FUTEX_WAIT].flags & IO_URING_OP_SUPPORTED);
    int mshot_ok = probe && io_uring_opcode_supported(probe, IORING_OP_RECV);
    io_uring_free_probe(probe);
    if (!futex_ok || !mshot_ok) {
        rc_textlog("fatal", "msg=\"kernel lacks IORING_OP_FUTEX_WAIT (Linux 6.7+), needed to sleep on the log\"");
        return -ENOSYS;
    }
    rc = setup_bufring(e);
    if (rc < 0) {
        rc_textlog("fatal", "msg=\"cannot register the provided buffer ring\" err=\"%s\"", strerror(-rc));
        return rc;
    }
    return 0;
}

struct io_uring_sqe *rc_edge_sqe(rc_edge_t *e)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
    if (!sqe) {
        /* SQ full: hand what we have to the kernel and take a fresh entry. */
        io_uring_submit(&e->ring);
        sqe = io_uring_get_sqe(&e->ring);
    }
    if (!sqe) {
        rc_textlog("fatal", "msg=\"no SQE after submit\"");
        abort();
    }
    return sqe;
}

void rc_edge_arm_accept(rc_edge_t *e)
{
    struct io_uring_sqe *sqe = rc_edge_sqe(e);
    io_uring_prep_multishot_accept(sqe, e->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, RC_UD(RC_OP_ACCEPT, 0, e->listen_fd));
}

void rc_edge_arm_recv(rc_edge_t *e, rc_conn_t *c)
{
    struct io_uring_sqe *sqe = rc_edge_sqe(e);
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = RC_BGID;
    io_uring_sqe_set_data64(sqe, RC_UD(RC_OP_RECV, c->gen, c->fd));
    c->flags |= RC_CF_RECV_ARMED;
}

void rc_edge_arm_futex(rc_edge_t *e)
{
    if (e->futex_armed)
        return;
    uint32_t expect;
    int rc = rc_wake_prepare(&e->log, &e->reader, &expect);
    if (rc == -EPIPE) {
        e->log_retired = 1; /* the broker replaced the region: nothing more comes here */
        return;
    }
    if (rc < 0) {
        e->log_ready = 1; /* records arrived while we were getting ready to sleep */
        return;
    }
    struct io_uring_sqe *sqe = rc_edge_sqe(e);
    memset(sqe, 0, sizeof(*sqe));
    sqe->opcode = RC_IORING_OP_FUTEX_WAIT;
    sqe->fd = RC_FUTEX2_SIZE_U32; /* shared (not FUTEX2_PRIVATE): the word is in shm */
    sqe->addr = (uint64_t)(uintptr_t)&e->log.hdr->wake_word;
    sqe->off = expect;
    sqe->addr3 = RC_FUTEX_BITSET_MATCH_ANY;
    io_uring_sqe_set_data64(sqe, RC_UD(RC_OP_FUTEX, 0, 0));
    e->futex_armed = 1;
}

void rc_edge_arm_signal(rc_edge_t *e)
{
    static struct signalfd_siginfo si; /* one read in flight, ever */
    struct io_uring_sqe *sqe = rc_edge_sqe(e);
    io_uring_prep_read(sqe, e->signal_fd, &si, sizeof(si), 0);
    io_uring_sqe_set_data64(sqe, RC_UD(RC_OP_SIGNAL, 0, e->signal_fd));
}

uint8_t *rc_edge_buf_addr(rc_edge_t *e, unsigned bid)
{
    return e->bufs + (size_t)bid * e->buf_size;
}

void rc_edge_buf_return(rc_edge_t *e, unsigned bid)
{
    io_uring_buf_ring_add(e->bufring, rc_edge_buf_addr(e, bid), e->buf_size, (unsigned short)bid,
                          io_uring_buf_ring_mask(e->nbufs), 0);
    io_uring_buf_ring_advance(e->bufring, 1);
}

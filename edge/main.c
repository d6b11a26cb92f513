/* edge: holds client WebSocket connections and delivers the log to them.
 * One thread, one event loop on io_uring or epoll (edge/edge.h says who
 * owns what, edge/io.h what the backends do). */
#include "edge/edge.h"
#include "edge/auth.h"
#include "edge/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/clock.h"
#include "common/textlog.h"
#include "common/rand.h"
#include "common/signals.h"
#include "proto/close_codes.h"
#include "shm/slots.h"
#include "shm/wake.h"

static int open_log(rc_edge_t *e, const char *instance, uint64_t wait_ms)
{
    struct timespec nap = {0, 50 * 1000000L};
    for (uint64_t waited = 0;; waited += 50) {
        int rc = rc_log_open_reader(&e->log, instance);
        if (rc == 0)
            return 0;
        if ((rc != -ENOENT && rc != -EPROTO) || waited >= wait_ms) {
            uint32_t layout;
            if (rc == -EPROTO && rc_log_peek_layout(instance, &layout) == 0 && layout != RC_SHM_LAYOUT)
                rc_textlog("fatal", "msg=\"the shm log has another layout version: start this edge with the "
                                    "broker of its build\" instance=%s layout=%u ours=%u", instance, layout,
                           RC_SHM_LAYOUT);
            else
                rc_textlog("fatal", "msg=\"no usable shm log; is the broker running?\" instance=%s err=\"%s\"",
                           instance, strerror(-rc));
            return rc;
        }
        nanosleep(&nap, NULL);
    }
}

static int listen_on(const char *host, uint64_t port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai;
    char ports[16];
    snprintf(ports, sizeof(ports), "%llu", (unsigned long long)port);
    int rc = getaddrinfo(host, ports, &hints, &ai);
    if (rc) {
        rc_textlog("fatal", "msg=\"bad edge_host\" host=%s err=\"%s\"", host, gai_strerror(rc));
        return -EINVAL;
    }
    /* non-blocking: the out-of-descriptors path accepts on it directly */
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0) {
        rc = -errno;
        rc_textlog("fatal", "msg=\"cannot listen\" host=%s port=%llu err=\"%s\"", host, (unsigned long long)port,
                strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    return fd;
}

static int load_limits(rc_edge_t *e)
{
    uint64_t nbufs, bsize;
    const rc_config_t *c = &e->cfg;
    if (rc_cfg_u64(c, "max_connections", &e->max_connections) || rc_cfg_u64(c, "max_message", &e->max_message) ||
        rc_cfg_u64(c, "max_channels", &e->max_channels) || rc_cfg_u64(c, "out_queue_max", &e->out_queue_max) ||
        rc_cfg_u64(c, "idle_timeout_ms", &e->idle_timeout_ms) ||
        rc_cfg_u64(c, "handshake_timeout_ms", &e->handshake_timeout_ms) || rc_cfg_u64(c, "recv_buffers", &nbufs) ||
        rc_cfg_u64(c, "drain_ms", &e->drain_ms) || rc_cfg_u64(c, "max_replay", &e->max_replay) ||
        rc_cfg_u64(c, "history_max_bytes", &e->history_max_bytes) ||
        rc_cfg_u64(c, "recv_buffer_size", &bsize))
        return -EINVAL;
    if (nbufs < 8 || nbufs > 32768 || (nbufs & (nbufs - 1)) || bsize < 256 || bsize > (1u << 20)) {
        fprintf(stderr, "recv_buffers must be a power of two in 8..32768, recv_buffer_size in 256..1M\n");
        return -EINVAL;
    }
    if (e->max_message > (1u << 30)) {
        fprintf(stderr, "max_message must be <= 1G\n");
        return -EINVAL;
    }
    /* A connection's subscription count and array capacity are 16 bits;
     * the array doubles, so 32768 is the most it can reach. */
    if (e->max_channels > RC_MAX_CHANNELS_CAP) {
        fprintf(stderr, "max_channels must be at most %u (got %llu)\n", RC_MAX_CHANNELS_CAP,
                (unsigned long long)e->max_channels);
        return -EINVAL;
    }
    /* A history reply is one message on the connection's out-queue: it must
     * never be what trips the slow-consumer limit. */
    if (e->history_max_bytes < 1024) {
        fprintf(stderr, "history_max_bytes must be at least 1K\n");
        return -EINVAL;
    }
    if (e->history_max_bytes > e->out_queue_max / 4) {
        e->history_max_bytes = e->out_queue_max / 4 < 1024 ? 1024 : e->out_queue_max / 4;
        rc_textlog("info", "msg=\"history_max_bytes lowered to a quarter of out_queue_max\" history_max_bytes=%llu",
                   (unsigned long long)e->history_max_bytes);
    }
    if (e->max_replay > (1u << 24)) {
        fprintf(stderr, "max_replay must be at most 16M\n");
        return -EINVAL;
    }
    e->nbufs = (uint32_t)nbufs;
    e->buf_size = (uint32_t)bsize;
    e->ws_path = rc_cfg_str(c, "ws_path");
    e->check_origin = rc_cfg_str(c, "check_origin");
    return 0;
}

/* Batches closer together than this go in one wake-up. */
#define RC_TIMER_MIN_MS 20
/* The longest the timer sleeps while something is scheduled, so a schedule
 * that starts while the timer is armed for later waits at most this long
 * (the backends have one timer and no cheap way to move it earlier). */
#define RC_TIMER_MAX_MS 1000

static void timer_arm(rc_edge_t *e, uint64_t ms)
{
    if (ms < RC_TIMER_MIN_MS)
        ms = RC_TIMER_MIN_MS;
    if (ms > RC_TIMER_MAX_MS)
        ms = RC_TIMER_MAX_MS;
    e->timer_armed = 1;
    e->io->timer_arm(e, ms);
}

void rc_edge_timer_soon(rc_edge_t *e, uint64_t ms)
{
    if (!e->timer_armed)
        timer_arm(e, ms);
}

void rc_edge_on_timer(rc_edge_t *e)
{
    e->timer_armed = 0;
    uint64_t d = rc_drain_on_timer(e);
    uint64_t l = rc_lost_on_timer(e);
    if (l < d)
        d = l;
    if (d != UINT64_MAX && !e->stop)
        timer_arm(e, d);
}

void rc_edge_on_signal(rc_edge_t *e)
{
    if (e->draining)
        rc_drain_now(e);
    else
        rc_drain_start(e);
}

/* Sleeps on the log unless records are waiting or a wait is in flight. */
static void arm_log_wait(rc_edge_t *e)
{
    if (e->log_armed)
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
    e->log_armed = 1;
    e->io->log_wait(e, expect);
}

/* A region unlinked out of band and created again (by hand, or a broker
 * told to remove it) is never retired: the old mapping just stops getting
 * records. Whether the name still names our file is one stat, made with the
 * liveness store, so at most once a second and only while the loop runs
 * (with a connection open it runs at least once a second: its deadline's
 * tick), nothing while the edge is idle. */
static void check_region(rc_edge_t *e)
{
    int r = rc_log_replaced(&e->log);
    if (r == 1) {
        rc_textlog("warn", "msg=\"the log region was unlinked and created again: draining; the supervisor restarts "
                           "this edge on the new region\" region=/dev/shm%s", e->log.name);
        e->log_retired = 1;
    } else if (r == -ENOENT) {
        static rc_textlog_limit_t lim;
        if (rc_textlog_allow(&lim, 1))
            rc_textlog("warn", "msg=\"the log region was unlinked: serving from it while its writer lives\" "
                               "region=/dev/shm%s suppressed=%lu", e->log.name, lim.suppressed);
    }
}

/* Liveness for the broker: at most one store a second, only when the loop
 * runs (an edge with nothing to do sleeps; its pid says it lives). */
static void mark_alive(rc_edge_t *e)
{
    uint64_t now = rc_clock_mono_coarse_ns();
    if (now - RC_SLOT_GET(e->slot, alive_mono_ns) >= 1000000000ull) {
        RC_SLOT_SET(e->slot, alive_mono_ns, now);
        if (!e->log_retired)
            check_region(e);
    }
}

/* Sends handed to the kernel per loop turn: past it the turn ends and
 * completions (receives, heartbeats, other sends) are handled before the
 * rest of a hot topic's fan-out goes out. */
#define RC_FLUSH_BUDGET 2048

static void run(rc_edge_t *e)
{
    while (!e->stop) {
        mark_alive(e);
        /* Records may be waiting while the log's wait is still in flight (a
         * turn cut short by its message budget): one load of tail says. */
        if (!e->log_ready && atomic_load_explicit(&e->log.hdr->tail, memory_order_acquire) != e->reader.pos)
            e->log_ready = 1;
        int busy = e->turn_msgs >= RC_TURN_MSG_BUDGET;
        e->turn_msgs = 0;
        if (e->log_ready)
            rc_fanout_drain(e);
        rc_auth_check_kicks(e); /* one load when nobody was kicked */
        int more = rc_replay_turn(e);
        more |= rc_out_flush_some(e, RC_FLUSH_BUDGET);
        rc_mem_enforce(e);
        rc_conn_free_pending(e);
        if (e->draining && e->nconns == 0)
            break;
        if (!e->log_ready)
            arm_log_wait(e); /* sets log_ready if records slipped in */
        if (e->log_retired && !e->draining) {
            rc_textlog("warn", "msg=\"the log region was replaced by a new one: draining; the supervisor restarts "
                               "this edge on the new region\"");
            rc_drain_start(e);
            continue;
        }
        e->io->poll(e, !e->log_ready && !more && !busy);
    }
}

/* max_connections should mean what it says: the soft descriptor limit is
 * often 1024 while the hard one is far higher, and only root could raise
 * the hard one, so take all of it. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
        return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        rc_textlog("warn", "msg=\"could not raise the descriptor limit\" soft=%llu hard=%llu err=\"%s\"",
                   (unsigned long long)was, (unsigned long long)rl.rlim_max, strerror(errno));
    else
        rc_textlog("info", "msg=\"descriptor limit raised to the hard limit\" was=%llu now=%llu",
                   (unsigned long long)was, (unsigned long long)rl.rlim_max);
}

/* One edge per process. main frees what edge_main leaves, on every path
 * out of it. */
static rc_edge_t edge;

static int edge_main(rc_edge_t *e, int argc, char **argv)
{
    int rc = rc_config_parse(&e->cfg, RC_OPT_EDGE, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    rc_rand_init();
    uint64_t port, wait_ms;
    if (load_limits(e) || rc_admit_init(e) || rc_auth_init(e) || rc_cfg_u64(&e->cfg, "edge_port", &port) ||
        rc_cfg_u64(&e->cfg, "shm_wait_ms", &wait_ms))
        return 2;
    const char *instance = rc_cfg_str(&e->cfg, "instance");
    if (open_log(e, instance, wait_ms) < 0)
        return 1;
    e->slot_idx = rc_slot_claim(&e->log, getpid());
    if (e->slot_idx < 0) {
        rc_textlog("fatal", "msg=\"no free edge slot in the log (64 edges at most)\"");
        return 1;
    }
    e->slot = &e->log.slots[e->slot_idx];

    raise_fd_limit();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    e->by_fd_cap = rl.rlim_cur > 1u << 20 ? 1u << 20 : (uint32_t)rl.rlim_cur;
    /* Connections beyond what the descriptor limit leaves room for would
     * fail at accept; refuse them with 503 at max_connections instead. */
    if (e->max_connections + RC_FD_RESERVE > e->by_fd_cap) {
        uint64_t fit = e->by_fd_cap > RC_FD_RESERVE ? e->by_fd_cap - RC_FD_RESERVE : 1;
        rc_textlog("warn", "msg=\"max_connections lowered to fit the descriptor limit\" max_connections=%llu limit=%u now=%llu",
                (unsigned long long)e->max_connections, e->by_fd_cap, (unsigned long long)fit);
        e->max_connections = fit;
    }
    e->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    e->by_fd = rc_xcalloc(e->by_fd_cap, sizeof(*e->by_fd));
    rc_topics_init(&e->topics, e->log.hdr->topic_key);

    e->signal_fd = rc_signals_stop_fd(SFD_CLOEXEC);

    /* Failing from here on, give the slot back: a dead holder would keep it
     * (and /healthz degraded) until another edge takes it over. */
    e->listen_fd = listen_on(rc_cfg_str(&e->cfg, "edge_host"), port);
    if (e->listen_fd < 0 || rc_io_select(e, rc_cfg_str(&e->cfg, "io_backend")) < 0) {
        rc_slot_release(&e->log, e->slot_idx, getpid());
        return 1;
    }
    rc_log_reader_at_tail(&e->log, &e->reader);
    RC_SLOT_SET(e->slot, cursor_pos, e->reader.pos);
    RC_SLOT_SET(e->slot, cursor_seq, rc_log_next_seq(&e->log));
    e->io->start(e);
    rc_textlog("info", "msg=\"edge listening\" url=ws://%s:%llu%s slot=%d io_backend=%s",
               rc_cfg_str(&e->cfg, "edge_host"), (unsigned long long)port, e->ws_path, e->slot_idx, e->io->name);
    run(e);

    rc_textlog("info", "msg=\"edge stopped\" connections_left=%llu", (unsigned long long)e->nconns);
    rc_slot_release(&e->log, e->slot_idx, getpid());
    e->io->fini(e);
    rc_log_close(&e->log);
    return 0;
}

int main(int argc, char **argv)
{
    rc_textlog_set_component("edge");
    int status = edge_main(&edge, argc, argv);
    rc_replay_free_all(&edge); /* before the topics its replays name */
    rc_auth_free(&edge);
    rc_topics_free(&edge.topics);
    rc_drain_free(&edge);
    rc_lost_free(&edge);
    rc_admit_free(&edge);
    free(edge.by_fd);
    rc_config_free(&edge.cfg);
    return status;
}

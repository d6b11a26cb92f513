/* The edge's I/O backends: how accepts, receives, sends, timers and the
 * log's wake-up are submitted and how their completions come back. Two
 * implementations: io_uring (edge/io_uring.c, the fast path) and libevent
 * on epoll (edge/io_epoll.c, for where io_uring_setup is refused: Docker's
 * and containerd's default seccomp profiles, kernel.io_uring_disabled).
 * Everything above this line — connections, channels, out-queues, the
 * timer wheel, fan-out, drain — is shared and knows neither.
 *
 * Every operation completes later, never inside the call that submits it,
 * through the shared handlers named below, in the loop thread, from
 * rc_io_ops_t.poll. So on both backends a connection has at most one send
 * in flight, is never freed inside its own completion, and sees its
 * completions in the order they happened.
 *
 * Ownership: the backend's state is its own (e->io_state), created by init
 * and freed by fini. A connection's backend resources are released by
 * conn_free, called just before its descriptor is closed. */
#ifndef RC_EDGE_IO_H
#define RC_EDGE_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct rc_edge;
struct rc_conn;

typedef struct rc_io_ops {
    const char *name; /* "uring" or "epoll": logs, /healthz, status */

    /* Sets the backend up for e (its listening socket, signal fd and limits
     * are ready). Returns 0, or a negative errno with a one-line reason in
     * why (for `auto`, which then tries the other backend). */
    int (*init)(struct rc_edge *e, char *why, size_t cap);
    void (*fini)(struct rc_edge *e);

    /* Starts accepting on e->listen_fd (each connection: rc_conn_on_accept,
     * each failure: rc_conn_on_accept_error) and reading the signal fd
     * (rc_edge_on_signal). */
    void (*start)(struct rc_edge *e);
    /* Stops accepting for good (drain): no accept completes after it. */
    void (*stop_accept)(struct rc_edge *e);

    /* Receives on c until end of stream: bytes go to rc_conn_on_data, the
     * end (0, or a negative errno) to rc_conn_on_recv_end. RC_CF_RECV_ARMED
     * is set while a receive may still complete. */
    void (*recv_start)(struct rc_edge *e, struct rc_conn *c);

    /* Sends msg (its iovecs stay valid until the completion) on c without
     * blocking; the result (bytes taken, or -EAGAIN, or a negative errno)
     * goes to rc_out_on_send. One at a time per connection. */
    void (*send)(struct rc_edge *e, struct rc_conn *c, struct msghdr *msg);
    /* Waits until c's socket takes bytes again: rc_out_on_pollout. */
    void (*wait_writable)(struct rc_edge *e, struct rc_conn *c);

    /* One-shot timers: the wheel's tick after 1 s (rc_wheel_tick) and the
     * edge's timer after ms (rc_edge_on_timer: drain and lapped closes). One
     * of each at a time. */
    void (*tick_arm)(struct rc_edge *e);
    void (*timer_arm)(struct rc_edge *e, uint64_t ms);

    /* Sleeps on the log's futex word while it equals expect (after
     * rc_wake_prepare said so); when it changes, sets e->log_ready and
     * clears e->log_armed. */
    void (*log_wait)(struct rc_edge *e, uint32_t expect);

    /* c is being freed: nothing of it may complete afterwards. */
    void (*conn_free)(struct rc_edge *e, struct rc_conn *c);

    /* Hands what was submitted to the kernel now, without waiting and
     * without dispatching completions (safe inside a completion handler). */
    void (*submit)(struct rc_edge *e);

    /* One turn of the loop's I/O: hands what was submitted to the kernel,
     * waits for at least one completion if block, and dispatches every
     * completion that is ready. */
    void (*poll)(struct rc_edge *e, int block);
} rc_io_ops_t;

extern const rc_io_ops_t rc_io_uring_ops;
extern const rc_io_ops_t rc_io_epoll_ops;

/* Chooses and sets up e->io for io_backend ("auto", "uring" or "epoll"):
 * auto takes io_uring when the ring and every feature the edge uses work,
 * else epoll, and logs one line saying which and why. Returns 0, or a
 * negative errno after logging why the edge cannot start. */
int rc_io_select(struct rc_edge *e, const char *io_backend);

#endif

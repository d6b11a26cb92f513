/* The edge: one event loop, one thread, owning its client sockets. The
 * loop's I/O goes through one of two backends (edge/io.h): io_uring, or
 * libevent on epoll where io_uring is refused.
 *
 * Ownership and lifetime:
 *  - rc_edge_t lives for the process; everything below belongs to its loop
 *    thread and is never touched from another thread.
 *  - A connection (rc_conn_t) is allocated at accept and freed at the end of
 *    the loop turn in which its last in-flight operation completed (never
 *    inside the completion that closes it, as Redis does).
 *  - Bytes in a connection's out-queue are either log positions (frames in
 *    shm, never copied) or heap buffers the out-queue owns (replies,
 *    handshake answers, the unsent rest of a short send).
 *  - Nothing in the loop blocks. */
#ifndef RC_EDGE_EDGE_H
#define RC_EDGE_EDGE_H

#include <stdint.h>
#include <sys/uio.h>

#include "common/cidr.h"
#include "common/config.h"
#include "edge/io.h"
#include "edge/timers.h"
#include "edge/topics.h"
#include "proto/jwt.h"
#include "proto/limits.h"
#include "proto/phx.h"
#include "proto/slice.h"
#include "proto/ws_reader.h"
#include "shm/log.h"

enum rc_conn_state { RC_CONN_HANDSHAKE = 1, RC_CONN_OPEN, RC_CONN_CLOSING };

enum rc_conn_flag {
    RC_CF_SEND_INFLIGHT = 1 << 0, /* a send or a wait for writability is in flight */
    RC_CF_RECV_ARMED = 1 << 1,    /* a receive may still complete */
    RC_CF_PHOENIX_PROTO = 1 << 2, /* answered Sec-WebSocket-Protocol: phoenix */
    RC_CF_DIRTY = 1 << 3,         /* on the edge's flush list */
    RC_CF_SHUT = 1 << 4,          /* shutdown(2) done; waiting for ops to end */
    RC_CF_CLOSE_AFTER_SEND = 1 << 5,
    RC_CF_RECV_STARVED = 1 << 6,  /* receive ended for lack of buffers (io_uring) */
    RC_CF_FREE = 1 << 7,          /* on the free list */
    RC_CF_PROXY_HDR = 1 << 8,     /* from a trusted proxy: a PROXY header comes first */
    RC_CF_LOST = 1 << 9,          /* may have missed events (the reader was lapped): 4009 is scheduled */
    RC_CF_LINGER = 1 << 10,       /* only the write side is shut: input is read and dropped until the peer closes */
    RC_CF_USER_COUNTED = 1 << 11, /* counted in the region's connections per user (max_conns_per_user) */
};

typedef struct rc_sub {
    rc_topic_t *topic;
    uint32_t pos;        /* index in topic->subs */
    uint8_t jr_len;
    char jr[RC_REF_MAX];
} rc_sub_t;

typedef struct rc_outq rc_outq_t;
typedef struct rc_inbuf {
    uint32_t len, cap;
    uint8_t data[];
} rc_inbuf_t;

/* Client frames one loop turn handles before the backend stops taking
 * completions until the next turn: fan-out, sends and timers run in
 * between, so a burst of joins from many clients cannot hold the loop. */
#define RC_TURN_MSG_BUDGET 256

/* The highest max_channels: rc_conn_t's nsubs and subcap are 16 bits. */
#define RC_MAX_CHANNELS_CAP 32768u

typedef struct rc_ip_entry rc_ip_entry_t;
typedef struct rc_replays rc_replays_t;
typedef struct rc_grant rc_grant_t;

typedef struct rc_conn {
    int fd;
    uint32_t gen;
    uint8_t state;
    uint8_t on_wheel;
    uint16_t flags;        /* rc_conn_flag */
    uint16_t nsubs;
    uint16_t subcap;
    uint16_t close_code;   /* close code queued, 0 if none */
    uint16_t tw_slot;      /* timing wheel slot while on_wheel */
    uint32_t last_rx_s;    /* monotonic seconds: accept (until the upgrade), last byte received, or close start */
    uint32_t msg_tokens;   /* client_msg_rate bucket, in thousandths of a message */
    uint32_t msg_at_ms;    /* its last refill, monotonic ms (low 32 bits) */
    uint32_t exp_s;        /* auth = jwt: monotonic second it is closed with 4001: its token's expiry, or a
                            * random moment before it when it does not refresh in-band; 0 when auth is off */
    uint32_t token_exp_s;  /* auth = jwt: monotonic second its token expires */
    rc_ws_reader_t wsr;
    rc_ip_entry_t *ip;     /* its address's max_conns_per_ip count; NULL when not counted */
    rc_sub_t *subs;        /* NULL until the first join */
    rc_inbuf_t *in;        /* partial input; NULL when nothing is pending */
    rc_inbuf_t *msg;       /* fragments of a message in progress; usually NULL */
    rc_outq_t *outq;       /* NULL while the socket keeps up */
    rc_grant_t *grant;     /* auth = jwt: the token's claims, shared (edge/auth.h); NULL when auth is off */
    struct rc_conn *next;  /* starved list or free list */
    struct rc_conn *dirty_next; /* flush list */
    struct rc_conn *tw_prev, *tw_next; /* timing wheel slot list */
} rc_conn_t;

/* A connection to close during a drain, at at_ms after the drain started
 * (edge/drain.c). fd + gen name it; it may be gone by then. */
typedef struct rc_drain_item {
    uint64_t at_ms;
    int fd;
    uint32_t gen;
} rc_drain_item_t;

typedef struct rc_drain {
    rc_drain_item_t *items; /* sorted by at_ms; owned, freed by rc_drain_free */
    uint32_t n, next;       /* items, and the first not yet closed */
    uint64_t start_ms, deadline_ms; /* CLOCK_MONOTONIC */
} rc_drain_t;

/* Connections to close with 4009 because the reader was lapped (edge/lost.c),
 * at times drawn over lapped_close_ms; the same item type as the drain's. */
typedef struct rc_lost {
    rc_drain_item_t *items; /* sorted by at_ms from start_ms; owned */
    uint32_t n, next, cap;
    uint64_t start_ms;
} rc_lost_t;

/* Connections per client address (edge/admit.c): a chained table keyed by
 * SipHash under a random key, so addresses cannot be chosen to collide. */
typedef struct rc_ip_table {
    uint8_t key[16];
    rc_ip_entry_t **buckets;
    size_t nbuckets, count; /* nbuckets a power of two (0 until first use) */
} rc_ip_table_t;

typedef struct rc_edge {
    rc_config_t cfg;
    const rc_io_ops_t *io; /* the I/O backend (edge/io.h) */
    void *io_state;        /* its state, owned by it */
    rc_log_t log;
    rc_log_reader_t reader;
    rc_shm_slot_t *slot;
    int slot_idx;
    int listen_fd;
    int spare_fd;          /* held open to be closed when descriptors run out (rc_conn_on_accept_error) */
    int signal_fd;
    uint32_t next_gen;
    rc_conn_t **by_fd;     /* fd -> connection */
    uint32_t by_fd_cap;
    uint64_t nconns;
    rc_topics_t topics;
    rc_conn_t *dirty;      /* connections with output to flush this turn */
    rc_conn_t *to_free;    /* connections to free at the end of the turn */
    uint32_t nbufs, buf_size; /* receive buffers: how many (io_uring's ring), bytes of each */
    int log_armed;         /* a wait on the log's futex word is in flight */
    int log_ready;         /* the futex fired or may have: read the log */
    int draining;
    int log_retired;       /* the region was replaced (rc_wake_retire): drain, the supervisor restarts us */
    int stop;
    rc_drain_t drain;
    uint64_t drain_ms;     /* drain window */
    rc_conn_t *wheel[RC_WHEEL_SLOTS];
    uint32_t wheel_now;
    uint64_t wheel_count;
    int wheel_armed;
    int timer_armed;       /* the backend's one-shot timer is in flight */
    uint32_t turn_msgs;    /* client frames handled this loop turn */
    rc_lost_t lost;
    rc_replays_t *replays; /* resumes in progress (edge/replay.c); NULL until the first */
    /* auth = jwt (edge/auth.c) */
    int auth_on;
    rc_jwt_keys_t jwt_keys;
    rc_jwt_policy_t jwt_pol;
    uint64_t revoke_seen;   /* the region's revoke_gen when kicks were last applied */
    uint64_t max_conns_per_user; /* per machine, over every edge (shm/user_conns.h); 0: no limit */
    double refresh_lo, refresh_hi; /* jwt_refresh_window: fractions of the remaining lifetime */
    uint8_t grant_key[16];  /* SipHash key of the grant table */
    rc_grant_t **grants;
    size_t grants_nb, grants_count;
    /* limits */
    uint64_t max_connections, max_message, max_channels, out_queue_max;
    uint64_t idle_timeout_ms, handshake_timeout_ms;
    uint64_t edge_memory_max, max_conns_per_ip, accept_rate, client_msg_rate, lapped_close_ms;
    uint64_t max_replay, history_max_bytes;
    rc_cidr_list_t trusted_proxies;
    rc_ip_table_t ips;
    double accept_tokens;  /* accept_rate bucket */
    uint64_t accept_at_ms;
    uint64_t mem;          /* bytes connections hold (edge/memory.c) */
    uint64_t mem_published;
    const char *ws_path;
    const char *check_origin;
} rc_edge_t;

/* main.c: a stop signal arrived (SIGTERM/SIGINT): drain, or stop now if
 * already draining. */
void rc_edge_on_signal(rc_edge_t *e);

/* accept.c: a new connection on fd, admitted or refused with 503. */
void rc_conn_on_accept(rc_edge_t *e, int fd);
/* Descriptors the edge keeps for itself (ring, shm, signals, logs, the
 * spare) below the process limit: max_connections is lowered to fit. */
#define RC_FD_RESERVE 32u
/* accept failed with errno err. Out of descriptors (EMFILE/ENFILE), the
 * spare descriptor is given up to accept one waiting client and answer it
 * 503, so a full edge refuses cleanly instead of leaving clients hanging. */
void rc_conn_on_accept_error(rc_edge_t *e, int err);

/* recv.c: bytes received on c (the caller's buffer, which may be changed:
 * payloads are unmasked in place). */
void rc_conn_on_data(rc_edge_t *e, rc_conn_t *c, uint8_t *data, size_t n);
/* recv.c: c's receive ended (res 0: the peer closed its side; < 0: an
 * error, or our shutdown). The backend cleared RC_CF_RECV_ARMED. */
void rc_conn_on_recv_end(rc_edge_t *e, rc_conn_t *c, int res);

/* conn.c */
/* Queues a close frame with code (a WebSocket) or aborts (before the
 * upgrade, or code 0); c is freed once nothing is in flight. */
void rc_conn_close(rc_edge_t *e, rc_conn_t *c, uint16_t code);
/* Marks c closing and starts its grace period on the timing wheel. */
void rc_conn_set_closing(rc_edge_t *e, rc_conn_t *c);
/* Drops what is unsent and shuts the socket down at once. */
void rc_conn_abort(rc_edge_t *e, rc_conn_t *c);
/* Queues c to be freed at the end of the turn if nothing is in flight. */
void rc_conn_maybe_free(rc_edge_t *e, rc_conn_t *c);
/* End of a loop turn: frees the connections queued by rc_conn_maybe_free. */
void rc_conn_free_pending(rc_edge_t *e);
/* The connection on fd if it is still the one of generation gen (24 bits),
 * else NULL (gone, or its fd was reused). */
rc_conn_t *rc_conn_lookup(rc_edge_t *e, int fd, uint32_t gen);

/* handshake.c: returns bytes consumed (> 0), 0 if more are needed, < 0 if
 * the connection was refused (and is closing). */
int rc_handshake_feed(rc_edge_t *e, rc_conn_t *c, const uint8_t *buf, size_t len, size_t prev_len);
/* Answers 503 with a jittered Retry-After and closes; returns -1. */
int rc_handshake_refuse_busy(rc_edge_t *e, rc_conn_t *c, const char *why);
/* admit.c: the same answer on a socket that has no connection yet; closes fd. */
void rc_refuse_fd(rc_edge_t *e, int fd, const char *why);
/* The log line of a 503 (rate limited, shared by every reason). */
void rc_admit_log_refusal(const char *what);

/* channel.c: one complete client message. */
void rc_channel_on_message(rc_edge_t *e, rc_conn_t *c, uint8_t opcode, const uint8_t *data, size_t len);
void rc_channel_unsubscribe_all(rc_edge_t *e, rc_conn_t *c);
/* A reply, a server push on subscription s, and the end of subscription
 * idx (removed, then phx_close so the client does not rejoin it). */
void rc_channel_reply(rc_edge_t *e, rc_conn_t *c, rc_slice_t jr, rc_slice_t ref, rc_slice_t topic, const char *status,
                      rc_slice_t response);
void rc_channel_push(rc_edge_t *e, rc_conn_t *c, const rc_sub_t *s, const char *event, rc_slice_t payload);
void rc_channel_close_sub(rc_edge_t *e, rc_conn_t *c, int idx);

/* outq.c */
void rc_out_bytes(rc_edge_t *e, rc_conn_t *c, const void *data, size_t len);
void rc_out_frame(rc_edge_t *e, rc_conn_t *c, uint8_t opcode, const void *payload, size_t len);
void rc_out_log(rc_edge_t *e, rc_conn_t *c, const rc_log_view_t *v);
void rc_out_flush(rc_edge_t *e);
void rc_out_on_send(rc_edge_t *e, rc_conn_t *c, int res);
void rc_out_on_pollout(rc_edge_t *e, rc_conn_t *c, int res);
void rc_out_free(rc_edge_t *e, rc_conn_t *c);
void rc_out_drop_unsent(rc_edge_t *e, rc_conn_t *c);
uint64_t rc_out_queued(const rc_conn_t *c);
/* Bytes of edge memory c's out-queue holds: owned buffers, items, the queue. */
uint64_t rc_out_mem(const rc_conn_t *c);
/* Sends for at most budget dirty connections; the rest wait for the next
 * turn, so a hot topic's fan-out lets completions and receives in between.
 * Returns 1 if some are left. */
int rc_out_flush_some(rc_edge_t *e, uint32_t budget);

/* drain.c: SIGTERM handling. rc_drain_start stops accepting and schedules
 * each connection's 1012 close at a random time in the drain window;
 * rc_drain_on_timer (on RC_OP_TIMER) closes those due and re-arms the timer
 * or, past the hard deadline, stops the loop; rc_drain_now (second signal)
 * closes the rest at once and stops the loop. None of them blocks. */
void rc_drain_start(rc_edge_t *e);
/* Returns ms until it wants to run again, or UINT64_MAX. */
uint64_t rc_drain_on_timer(rc_edge_t *e);
void rc_drain_now(rc_edge_t *e);
void rc_drain_free(rc_edge_t *e);

/* fanout.c */
void rc_fanout_drain(rc_edge_t *e);

/* history.c: a `history` push on a joined topic (docs/protocol.md). */
void rc_history_on_push(rc_edge_t *e, rc_conn_t *c, const rc_phx_msg_t *m, const rc_topic_t *topic);

/* main.c: the backend's one-shot timer fired (drain and lapped closes). */
void rc_edge_on_timer(rc_edge_t *e);
/* Makes sure the timer runs within ms (for a schedule that just started). */
void rc_edge_timer_soon(rc_edge_t *e, uint64_t ms);

/* lost.c: the reader was lapped: every subscribed connection gets no more
 * events and is closed with 4009 at a random time within lapped_close_ms. */
void rc_lost_start(rc_edge_t *e);
/* Closes those due; returns ms until the next, or UINT64_MAX. */
uint64_t rc_lost_on_timer(rc_edge_t *e);
void rc_lost_free(rc_edge_t *e);

/* admit.c: admission (accept_rate, max_conns_per_ip, trusted proxies). */
int rc_admit_init(rc_edge_t *e);
void rc_admit_free(rc_edge_t *e);
/* At accept, before a connection exists: 0 admitted, else the fd was
 * answered 503 and closed. Sets *proxied when the peer is a trusted proxy,
 * and *ip to the address's count entry (taken) when counted. */
int rc_admit_accept(rc_edge_t *e, int fd, int *proxied, rc_ip_entry_t **ip);
/* A trusted proxy's header in buf: bytes consumed (> 0), 0 for more, < 0
 * when c was closed (malformed: counted, aborted; over max_conns_per_ip:
 * 503). */
int rc_admit_proxy_header(rc_edge_t *e, rc_conn_t *c, const uint8_t *buf, size_t len);
/* Gives back c's address count. */
void rc_admit_release(rc_edge_t *e, rc_conn_t *c);
/* One client frame: 0 within client_msg_rate, -1 when c was closed (1008). */
int rc_admit_msg(rc_edge_t *e, rc_conn_t *c);
/* At the upgrade: c's message bucket starts full. */
void rc_admit_msg_init(rc_edge_t *e, rc_conn_t *c);

/* memory.c: the edge_memory_max budget. */
/* A connection's bytes changed by delta (allocations of its buffers). */
static inline void rc_mem_add(rc_edge_t *e, int64_t delta) { e->mem += (uint64_t)delta; }
/* Bytes c holds: partial input, fragments, out-queue. */
uint64_t rc_conn_mem(const rc_conn_t *c);
/* Once a turn: over edge_memory_max, closes the connections holding the
 * most until under 90% of it; publishes the gauge. */
void rc_mem_enforce(rc_edge_t *e);
/* Closes c for the memory budget (4008 or 1008 by what it holds), counted;
 * its input buffers are left to the caller (a parse may be reading them). */
void rc_mem_shed(rc_edge_t *e, rc_conn_t *c);
/* Frees c's input buffers (c->in, c->msg), accounted. */
void rc_conn_free_input(rc_edge_t *e, rc_conn_t *c);

#endif

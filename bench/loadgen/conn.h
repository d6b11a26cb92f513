/* One WebSocket client connection of the loadgen: non-blocking connect from
 * a chosen source address, the RFC 6455 client handshake (random key,
 * Sec-WebSocket-Accept checked), unmasked server frames parsed, masked
 * client frames sent; in phoenix mode a channel join, heartbeats and their
 * replies; in both modes every text message scanned for "ts" and "n" to
 * record latency and sequence faults.
 *
 * States:  IDLE -> CONNECTING -> HANDSHAKE -> OPEN --(phoenix)--> JOINING
 *          -> JOINED; any state -> CLOSED (or WAIT_RETRY with --reconnect,
 *          which goes back to CONNECTING on the Phoenix client's backoff).
 *
 * Ownership: the caller owns the array of rc_lg_conn_t and the context;
 * a connection owns its socket and its three small heap buffers (bytes
 * carried over between reads, unsent bytes, a fragmented message), which
 * exist only while needed and are freed by rc_lg_conn_close. Nothing here
 * blocks: sockets are non-blocking and every call does a bounded amount of
 * work (one read per readiness event). */
#ifndef RC_LG_CONN_H
#define RC_LG_CONN_H

#include <netinet/in.h>
#include <stdint.h>
#include <time.h>

#include "bench/loadgen/hist.h"
#include "bench/loadgen/scan.h"

enum rc_lg_mode { RC_LG_PHOENIX = 1, RC_LG_RAW, RC_LG_PUBLISH };

/* Client options, filled by main.c from the command line. */
typedef struct rc_lg_opts {
    int mode;
    const char *host;
    int port;
    struct sockaddr_in dst;
    const char *path;          /* "%d" is replaced by the topic index */
    uint32_t connections;
    double rate;               /* connects per second; 0 = as fast as possible */
    uint32_t topics;
    const char *topic_prefix;
    uint32_t heartbeat_ms;     /* 0 = no heartbeats */
    double duration_s;
    uint32_t src_ips;          /* 0 = let the kernel choose */
    uint32_t first_index;      /* index of this process's first connection */
    uint64_t expect_events;    /* per topic; 0 = not given */
    const char *expect_from;   /* publisher JSON giving per-topic counts, read at the end */
    int reconnect;             /* reconnect on the Phoenix backoff after a close */
    uint32_t max_frame;        /* largest message accepted (1009 otherwise) */
    const char *join_params;   /* file: line t is the join payload of topic t (a resume's since) */
    const char *paths;         /* file: line i is the request path of connection i (mod lines), instead of path */
} rc_lg_opts_t;

#define RC_LG_CLOSE_SLOTS 16

typedef struct rc_lg_close_count {
    uint16_t code;
    uint64_t count;
} rc_lg_close_count_t;

/* Totals over all connections of the process, updated as events happen. */
typedef struct rc_lg_stats {
    uint64_t attempted, established, failed_connect, failed_handshake, failed_timeout;
    uint64_t open_now, joined_now;
    uint64_t open_at_end, joined_at_end; /* snapshot when the duration is over */
    uint64_t joins_ok, joins_failed, join_timeouts;
    uint64_t frames, events, bytes, other_messages, pings;
    uint64_t missing, duplicated, out_of_order, late_beyond_window;
    uint64_t conns_with_loss;  /* filled by rc_lg_conn_finish */
    uint64_t heartbeats_sent, heartbeat_replies, heartbeats_unanswered;
    uint64_t channel_errors, channel_closes;
    uint64_t closes_by_us, reconnects, protocol_errors;
    uint64_t t_first_attempt, t_last_first_open; /* monotonic ns; first opens, not reconnects */
    uint64_t first_opens;
    rc_lg_close_count_t closes[RC_LG_CLOSE_SLOTS]; /* closes not initiated by us */
    uint64_t closes_other;
    uint32_t timeline_len;     /* per-second counters since start */
    uint64_t *timeline_up;     /* connections that became ready (joined / open) */
    uint64_t *timeline_down;   /* connections lost (server close, reset) */
    rc_hist_t latency;         /* ns, publish ts -> receive */
    rc_hist_t ready;           /* ns, connect start -> joined (raw: -> 101) */
    rc_hist_t rejoin;          /* ns, connection lost -> ready again */
    rc_hist_t caught_up;       /* ns, join sent -> the --expect-events'th event (a resume's replay) */
    uint64_t caught_up_n;      /* connections that got there */
    char first_error[160];
} rc_lg_stats_t;

/* Shared by all connections of the loop. rbuf is one read buffer for the
 * whole process: bytes a connection could not consume yet are copied out to
 * that connection's own carry-over buffer. */
typedef struct rc_lg_ctx {
    const rc_lg_opts_t *o;
    rc_lg_stats_t *st;
    int epfd;
    uint8_t *rbuf;
    size_t rbuf_size;
    uint64_t t0;               /* monotonic ns at start */
    int ending;                /* the run is over: no more reconnects */
    uint64_t *expect_topic;    /* per-topic counts from --expect-from, or NULL */
    char **join_payload;       /* per topic, from --join-params, or NULL ({}) */
    char **paths;              /* from --paths, or NULL (o->path) */
    uint32_t npaths;
} rc_lg_ctx_t;

enum rc_lg_state {
    RC_LG_IDLE = 0,
    RC_LG_CONNECTING,
    RC_LG_HANDSHAKE,
    RC_LG_OPEN,        /* raw: ready; phoenix: open but not joined (join refused / timed out) */
    RC_LG_JOINING,
    RC_LG_JOINED,
    RC_LG_WAIT_RETRY,
    RC_LG_CLOSED,
};

typedef struct rc_lg_conn {
    int fd;
    uint32_t idx;              /* connection number, picks topic and source address */
    uint32_t gen;              /* bumped at each close; epoll data carries it */
    uint8_t state;
    uint8_t hb_pending;
    uint8_t msg_op;            /* opcode of a fragmented message in progress */
    uint8_t ever_ready;        /* joined (raw: opened) at least once */
    uint8_t ever_open;         /* completed a handshake at least once */
    uint8_t key[16];           /* Sec-WebSocket-Key, raw */
    uint32_t join_ref, hb_ref, next_ref;
    uint32_t retries;
    uint64_t t_start;          /* this attempt's connect started (monotonic ns) */
    uint64_t t_lost;           /* when the last session was lost, 0 if none */
    uint64_t t_hb;             /* next heartbeat due, 0 = none */
    uint64_t t_deadline;       /* connect/handshake/join timeout or retry time, 0 = none */
    uint64_t t_join;           /* the last join was sent (monotonic ns) */
    uint8_t caught_up;         /* reached --expect-events since that join */
    rc_lg_seq_t seq;           /* kept across reconnects: events lost meanwhile are missing */
    int64_t missing;
    uint32_t dup, ooo;
    uint8_t *in;               /* carried-over bytes (incomplete frame or response) */
    uint32_t in_len;
    uint8_t *out;              /* bytes the socket did not take yet */
    uint32_t out_len;
    uint8_t *msg;              /* fragmented message being reassembled */
    uint32_t msg_len;
} rc_lg_conn_t;

/* Starts connection c (state IDLE, CLOSED or WAIT_RETRY): socket, bind to
 * its source address, non-blocking connect, registration with ctx->epfd.
 * Failures are counted and leave c CLOSED (or WAIT_RETRY). */
void rc_lg_conn_start(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t now);

/* Handles epoll readiness for c (events from epoll_wait). */
void rc_lg_conn_event(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint32_t events);

/* Runs c's timers if due: heartbeat, connect/join timeout, reconnect. */
void rc_lg_conn_tick(rc_lg_ctx_t *ctx, rc_lg_conn_t *c, uint64_t now);

/* End of the run: closes c (close frame 1000 if open), then adds the tail
 * of expected events it never received to the loss totals. */
void rc_lg_conn_finish(rc_lg_ctx_t *ctx, rc_lg_conn_t *c);

/* Epoll data for c: index and generation, so a stale event is ignored. */
static inline uint64_t rc_lg_conn_token(const rc_lg_conn_t *c)
{
    return (uint64_t)c->gen << 32 | c->idx;
}

/* Monotonic time (scheduling) and wall-clock time (latency against the
 * publisher's "ts") in ns. */
static inline uint64_t rc_lg_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rc_lg_now_real(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif

/* The loadgen's publisher: POSTs events at a fixed rate over a few
 * keep-alive HTTP/1.1 connections (one request in flight on each), round
 * robin over the topics, each event's data carrying its send time and its
 * per-topic sequence number: {"ts":<CLOCK_REALTIME ns>,"n":<1, 2, ...>}.
 *
 *   ringcast: POST <url> {"topic":"<prefix><t>","event":"<event>","data":{...}}
 *   nchan:    POST <nchan_url with %s = topic> {...the data itself...}
 *
 * Runs its own epoll loop in the calling thread and blocks for the whole
 * run (duration, then up to 5 s for the answers still in flight). */
#ifndef RC_LG_PUBLISH_H
#define RC_LG_PUBLISH_H

#include <stdint.h>

#include "bench/loadgen/hist.h"

typedef struct rc_lg_pub_opts {
    const char *url;           /* ringcast producer API, http://host:port/path */
    const char *nchan_url;     /* nchan publisher location, "%s" = topic */
    int nchan;                 /* 1: --format nchan */
    uint32_t topics;
    const char *topic_prefix;
    const char *event;
    double rate;               /* events per second, all topics together */
    double duration_s;
    uint32_t conns;            /* parallel keep-alive connections */
    uint32_t pad;              /* extra bytes of padding in each event's data */
} rc_lg_pub_opts_t;

typedef struct rc_lg_pub_stats {
    uint64_t sent, ok, failed;     /* failed: non-2xx answer or connection lost */
    uint64_t reconnects;
    uint64_t late_max;             /* most events the sender was behind schedule */
    uint64_t *topic_n;             /* per topic: last n sent (owned, topics entries) */
    rc_hist_t rtt;                 /* ns, request written -> response complete */
    double elapsed_s;
    char first_error[160];
} rc_lg_pub_stats_t;

/* Publishes for o->duration_s seconds (or until SIGINT/SIGTERM, which the
 * caller has blocked and passes as sigfd, -1 for none). Allocates
 * st->topic_n (the caller frees it). Returns 0, or a negative errno when
 * it could not start (bad URL, no connection possible at all). */
int rc_lg_publish_run(const rc_lg_pub_opts_t *o, rc_lg_pub_stats_t *st, int sigfd);

#endif

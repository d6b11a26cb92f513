/* The broker's HTTP API on libevent's evhttp: producers publish, operators
 * and load balancers ask for health. All handlers run on the broker's single
 * event loop thread. */
#ifndef RC_BROKER_API_H
#define RC_BROKER_API_H

#include <event2/http.h>
#include "shm/log.h"

typedef struct rc_broker {
    rc_log_t log;
    struct event_base *base;
    struct evhttp *http;
    uint64_t max_body;
    uint64_t pushes_ok;
    uint64_t pushes_rejected;
} rc_broker_t;

/* Registers /api/push and /healthz on b->http. */
void rc_broker_api_register(rc_broker_t *b);

#endif

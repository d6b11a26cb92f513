/* The broker drains the edges' upstream rings (shm/upring.h) into the log:
 * what clients send that other clients must see (client broadcasts, later
 * presence). The broker stays the log's only writer: a small thread sleeps
 * on the region's upstream doorbell (a futex, no polling) and hands over to
 * the event loop through an eventfd; the loop drains every ring, writes the
 * records, wakes the edges once, and lets the thread sleep again. */
#ifndef RC_BROKER_UPSTREAM_H
#define RC_BROKER_UPSTREAM_H

#include <stdint.h>

struct rc_broker;

typedef struct rc_upstream_metrics {
    uint64_t published;  /* records written from upstream messages */
    uint64_t rejected;   /* messages refused: malformed, unknown type, too large; rings reset as corrupt */
} rc_upstream_metrics_t;

/* Starts the doorbell thread and registers the loop's side. Returns 0 or -1
 * (logged). Call after the log is open and the event base exists. */
int rc_upstream_start(struct rc_broker *b);

/* Stops and joins the thread; safe if start failed or never ran. */
void rc_upstream_stop(struct rc_broker *b);

#endif

/* Writing one event into the log as the frame clients receive:
 * a WebSocket text frame of [null,"@<seq>",topic,event,data].
 * Runs on the broker's event loop thread (the log's only writer); never
 * blocks. */
#ifndef RC_BROKER_PUBLISH_H
#define RC_BROKER_PUBLISH_H

#include <stdint.h>
#include "proto/slice.h"
#include "shm/log.h"

/* Publishes one event; data_json is compact JSON text. Returns the event's
 * sequence number (> 0), or -EMSGSIZE if the frame is larger than the log
 * accepts. */
int64_t rc_broker_publish(rc_log_t *log, rc_slice_t topic, rc_slice_t event, rc_slice_t data_json);

#endif

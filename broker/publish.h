/* Writing one event into the log as the frame clients receive:
 * a WebSocket text frame of [null,"@<seq>",topic,event,data].
 * Runs on the broker's event loop thread (the log's only writer); never
 * blocks. */
#ifndef RC_BROKER_PUBLISH_H
#define RC_BROKER_PUBLISH_H

#include <stdint.h>
#include "proto/slice.h"
#include "shm/log.h"

/* PushEx's envelope: event "msg", payload {"data": data, "event": event}
 * (what the pushex client listens for). */
#define RC_PUBLISH_PUSHEX 0x1u

/* Bytes the record of this event may take in the ring at most (header,
 * topic, frame). rc_broker_publish succeeds whenever the frame part is
 * within rc_log_max_frame: check with rc_broker_publish_fits first to
 * write a batch all or nothing. */
uint64_t rc_broker_publish_bound(rc_slice_t topic, rc_slice_t event, rc_slice_t data_json, unsigned flags);
int rc_broker_publish_fits(const rc_log_t *log, rc_slice_t topic, rc_slice_t event, rc_slice_t data_json,
                           unsigned flags);

/* Publishes one event; data_json is compact JSON text, topic and event
 * checked names (push_parse.h). Returns the event's sequence number (> 0),
 * or -EMSGSIZE if the frame is larger than the log accepts.
 * With RC_PUBLISH_QUIET sleeping readers are not woken: a burst of
 * records ends with one rc_wake_readers (shm/wake.h). ts_ns is the
 * record's CLOCK_REALTIME stamp (one per request), 0 = now. */
#define RC_PUBLISH_QUIET 0x2u
int64_t rc_broker_publish(rc_log_t *log, rc_slice_t topic, rc_slice_t event, rc_slice_t data_json, unsigned flags,
                          uint64_t ts_ns);

#endif

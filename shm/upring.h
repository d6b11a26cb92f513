/* Upstream rings: one single-producer/single-consumer message ring per edge
 * slot, for what originates at clients (client broadcasts, presence). The
 * edge holding the slot is the only producer, the broker the only consumer.
 * Neither ever waits: a full ring refuses the message (counted), an empty
 * one returns nothing.
 *
 * Messages are 8-aligned: u32 length, u32 type, payload. A message never
 * wraps; a length of UINT32_MAX marks "skip to the start of the ring". */
#ifndef RC_SHM_UPRING_H
#define RC_SHM_UPRING_H

#include <stddef.h>
#include <stdint.h>

#include "shm/log.h"

typedef struct rc_upring {
    rc_upring_hdr_t *hdr;
    uint8_t *data;
    uint64_t size;   /* data bytes, power of two */
} rc_upring_t;

/* The ring of slot idx in an open region. */
rc_upring_t rc_upring_of(const rc_log_t *log, unsigned idx);

/* Producer: copies a message in and publishes it (release). Returns 0, or
 * -EMSGSIZE if it can never fit, -ENOBUFS if the ring is full now. */
int rc_upring_push(rc_upring_t *r, uint32_t type, const void *data, uint32_t len);

/* Consumer: the oldest message, without consuming it. Returns 1 and sets
 * *type, *data (pointer into shm), *len; or 0 if empty. */
int rc_upring_peek(rc_upring_t *r, uint32_t *type, const uint8_t **data, uint32_t *len);

/* Consumer: releases the message returned by the last peek. */
void rc_upring_consume(rc_upring_t *r);

/* Consumer: drops whatever is queued (the slot got a new holder). */
void rc_upring_reset(rc_upring_t *r);

/* Consumer: 1 if the ring holds a message. */
int rc_upring_pending(const rc_upring_t *r);

/* The doorbell, with the protocol of shm/wake.h on the header's up_word:
 *   consumer: expect = up_word; up_sleeping = 1; fence; if any ring holds a
 *             message: don't sleep; else FUTEX_WAIT while up_word == expect.
 *   producer: push (release); fence; if exchange(up_sleeping, 0):
 *             up_word++, FUTEX_WAKE.
 * A busy broker is not asleep, so edges make no syscall per message. */

/* Producer, after rc_upring_push. Returns 1 if it made a wake syscall. */
int rc_upring_ring_doorbell(const rc_log_t *log);

/* Consumer: announces it is about to sleep. Returns 0 and the value to
 * wait on in *expect, or -EAGAIN if a ring holds a message already. */
int rc_upring_prepare_sleep(const rc_log_t *log, uint32_t *expect);

/* Consumer: blocks until the doorbell rings, up_word changed, or
 * timeout_ms passed (-1: none). Returns 0 or -ETIMEDOUT. */
int rc_upring_sleep(const rc_log_t *log, uint32_t expect, int timeout_ms);

/* Consumer: wakes a sleeping consumer of this region (its own thread, at
 * shutdown). */
void rc_upring_wake_consumer(const rc_log_t *log);

/* Message types. */
#define RC_UP_BROADCAST 1u /* a client's broadcast to a topic */

/* RC_UP_BROADCAST payload: u16 topic_len, u16 event_len, topic, event,
 * then data as JSON text to the end of the message. */
typedef struct rc_up_broadcast {
    const char *topic, *event, *data;
    uint16_t topic_len, event_len;
    uint32_t data_len;
} rc_up_broadcast_t;

/* Encodes m into out. Returns the length, or -EMSGSIZE if cap is short. */
int rc_up_broadcast_encode(uint8_t *out, size_t cap, const rc_up_broadcast_t *m);

/* Decodes a payload (pointers into p). Returns 0, or -EINVAL if the
 * lengths do not add up. Content is not validated here. */
int rc_up_broadcast_decode(const uint8_t *p, uint32_t len, rc_up_broadcast_t *m);

#endif

/* Upstream rings: one single-producer/single-consumer message ring per edge
 * slot, for what originates at clients (client broadcasts, presence). The
 * edge holding the slot is the only producer, the broker the only consumer.
 * Neither ever waits: a full ring refuses the message (counted), an empty
 * one returns nothing. Waking a sleeping consumer is shm/doorbell.h's job,
 * what a message holds shm/up_msg.h's.
 *
 * Messages are 8-aligned: u32 length, u32 type, payload. A message never
 * wraps; a length of UINT32_MAX marks "skip to the start of the ring".
 *
 * A slot's ring outlives its holder: messages a dead edge pushed are still
 * drained by the broker after another edge took the slot over. */
#ifndef RC_SHM_UPRING_H
#define RC_SHM_UPRING_H

#include <stddef.h>
#include <stdint.h>

#include "shm/log.h"

typedef struct rc_upring {
    rc_upring_hdr_t *hdr;
    uint8_t *data;
    uint64_t size;   /* data bytes, power of two */
    uint64_t next;   /* consumer: head after the message the last peek returned */
} rc_upring_t;

/* The ring of slot idx in an open region (a view: nothing to free). */
rc_upring_t rc_upring_of(const rc_log_t *log, unsigned idx);

/* Producer: copies a message in and publishes it (release). Returns 0, or
 * -EMSGSIZE if it can never fit, -ENOBUFS if the ring is full now. */
int rc_upring_push(rc_upring_t *r, uint32_t type, const void *data, uint32_t len);

/* Consumer: the oldest message, without consuming it. Returns 1 and sets
 * *type, *data (pointer into shm, valid until rc_upring_consume; the
 * producer can still change those bytes: copy before parsing), *len; 0 if
 * empty; -EPROTO if the ring's positions or lengths are impossible (a
 * faulty or hostile producer): then rc_upring_reset. */
int rc_upring_peek(rc_upring_t *r, uint32_t *type, const uint8_t **data, uint32_t *len);

/* Consumer: releases the message returned by the last peek. */
void rc_upring_consume(rc_upring_t *r);

/* Consumer: discards everything in a ring peek found corrupt (head moves
 * to tail). Returns the bytes discarded. */
uint64_t rc_upring_reset(rc_upring_t *r);

/* Consumer: 1 if the ring holds a message. */
int rc_upring_pending(const rc_upring_t *r);

#endif

/* What the messages of the upstream rings (shm/upring.h) hold: their types
 * and payload encodings. Pure functions over buffers; nothing here touches
 * shm. */
#ifndef RC_SHM_UP_MSG_H
#define RC_SHM_UP_MSG_H

#include <stddef.h>
#include <stdint.h>

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
 * lengths do not add up. Content is not validated here: the broker checks
 * names and JSON before it writes anything (broker/upstream.c). */
int rc_up_broadcast_decode(const uint8_t *p, uint32_t len, rc_up_broadcast_t *m);

#endif

/* Limits shared by the broker (producer API) and the edges (client protocol).
 * One definition so a topic the broker accepts is always one an edge can join. */
#ifndef RC_PROTO_LIMITS_H
#define RC_PROTO_LIMITS_H

#define RC_TOPIC_MAX      255   /* bytes of a topic name */
#define RC_EVENT_MAX      255   /* bytes of an event name */
#define RC_REF_MAX        64    /* bytes of a client join_ref or ref */
#define RC_HS_MAX_BYTES   8192  /* bytes of a handshake request header block */
#define RC_HS_MAX_HEADERS 64    /* headers in a handshake request */

#endif

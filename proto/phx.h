/* Phoenix Channels serializer V2 (docs/protocol.md).
 *
 * Decoding: a client text message is a JSON array
 * [join_ref, ref, topic, event, payload]; refs are strings or null, topic and
 * event strings, payload any JSON. Parsing goes through jansson behind a
 * size limit (the caller's max message size) and type/length checks here.
 * The binary push format (kind 0) is decoded without allocation.
 *
 * Encoding: writes JSON text only (no WebSocket header) into a caller buffer;
 * every string is escaped here, so any client-supplied ref or topic is safe to
 * echo. */
#ifndef RC_PROTO_PHX_H
#define RC_PROTO_PHX_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "proto/slice.h"

typedef struct rc_phx_msg {
    rc_slice_t join_ref;  /* p == NULL for JSON null */
    rc_slice_t ref;       /* p == NULL for JSON null */
    rc_slice_t topic;
    rc_slice_t event;
    json_t *payload;      /* borrowed from root (NULL for binary pushes) */
    rc_slice_t binary;    /* payload bytes of a binary push, else NULL */
    json_t *root;         /* owned; release with rc_phx_msg_release */
} rc_phx_msg_t;

/* Decodes a text message. Returns 0, or -EINVAL with *why set to a static
 * text ("not a JSON array of 5", "ref must be a string or null", "topic too
 * long"...). Limits: refs RC_REF_MAX, topic RC_TOPIC_MAX, event RC_EVENT_MAX
 * bytes. Elements after the fifth are ignored, as Phoenix does. On success
 * the caller owns m->root. */
int rc_phx_decode_text(const char *buf, size_t len, rc_phx_msg_t *m, const char **why);

/* Decodes a binary client push: 00 jrLen refLen topicLen eventLen jr ref
 * topic event payload. Slices point into buf. Returns 0 or -EINVAL with why. */
int rc_phx_decode_binary(const uint8_t *buf, size_t len, rc_phx_msg_t *m, const char **why);

void rc_phx_msg_release(rc_phx_msg_t *m);

/* Writes v in decimal to out (at least 20 bytes), no terminator; returns
 * the length. snprintf costs more than the record on the publish path. */
static inline size_t rc_u64_dec(char *out, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* Appends s as a JSON string literal (quotes included) to out at *off.
 * Returns 0 or -ENOSPC. A NULL slice is written as null. */
int rc_json_put_string(char *out, size_t cap, size_t *off, rc_slice_t s);

/* [jr, ref, topic, "phx_reply", {"status": status, "response": response_json}]
 * response_json is raw JSON text (for example "{}"). Returns length or -ENOSPC. */
int rc_phx_encode_reply(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t ref,
                        rc_slice_t topic, const char *status, rc_slice_t response_json);

/* [jr, null, topic, event, payload_json]: a push from a channel. */
int rc_phx_encode_push(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t topic,
                       rc_slice_t event, rc_slice_t payload_json);

/* [jr, jr, topic, "phx_close", {}] */
int rc_phx_encode_close(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t topic);

/* [jr, jr, topic, "phx_error", {"reason": reason}] */
int rc_phx_encode_error(char *out, size_t cap, rc_slice_t join_ref, rc_slice_t topic,
                        const char *reason);

/* [null, "@<offset>", topic, event, data_json]: a broadcast from the log;
 * offset is the event's position in its topic (docs/protocol.md). */
int rc_phx_encode_broadcast(char *out, size_t cap, uint64_t offset, rc_slice_t topic,
                            rc_slice_t event, rc_slice_t data_json);

#endif

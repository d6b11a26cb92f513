/* Topic positions on the wire (docs/protocol.md, "Positions"): epochs as
 * JSON strings of hex digits (a u64 does not survive a JavaScript number),
 * offsets as numbers; the `since` of a join and the request of a `history`
 * push; and the parts of a broadcast frame the broker encoded, so a
 * history page reuses them without parsing JSON. */
#ifndef RC_PROTO_POSITION_H
#define RC_PROTO_POSITION_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "proto/slice.h"

#define RC_EPOCH_HEX 16

/* The epoch as 16 lowercase hex digits (no quotes, no terminator). */
void rc_epoch_hex(char out[RC_EPOCH_HEX], uint64_t epoch);

/* 1..16 hex digits (either case) into *epoch: 0, or -EINVAL. */
int rc_epoch_parse(rc_slice_t s, uint64_t *epoch);

/* A join's {"since": {"epoch": "<hex>", "offset": N}}. */
typedef struct rc_since {
    int present;
    uint64_t epoch;
    uint64_t offset;
} rc_since_t;

/* Reads since from a join payload (any JSON; only an object can carry it).
 * Returns 0 (s->present says whether it was there) or -EINVAL with *why
 * when it is there but malformed. */
int rc_since_parse(const json_t *payload, rc_since_t *s, const char **why);

enum { RC_HISTORY_NEWEST = 0, RC_HISTORY_BEFORE, RC_HISTORY_AFTER };

typedef struct rc_history_req {
    int dir;         /* RC_HISTORY_* */
    uint64_t at;     /* before/after this offset */
    unsigned limit;  /* 1..max */
} rc_history_req_t;

/* {"before": N, "limit": n} or {"after": N, "limit": n} or neither (the
 * newest page); limit defaults to max and may not exceed it. Returns 0 or
 * -EINVAL with *why. */
int rc_history_parse(const json_t *payload, unsigned max, rc_history_req_t *r, const char **why);

/* The event and data of a broadcast frame's text as the broker encodes it,
 * [null,"@<offset>",<topic>,<event>,<data>]: *event is the event's JSON
 * string (quotes included), *data the data's JSON text. Returns 0, or
 * -EINVAL if text is not of that shape. */
int rc_broadcast_parts(const char *text, size_t n, rc_slice_t *event, rc_slice_t *data);

#endif

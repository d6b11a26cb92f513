/* What a received message says, without parsing JSON: the head of a
 * Phoenix V2 array ([join_ref, ref, topic, event, payload]), the "ts" and
 * "n" an event's data carries, and the per-connection sequence check.
 * Pure functions over caller-owned bytes; no allocation. */
#ifndef RC_LG_SCAN_H
#define RC_LG_SCAN_H

#include <stddef.h>
#include <stdint.h>

enum rc_lg_phx_kind {
    RC_LG_PHX_REPLY = 1, /* phx_reply */
    RC_LG_PHX_ERROR,     /* phx_error */
    RC_LG_PHX_CLOSE,     /* phx_close */
    RC_LG_PHX_PUSH,      /* anything else: a broadcast or push */
};

typedef struct rc_lg_phx_msg {
    int kind;
    int has_ref;              /* ref is a decimal string that fits 32 bits */
    uint32_t ref;
    int status_ok;            /* a reply whose payload has "status":"ok" */
    const uint8_t *payload;   /* the fifth element and what follows it */
    size_t payload_len;
} rc_lg_phx_msg_t;

/* Reads the four leading elements of a V2 message in p[0..n).
 * Returns 0, or -1 when p is not a V2 array with string/null heads. */
int rc_lg_phx_parse(const uint8_t *p, size_t n, rc_lg_phx_msg_t *m);

/* Finds "ts":<integer> and "n":<integer> in p[0..n) (first match of each,
 * blanks allowed around the colon). Returns 0 when both are present. */
int rc_lg_event_scan(const uint8_t *p, size_t n, uint64_t *ts, uint64_t *seq);

/* Sequence state of one connection's topic. seen bit i: n == last - i
 * arrived. Invariant: every n in [base, last] not seen has been reported
 * missing exactly once. A zeroed struct takes the first n it sees as its
 * base; rc_lg_seq_expect_from_1 makes n = 1 the base instead. */
typedef struct rc_lg_seq {
    uint64_t base, last, seen;
    int started;
} rc_lg_seq_t;

/* What one arrival changes in the loss counters. */
typedef struct rc_lg_seq_delta {
    int64_t missing;          /* > 0: a gap; -1: a missing one arrived late */
    uint32_t duplicated, out_of_order, too_old;
} rc_lg_seq_delta_t;

void rc_lg_seq_expect_from_1(rc_lg_seq_t *s);
void rc_lg_seq_track(rc_lg_seq_t *s, uint64_t n, rc_lg_seq_delta_t *d);

#endif

/* Walking a topic's records back through the log: its position as a reader
 * sees it, the record at a given offset, the oldest one still held.
 *
 * Each record points at its predecessor (prev_pos) and at an older record
 * of the same run (jump_pos, Myers' skew-binary skip pointers: "An applicative
 * random-access stack", 1983), so reaching any offset from the head costs
 * O(log n) reads and a page of n records from there O(n): never a scan of
 * the log. Every step is checked: the record must be intact, of the same
 * topic, and carry exactly the epoch and offset the pointer promised, so a
 * chain through overwritten bytes ends instead of going astray. Readers
 * only: nothing here writes or waits. */
#ifndef RC_SHM_TOPIC_WALK_H
#define RC_SHM_TOPIC_WALK_H

#include <stdint.h>

#include "shm/log.h"

/* A topic's position for a reader that has seen the log up to limit (an
 * edge's cursor: records at or after it reach its clients live). */
typedef struct rc_topic_state {
    uint64_t epoch;    /* the topic's run (never 0) */
    uint64_t offset;   /* its last offset before limit; 0: none yet in this run */
    uint64_t oldest;   /* the oldest offset of this run the log still holds; 0: none */
    int have_head;     /* head is the record at offset, read intact */
    rc_log_view_t head;
} rc_topic_state_t;

void rc_topic_state(const rc_log_t *log, const char *topic, uint16_t len, uint64_t limit, rc_topic_state_t *st);

/* The record of topic before v (offset - 1, same epoch): 1 and *out, or 0
 * if the log no longer holds it or there is none. */
int rc_topic_prev(const rc_log_t *log, const char *topic, uint16_t len, const rc_log_view_t *v, rc_log_view_t *out);

/* The record of topic at offset target (<= from->offset) in from's run,
 * in O(log distance) reads: 1 and *out, or 0 if the log no longer holds it. */
int rc_topic_seek(const rc_log_t *log, const char *topic, uint16_t len, const rc_log_view_t *from, uint64_t target,
                  rc_log_view_t *out);

/* The oldest record of from's run the log still holds, in O(log n). */
void rc_topic_oldest(const rc_log_t *log, const char *topic, uint16_t len, const rc_log_view_t *from,
                     rc_log_view_t *out);

#endif

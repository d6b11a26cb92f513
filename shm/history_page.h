/* A page of a topic's history from the log (docs/protocol.md, "History"):
 * what an edge answers to a `history` push and the broker to GET
 * /api/history. The page is found from the topic's head by a skip-pointer
 * seek (O(log depth)) and walked back (O(limit)); each event's "event" and
 * "data" are the bytes of the broadcast frame the broker encoded, copied,
 * never parsed again. */
#ifndef RC_SHM_HISTORY_PAGE_H
#define RC_SHM_HISTORY_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/position.h"
#include "shm/log.h"

/* The most events one page holds (a request's limit). */
#define RC_HISTORY_LIMIT_MAX 100

/* Builds {"events":[{"offset":N,"event":E,"data":D}...],"more":B} for req
 * on topic, as a reader that has seen the log up to limit_pos (an edge's
 * cursor; the broker: the tail). Events are oldest first; their bytes
 * are capped at max_bytes (fewer events, "more": true) but a page holds at
 * least one. *buf (of *cap bytes, grown with realloc as needed) receives
 * the text. Returns its length, or -1 if the writer overwrote the page
 * while it was read (ask again: the next page is further on). */
long rc_history_page(const rc_log_t *log, const char *topic, uint16_t len, uint64_t limit_pos,
                     const rc_history_req_t *req, size_t max_bytes, char **buf, size_t *cap);

#endif

/* Resume: a join with `since` replays the topic's events after it from the
 * log, in order, then the subscription continues live, nothing missed or
 * doubled at the seam (docs/protocol.md, "Resume").
 *
 * The seam is the edge's log cursor at the join: records before it are
 * replayed, records from it on reach the subscription through fan-out. A
 * replay is sent in chunks, from the oldest, each found from the join's
 * head record by a skip-pointer seek (O(log n)) and a walk back (O(chunk)),
 * only while the connection's out-queue is under half of out_queue_max and
 * within a per-turn budget shared by every replay of the edge: thousands of
 * clients resuming at once neither stall the loop nor trip their own
 * slow-consumer limit. While it replays, fan-out appends the subscription's
 * live records to a list of positions, sent after the replay. A record the
 * writer overwrites before it was sent ends the connection with 4009, as
 * any loss does; a live list past its bound, with 4008.
 *
 * State exists only while a replay runs: an idle subscription holds none
 * (rc_topic_sub_t.replay, in padding, names its replay). */
#ifndef RC_EDGE_REPLAY_H
#define RC_EDGE_REPLAY_H

#include <stdint.h>

#include "shm/topic_walk.h"

struct rc_edge;
struct rc_conn;
struct rc_topic;

/* Starts replaying topic to c (its subscription is topic->subs[pos]) from
 * offset since + 1 to st->offset (st: the join's position, st->have_head).
 * The join reply must already be queued. */
void rc_replay_start(struct rc_edge *e, struct rc_conn *c, struct rc_topic *topic, uint32_t pos,
                     const rc_topic_state_t *st, uint64_t since);

/* Fan-out: record v of the replaying subscription replay_id (its
 * rc_topic_sub_t.replay - 1) waits behind the replay. */
void rc_replay_live(struct rc_edge *e, uint32_t replay_id, const rc_log_view_t *v);

/* The subscription goes away (leave, close): its replay ends. */
void rc_replay_cancel(struct rc_edge *e, uint32_t replay_id);

/* Once a turn: sends the next chunks of every replay. Returns 1 if some
 * were held back by the turn's budget (come back without sleeping). */
int rc_replay_turn(struct rc_edge *e);

void rc_replay_free_all(struct rc_edge *e);

#endif

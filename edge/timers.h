/* Connection deadlines on a hashed timing wheel: O(1) to add and remove,
 * one 1-second tick that is armed only while some connection is on the
 * wheel (an edge without connections never wakes).
 *
 * Deadlines are lazy: a connection sits in the slot of the deadline it had
 * when it was filed; receiving data only updates c->last_rx_s. When its
 * slot comes round, the deadline is recomputed from the connection's state
 * and it is either expired or filed again. So a busy connection costs no
 * wheel work per message. */
#ifndef RC_EDGE_TIMERS_H
#define RC_EDGE_TIMERS_H

#include <stdint.h>

struct rc_edge;
struct rc_conn;

#define RC_WHEEL_SLOTS 256u /* seconds; longer deadlines are re-filed when reached */

/* Files c by its current deadline (see rc_conn_deadline). */
void rc_wheel_add(struct rc_edge *e, struct rc_conn *c);
/* Takes c off the wheel if it is on it. */
void rc_wheel_del(struct rc_edge *e, struct rc_conn *c);
/* The tick completion: expires what is due, re-files the rest, re-arms. */
void rc_wheel_tick(struct rc_edge *e);

#endif

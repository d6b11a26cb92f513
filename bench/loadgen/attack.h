/* Hostile clients for bench/scenarios/hostile.sh: connections that do what
 * the edge's bulkheads exist for, from their own epoll loop, bounded by
 * --duration, each one started again --pause-ms after it ended (so the
 * attack keeps its strength for the whole run):
 *
 *  - slowloris: open TCP, send a plausible upgrade request one byte every
 *    --trickle-ms and never finish it (the header block never ends). What
 *    it measures: how long the server let each connection hold its slot
 *    (connect -> server close), what the server answered, if anything.
 *  - joinflood: upgrade (Phoenix V2), then send --joins phx_join messages
 *    for distinct topic names (<prefix><i>:<cycle>:<j>) as fast as the
 *    socket takes them. What it measures: replies ok / refused, the close
 *    codes the server ended it with (1008 past client_msg_rate), how long it
 *    was held.
 *
 * Source address of connection i: 127.0.0.(src_base + i % src_ips), so the
 * attackers can be told apart from the subscribers (127.0.0.2 ..). */
#ifndef RC_LG_ATTACK_H
#define RC_LG_ATTACK_H

#include <stdint.h>

#include "bench/loadgen/conn.h"

enum rc_lg_attack_kind { RC_LG_SLOWLORIS = 1, RC_LG_JOINFLOOD };

typedef struct rc_lg_attack_opts {
    int kind;
    uint32_t trickle_ms;   /* slowloris: one header byte every trickle_ms */
    uint32_t joins;        /* joinflood: join messages per connection */
    uint32_t pause_ms;     /* after a connection ended, before its next one */
    uint32_t src_base;     /* first source address 127.0.0.src_base (with src_ips > 0) */
} rc_lg_attack_opts_t;

/* Runs o->connections hostile connections of kind a->kind against o->dst
 * for o->duration_s (or until sigfd, the blocked SIGINT/SIGTERM, fires;
 * -1 for none), connecting at o->rate per second at first. Writes the JSON
 * summary to json (NULL: none) and a line per second plus one at the end on
 * stderr. Returns the process exit status: 0, or 1 when no connection was
 * ever established or the summary could not be written. */
int rc_lg_attack_run(const rc_lg_opts_t *o, const rc_lg_attack_opts_t *a, int sigfd, const char *json);

#endif

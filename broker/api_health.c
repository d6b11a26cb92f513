/* GET /healthz: the log's position and each live edge's connections and
 * lag; "degraded" while a slot is held by a dead edge. */
#include "broker/api.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "shm/slots.h"

void rc_api_healthz(struct evhttp_request *req, void *arg)
{
    rc_broker_t *b = arg;
    rc_shm_header_t *h = b->log.hdr;
    uint64_t next = rc_log_next_seq(&b->log);
    json_t *edges = json_array();
    int dead = 0;
    for (unsigned i = 0; i < RC_SHM_NSLOTS; i++) {
        rc_shm_slot_t *s = &b->log.slots[i];
        int st = rc_slot_state(s);
        if (st == 0)
            continue;
        if (st < 0) {
            dead++;
            continue;
        }
        uint64_t lag = rc_slot_lag(next, RC_SLOT_GET(s, cursor_seq));
        uint64_t io = RC_SLOT_GET(s, io_backend);
        json_array_append_new(edges, json_pack("{s:i,s:i,s:I,s:I,s:s}", "slot", (int)i, "pid",
                                               (int)RC_SLOT_GET(s, pid), "connections",
                                               (json_int_t)RC_SLOT_GET(s, connections), "lag", (json_int_t)lag,
                                               "io_backend", io == RC_SLOT_IO_URING   ? "uring"
                                                             : io == RC_SLOT_IO_EPOLL ? "epoll"
                                                                                      : "starting"));
    }
    json_t *o = json_pack("{s:s,s:I,s:o,s:i,s:I}", "status", dead ? "degraded" : "ok", "seq",
                          (json_int_t)(next - 1), "edges", edges, "dead_slots", dead, "wake_syscalls",
                          (json_int_t)atomic_load_explicit(&h->wake_syscalls, memory_order_relaxed));
    char *s = json_dumps(o, JSON_COMPACT);
    rc_api_reply_json(req, 200, s, strlen(s));
    free(s);
    json_decref(o);
}

/* GET /metrics: Prometheus text exposition (version 0.0.4) of the
 * broker's publish counters and latency, the log's position and fill, and
 * every edge's counters from the slot table. The names are documented in
 * docs/operations.md, "Metrics" (a test compares the two). */
#include "broker/api.h"

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "proto/http_response.h"

#include "shm/slots.h"
#include "shm/upring.h"

const double rc_latency_bounds[RC_LATENCY_BUCKETS] = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0,
};

static const char *const reject_names[RC_REJECT_N] = {
    [RC_REJECT_MALFORMED] = "malformed",     [RC_REJECT_UNAUTHORIZED] = "unauthorized",
    [RC_REJECT_FORBIDDEN] = "forbidden",     [RC_REJECT_METHOD] = "method",
    [RC_REJECT_TOO_LARGE] = "too_large",     [RC_REJECT_INVALID] = "invalid",
};

#define LOAD(field) atomic_load_explicit(&h->field, memory_order_relaxed)

static void help(struct evbuffer *o, const char *name, const char *type, const char *text)
{
    evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* Per-edge series, one per live slot. */
typedef struct edge_metric {
    const char *name, *type, *help;
    size_t off; /* offset of the slot field; SIZE_MAX: lag */
} edge_metric_t;

#define SLOT_FIELD(f) offsetof(rc_shm_slot_t, f)
static const edge_metric_t edge_metrics[] = {
    {"ringcast_edge_connections", "gauge", "open client connections", SLOT_FIELD(connections)},
    {"ringcast_edge_joins_total", "counter", "channel joins accepted", SLOT_FIELD(joins)},
    {"ringcast_edge_frames_out_total", "counter", "log frames handed to the kernel", SLOT_FIELD(frames_out)},
    {"ringcast_edge_bytes_out_total", "counter", "bytes handed to the kernel", SLOT_FIELD(bytes_out)},
    {"ringcast_edge_sends_total", "counter", "send operations", SLOT_FIELD(sends)},
    {"ringcast_edge_coalesced_total", "counter", "frames sent together with others", SLOT_FIELD(coalesced)},
    {"ringcast_edge_drops_total", "counter", "frames dropped for closing connections", SLOT_FIELD(drops)},
    {"ringcast_edge_kicks_slow_total", "counter", "connections closed as slow consumers (4008)", SLOT_FIELD(kicks_slow)},
    {"ringcast_edge_kicks_lapped_total", "counter", "connections closed as lapped by the log (4009)", SLOT_FIELD(kicks_lapped)},
    {"ringcast_edge_refused_total", "counter", "connections refused at the handshake (any status; 503 when full)", SLOT_FIELD(refused)},
    {"ringcast_edge_heartbeats_total", "counter", "client heartbeats answered", SLOT_FIELD(heartbeats)},
    {"ringcast_edge_refused_rate_total", "counter", "connections refused 503 past accept_rate (also in refused)", SLOT_FIELD(refused_rate)},
    {"ringcast_edge_refused_ip_total", "counter", "connections refused 503 past max_conns_per_ip (also in refused)", SLOT_FIELD(refused_ip)},
    {"ringcast_edge_proxy_refused_total", "counter", "connections from a trusted proxy closed for a missing or malformed PROXY header", SLOT_FIELD(proxy_refused)},
    {"ringcast_edge_handshake_timeouts_total", "counter", "connections closed for not finishing the handshake within handshake_timeout_ms of accept", SLOT_FIELD(handshake_timeouts)},
    {"ringcast_edge_kicks_memory_total", "counter", "connections closed to keep the edge under edge_memory_max (4008 or 1008)", SLOT_FIELD(kicks_memory)},
    {"ringcast_edge_kicks_rate_total", "counter", "connections closed with 1008 past client_msg_rate", SLOT_FIELD(kicks_rate)},
    {"ringcast_edge_lapped_total", "counter", "times the edge's log reader was lapped by the writer", SLOT_FIELD(lapped)},
    {"ringcast_edge_lost_total", "counter", "records the edge's log reader lost to lapping", SLOT_FIELD(lost)},
    {"ringcast_edge_resumes_total", "counter", "joins with since (resume)", SLOT_FIELD(resumes)},
    {"ringcast_edge_resumes_unrecovered_total", "counter", "joins with since answered recovered: false (the log no longer holds the events, another epoch, or more than max_replay)", SLOT_FIELD(resumes_unrecovered)},
    {"ringcast_edge_refused_auth_total", "counter", "connections refused 403 at the handshake for a missing or invalid token (also in refused)", SLOT_FIELD(refused_auth)},
    {"ringcast_edge_token_expiries_total", "counter", "connections closed with 4001: the token expired, or was not refreshed in time", SLOT_FIELD(expiries)},
    {"ringcast_edge_refreshes_total", "counter", "in-band token refreshes accepted on ringcast:session", SLOT_FIELD(refreshes)},
    {"ringcast_edge_refreshes_refused_total", "counter", "in-band token refreshes answered error", SLOT_FIELD(refreshes_refused)},
    {"ringcast_edge_kicks_revoked_total", "counter", "connections closed with 1001 because their user was disconnected (POST /api/disconnect)", SLOT_FIELD(kicks_revoked)},
    {"ringcast_edge_refused_user_total", "counter", "connections refused 503 past max_conns_per_user (also in refused)", SLOT_FIELD(refused_user)},
    {"ringcast_edge_user_table_full_total", "counter", "connections admitted without a max_conns_per_user count: no free entry in the region's user table", SLOT_FIELD(user_table_full)},
    {"ringcast_edge_history_pages_total", "counter", "history pages answered to clients", SLOT_FIELD(history_pages)},
    {"ringcast_edge_memory_bytes", "gauge", "bytes the edge's connections hold in input and output buffers (edge_memory_max bounds it)", SLOT_FIELD(memory)},
    {"ringcast_edge_lag", "gauge", "records the edge is behind the log's tail (next_seq - cursor_seq)", SIZE_MAX},
};

void rc_api_metrics(struct evhttp_request *req, void *arg)
{
    rc_broker_t *b = arg;
    const rc_broker_metrics_t *m = &b->m;
    rc_shm_header_t *h = b->log.hdr;
    struct evbuffer *o = evhttp_request_get_output_buffer(req);

    help(o, "ringcast_publish_total", "counter", "records written to the log by the producer API");
    evbuffer_add_printf(o, "ringcast_publish_total %llu\n", (unsigned long long)m->published);
    help(o, "ringcast_publish_requests_total", "counter", "push requests answered 200");
    evbuffer_add_printf(o, "ringcast_publish_requests_total %llu\n", (unsigned long long)m->requests_ok);
    help(o, "ringcast_publish_rejected_total", "counter", "push requests refused, by reason");
    for (unsigned i = 0; i < RC_REJECT_N; i++)
        evbuffer_add_printf(o, "ringcast_publish_rejected_total{reason=\"%s\"} %llu\n", reject_names[i],
                            (unsigned long long)m->rejected[i]);
    help(o, "ringcast_publish_latency_seconds", "histogram",
         "time from a push request's arrival in its handler to its 200 reply");
    uint64_t cum = 0;
    for (unsigned i = 0; i < RC_LATENCY_BUCKETS; i++) {
        cum += m->latency[i];
        evbuffer_add_printf(o, "ringcast_publish_latency_seconds_bucket{le=\"%g\"} %llu\n", rc_latency_bounds[i],
                            (unsigned long long)cum);
    }
    cum += m->latency[RC_LATENCY_BUCKETS];
    evbuffer_add_printf(o, "ringcast_publish_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    evbuffer_add_printf(o, "ringcast_publish_latency_seconds_sum %.9f\n", m->latency_sum);
    evbuffer_add_printf(o, "ringcast_publish_latency_seconds_count %llu\n", (unsigned long long)m->latency_count);

    help(o, "ringcast_producer_connections", "gauge", "open producer API connections (producer_max_connections bounds it)");
    evbuffer_add_printf(o, "ringcast_producer_connections %llu\n", (unsigned long long)b->listener.open);
    help(o, "ringcast_producer_refused_total", "counter",
         "producer requests or connections the listener refused or cut, by reason (503, 431, 408, 400, 413)");
    for (unsigned i = 0; i < RC_LREF_N; i++)
        evbuffer_add_printf(o, "ringcast_producer_refused_total{reason=\"%s\"} %llu\n", rc_listener_refusal_names[i],
                            (unsigned long long)b->listener.refused[i]);

    uint64_t next = rc_log_next_seq(&b->log);
    uint64_t tail = LOAD(tail), head = LOAD(head);
    uint64_t start = head > b->log.cap ? head - b->log.cap : 0;
    double fill = tail > start ? (double)(tail - start) / (double)b->log.cap : 0.0;
    help(o, "ringcast_log_seq", "gauge", "sequence number of the last record in the log");
    evbuffer_add_printf(o, "ringcast_log_seq %llu\n", (unsigned long long)(next - 1));
    help(o, "ringcast_log_fill_ratio", "gauge", "bytes of the data ring holding readable records / capacity");
    evbuffer_add_printf(o, "ringcast_log_fill_ratio %.6f\n", fill);
    help(o, "ringcast_log_capacity_bytes", "gauge", "bytes of the data ring");
    evbuffer_add_printf(o, "ringcast_log_capacity_bytes %llu\n", (unsigned long long)b->log.cap);
    help(o, "ringcast_log_wake_syscalls_total", "counter", "futex wake system calls made by the writer");
    evbuffer_add_printf(o, "ringcast_log_wake_syscalls_total %llu\n", (unsigned long long)LOAD(wake_syscalls));
    help(o, "ringcast_disconnects_total", "counter", "users kicked with POST /api/disconnect");
    evbuffer_add_printf(o, "ringcast_disconnects_total %llu\n", (unsigned long long)m->disconnects);
    help(o, "ringcast_log_index_reuses_total", "counter",
         "topic index entries whose latest record was overwritten, given to another topic");
    evbuffer_add_printf(o, "ringcast_log_index_reuses_total %llu\n", (unsigned long long)LOAD(index_reuses));
    help(o, "ringcast_log_index_evictions_total", "counter",
         "live topic index entries taken for another topic (no free or dead entry in reach): the evicted topic starts a new epoch");
    evbuffer_add_printf(o, "ringcast_log_index_evictions_total %llu\n", (unsigned long long)LOAD(index_evictions));

    uint64_t up_dropped = 0;
    for (unsigned i = 0; i < h->nslots; i++) {
        rc_upring_t r = rc_upring_of(&b->log, i);
        up_dropped += atomic_load_explicit(&r.hdr->dropped, memory_order_relaxed);
    }
    help(o, "ringcast_upstream_published_total", "counter", "records written from the edges' upstream rings");
    evbuffer_add_printf(o, "ringcast_upstream_published_total %llu\n", (unsigned long long)b->up.published);
    help(o, "ringcast_upstream_rejected_total", "counter", "upstream messages refused (malformed, unknown, too large)");
    evbuffer_add_printf(o, "ringcast_upstream_rejected_total %llu\n", (unsigned long long)b->up.rejected);
    help(o, "ringcast_upstream_dropped_total", "counter", "messages edges could not queue: their upstream ring was full");
    evbuffer_add_printf(o, "ringcast_upstream_dropped_total %llu\n", (unsigned long long)up_dropped);
    help(o, "ringcast_upstream_wakes_total", "counter", "doorbell wake system calls made by edges");
    evbuffer_add_printf(o, "ringcast_upstream_wakes_total %llu\n", (unsigned long long)LOAD(up_wakes));

    int dead = 0;
    for (unsigned k = 0; k < sizeof(edge_metrics) / sizeof(edge_metrics[0]); k++) {
        const edge_metric_t *em = &edge_metrics[k];
        help(o, em->name, em->type, em->help);
        for (unsigned i = 0; i < RC_SHM_NSLOTS; i++) {
            rc_shm_slot_t *s = &b->log.slots[i];
            int st = rc_slot_state(s);
            if (st <= 0) {
                dead += k == 0 && st < 0;
                continue;
            }
            uint64_t v;
            if (em->off == SIZE_MAX) {
                v = rc_slot_lag(next, RC_SLOT_GET(s, cursor_seq));
            } else {
                v = atomic_load_explicit((_Atomic uint64_t *)((char *)s + em->off), memory_order_relaxed);
            }
            evbuffer_add_printf(o, "%s{edge=\"%u\"} %llu\n", em->name, i, (unsigned long long)v);
        }
    }
    help(o, "ringcast_dead_edge_slots", "gauge", "edge slots held by a process that is gone");
    evbuffer_add_printf(o, "ringcast_dead_edge_slots %d\n", dead);

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, rc_http_reason(200), NULL);
}

/* The one table of every option. Keep the README's table in sync with
 * `build/bin/broker --print-options` (tests/integration/test_options.sh
 * fails otherwise). */
#include "common/config.h"

const rc_opt_t rc_opts[] = {
    {"config", "", RC_OPT_BOTH, "config file of `key = value` lines; flags override it"},
    {"instance", "default", RC_OPT_BOTH, "cluster name: shm region `/dev/shm/ringcast-NAME`, run dir `ringcast-NAME` (see `run_dir`); 1..80 bytes, no `/`, no space and no byte below it"},
    {"run_dir", "", RC_OPT_BOTH, "the supervisor's directory for its socket, pid files and logs (empty: `$XDG_RUNTIME_DIR/ringcast-<instance>` when `$XDG_RUNTIME_DIR` is a directory of ours, else `/tmp/ringcast-<instance>`); created mode 0700, refused if it is a symlink, another user's or of another mode"},
    {"log_size", "256M", RC_OPT_BROKER, "bytes of the shared-memory data ring (power of two, K/M/G suffix)"},
    {"topic_index_entries", "64K", RC_OPT_BROKER, "entries of the shm topic index (topic -> latest record; power of two)"},
    {"upring_size", "64K", RC_OPT_BROKER, "bytes of each edge's upstream ring in shm (power of two)"},
    {"recreate_log", "0", RC_OPT_BROKER, "1: replace an existing shm region that does not match (another `log_size`, `topic_index_entries` or `upring_size`) instead of refusing to start; edges on the old region are woken, drain with 1012 and exit, and the supervisor restarts them on the new one"},
    {"broker_host", "127.0.0.1", RC_OPT_BROKER, "address of the producer API"},
    {"broker_port", "4001", RC_OPT_BROKER, "port of the producer API"},
    {"max_body", "1M", RC_OPT_BROKER, "largest request body the producer API accepts (413 above)"},
    {"max_data", "256K", RC_OPT_BROKER, "largest `data` of one event, in bytes of compact JSON (413 above)"},
    {"max_batch", "1000", RC_OPT_BROKER, "most events in one `POST /api/push/batch` (413 above)"},
    {"producer_max_connections", "512", RC_OPT_BROKER, "connections the producer API holds open at once; past it a new one gets 503 + Retry-After and is closed (counted in `ringcast_producer_refused_total`); 0: no limit"},
    {"producer_max_header", "16K", RC_OPT_BROKER, "largest request line and headers of a producer request (431 above); a push's API key and length are checked once they are in, before its body is read"},
    {"producer_read_timeout_ms", "10000", RC_OPT_BROKER, "time a producer request, headers and body, may take to arrive from its first byte (from accept for a connection's first request); past it 408 and the connection is closed. A request that has arrived is never cut while it waits for its reply"},
    {"producer_idle_timeout_ms", "60000", RC_OPT_BROKER, "close a producer connection with no request under way (keep-alive), or whose client does not read its reply, after this long"},
    {"api_keys", "", RC_OPT_BROKER, "producer API keys, comma-separated (several for rotation), sent as `Authorization: Bearer <key>`; empty: no auth. As a flag every local user can read them in `/proc` (the broker warns): prefer `api_keys_file`; `./ringcast start` passes the broker its keys in a 0600 file of the run dir"},
    {"api_keys_file", "", RC_OPT_BROKER, "file holding the producer API keys, separated by commas or newlines, instead of `api_keys`; must be ours, not a symlink, with no access for group or other (`chmod 600`), else the broker refuses to start"},
    {"compat", "", RC_OPT_BOTH, "`pushex`: PushEx drop-in mode (PushEx replies and envelope, edges also serve `/push_socket/websocket`); empty: off"},
    {"io_backend", "auto", RC_OPT_EDGE, "`auto`, `uring` or `epoll`: the edge's I/O backend. `auto` uses io_uring when the ring and every feature the edge needs work (Linux 6.7+, not refused by seccomp), else libevent's epoll, and logs why; `uring` refuses to start without io_uring"},
    {"edge_host", "0.0.0.0", RC_OPT_EDGE, "address the edges listen on (all edges share it, SO_REUSEPORT)"},
    {"edge_port", "4000", RC_OPT_EDGE, "WebSocket port of the edges"},
    {"ws_path", "/socket/websocket", RC_OPT_EDGE, "WebSocket path (Phoenix's `/socket` mount + `/websocket`)"},
    {"check_origin", "", RC_OPT_EDGE, "Origin allow-list, comma-separated (`:conn`, `//*.example.com`, `https://app.example.com`); empty: no check. A refused Origin gets 403, a missing one is allowed"},
    {"max_connections", "19000", RC_OPT_EDGE, "connections per edge; above it the handshake gets 503 + Retry-After"},
    {"max_message", "1M", RC_OPT_EDGE, "largest client message in bytes (close 1009 above)"},
    {"max_channels", "100", RC_OPT_EDGE, "topics one connection may join (as Phoenix's max_channels_per_transport); at most 32768"},
    {"out_queue_max", "4M", RC_OPT_EDGE, "bytes queued for one connection before it is closed as a slow consumer (4008)"},
    {"edge_memory_max", "1G", RC_OPT_EDGE, "bytes all of an edge's connections may hold in partial input, message fragments and queued output; past it the edge closes the connections holding the most first (4008 for queued output, 1008 for buffered input) until it is under 90%; 0: no limit"},
    {"max_conns_per_ip", "0", RC_OPT_EDGE, "connections one client address may hold on one edge; past it the handshake gets 503 + jittered Retry-After; 0: no limit. Behind a load balancer it needs `trusted_proxies`"},
    {"trusted_proxies", "", RC_OPT_EDGE, "addresses and CIDR blocks (`10.0.0.0/8, ::1`) of load balancers that send a PROXY protocol header (v1 or v2); their connections must start with one, and its client address is the one `max_conns_per_ip` counts. Empty: no PROXY header is read"},
    {"accept_rate", "0", RC_OPT_EDGE, "connections per second one edge admits (a token bucket holding one second's worth); past it the handshake gets 503 + jittered Retry-After; 0: no limit"},
    {"client_msg_rate", "100", RC_OPT_EDGE, "messages per second one connection may send (data frames and pings; a token bucket whose burst is `max_channels` + 16, so a rejoin of every channel passes); past it the connection is closed with 1008; 0: no limit"},
    {"lapped_close_ms", "5000", RC_OPT_EDGE, "when the edge's log reader is lapped (events lost), every subscribed connection is closed with 4009 at random times spread over this long, so the reconnects do not arrive at once"},
    {"idle_timeout_ms", "60000", RC_OPT_EDGE, "close a connection that sent nothing for this long (Phoenix: 60000)"},
    {"handshake_timeout_ms", "10000", RC_OPT_EDGE, "close a connection that has not completed its handshake this long after accept"},
    {"recv_buffers", "1024", RC_OPT_EDGE, "provided receive buffers per edge (shared by all connections)"},
    {"recv_buffer_size", "4096", RC_OPT_EDGE, "bytes of each provided receive buffer"},
    {"shm_wait_ms", "10000", RC_OPT_EDGE, "how long an edge waits at start for the broker's shm region"},
    {"drain_ms", "10000", RC_OPT_EDGE, "drain window: on SIGTERM an edge stops accepting and closes its connections with 1012 at random times spread over this long (a second SIGTERM/SIGINT: at once)"},
    {"restart_backoff_ms", "200", RC_OPT_SUPERVISOR, "first restart delay of a dead process; doubles per consecutive crash up to 30 s, each delay jittered uniformly in [d/2, d]"},
    {"restart_limit", "5", RC_OPT_SUPERVISOR, "crash-loop protection: a process that dies after this many restarts within `restart_window_ms` is no longer restarted (`status` and the log say so)"},
    {"restart_window_ms", "60000", RC_OPT_SUPERVISOR, "window of `restart_limit`; a process that ran this long also starts its backoff again from the first delay"},
};
const unsigned rc_nopts = sizeof(rc_opts) / sizeof(rc_opts[0]);

_Static_assert(sizeof(rc_opts) / sizeof(rc_opts[0]) <= RC_CFG_MAX_OPTS, "raise RC_CFG_MAX_OPTS");

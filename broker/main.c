/* broker: the only writer of the shared-memory event log and the producer
 * API. One thread, one libevent loop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/http.h>

#include "broker/api.h"
#include "shm/wake.h"
#include "common/config.h"
#include "common/textlog.h"
#include "common/rand.h"

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    rc_broker_t *b = arg;
    rc_textlog("info", "msg=\"stopping\" signal=%d", (int)sig);
    event_base_loopbreak(b->base);
}

/* One broker per process. main frees what broker_main leaves, on every
 * path out of it. */
static rc_config_t cfg;
static rc_broker_t b;

/* Whether key was given as a flag (--key VALUE or --key=VALUE), not only
 * by the --config file. */
static int given_as_flag(int argc, char **argv, const char *key)
{
    size_t n = strlen(key);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            continue;
        if (strncmp(a + 2, key, n) == 0 && (a[2 + n] == '\0' || a[2 + n] == '='))
            return 1;
        if (!strchr(a, '='))
            i++; /* its value */
    }
    return 0;
}

/* The producer API keys: from api_keys_file, or from api_keys, which as a
 * flag every local user reads in /proc/PID/cmdline (hence the warning). */
static int load_keys(rc_auth_t *auth, int argc, char **argv)
{
    const char *list = rc_cfg_str(&cfg, "api_keys"), *path = rc_cfg_str(&cfg, "api_keys_file");
    char *from_file = NULL;
    if (list[0] && path[0]) {
        fprintf(stderr, "broker: give api_keys or api_keys_file, not both\n");
        return -EINVAL;
    }
    if (path[0]) {
        int rc = rc_auth_read_file(path, &from_file);
        if (rc < 0)
            return rc;
        list = from_file;
    }
    int rc = rc_auth_init(auth, list);
    if (rc < 0)
        fprintf(stderr, "broker: %s holds more than %d keys\n", path[0] ? path : "api_keys", RC_AUTH_MAX_KEYS);
    else if (path[0] && auth->nkeys == 0) {
        fprintf(stderr, "broker: api_keys_file %s holds no key (an empty file would turn auth off)\n", path);
        rc = -EINVAL;
    }
    if (from_file) {
        explicit_bzero(from_file, strlen(from_file));
        free(from_file);
    }
    if (rc == 0 && !path[0] && list[0] && given_as_flag(argc, argv, "api_keys"))
        rc_textlog("warn", "msg=\"api_keys given as a flag: the keys are visible to every local user in "
                           "/proc/PID/cmdline (ps); put them in a file of mode 0600 and give its path as "
                           "api_keys_file, or use ./ringcast start, which does that\"");
    return rc;
}

static int broker_main(int argc, char **argv)
{
    int rc = rc_config_parse(&cfg, RC_OPT_BROKER, argc, argv);
    if (rc)
        return rc > 0 ? 0 : 2;
    rc_rand_init();
    uint64_t port, recreate, max_data, max_batch;
    rc_log_geometry_t geo;
    if (rc_cfg_u64(&cfg, "log_size", &geo.ring_capacity) || rc_cfg_u64(&cfg, "topic_index_entries", &geo.index_entries) ||
        rc_cfg_u64(&cfg, "upring_size", &geo.upring_size) || rc_cfg_u64(&cfg, "broker_port", &port) ||
        rc_cfg_u64(&cfg, "max_body", &b.max_body) || rc_cfg_u64(&cfg, "recreate_log", &recreate) ||
        rc_cfg_u64(&cfg, "max_data", &max_data) || rc_cfg_u64(&cfg, "max_batch", &max_batch) ||
        rc_cfg_u64(&cfg, "history_max_bytes", &b.history_max_bytes) ||
        rc_cfg_u64(&cfg, "revoke_ttl_s", &b.revoke_ttl_s))
        return 2;
    b.limits.max_data = (size_t)max_data;
    b.limits.max_batch = (size_t)max_batch;
    rc_listener_limits_t *ll = &b.listener.lim;
    if (rc_cfg_u64(&cfg, "producer_max_connections", &ll->max_connections) ||
        rc_cfg_u64(&cfg, "producer_max_header", &ll->max_header) ||
        rc_cfg_u64(&cfg, "producer_read_timeout_ms", &ll->read_timeout_ms) ||
        rc_cfg_u64(&cfg, "producer_idle_timeout_ms", &ll->idle_timeout_ms))
        return 2;
    if (ll->max_header < 1024 || ll->read_timeout_ms == 0 || ll->idle_timeout_ms == 0) {
        fprintf(stderr, "broker: --producer_max_header must be at least 1024, the producer timeouts more than 0\n");
        return 2;
    }
    ll->max_body = b.max_body;
    const char *compat = rc_cfg_str(&cfg, "compat");
    if (strcmp(compat, "") != 0 && strcmp(compat, "pushex") != 0) {
        fprintf(stderr, "broker: --compat must be empty or 'pushex', not '%s'\n", compat);
        return 2;
    }
    b.compat_pushex = strcmp(compat, "pushex") == 0;
    if (load_keys(&b.auth, argc, argv) < 0)
        return 2;
    rc_push_batch_init(&b.batch);
    const char *instance = rc_cfg_str(&cfg, "instance");
    rc = rc_log_open_writer(&b.log, instance, &geo, (int)recreate);
    if (rc < 0) {
        rc_textlog("fatal", "msg=\"cannot open the shm log\" instance=%s err=\"%s\"", instance, strerror(-rc));
        return 1;
    }
    rc_textlog("info", "msg=\"log %s\" region=/dev/shm%s ring_bytes=%llu next_seq=%llu",
            rc == RC_LOG_CREATED ? "created" : "re-attached", b.log.name, (unsigned long long)b.log.cap,
            (unsigned long long)rc_log_next_seq(&b.log));
    atomic_store_explicit(&b.log.hdr->writer_pid, (uint64_t)getpid(), memory_order_relaxed);

    signal(SIGPIPE, SIG_IGN);
    b.base = event_base_new();
    b.http = evhttp_new(b.base);
    if (!b.base || !b.http)
        return 1;
    /* The listener's limits and every route (api.c). */
    rc_broker_api_register(&b);
    const char *host = rc_cfg_str(&cfg, "broker_host");
    if (evhttp_bind_socket(b.http, host, (uint16_t)port) != 0) {
        rc_textlog("fatal", "msg=\"cannot listen\" host=%s port=%llu err=\"%s\"", host, (unsigned long long)port,
                strerror(errno));
        return 1;
    }
    if (rc_upstream_start(&b) < 0)
        return 1;
    struct event *sigterm = evsignal_new(b.base, SIGTERM, on_signal, &b);
    struct event *sigint = evsignal_new(b.base, SIGINT, on_signal, &b);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    rc_textlog("info", "msg=\"producer API listening\" url=http://%s:%llu/api/push auth=%s api_keys=%u compat=%s", host,
            (unsigned long long)port, b.auth.nkeys ? "bearer" : "off", b.auth.nkeys, b.compat_pushex ? "pushex" : "none");
    event_base_dispatch(b.base);
    rc_upstream_stop(&b);
    /* A wake queued by the last requests may not have run. */
    rc_wake_readers(&b.log);

    event_free(sigterm);
    event_free(sigint);
    evhttp_free(b.http);
    event_base_free(b.base);
    /* The region stays: a restarted broker re-attaches it and edges keep
     * serving (docs/architecture.md). `ringcast stop` removes it. */
    rc_log_close(&b.log);
    return 0;
}

int main(int argc, char **argv)
{
    rc_textlog_set_component("broker");
    int status = broker_main(argc, argv);
    rc_push_batch_free(&b.batch);
    free(b.page);
    rc_config_free(&cfg);
    return status;
}

/* An evhttp server behind the producer listener (broker/listener.c) whose
 * handler for /hold answers only hold_ms after the request is in, as a
 * push waiting on an upstream will: tests/node/producer_listener.test.js
 * checks that no timeout of the listener cuts a request while it waits.
 *
 *   listener_hold PORT HOLD_MS READ_TIMEOUT_MS
 *
 * Prints "listening" once bound; runs until SIGTERM. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

/* The listener and its parser are broker objects, not in the library. */
#include "broker/http_head.c"
#include "broker/listener.c"

static long hold_ms;

static int on_head(void *arg, const rc_http_head_t *h, unsigned *cookie, rc_listener_reply_t *r)
{
    return 0;
}

static void on_refuse(void *arg, unsigned cookie, const char *what, rc_listener_reply_t *r)
{
    int n = snprintf(r->body, sizeof(r->body), "{\"error\":\"%s\"}", what);
    r->body_len = n > 0 && (size_t)n < sizeof(r->body) ? (size_t)n : 0;
}

static const rc_listener_ops_t ops = {.head = on_head, .refuse = on_refuse};

static void reply(struct evhttp_request *req, long held)
{
    evbuffer_add_printf(evhttp_request_get_output_buffer(req), "{\"held_ms\":%ld,\"body\":%zu}\n", held,
                        evbuffer_get_length(evhttp_request_get_input_buffer(req)));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_held(evutil_socket_t fd, short what, void *arg)
{
    reply(arg, hold_ms);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct event_base *base = arg;
    const char *uri = evhttp_request_get_uri(req);
    if (strncmp(uri, "/hold", 5) == 0) {
        struct timeval tv = {hold_ms / 1000, (hold_ms % 1000) * 1000};
        event_base_once(base, -1, EV_TIMEOUT, on_held, req, &tv);
        return;
    }
    reply(req, 0);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: listener_hold PORT HOLD_MS READ_TIMEOUT_MS\n");
        return 2;
    }
    hold_ms = atol(argv[2]);
    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    static rc_listener_t l;
    l.lim = (rc_listener_limits_t){.max_connections = 64, .max_header = 8192, .max_body = 1 << 20,
                                   .read_timeout_ms = (uint64_t)atol(argv[3]), .idle_timeout_ms = 60000};
    l.ops = &ops;
    rc_listener_attach(&l, http);
    evhttp_set_gencb(http, on_request, base);
    if (evhttp_bind_socket(http, "127.0.0.1", (uint16_t)atoi(argv[1])) != 0) {
        perror("bind");
        return 1;
    }
    struct event *term = evsignal_new(base, SIGTERM, on_term, base);
    event_add(term, NULL);
    printf("listening\n");
    fflush(stdout);
    event_base_dispatch(base);
    event_free(term);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}

/* upstream: the application upstream of the integration tests, the HTTP
 * server ringcast's hydration calls (POST, JSON body). Every request but
 * the control paths is a hook call, answered as the test chose; the server
 * counts the calls in flight, so a test can check how many the caller
 * keeps open at once.
 *
 *   upstream --port P [--host 127.0.0.1]        (P 0: any free port)
 *
 * Prints "upstream listening port=<port>" once bound; runs until SIGTERM
 * or SIGINT, then exits 0. Binds IPv4 loopback addresses only.
 *
 *   POST /_control {"delay_ms":300,...}  sets the settings given:
 *     delay_ms (0)        answer each hook call that much later
 *     status (200)        with that status
 *     hang (false)        never answer: the call stays in flight until the
 *                         client closes its connection
 *     body ({"ok":true})  the body (a string, or any JSON, sent encoded)
 *     body_bytes (0)      > 0: the body is {"pad":"xx..."}, that many bytes
 *     echo (false)        the body is {"echo":<request body as JSON or
 *                         null>,"path":"<path>"}
 *     cache_control ("")  sent as Cache-Control unless empty
 *     content_type ("application/json")
 *   A call takes the settings of when it arrives; echo wins over body_bytes,
 *   which wins over body. A bad key or value: 400 {"error":..}, nothing set.
 *   GET /_stats   {"requests":N,"inflight":N,"peak":N,"last":null or
 *                 {"method":..,"path":..,"body":..,"headers":{..}}}
 *   POST /_reset  requests 0, peak = inflight, last null, settings default.
 * Control paths answer at once and are not hook calls. last keeps 64 KiB of
 * the body and up to 16 of the headers Authorization, Cookie and X-*, in
 * canonical case (x-forwarded-for: X-Forwarded-For). */
#include <sys/queue.h> /* before libevent's, which defines only half of it */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define LAST_BODY_MAX (64 * 1024)
#define LAST_HEADERS_MAX 16

static struct {
    json_int_t delay_ms, status, body_bytes;
    bool hang, echo;
    char *body, *cache_control, *content_type;
} set;

/* One hook call waiting for its answer. */
typedef struct {
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct event *due;  /* its delay; NULL when hanging */
    struct event *gone; /* the client closing the connection */
    int status;
} call_t;

static struct event_base *base;
static long long requests, inflight, peak;
static json_t *last; /* the last hook call, NULL before any */

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static void settings_default(void)
{
    free(set.body);
    free(set.cache_control);
    free(set.content_type);
    memset(&set, 0, sizeof set);
    set.status = 200;
    set.body = xstrdup("{\"ok\":true}");
    set.cache_control = xstrdup("");
    set.content_type = xstrdup("application/json");
}

/* A JSON string of n bytes; bytes that are not UTF-8 (a body cut at 64 KiB
 * may end mid-character) become '?' rather than losing the whole text. */
static json_t *json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s ? s : "", s ? n : 0);
    if (j || !s)
        return j;
    char *t = malloc(n);
    for (size_t i = 0; t && i < n; i++)
        t[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
    j = t ? json_stringn(t, n) : NULL;
    free(t);
    return j;
}

/* The request body, whole (NULL when empty). */
static const char *body_of(struct evhttp_request *req, size_t *n)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    *n = evbuffer_get_length(in);
    return (const char *)evbuffer_pullup(in, -1);
}

/* Sends j (taken) as the whole answer, at once. */
static void reply_json(struct evhttp_request *req, int code, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (s)
        evbuffer_add(evhttp_request_get_output_buffer(req), s, strlen(s));
    free(s);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, code, NULL, NULL);
}

/* Checks one key of a /_control body, and sets it when apply is true: all
 * keys are checked before any is set, so a bad body changes nothing. */
static bool control_key(const char *k, json_t *v, bool apply, char *err, size_t errlen)
{
    json_int_t *num = !strcmp(k, "delay_ms") ? &set.delay_ms : !strcmp(k, "status") ? &set.status
                    : !strcmp(k, "body_bytes") ? &set.body_bytes : NULL;
    bool *flag = !strcmp(k, "hang") ? &set.hang : !strcmp(k, "echo") ? &set.echo : NULL;
    char **text = !strcmp(k, "body") ? &set.body : !strcmp(k, "cache_control") ? &set.cache_control
                : !strcmp(k, "content_type") ? &set.content_type : NULL;
    if (num) {
        json_int_t lo = num == &set.status ? 100 : 0;
        json_int_t hi = num == &set.status ? 599 : num == &set.delay_ms ? 3600000 : 256 << 20;
        json_int_t n = json_is_integer(v) ? json_integer_value(v) : -1;
        if (n < lo || n > hi)
            return snprintf(err, errlen, "%s wants an integer in %lld..%lld", k, (long long)lo, (long long)hi), false;
        if (apply)
            *num = n;
    } else if (flag) {
        if (!json_is_boolean(v))
            return snprintf(err, errlen, "%s wants true or false", k), false;
        if (apply)
            *flag = json_is_true(v);
    } else if (text) {
        if (!json_is_string(v) && text != &set.body)
            return snprintf(err, errlen, "%s wants a string", k), false;
        if (apply) {
            free(*text);
            *text = json_is_string(v) ? xstrdup(json_string_value(v)) : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        }
    } else {
        return snprintf(err, errlen, "unknown setting %.100s", k), false;
    }
    return true;
}

static void on_control(struct evhttp_request *req)
{
    size_t n;
    const char *body = body_of(req, &n);
    json_t *o = json_loadb(n ? body : "", n, 0, NULL);
    char err[200] = "";
    if (!json_is_object(o))
        snprintf(err, sizeof err, "the body is not a JSON object");
    for (int apply = 0; apply < 2 && !err[0]; apply++) {
        const char *k;
        json_t *v;
        json_object_foreach(o, k, v) if (!control_key(k, v, apply, err, sizeof err)) break;
    }
    json_decref(o);
    reply_json(req, err[0] ? 400 : 200, err[0] ? json_pack("{s:s}", "error", err) : json_pack("{s:b}", "ok", 1));
}

static void on_stats(struct evhttp_request *req)
{
    reply_json(req, 200, json_pack("{s:I,s:I,s:I,s:O}", "requests", (json_int_t)requests, "inflight",
                                   (json_int_t)inflight, "peak", (json_int_t)peak, "last", last ? last : json_null()));
}

static void on_reset(struct evhttp_request *req)
{
    requests = 0;
    peak = inflight; /* calls still hanging are still in flight */
    json_decref(last);
    last = NULL;
    settings_default();
    reply_json(req, 200, json_pack("{s:b}", "ok", 1));
}

static void record_last(struct evhttp_request *req)
{
    static const char *methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH"};
    const char *method = "?";
    for (unsigned i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (evhttp_request_get_command(req) == 1u << i)
            method = methods[i];
    json_t *headers = json_object();
    struct evkeyval *h;
    TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next) {
        char name[128];
        size_t len = strlen(h->key);
        bool wanted = !strcasecmp(h->key, "Authorization") || !strcasecmp(h->key, "Cookie") ||
                      !strncasecmp(h->key, "X-", 2);
        if (!wanted || len >= sizeof name || json_object_size(headers) == LAST_HEADERS_MAX)
            continue;
        /* Canonical case, so tests need not care how the caller spells it. */
        for (size_t i = 0; i <= len; i++)
            name[i] = (char)(i == 0 || h->key[i - 1] == '-' ? toupper((unsigned char)h->key[i])
                                                            : tolower((unsigned char)h->key[i]));
        json_object_set_new(headers, name, json_text(h->value, strlen(h->value)));
    }
    size_t n;
    const char *body = body_of(req, &n), *uri = evhttp_request_get_uri(req);
    json_decref(last);
    last = json_pack("{s:s,s:o,s:o,s:o}", "method", method, "path", json_text(uri, strlen(uri)), "body",
                     json_text(body, n < LAST_BODY_MAX ? n : LAST_BODY_MAX), "headers", headers);
}

/* Writes the answer the settings call for into req, to send when due. */
static void prepare_answer(struct evhttp_request *req)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    evhttp_add_header(oh, "Content-Type", set.content_type);
    if (set.cache_control[0])
        evhttp_add_header(oh, "Cache-Control", set.cache_control);
    if (set.echo) {
        size_t n;
        const char *body = body_of(req, &n), *uri = evhttp_request_get_uri(req);
        json_t *parsed = json_loadb(n ? body : "", n, JSON_DECODE_ANY, NULL);
        json_t *echo = json_pack("{s:o,s:o}", "echo", parsed ? parsed : json_null(), "path", json_text(uri, strlen(uri)));
        char *s = json_dumps(echo, JSON_COMPACT);
        json_decref(echo);
        if (s)
            evbuffer_add(out, s, strlen(s));
        free(s);
    } else if (set.body_bytes > 0) {
        static const char head[] = "{\"pad\":\"", tail[] = "\"}";
        char xs[4096];
        size_t frame = sizeof head + sizeof tail - 2, left = (size_t)set.body_bytes;
        memset(xs, 'x', sizeof xs);
        evbuffer_add(out, head, sizeof head - 1);
        for (left = left > frame ? left - frame : 0; left > 0; left -= left < sizeof xs ? left : sizeof xs)
            evbuffer_add(out, xs, left < sizeof xs ? left : sizeof xs);
        evbuffer_add(out, tail, sizeof tail - 1);
    } else {
        evbuffer_add(out, set.body, strlen(set.body));
    }
}

/* The call is no longer in flight: drops what watched it. */
static void release(call_t *c)
{
    if (c->due)
        event_free(c->due);
    event_free(c->gone);
    evhttp_connection_set_closecb(c->evcon, NULL, NULL);
    inflight--;
    free(c);
}

static void on_due(evutil_socket_t fd, short what, void *arg)
{
    call_t *c = arg;
    struct evhttp_request *req = c->req;
    int status = c->status;
    release(c);
    evhttp_send_reply(req, status, NULL, NULL);
}

/* libevent 2.1 stops reading a connection while its request waits for the
 * answer, so it would not see the client leave: this watches the socket
 * instead, peeking so as to take nothing from libevent. */
static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    call_t *c = arg;
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) {
        event_del(c->gone); /* a pipelined request: libevent reads it after the answer */
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    struct evhttp_connection *evcon = c->evcon;
    release(c);
    evhttp_connection_free(evcon); /* frees the request with it */
}

/* libevent frees the connection on its own (evhttp_free at exit, an error):
 * a request still on it goes with it, one it let go of is ours to free. */
static void on_conn_freed(struct evhttp_connection *evcon, void *arg)
{
    call_t *c = arg;
    struct evhttp_request *req = c->req;
    release(c);
    if (!evhttp_request_get_connection(req))
        evhttp_request_free(req);
}

static void on_hook(struct evhttp_request *req)
{
    requests++;
    if (++inflight > peak)
        peak = inflight;
    record_last(req);
    call_t *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    *c = (call_t){.req = req, .evcon = evhttp_request_get_connection(req), .status = (int)set.status};
    int fd = bufferevent_getfd(evhttp_connection_get_bufferevent(c->evcon));
    c->gone = event_new(base, fd, EV_READ | EV_PERSIST, on_readable, c);
    event_add(c->gone, NULL);
    evhttp_connection_set_closecb(c->evcon, on_conn_freed, c);
    if (set.hang)
        return;
    prepare_answer(req);
    struct timeval tv = {(time_t)(set.delay_ms / 1000), (suseconds_t)(set.delay_ms % 1000) * 1000};
    c->due = evtimer_new(base, on_due, c);
    evtimer_add(c->due, &tv);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    static const struct {
        const char *path;
        enum evhttp_cmd_type method;
        void (*fn)(struct evhttp_request *);
    } control[] = {{"/_control", EVHTTP_REQ_POST, on_control}, {"/_stats", EVHTTP_REQ_GET, on_stats},
                   {"/_reset", EVHTTP_REQ_POST, on_reset}};
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    for (size_t i = 0; path && i < sizeof control / sizeof control[0]; i++) {
        if (strcmp(path, control[i].path) != 0)
            continue;
        if (evhttp_request_get_command(req) == control[i].method)
            control[i].fn(req);
        else
            reply_json(req, 405, json_pack("{s:s}", "error", control[i].method == EVHTTP_REQ_GET ? "use GET" : "use POST"));
        return;
    }
    on_hook(req);
}

/* The port bound, which is the one asked for unless that was 0. */
static int bound_port(struct evhttp_bound_socket *bound)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &len) != 0)
        return -1;
    return ntohs(sin.sin_port);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    long port = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        char *end;
        if (!strcmp(argv[i], "--port"))
            port = strtol(argv[i + 1], &end, 10), port = *end ? -1 : port;
        else if (!strcmp(argv[i], "--host"))
            host = argv[i + 1];
        else
            port = -1, i = argc;
    }
    struct in_addr addr;
    if (argc % 2 == 0 || port < 0 || port > 65535 || inet_pton(AF_INET, host, &addr) != 1 ||
        ntohl(addr.s_addr) >> 24 != 127) {
        fprintf(stderr, "usage: upstream --port P [--host 127.x.y.z]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    settings_default();
    base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    evhttp_set_timeout(http, 120);
    evhttp_set_max_body_size(http, 16 << 20);
    evhttp_set_max_headers_size(http, 64 << 10);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                                         EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(http, on_request, NULL);
    struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(http, host, (uint16_t)port);
    if (!bound) {
        fprintf(stderr, "upstream: cannot bind %s:%ld\n", host, port);
        return 1;
    }
    struct event *sig[2] = {evsignal_new(base, SIGTERM, on_term, NULL), evsignal_new(base, SIGINT, on_term, NULL)};
    for (int i = 0; i < 2; i++)
        event_add(sig[i], NULL);
    printf("upstream listening port=%d\n", bound_port(bound));
    fflush(stdout);
    event_base_dispatch(base);
    for (int i = 0; i < 2; i++)
        event_free(sig[i]);
    evhttp_free(http); /* releases the calls still in flight (on_conn_freed) */
    event_base_free(base);
    return 0; /* set and last stay reachable: no leak to report */
}

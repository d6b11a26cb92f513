/* Upstream rings into the log: see broker/upstream.h. */
#include "broker/upstream.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "broker/api.h"
#include "broker/publish.h"
#include "common/textlog.h"
#include "proto/limits.h"
#include "proto/utf8.h"
#include "shm/doorbell.h"
#include "shm/up_msg.h"
#include "shm/upring.h"

/* Messages per loop callback: the HTTP API gets its turn between rounds. */
#define DRAIN_BUDGET 4096u

struct rc_upstream {
    rc_broker_t *b;
    pthread_t thread;
    int started;
    int efd;             /* thread -> loop: "a ring holds messages" */
    sem_t drained;       /* loop -> thread: "every ring is empty again" */
    _Atomic int stop;
    struct event *ev;
    uint8_t *copy;       /* the message being taken, out of the edge's reach */
    uint32_t copy_cap;
};

static struct rc_upstream up_state;

static void *doorbell_thread(void *arg)
{
    struct rc_upstream *up = arg;
    const rc_log_t *log = &up->b->log;
    while (!atomic_load(&up->stop)) {
        uint32_t expect;
        if (rc_doorbell_prepare_sleep(log, &expect) == 0) {
            rc_doorbell_sleep(log, expect, -1);
            continue; /* woken (or spuriously): look again */
        }
        uint64_t one = 1;
        if (write(up->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
            break;
        while (sem_wait(&up->drained) < 0 && errno == EINTR)
            ;
    }
    return NULL;
}

/* Why the message cannot be written, or NULL (m decoded). */
static const char *refusal(uint32_t type, const uint8_t *p, uint32_t len, rc_up_broadcast_t *m)
{
    if (type != RC_UP_BROADCAST)
        return "unknown message type";
    if (rc_up_broadcast_decode(p, len, m) < 0)
        return "lengths do not add up";
    if (!m->topic_len || m->topic_len > RC_TOPIC_MAX || !m->event_len || m->event_len > RC_EVENT_MAX)
        return "topic or event length out of range";
    if (!rc_utf8_valid((const uint8_t *)m->topic, m->topic_len) ||
        !rc_utf8_valid((const uint8_t *)m->event, m->event_len))
        return "topic or event is not UTF-8";
    /* The edge produced the data from a client message it parsed; a frame
     * every client of the topic receives is still checked before it is
     * written, so one faulty edge cannot break the others' clients. */
    json_error_t err;
    json_t *j = json_loadb(m->data, m->data_len, JSON_DECODE_ANY, &err);
    if (!j)
        return "data is not JSON";
    json_decref(j);
    return NULL;
}

static void take(rc_broker_t *b, uint32_t type, const uint8_t *p, uint32_t len)
{
    rc_up_broadcast_t m;
    const char *why = refusal(type, p, len, &m);
    if (!why) {
        rc_slice_t topic = rc_slice(m.topic, m.topic_len), event = rc_slice(m.event, m.event_len),
                   data = rc_slice(m.data, m.data_len);
        if (rc_broker_publish(&b->log, topic, event, data, RC_PUBLISH_QUIET, 0) >= 0) {
            b->up.published++; /* not ringcast_publish_total: that counts the producer API's records */
            return;
        }
        why = "too large for the log";
    }
    b->up.rejected++;
    static rc_textlog_limit_t lim;
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("warn", "msg=\"upstream message refused\" type=%u len=%u why=\"%s\" suppressed=%lu", type, len, why,
                lim.suppressed);
}

/* Drains up to budget messages from every ring into the log (quiet
 * commits; the caller wakes the readers). Returns 1 if messages are left. */
static void corrupt(rc_broker_t *b, unsigned slot, rc_upring_t *r)
{
    uint64_t bytes = rc_upring_reset(r);
    b->up.rejected++;
    static rc_textlog_limit_t lim;
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("error", "msg=\"upstream ring holds impossible positions or lengths: discarded\" slot=%u "
                            "bytes=%llu suppressed=%lu", slot, (unsigned long long)bytes, lim.suppressed);
}

static int drain(rc_broker_t *b, unsigned budget)
{
    unsigned n = 0;
    for (unsigned i = 0; i < b->log.hdr->nslots; i++) {
        rc_upring_t r = rc_upring_of(&b->log, i);
        uint32_t type, len;
        const uint8_t *p;
        int got;
        while (n < budget && (got = rc_upring_peek(&r, &type, &p, &len)) != 0) {
            if (got < 0) {
                corrupt(b, i, &r);
                break;
            }
            /* The edge can still write these bytes: parse a copy, so what
             * was checked is what is published. */
            if (len > up_state.copy_cap) {
                free(up_state.copy);
                up_state.copy = malloc(len);
                up_state.copy_cap = up_state.copy ? len : 0;
            }
            if (up_state.copy) {
                memcpy(up_state.copy, p, len);
                take(b, type, up_state.copy, len);
            }
            rc_upring_consume(&r);
            n++;
        }
        if (n == budget)
            return 1;
    }
    return 0;
}

static void on_doorbell(evutil_socket_t fd, short what, void *arg)
{
    struct rc_upstream *up = arg;
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
        rc_textlog("warn", "msg=\"upstream eventfd read failed\" err=\"%s\"", strerror(errno));
    int more = drain(up->b, DRAIN_BUDGET);
    rc_api_wake_soon(up->b);
    if (more)
        event_active(up->ev, EV_READ, 0); /* the rest after other work */
    else
        sem_post(&up->drained);
}

int rc_upstream_start(rc_broker_t *b)
{
    struct rc_upstream *up = &up_state;
    up->b = b;
    up->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (up->efd < 0 || sem_init(&up->drained, 0, 0) < 0) {
        rc_textlog("error", "msg=\"upstream: eventfd/semaphore failed\" err=\"%s\"", strerror(errno));
        return -1;
    }
    up->ev = event_new(b->base, up->efd, EV_READ | EV_PERSIST, on_doorbell, up);
    if (!up->ev || event_add(up->ev, NULL) < 0 || pthread_create(&up->thread, NULL, doorbell_thread, up) != 0) {
        rc_textlog("error", "msg=\"upstream: could not start the doorbell thread\"");
        return -1;
    }
    up->started = 1;
    return 0;
}

void rc_upstream_stop(rc_broker_t *b)
{
    struct rc_upstream *up = &up_state;
    if (up->started) {
        atomic_store(&up->stop, 1);
        rc_doorbell_wake_consumer(&b->log);
        sem_post(&up->drained);
        pthread_join(up->thread, NULL);
        up->started = 0;
    }
    free(up->copy);
    up->copy = NULL;
    up->copy_cap = 0;
    if (up->ev)
        event_free(up->ev);
    up->ev = NULL;
    if (up->efd > 0)
        close(up->efd);
    up->efd = -1;
}

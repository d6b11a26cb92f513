#include "edge/log_watch.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "shm/futex.h"

static void *watch(void *arg)
{
    rc_log_watch_t *w = arg;
    uint32_t seen = 0;
    for (;;) {
        /* acquire: pairs with the arm's release, so expect is the new one */
        uint32_t req = atomic_load_explicit(&w->req, memory_order_acquire);
        if (atomic_load_explicit(&w->stop, memory_order_acquire))
            break;
        if (req == seen) {
            rc_futex_wait(&w->req, seen, -1);
            continue;
        }
        seen = req;
        uint32_t expect = atomic_load_explicit(&w->expect, memory_order_relaxed);
        /* Returns at once if the word moved since the loop read it. */
        rc_futex_wait(w->word, expect, -1);
        if (atomic_load_explicit(w->word, memory_order_acquire) == expect &&
            !atomic_load_explicit(&w->stop, memory_order_acquire))
            seen--; /* a spurious wake: wait again for the same arm */
        else {
            uint64_t one = 1;
            ssize_t n = write(w->efd, &one, sizeof(one));
            (void)n; /* EAGAIN only if the counter is huge: it is readable anyway */
        }
    }
    atomic_store_explicit(&w->done, 1, memory_order_release);
    return NULL;
}

int rc_log_watch_start(rc_log_watch_t *w, _Atomic uint32_t *word)
{
    w->word = word;
    atomic_init(&w->req, 0);
    atomic_init(&w->expect, 0);
    atomic_init(&w->stop, 0);
    atomic_init(&w->done, 0);
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->efd < 0)
        return -errno;
    int rc = pthread_create(&w->thread, NULL, watch, w);
    if (rc) {
        close(w->efd);
        w->efd = -1;
        return -rc;
    }
    return 0;
}

void rc_log_watch_arm(rc_log_watch_t *w, uint32_t expect)
{
    atomic_store_explicit(&w->expect, expect, memory_order_relaxed);
    /* release: the watcher that sees the new req sees expect */
    atomic_fetch_add_explicit(&w->req, 1, memory_order_release);
    rc_futex_wake_all(&w->req);
}

int rc_log_watch_consume(rc_log_watch_t *w)
{
    uint64_t v;
    return read(w->efd, &v, sizeof(v)) == (ssize_t)sizeof(v);
}

void rc_log_watch_stop(rc_log_watch_t *w)
{
    if (w->efd < 0)
        return;
    atomic_store_explicit(&w->stop, 1, memory_order_release);
    atomic_fetch_add_explicit(&w->req, 1, memory_order_release);
    /* The watcher may be asleep on either word. Waking the log's word also
     * wakes other edges' waits on it; they find nothing and sleep again. */
    while (!atomic_load_explicit(&w->done, memory_order_acquire)) {
        rc_futex_wake_all(&w->req);
        rc_futex_wake_all(w->word);
        struct timespec nap = rc_clock_timespec_ms(1);
        nanosleep(&nap, NULL);
    }
    pthread_join(w->thread, NULL);
    close(w->efd);
    w->efd = -1;
}

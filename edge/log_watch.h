/* The log's wake-up as a descriptor, for the epoll backend: epoll cannot
 * wait on a futex (FUTEX_FD left Linux in 2.6.26), so a small watcher
 * thread blocks in FUTEX_WAIT on the log's word and writes an eventfd that
 * the loop polls. Chosen over polling the tail on a timer (an idle edge
 * must use no CPU) and over a thread per wake (it costs one thread stack,
 * mostly untouched, for the process's life). The writer wakes only when a
 * reader said it sleeps (shm/wake.h), so a busy log costs the watcher
 * nothing per record: one eventfd write per sleep of the loop.
 *
 * Threads: rc_log_watch_arm and _stop are called by the loop thread only;
 * the watcher thread touches nothing else of the edge. */
#ifndef RC_EDGE_LOG_WATCH_H
#define RC_EDGE_LOG_WATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

typedef struct rc_log_watch {
    _Atomic uint32_t *word;  /* the log's futex word (in shm) */
    _Atomic uint32_t req;    /* +1 per arm: the watcher waits on it between arms */
    _Atomic uint32_t expect; /* the value of word to sleep on, for the latest arm */
    _Atomic int stop, done;
    int efd;                 /* readable (counter > 0) once word moved after an arm */
    pthread_t thread;
} rc_log_watch_t;

/* Creates the eventfd (non-blocking) and starts the watcher on word.
 * Returns 0 or a negative errno. */
int rc_log_watch_start(rc_log_watch_t *w, _Atomic uint32_t *word);

/* Asks the watcher to wait while *word == expect, then to make efd
 * readable. One arm at a time: arm again only after efd fired. */
void rc_log_watch_arm(rc_log_watch_t *w, uint32_t expect);

/* Reads efd empty; returns 1 if it had fired. */
int rc_log_watch_consume(rc_log_watch_t *w);

/* Stops and joins the watcher, closes efd. */
void rc_log_watch_stop(rc_log_watch_t *w);

#endif

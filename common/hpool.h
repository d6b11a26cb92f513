/* The upstream call pool (design: short-lived workers under one hard cap):
 * every call to the application (a join hook, an RPC, an event to hydrate)
 * goes through one of these, in the broker and in each edge.
 *
 *  - At most hydrate_concurrency calls run at once on the machine: a call
 *    starts only with a token of the region's cap (shm/hydrate_cap.h);
 *    the rest wait in this process's bounded queue; past the queue a call
 *    is refused at once (RC_HCALL_OVERLOADED). No retries.
 *  - A call runs on a thread started for it, which exits when the call is
 *    done: nothing lives between calls. Threads are joinable and their
 *    stacks are ours (mmap), so glibc caches none of them; the owner joins
 *    them without blocking (pthread_tryjoin_np) and unmaps the stacks.
 *    Their heap is the main arena (M_ARENA_MAX 1, set at the first pool):
 *    glibc keeps a thread's arena after the thread, so short-lived threads
 *    would otherwise leave arenas at their peaks. Answers past the mmap
 *    threshold (fixed at 64 KiB) go back to the kernel when freed, and the
 *    owner trims the heap once the last worker is gone.
 *  - libcurl does the HTTP; one share handle lets every thread reuse the
 *    pool's connections and DNS answers.
 *  - Results come back through a lock-free list and an eventfd: the owner's
 *    loop polls rc_hpool_fd and calls rc_hpool_reap; it never waits.
 *  - One circuit breaker per hook path: after breaker_failures consecutive
 *    failures (timeouts, connection errors, statuses other than 2xx, 401,
 *    403) calls to it fail fast (RC_HCALL_BREAKER) for breaker_cooldown_ms;
 *    then one call probes, and its result closes or opens it again.
 *
 * Single owner: everything but the workers runs on the owner's thread. */
#ifndef RC_COMMON_HPOOL_H
#define RC_COMMON_HPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "shm/log.h"

typedef enum rc_hcall_result {
    RC_HCALL_OK = 0,        /* 2xx: resp is the answer */
    RC_HCALL_REFUSED,       /* 401 or 403: the application said no */
    RC_HCALL_FAILED,        /* another status, or no answer (a failure for the breaker) */
    RC_HCALL_TIMEOUT,       /* no answer within timeout_ms (a failure) */
    RC_HCALL_TOO_BIG,       /* the answer passed max_response (a failure) */
    RC_HCALL_OVERLOADED,    /* not started: the queue was full */
    RC_HCALL_BREAKER,       /* not started: the hook's breaker is open */
} rc_hcall_result_t;

typedef struct rc_hpool rc_hpool_t;

typedef struct rc_hcall {
    struct rc_hcall *next;   /* the pool's lists; the caller's after reap */
    /* Request, filled by the caller; the pool owns the call from submit
     * until reap hands it back. */
    unsigned hook;           /* from rc_hpool_hook */
    char *body;              /* JSON, malloc'd (freed with the call) */
    size_t body_len;
    char *headers;           /* extra "Name: value" lines, '\n'-separated, malloc'd or NULL */
    uint64_t cookie;         /* the caller's: whom the answer is for (and its generation) */
    void *ctx;               /* the caller's */
    /* Result. */
    rc_hcall_result_t result;
    long status;             /* HTTP status; 0 without an answer */
    char *resp;              /* answer body, NUL-terminated, malloc'd; NULL without one */
    size_t resp_len;
    uint32_t max_age_s;      /* Cache-Control max-age (0: none) */
    unsigned cache_public : 1, no_store : 1;
    const char *error;       /* static text for a failed call */
    uint64_t queued_ms, started_ms, done_ms;
    /* The pool's. */
    rc_hpool_t *pool;
    uint64_t thread;
    void *stack;
} rc_hcall_t;

typedef struct rc_hpool_opts {
    const char *base_url;        /* hydrate_url: hook paths are appended */
    uint32_t cap;                /* hydrate_concurrency, for the whole machine */
    uint32_t queue_max;          /* hydrate_queue */
    uint32_t timeout_ms;         /* hydrate_timeout_ms, per call */
    uint32_t breaker_failures;   /* hydrate_breaker_failures */
    uint32_t breaker_cooldown_ms;/* hydrate_breaker_cooldown_ms */
    size_t max_response;         /* hook_max_response */
    const char *secret;          /* sent as Authorization: Bearer; NULL: none */
} rc_hpool_opts_t;

typedef struct rc_hpool_stats {
    uint64_t calls;              /* submitted */
    uint64_t ok, refused, failures, timeouts, too_big;
    uint64_t rejected_overloaded, rejected_breaker;
    uint64_t threads_created;    /* one per call started */
    uint64_t queued, inflight;   /* now */
    uint64_t peak_inflight, live_workers, peak_workers;
    uint64_t breaker_opens;
} rc_hpool_stats_t;

/* A pool drawing tokens from log's cap as holder slot (< 0: the broker).
 * 0, or -errno with a reason in err. */
int rc_hpool_new(rc_hpool_t **out, rc_log_t *log, int slot, const rc_hpool_opts_t *o, char *err, size_t cap);
/* Ends the pool: waits for the workers still running (at shutdown only). */
void rc_hpool_free(rc_hpool_t *p);

/* Registers a hook path (under base_url), with its own breaker: its index. */
unsigned rc_hpool_hook(rc_hpool_t *p, const char *path);

/* Takes c: 0 (queued or started), or -1 with c->result OVERLOADED or
 * BREAKER, c still the caller's (to answer and free). */
int rc_hpool_submit(rc_hpool_t *p, rc_hcall_t *c, uint64_t now_ms);

/* Starts queued calls while the machine has tokens. Owners call it, and
 * rc_hpool_reap, from a short timer while rc_hpool_waiting: a token given
 * back by another process wakes nobody here, and a worker that signalled
 * may not have returned yet when its call is reaped (it is joined later). */
void rc_hpool_pump(rc_hpool_t *p, uint64_t now_ms);
int rc_hpool_waiting(const rc_hpool_t *p);

/* The calls that are done, oldest first (a list through next), with their
 * tokens given back and their threads joined or on their way out; then
 * starts what the freed tokens allow. */
rc_hcall_t *rc_hpool_reap(rc_hpool_t *p, uint64_t now_ms);

/* Readable (an eventfd) when calls are done. */
int rc_hpool_fd(const rc_hpool_t *p);

const rc_hpool_stats_t *rc_hpool_stats(const rc_hpool_t *p);

void rc_hcall_free(rc_hcall_t *c);

#endif

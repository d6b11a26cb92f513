/* The two clocks, named for what they are for.
 *
 * Wall clock (CLOCK_REALTIME): times a person or another machine reads —
 * a record's publish time (rc_rec_t.ts_ns, which latency measurements
 * compare with the sender's clock), when a region was created, when an edge
 * started. It can jump (NTP steps, an operator's date): never measure an
 * interval with it.
 *
 * Monotonic clock (CLOCK_MONOTONIC): everything that measures an interval —
 * liveness (a slot's alive_mono_ns), deadlines, timeouts, drain windows,
 * rate limiters, latency inside one process. It is system-wide on Linux, so
 * two processes on one machine may compare their readings through shm.
 *
 * All functions are cheap vDSO calls that never fail and never block. */
#ifndef RC_COMMON_CLOCK_H
#define RC_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t rc_clock_ns_of(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wall-clock nanoseconds since the epoch. */
static inline uint64_t rc_clock_wall_ns(void) { return rc_clock_ns_of(CLOCK_REALTIME); }

/* Monotonic nanoseconds (since boot). */
static inline uint64_t rc_clock_mono_ns(void) { return rc_clock_ns_of(CLOCK_MONOTONIC); }

/* Monotonic milliseconds. */
static inline uint64_t rc_clock_mono_ms(void) { return rc_clock_mono_ns() / 1000000u; }

/* Monotonic nanoseconds at the kernel tick's resolution (a few ms): for
 * once-per-turn checks where a full read would cost more than it tells. */
static inline uint64_t rc_clock_mono_coarse_ns(void) { return rc_clock_ns_of(CLOCK_MONOTONIC_COARSE); }

/* Monotonic seconds, coarse: the edge's per-connection deadlines. */
/* Coarse monotonic milliseconds (a tick's resolution, a few ms): for
 * per-message rate buckets, where a vDSO read of the coarse clock is enough. */
static inline uint64_t rc_clock_mono_coarse_ms(void) { return rc_clock_mono_coarse_ns() / 1000000u; }
static inline uint32_t rc_clock_mono_s(void) { return (uint32_t)(rc_clock_mono_coarse_ns() / 1000000000ull); }

/* A relative timeout of ms milliseconds, as the futex and poll calls take
 * it. */
static inline struct timespec rc_clock_timespec_ms(uint64_t ms)
{
    return (struct timespec){.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
}

#endif

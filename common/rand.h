/* Per-process random numbers for jitter (restart delays, drain batches,
 * Retry-After): xoshiro256**
 * seeded from getrandom(2), never from a fixed seed or the pid. Not for
 * secrets. Not thread-safe: one generator per thread of the event loop. */
#ifndef RC_COMMON_RAND_H
#define RC_COMMON_RAND_H

#include <stdint.h>

/* Seeds the generator; aborts if the kernel cannot supply entropy. */
void rc_rand_init(void);
uint64_t rc_rand_u64(void);
/* Uniform in [lo, hi]. */
uint64_t rc_rand_range(uint64_t lo, uint64_t hi);

#endif

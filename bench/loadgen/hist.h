/* HDR-style log-linear histogram of non-negative 64-bit values (the loadgen
 * records nanoseconds). Fixed buckets: every power of two is split into 128
 * linear sub-buckets, so a recorded value is known to better than 0.8%
 * (more than two significant digits) from 1 ns up to 2^37 ns (137 s);
 * larger values land in the top bucket and still update max.
 *
 * A histogram is one flat struct (about 32 KiB) owned by the caller; it
 * never allocates and never blocks. Not thread-safe. */
#ifndef RC_LG_HIST_H
#define RC_LG_HIST_H

#include <stdint.h>

#define RC_HIST_SUB_BITS 7
#define RC_HIST_MAX_EXP 37
#define RC_HIST_BUCKETS ((RC_HIST_MAX_EXP - RC_HIST_SUB_BITS + 1) << RC_HIST_SUB_BITS)

typedef struct rc_hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    double sum;
    uint64_t counts[RC_HIST_BUCKETS];
} rc_hist_t;

/* Empties h. A zeroed struct is also an empty histogram. */
void rc_hist_reset(rc_hist_t *h);

/* Counts one value. O(1), no allocation. */
void rc_hist_record(rc_hist_t *h, uint64_t v);

/* Adds every count of src into dst (to merge per-phase histograms). */
void rc_hist_merge(rc_hist_t *dst, const rc_hist_t *src);

/* The value at quantile q in [0, 1]: the highest value equivalent to the
 * bucket holding the ceil(q * count)-th smallest sample, capped at max.
 * Returns 0 for an empty histogram. */
uint64_t rc_hist_quantile(const rc_hist_t *h, double q);

/* Bucket geometry, for dumping the raw histogram: the lowest value that
 * falls in bucket i and the bucket's width. */
uint64_t rc_hist_bucket_low(unsigned i);
uint64_t rc_hist_bucket_width(unsigned i);

#endif

#include "bench/loadgen/hist.h"

#include <math.h>
#include <string.h>

#define SUB (1u << RC_HIST_SUB_BITS)

/* Values below 2 * SUB are their own bucket; above, bucket e * SUB + (v >> e)
 * with e chosen so that v >> e lies in [SUB, 2 * SUB): the buckets of one
 * power of two are SUB wide steps of 2^e, contiguous with the previous one. */
static unsigned bucket_of(uint64_t v)
{
    if (v >= (1ull << RC_HIST_MAX_EXP))
        return RC_HIST_BUCKETS - 1;
    if (v < 2 * SUB)
        return (unsigned)v;
    unsigned e = (unsigned)(63 - __builtin_clzll(v)) - RC_HIST_SUB_BITS;
    return e * SUB + (unsigned)(v >> e);
}

uint64_t rc_hist_bucket_low(unsigned i)
{
    if (i < 2 * SUB)
        return i;
    unsigned e = (i >> RC_HIST_SUB_BITS) - 1;
    return (uint64_t)(i - e * SUB) << e;
}

uint64_t rc_hist_bucket_width(unsigned i)
{
    if (i < 2 * SUB)
        return 1;
    return 1ull << ((i >> RC_HIST_SUB_BITS) - 1);
}

void rc_hist_reset(rc_hist_t *h) { memset(h, 0, sizeof(*h)); }

void rc_hist_record(rc_hist_t *h, uint64_t v)
{
    h->counts[bucket_of(v)]++;
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += (double)v;
}

void rc_hist_merge(rc_hist_t *dst, const rc_hist_t *src)
{
    if (src->count == 0)
        return;
    for (unsigned i = 0; i < RC_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    if (dst->count == 0 || src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
}

uint64_t rc_hist_quantile(const rc_hist_t *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < RC_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            if (i == RC_HIST_BUCKETS - 1)
                return h->max; /* the top bucket also holds everything above the range */
            uint64_t hi = rc_hist_bucket_low(i) + rc_hist_bucket_width(i) - 1;
            if (hi > h->max)
                hi = h->max;
            return hi < h->min ? h->min : hi;
        }
    }
    return h->max;
}
